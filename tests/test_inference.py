"""Inference-only kernels (ops.inference) against a direct conv + ReLU + pool, and the
InferencePlan against Sequential.predict (the same numbers, fewer steps)."""
import itertools

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers
from scratchnet.inference import InferencePlan, _WinogradConv
from scratchnet.ops import winograd4
from scratchnet.ops.inference import winograd4_relu_max_pool2x2
from scratchnet.ops.winograd4 import transform_kernel


def conv_relu_pool(x, kernel, bias, pads):
    """Direct loop: padded 3x3 correlation, bias, ReLU, then 2x2 "valid" max pooling."""
    xp = np.pad(x, ((0, 0), *pads, (0, 0)))
    n, h, w, _ = xp.shape
    z = np.zeros((n, h - 2, w - 2, kernel.shape[3]))
    for i, j in itertools.product(range(3), range(3)):
        z += xp[:, i:i + h - 2, j:j + w - 2] @ kernel[i, j]
    y = np.maximum(z + bias, 0)
    ph, pw = y.shape[1] // 2, y.shape[2] // 2
    return y[:, :2 * ph, :2 * pw].reshape(n, ph, 2, pw, 2, -1).max(axis=(2, 4))


SAME = ((1, 1), (1, 1))


@pytest.mark.parametrize("shape,pads", [
    ((2, 10, 10, 3), ((0, 0), (0, 0))),     # 8x8 conv output: whole 4x4 blocks
    ((3, 9, 11, 2), ((0, 0), (0, 0))),      # 7x9: odd, the trailing row/column is dropped
    ((2, 6, 7, 4), SAME),                   # 6x7 with "same"
    ((1, 4, 4, 1), ((0, 1), (1, 0))),       # 3x3 -> one pool window
])
def test_fused_conv_relu_pool_matches_direct(shape, pads, threads, rng, monkeypatch):
    monkeypatch.setattr(winograd4, "SUB_BATCH_BYTES", 1)    # a sub-batch per sample
    x = rng.standard_normal(shape)
    kernel, bias = rng.standard_normal((3, 3, shape[3], 5)), rng.standard_normal(5)
    expected = conv_relu_pool(x, kernel, bias, pads)
    y = winograd4_relu_max_pool2x2(x, kernel, bias, pads)
    assert y.shape == expected.shape
    assert np.abs(y - expected).max() <= 1e-12 * np.abs(expected).max()
    cached = winograd4_relu_max_pool2x2(x, None, bias, pads, u=transform_kernel(kernel))
    assert np.array_equal(cached, y)


def test_fused_kernel_rejects_what_it_cannot_do(rng):
    with pytest.raises(ValueError, match="kernel or its transform"):
        winograd4_relu_max_pool2x2(rng.standard_normal((1, 6, 6, 2)), None)
    with pytest.raises(ValueError, match="smaller than the 2x2 pool"):
        winograd4_relu_max_pool2x2(rng.standard_normal((1, 3, 6, 2)),
                                   rng.standard_normal((3, 3, 2, 1)))


def small_cnn(second_padding="valid", pool=True):
    """Conv2D(1 -> 32) then a 3x3 conv over 32 channels: the Winograd inference path."""
    stack = [layers.Conv2D(32, 3, activation="relu", input_shape=(11, 12, 1)),
             layers.Conv2D(6, 3, activation="relu" if pool else None, padding=second_padding)]
    if pool:
        stack += [layers.MaxPooling2D(2), layers.Dropout(0.25)]
    stack += [layers.Flatten(), layers.Dense(7, activation="relu"),
              layers.Dense(4, activation="softmax")]
    model = sn.Sequential(stack)
    model.build((11, 12, 1))
    for w in model.layers[0].params.values():   # a bias that is not zero tests its placement
        w += 0.01
    return model


@pytest.mark.parametrize("padding,pool", [("valid", True), ("same", True), ("same", False)])
def test_plan_predicts_what_the_model_predicts(padding, pool, float64, rng):
    model = small_cnn(padding, pool)
    plan = InferencePlan(model, chunk=3)
    convs = [step for step in plan.steps if isinstance(step, _WinogradConv)]
    assert len(convs) == 1 and convs[0].pooled is pool
    x = rng.random((8, 11, 12, 1))
    expected = model.predict(x, batch_size=8)
    for got in (plan.predict(x), plan.predict(x, batch_size=5),
                np.concatenate([plan.predict(x[i:i + 1]) for i in range(8)])):
        assert np.abs(got - expected).max() <= 1e-12


def test_plan_follows_new_weights(float64, rng):
    model = small_cnn()
    plan = InferencePlan(model)
    x = rng.random((2, 11, 12, 1))
    plan.predict(x)     # caches the transformed kernel
    model.set_weights([w * 1.5 for w in model.get_weights()])
    assert np.abs(plan.predict(x) - model.predict(x)).max() <= 1e-12


def test_plan_in_float32_stays_close(rng):
    model = small_cnn()
    x = rng.random((5, 11, 12, 1)).astype(np.float32)
    got = InferencePlan(model).predict(x)
    assert got.dtype == np.float32
    assert np.abs(got - model.predict(x)).max() <= 1e-5


def test_plan_needs_a_built_model_and_valid_input(rng):
    unbuilt = sn.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="needs a built model"):
        InferencePlan(unbuilt)
    plan = InferencePlan(small_cnn())
    with pytest.raises(ValueError, match="predict: x"):
        plan.predict(rng.random((2, 12, 11, 1)))
    with pytest.raises(ValueError, match="batch_size"):
        plan.predict(rng.random((2, 11, 12, 1)), batch_size=0)
