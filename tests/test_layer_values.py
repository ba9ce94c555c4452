"""Forward values against independent hand computations (naive loops, explicit formulas)."""
import numpy as np
import pytest

from scratchnet import layers
from scratchnet.ops import reference


def naive_conv2d(x, kernel, bias, stride, pad_top_left, out_hw):
    """The reference convolution of x zero-padded by hand: pad_top_left, and at the bottom and
    right whatever the last window of out_hw needs."""
    (pt, pl), (oh, ow), (kh, kw) = pad_top_left, out_hw, kernel.shape[:2]
    pb = max((oh - 1) * stride[0] + kh - x.shape[1] - pt, 0)
    pr = max((ow - 1) * stride[1] + kw - x.shape[2] - pl, 0)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    return reference.conv2d(xp, kernel, stride) + bias


@pytest.mark.parametrize("h,w,k,stride,padding,pads,out_hw", [
    (6, 7, (3, 3), (1, 1), "valid", (0, 0), (4, 5)),
    (7, 6, (3, 2), (2, 2), "same", (1, 0), (4, 3)),     # total pad rows 2 -> (1,1); cols 0
    (5, 5, (4, 4), (1, 1), "same", (1, 1), (5, 5)),     # total pad 3 -> 1 top/left, 2 bottom/right
    (8, 8, (3, 3), (3, 3), "same", (0, 0), (3, 3)),     # ceil(8/3)=3; total pad max(6+3-8,0)=1
])
def test_conv2d_matches_naive_loop(h, w, k, stride, padding, pads, out_hw, rng):
    layer = layers.Conv2D(3, k, strides=stride, padding=padding, bias_initializer="random_normal")
    x = rng.standard_normal((2, h, w, 2)).astype(np.float32)
    y = layer(x)
    expected = naive_conv2d(x.astype(np.float64), layer.params["kernel"].astype(np.float64),
                            layer.params["bias"], stride, pads, out_hw)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_dense_is_affine_map(rng):
    layer = layers.Dense(3, activation="relu", bias_initializer="random_normal")
    x = rng.standard_normal((4, 5)).astype(np.float32)
    y = layer(x)
    k, b = layer.params["kernel"], layer.params["bias"]
    manual = [[max(0.0, sum(float(x[n, i]) * float(k[i, j]) for i in range(5)) + float(b[j]))
               for j in range(3)] for n in range(4)]
    np.testing.assert_allclose(y, manual, rtol=1e-5, atol=1e-6)


def test_max_pool_values_and_tie_routing():
    x = np.array([[1, 3, 2, 2],
                  [3, 0, 2, 2],
                  [0, 0, 5, 1],
                  [0, 0, 1, 4]], dtype=np.float32).reshape(1, 4, 4, 1)
    y, backward = layers.MaxPooling2D().forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[3, 2], [0, 5]])
    grad = backward(np.array([[10, 20], [30, 40]], dtype=np.float32).reshape(1, 2, 2, 1))
    # Each window's gradient goes to exactly one maximum: the first in row-major order.
    np.testing.assert_array_equal(grad[0, :, :, 0], [[0, 10, 20, 0],
                                                     [0, 0, 0, 0],
                                                     [30, 0, 40, 0],
                                                     [0, 0, 0, 0]])


def test_max_pool_same_padding_never_picks_padding():
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)  # all negative
    y = layers.MaxPooling2D(2, padding="same")(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_average_pool_same_padding_counts_only_real_pixels():
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    y = layers.AveragePooling2D(2, padding="same")(x)
    # windows: {0,1,3,4}, {2,5}, {6,7}, {8}
    np.testing.assert_allclose(y[0, :, :, 0], [[2.0, 3.5], [6.5, 8.0]])


def test_flatten_keeps_hwc_order(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    y = layers.Flatten()(x)
    assert y[1, (2 * 4 + 3) * 5 + 4] == x[1, 2, 3, 4]


def test_dropout_is_inverted_and_identity_at_inference():
    layer = layers.Dropout(0.25, seed=3)
    x = np.ones((400, 250), dtype=np.float32)
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = layer(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02  # expectation preserved


def test_relu_layer_options():
    x = np.array([[-2.0, 0.1, 0.5, 3.0]], dtype=np.float32)
    y = layers.ReLU(max_value=1.0, negative_slope=0.5, threshold=0.2)(x)
    np.testing.assert_allclose(y, [[0.5 * (-2.2), 0.5 * (0.1 - 0.2), 0.5, 1.0]], rtol=1e-6)


def test_leaky_relu_defaults_differ_like_keras():
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(layers.LeakyReLU()(x), [[-0.3, 2.0]], rtol=1e-6)
    np.testing.assert_allclose(layers.Activation("leaky_relu")(x), [[-0.2, 2.0]], rtol=1e-6)


@pytest.mark.parametrize("factory,message", [
    (lambda: layers.Conv2D(0, 3), "filters"),
    (lambda: layers.Conv2D(4, 0), "kernel_size"),
    (lambda: layers.Conv2D(4, 3, strides=0), "strides"),
    (lambda: layers.Conv2D(4, 3, padding="full"), "padding"),
    (lambda: layers.Dense(-1), "units"),
    (lambda: layers.Dropout(1.0), "rate"),
    (lambda: layers.Dropout(-0.1), "rate"),
    (lambda: layers.MaxPooling2D(0), "pool_size"),
    (lambda: layers.Activation("swishy"), "Unknown activation"),
    (lambda: layers.Dense(3, kernel_initializer="huge"), "Unknown initializer"),
])
def test_invalid_arguments_raise_clear_errors(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_kernel_larger_than_input_is_rejected():
    with pytest.raises(ValueError, match="larger than its input"):
        layers.Conv2D(2, 5).build((3, 3, 1))
