"""train_inference_mismatch by its direct probe: a random training-mode layer must keep its
inference output as its expected value (the user's dropout that does not rescale gives
1 - rate), without touching the model or any random generator."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers
from scratchnet.diagnostics.checks_modes import check_mode_scale
from scratchnet.diagnostics.gallery_taxonomy import UserDropout
from scratchnet.diagnostics.probes import trace


def _model(dropout):
    model = sn.Sequential([layers.Dense(64, activation="relu", input_shape=(20,)), dropout,
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = np.random.default_rng(1).standard_normal((32, 20)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(32) % 3]
    return model, x, y


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_that_does_not_rescale_is_found_with_its_scale(rate):
    model, x, y = _model(UserDropout(rate, name="user_dropout"))
    found = check_mode_scale(trace(model, x, y))
    assert [f.layer for f in found] == ["user_dropout"]
    scale = found[0].evidence["training_over_inference_scale"]
    assert scale == pytest.approx(1 - rate, abs=0.05)
    assert "not rescaled" in found[0].cause


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_builtin_inverted_dropout_keeps_the_scale(rate):
    model, x, y = _model(layers.Dropout(rate))
    assert check_mode_scale(trace(model, x, y)) == []


def test_probe_leaves_layer_and_generators_untouched():
    dropout = UserDropout(0.5, name="user_dropout")
    model, x, y = _model(dropout)
    tr = trace(model, x, y)
    own, library = dropout.rng.bit_generator.state, sn.backend.rng().bit_generator.state
    legacy = np.random.get_state()[1].copy()
    check_mode_scale(tr)
    assert dropout.rng.bit_generator.state == own
    assert sn.backend.rng().bit_generator.state == library
    assert np.array_equal(np.random.get_state()[1], legacy)


def test_user_dropout_backward_is_checked_with_its_mask_replayed():
    """gradcheck puts the user's own generator back before each evaluation: same mask."""
    result = sn.gradcheck(UserDropout(0.5), np.random.default_rng(0).standard_normal((4, 6)))
    assert result.passed() and result["input"].checked == 24
