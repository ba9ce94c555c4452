"""The doctor on its gallery: every finding code by code and layer, and no false alarms.

Small models and 64 MNIST samples keep this fast; the full-size user story runs in the CLI and
in examples/doctor_gallery.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.diagnostics import doctor
from scratchnet.diagnostics.gallery import EXPECTED, GALLERY, HEALTHY

ALL_CODES = {"gradient_mismatch", "exploding_activations", "dead_relu", "vanishing_gradients",
             "exploding_gradients", "saturation", "loss_activation_mismatch",
             "unnormalized_input", "label_mismatch", "nonfinite", "learning_rate_too_high",
             "learning_rate_too_low", "batch_dependence", "cannot_overfit", "initial_loss"}


@pytest.fixture(scope="module")
def reports():
    return {}


def _report(name: str, cache: dict):
    if name not in cache:
        builder = GALLERY.get(name) or HEALTHY[name]
        cache[name] = doctor(*builder(samples=64, small=True))
    return cache[name]


def test_gallery_covers_every_code():
    covered = {code for findings in EXPECTED.values() for code, _ in findings}
    assert ALL_CODES <= covered


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_faulty_setup_is_diagnosed(name, reports):
    report = _report(name, reports)
    for code, layer in EXPECTED[name]:
        found = report.find(code, layer)
        assert found, f"{name}: expected {code} at {layer}, got\n{report.to_text()}"
        finding = found[0]
        assert finding.evidence and finding.cause and finding.fix
    assert not report.healthy


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_healthy_setup_raises_nothing_above_info(name, reports):
    report = _report(name, reports)
    assert report.healthy, report.to_text()
    assert report.above("info") == []


def test_user_story_names_all_four_bugs_in_one_report(reports):
    report = _report("user-story", reports)
    text = report.to_text()
    # 1. the hand-written ReLU backward, attributed to the activation, not the conv
    relu = report.find("gradient_mismatch", "conv2d")[0]
    assert "user_relu" in relu.cause and relu.severity == "error"
    # 2. weights with std 1: the fix names a variance-preserving initializer
    explode = report.find("exploding_activations", "dense")[0]
    assert "he_normal" in explode.fix and explode.evidence["kernel_std"] > 0.9
    # 3. softmax followed by a squared error
    mismatch = report.find("loss_activation_mismatch", "dense_1")[0]
    assert "categorical_crossentropy" in mismatch.fix
    # 4. the loss's gradient is a batch sum: doubling the batch does not halve it
    summed = report.find("loss_not_averaged", "loss")[0]
    assert summed.evidence["gradient_ratio_doubled_batch"] == pytest.approx(1.0)
    assert summed.evidence["value_ratio_doubled_batch"] == pytest.approx(1.0)
    loss_check = report.find("gradient_mismatch", "loss")[0]
    assert loss_check.evidence["analytic_over_numeric"] == pytest.approx(
        loss_check.evidence["samples"], rel=1e-3)
    for code in ("gradient_mismatch", "exploding_activations", "loss_activation_mismatch",
                 "loss_not_averaged"):
        assert code in text


def test_report_renders_as_json(reports):
    report = _report("nan-activation", reports)
    data = json.loads(report.to_json())
    assert data["healthy"] is False
    assert data["counts"]["error"] == sum(f["severity"] == "error" for f in data["findings"])
    first = data["findings"][0]
    assert set(first) == {"code", "severity", "layer", "evidence", "cause", "fix", "caused_by"}
    assert data["root_causes"] and data["root_causes"][0]["code"] == first["code"]


def test_nonfinite_names_the_first_layer_only(reports):
    report = _report("nan-activation", reports)
    layers = [f.layer for f in report.find("nonfinite")]
    assert layers == ["log_layer"]
    assert report.find("nonfinite")[0].evidence["where"] == "forward"


def test_doctor_leaves_model_and_global_rng_untouched():
    model, x, y = HEALTHY["mlp-adam"](samples=32)
    weights = [w.copy() for w in model.get_weights()]
    state = sn.backend.rng().bit_generator.state
    doctor(model, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert model.optimizer.iterations == 0
    assert sn.backend.rng().bit_generator.state == state
