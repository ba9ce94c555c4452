"""Unit tests of individual doctor checks on hand-made setups, with independently computed
expectations."""
from __future__ import annotations

import json

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, losses, optimizers
from scratchnet.diagnostics import Doctor, Finding, Report, doctor
from scratchnet.diagnostics.checks_data import check_input
from scratchnet.diagnostics.checks_numeric import check_loss_average
from scratchnet.diagnostics.probes import trace


def _mlp(loss="categorical_crossentropy", last="softmax", optimizer="adam", seed=0):
    sn.set_random_seed(seed)
    model = sn.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                           layers.Dense(4, activation=last)])
    model.compile(optimizer=optimizer, loss=loss)
    return model


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, n)]
    return x, y


def test_trace_matches_model_forward_and_gradients():
    model = _mlp()
    x, y = _data()
    tr = trace(model, x, y)
    np.testing.assert_allclose(tr.output, model.predict(x), rtol=1e-6)
    loss, _ = model.compute_loss_and_gradients(x, y, training=False)
    assert tr.loss == pytest.approx(loss, rel=1e-6)
    for rec in tr.layers:
        for key, grad in rec.grads.items():
            np.testing.assert_allclose(grad, rec.layer.grads[key], rtol=1e-6)
    # the pre-activation of the hidden layer is x @ W + b, computed independently
    w, b = model.layers[0].params["kernel"], model.layers[0].params["bias"]
    np.testing.assert_allclose(tr.layers[0].z, x @ w + b, rtol=1e-5)


def test_unnormalized_input_threshold():
    rng = np.random.default_rng(0)
    assert check_input(5.0 + rng.random((4, 3))) == []
    found = check_input(np.full((4, 3), 200.0) + np.arange(4)[:, None])
    assert [f.code for f in found] == ["unnormalized_input"]
    assert found[0].evidence["rms"] == pytest.approx(np.sqrt(np.mean((200 + np.arange(4)) ** 2)))
    assert "/ 255" in found[0].fix
    same = check_input(np.zeros((4, 3)))  # x // 256: every sample erased
    assert [f.severity for f in same] == ["error"] and "all zeros" in same[0].cause


def test_loss_average_check_accepts_mean_and_flags_sum():
    model = _mlp(loss="mse")
    x, y = _data()
    tr = trace(model, x, y)
    assert check_loss_average(model, tr, y) == []

    class SumSquared(losses.Loss):
        def forward(self, y_true, y_pred):
            d = y_pred - y_true
            return float((d * d).sum()), lambda: 2 * d

    model.loss = SumSquared()
    found = check_loss_average(model, tr, y)
    assert [f.code for f in found] == ["loss_not_averaged"]
    assert found[0].evidence["value_ratio_doubled_batch"] == pytest.approx(2.0)
    assert found[0].evidence["gradient_ratio_doubled_batch"] == pytest.approx(1.0)


def test_layer_that_divides_by_batch_is_caught():
    class MeanDense(layers.Dense):
        """Divides its kernel gradient by the batch size (the loss already does)."""
        def forward_linear(self, x, training=False):
            z, back = super().forward_linear(x, training)

            def backward(g):
                out = back(g)
                self.grads["kernel"] /= len(x)
                return out
            return z, backward

    sn.set_random_seed(0)
    model = sn.Sequential([MeanDense(16, activation="relu", input_shape=(8,), name="mean_dense"),
                           layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    report = doctor(model, *_data(), training_checks=False)
    found = report.find("batch_dependence", "mean_dense")
    assert found and "divides" in found[0].cause
    assert found[0].evidence["batch_over_sum_of_samples"][0] == pytest.approx(0.25, rel=1e-3)


@pytest.mark.parametrize("last, loss, severity", [
    ("softmax", "mse", "warning"),
    ("sigmoid", "categorical_crossentropy", "error"),
    (None, "categorical_crossentropy", "error"),
    ("softmax", losses.CategoricalCrossentropy(from_logits=True), "error"),
    ("relu", "binary_crossentropy", "error"),
])
def test_loss_activation_mismatch_rules(last, loss, severity):
    report = doctor(_mlp(loss=loss, last=last), *_data(), gradient_checks=False,
                    training_checks=False)
    found = report.find("loss_activation_mismatch", "dense_1")
    assert found and found[0].severity == severity


@pytest.mark.parametrize("last, loss", [("softmax", "categorical_crossentropy"),
                                        (None, losses.CategoricalCrossentropy(from_logits=True)),
                                        (None, "mse")])
def test_loss_activation_pairs_that_are_fine(last, loss):
    report = doctor(_mlp(loss=loss, last=last), *_data(), gradient_checks=False,
                    training_checks=False)
    assert not report.find("loss_activation_mismatch")


def test_label_mismatch_for_sparse_loss_with_one_hot_labels():
    x, y = _data()
    report = doctor(_mlp(loss="sparse_categorical_crossentropy"), x, y)
    assert report.find("label_mismatch", "labels")
    assert "skipped" in report.notes[0]


def test_nonfinite_weights_are_named():
    model = _mlp()
    model.layers[1].params["kernel"][0, 0] = np.inf
    report = doctor(model, *_data(), training_checks=False)
    assert report.find("nonfinite", "dense_1")[0].evidence["where"] == "weights"


def test_initial_loss_uses_the_uniform_prediction():
    model = _mlp()
    x, y = _data()
    model.layers[1].params["bias"][...] = [20.0, 0, 0, 0]  # sure of class 0
    report = doctor(model, x, y, gradient_checks=False, training_checks=False)
    finding = report.find("initial_loss", "loss")[0]
    assert finding.evidence["expected"] == pytest.approx(np.log(4), rel=1e-5)


def test_report_text_and_severity_validation():
    f = Finding("dead_relu", "warning", "dense", {"dead_share": np.float32(0.75)}, "c", "f")
    report = Report([f], model="m")
    assert "[WARNING] dead_relu at dense" in report.to_text()
    assert isinstance(report.to_dict()["findings"][0]["evidence"]["dead_share"], float)
    with pytest.raises(ValueError, match="severity"):
        Finding("dead_relu", "fatal", "l", {}, "c", "f")
    with pytest.raises(ValueError, match="unknown doctor code"):
        Finding("x", "warning", "l", {}, "c", "f")


def test_doctor_callback_flags_divergence_and_stops():
    model = _mlp(optimizer=optimizers.SGD(learning_rate=500.0))
    x, y = _data(64)
    callback = Doctor(x, y, stop_on_error=True, verbose=False)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[callback])
    assert callback.report.find("learning_rate_too_high", "optimizer") or \
        callback.report.find("nonfinite")
    assert model.stop_training and len(history.epoch) < 3       # it stopped the run


def test_doctor_callback_quiet_on_healthy_training():
    model = _mlp()
    x, y = _data(64)
    callback = Doctor(x, y, verbose=False)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[callback])
    assert callback.report.healthy, callback.report.to_text()


def test_report_shows_its_measurements_even_when_clean():
    from scratchnet.diagnostics.gallery import GALLERY, HEALTHY
    dead = sn.doctor(*GALLERY["dead-relu"](), training_checks=False)
    assert dead.vitals["never_firing_relu_share"]["hidden"] == 1.0   # biases of -5: none fire
    assert dead.find("dead_relu", "hidden")
    clean = sn.doctor(*HEALTHY["keras-mnist-cnn"](samples=32, small=True))
    assert clean.healthy
    assert set(clean.vitals) >= {"samples", "loss", "output_rms", "never_firing_relu_share",
                                 "relative_gradient", "overfit_one_batch"}
    assert "measured: overfit_one_batch" in clean.to_text()
    assert json.loads(clean.to_json())["vitals"]["samples"] == 32
