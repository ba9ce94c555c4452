"""The doctor on trainings: history rules on hand-made histories (expected epochs computed by
hand), sn.doctor(..., history=), scratchnet doctor RUN_DIR, the ranking, and no false alarm on a
trained Keras MNIST CNN."""
from __future__ import annotations

import json

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import callbacks, layers
from scratchnet.diagnostics.checks_history import as_history, check_history
from scratchnet.diagnostics.gallery import HEALTHY


def _codes(history, chance=None):
    return [(f.code, f.evidence) for f in check_history(history, chance)]


def test_overfitting_names_the_epoch_it_started():
    history = {"loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.1], "val_loss": [0.9, 0.7, 0.6, 0.65, 0.75, 0.9]}
    (code, evidence), = _codes(history)
    assert code == "overfitting"
    assert evidence["best_epoch"] == 3 and evidence["started_epoch"] == 4   # 1-based, by hand


def test_small_validation_wiggle_is_not_overfitting():
    assert _codes({"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [0.9, 0.7, 0.6, 0.62]}) == []


def test_nan_and_blow_up_are_named_with_their_epoch():
    (code, evidence), = _codes({"loss": [2.0, 1.5, float("nan"), float("nan")]})
    assert code == "loss_diverged" and evidence["epoch"] == 3
    (code, evidence), = _codes({"loss": [2.0, 1.0, 30.0]})
    assert code == "loss_diverged" and evidence["epoch"] == 3
    (code, evidence), = _codes({"loss": [2000.0, 5.0, 4.0]}, chance=np.log(10))
    assert code == "loss_diverged" and evidence["epoch"] == 1


def test_oscillating_training_loss_is_a_learning_rate_too_high():
    (code, evidence), = _codes({"loss": [1.0, 0.8, 1.2, 0.7, 1.3, 0.9]})
    assert code == "learning_rate_too_high" and evidence["epochs_loss_rose"] == 2
    assert evidence["best_epoch"] == 4


def test_underfitting_no_progress_and_plateau():
    (code, evidence), = _codes({"loss": [2.30, 2.29, 2.27, 2.26]})
    assert code == "underfitting" and evidence["relative_decrease"] == pytest.approx(0.04 / 2.3)
    (code, _), = _codes({"loss": [2.0, 1.4, 1.3, 1.299, 1.298, 1.2975]})
    assert code == "underfitting"
    assert _codes({"loss": [0.3, 0.1, 0.05, 0.049, 0.0489]}) == []   # converged low: fine


def test_validation_far_above_training_from_epoch_one():
    history = {"loss": [1.5, 1.4, 1.3], "accuracy": [0.5, 0.55, 0.6],
               "val_accuracy": [0.85, 0.9, 0.92], "val_loss": [0.5, 0.4, 0.35]}
    assert [c for c, _ in _codes(history)] == ["validation_mismatch"]
    history["val_accuracy"] = [0.7, 0.66, 0.65]  # the gap closes: dropout-like, healthy
    assert _codes(history) == []


def test_history_formats_and_bad_history():
    record = callbacks.History()
    record.history, record.epoch = {"loss": [1.0, 0.5]}, [0, 1]
    assert as_history(record) == as_history({"epoch": [0, 1], "history": {"loss": [1.0, 0.5]}})
    with pytest.raises(TypeError, match="expected a History"):
        as_history([1.0, 2.0])
    with pytest.raises(ValueError, match="expected numbers per epoch"):
        as_history({"loss": ["a", "b"]})


def test_doctor_takes_the_history_and_ranks_its_consequences():
    model, x, y = HEALTHY["mlp-adam"](samples=32)
    report = sn.doctor(model, x, y, history={"loss": [2.0, float("inf")]}, gradient_checks=False,
                       training_checks=False)
    assert report.codes() == ["loss_diverged"]
    data = json.loads(report.to_json())
    assert data["root_causes"] == [{"code": "loss_diverged", "layer": "history",
                                    "consequences": []}]


def test_ranked_text_groups_consequences_under_the_root():
    from scratchnet.diagnostics.gallery import GALLERY
    report = sn.doctor(*GALLERY["zero-init-tanh"](samples=32), gradient_checks=False)
    (root, consequences), *_ = report.ranked()
    assert root.code == "symmetric_weights" and root.layer == "tanh_0"
    assert {"vanishing_gradients", "cannot_overfit"} <= {f.code for f in consequences}
    assert "caused by: symmetric_weights at tanh_0" in report.to_text()
    assert all(f.caused_by == "symmetric_weights at tanh_0" for f in consequences)


def test_trained_keras_mnist_cnn_is_clean():
    """A few hundred steps of the Keras recipe (small filters): confident logits, no alarm."""
    model, _, _ = HEALTHY["keras-mnist-cnn"](samples=32, small=True)
    from scratchnet.diagnostics.story import mnist_sample
    x, y = mnist_sample(2048, seed=3)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, seed=0)  # 256 steps
    report = sn.doctor(model, x[:64], y[:64], history=history)
    assert report.vitals["trained"] and report.healthy, report.to_text()


def test_cli_doctor_on_a_run_directory(tmp_path, capsys):
    from scratchnet import saving
    from scratchnet.cli import main
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Flatten(input_shape=(28, 28, 1)),
                           layers.Dense(16, activation="relu"),
                           layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.build((28, 28, 1))
    saving.save_model(model, tmp_path / "model.snet")
    history = {"epoch": [0, 1, 2, 3, 4],
               "history": {"loss": [1.0, 0.6, 0.4, 0.3, 0.2],
                           "val_loss": [0.9, 0.6, 0.7, 0.8, 0.9]}}
    (tmp_path / "history.json").write_text(json.dumps(history))
    (tmp_path / "run.json").write_text("{}")
    code = main(["doctor", str(tmp_path), "--json", "--samples", "32", "--no-training-checks"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and [f["code"] for f in data["findings"]] == ["overfitting"]
    assert data["findings"][0]["evidence"]["started_epoch"] == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["doctor", str(empty)]) == 2
    assert "no model.snet" in capsys.readouterr().err
