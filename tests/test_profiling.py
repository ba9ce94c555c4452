"""scratchnet.profile: one row per step of the plan training runs, the model left untouched."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers


def small_cnn():
    sn.set_random_seed(0)
    model = sn.Sequential([
        layers.Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)),
        layers.MaxPooling2D((2, 2)), layers.Dropout(0.25), layers.Flatten(),
        layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adadelta")
    return model


@pytest.mark.fast_kernels
def test_profile_training_step_rows_and_times():
    model = small_cnn()
    x = np.random.default_rng(0).random((6, 8, 8, 1), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    before = model.get_weights()
    report = sn.profile(model, x, y, repeat=2)
    # the training plan: conv + ReLU + pool fused into one step, the first input gradient
    # skipped, the softmax left to the fused loss
    steps = model.runner.plan(logits=True, input_gradient=False).steps
    assert [r.name for r in report.rows] == [step.name for step in steps]
    assert [r.kind for r in report.rows] == ["affine_relu_max_pool", "Dropout", "Flatten",
                                             "Dense"]
    assert report.rows[0].name == "conv2d + max_pooling2d" and report.batch_size == 6
    assert all(r.backward_ms > 0 for r in report.rows)    # every step's backward was timed
    assert model.optimizer.iterations == 0
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    text = report.table()
    assert all(layer.name in text for layer in model.layers) and "optimizer" in text


def test_profile_inference_only():
    model = small_cnn()
    report = sn.profile(model, np.zeros((2, 8, 8, 1)), repeat=1, warmup=0)
    assert [r.name for r in report.rows] == [step.name for step in model.runner.plan().steps]
    assert not report.training
    assert all(r.backward_ms == 0 for r in report.rows)
