"""Winograd F(2x2, 3x3) against the reference kernels (float64, tight), in float32 against
float64, and the Conv2D layer on its Winograd path against the im2col path it replaces."""
import itertools

import numpy as np
import pytest

from scratchnet import layers
from scratchnet.ops import conv as conv2d
from scratchnet.ops import reference, winograd
from scratchnet.ops.winograd import (
    transform_kernel,
    winograd_backward,
    winograd_conv3x3,
)


def direct(x, k, b, pads):
    """The reference convolution of the zero-padded x (ops.reference)."""
    z = reference.conv2d(np.pad(x, ((0, 0), *pads, (0, 0))), k, (1, 1))
    return z if b is None else z + b


def direct_kernel_gradient(x, g, pads):
    return reference.conv2d_kernel_grad(np.pad(x, ((0, 0), *pads, (0, 0))), g,
                                        (3, 3, x.shape[3], g.shape[3]), (1, 1))


def direct_input_gradient(g, k, x_shape, pads):
    (pt, pb), (pl, pr) = pads
    n, h, w, c = x_shape
    gxp = reference.conv2d_input_grad(g, k, (n, h + pt + pb, w + pl + pr, c), (1, 1))
    return gxp[:, pt:pt + h, pl:pl + w]


VALID, SAME = ((0, 0), (0, 0)), ((1, 1), (1, 1))
# (N, H, W, C, F, pads): odd and even output sizes, the smallest inputs, 1..5 channels.
CASES = [(n, h, w, c, f, pads) for (n, (h, w), (c, f), pads) in itertools.product(
    (1, 3), ((3, 3), (4, 5), (6, 6), (7, 8)), ((1, 1), (2, 5), (5, 3)), (VALID, SAME))]
CASES += [(2, 1, 2, 3, 2, SAME), (2, 5, 4, 2, 4, ((0, 1), (1, 0))),
          (3, 9, 7, 4, 2, ((2, 2), (0, 2)))]


@pytest.mark.parametrize("n,h,w,c,f,pads", CASES)
def test_forward_and_gradients_match_loops_float64(n, h, w, c, f, pads, threads):
    rng = np.random.default_rng(n * 1000 + h * 100 + w * 10 + c)
    x, k = rng.standard_normal((n, h, w, c)), rng.standard_normal((3, 3, c, f))
    b = rng.standard_normal(f)
    z = winograd_conv3x3(x, k, b, pads)
    expected = direct(x, k, b, pads)
    assert z.shape == expected.shape and z.dtype == np.float64
    np.testing.assert_allclose(z, expected, rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(z.shape)
    gx, gk, gb = winograd_backward(x, g, k, pads)
    assert gx.shape == x.shape and gk.shape == k.shape
    np.testing.assert_allclose(gx, direct_input_gradient(g, k, x.shape, pads),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gk, direct_kernel_gradient(x, g, pads), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 1, 2)), rtol=1e-12, atol=1e-12)
    gx, gk_alone, gb = winograd_backward(x, g, k, pads, use_bias=False, input_gradient=False)
    assert gx is None and gb is None
    np.testing.assert_allclose(gk_alone, gk, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("step_bytes", [1, 40_000])
def test_sub_batches_and_partial_last_one(step_bytes, threads, monkeypatch):
    monkeypatch.setattr(winograd, "SUB_BATCH_BYTES", step_bytes)  # 1 sample, then a few
    rng = np.random.default_rng(7)
    x, k, b = rng.standard_normal((7, 9, 8, 3)), rng.standard_normal((3, 3, 3, 4)), np.ones(4)
    np.testing.assert_allclose(winograd_conv3x3(x, k, b, SAME), direct(x, k, b, SAME),
                               rtol=1e-10, atol=1e-10)
    g = rng.standard_normal((7, 9, 8, 4))
    gx, gk, _ = winograd_backward(x, g, k, SAME)
    np.testing.assert_allclose(gx, direct_input_gradient(g, k, x.shape, SAME),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gk, direct_kernel_gradient(x, g, SAME), rtol=1e-10, atol=1e-10)


def test_float32_stays_float32_and_close_to_float64():
    rng = np.random.default_rng(3)
    x, k = rng.standard_normal((4, 14, 13, 32)), rng.standard_normal((3, 3, 32, 16)) * 0.1
    z32 = winograd_conv3x3(x.astype(np.float32), k.astype(np.float32), None, SAME)
    assert z32.dtype == np.float32
    z64 = direct(x, k, None, SAME)
    assert np.abs(z32 - z64).max() / np.abs(z64).max() < 1e-5
    g = rng.standard_normal(z64.shape)
    gx64 = direct_input_gradient(g, k, x.shape, SAME)
    gx32, gk32, gb32 = winograd_backward(x.astype(np.float32), g.astype(np.float32),
                                         k.astype(np.float32), SAME)
    assert gx32.dtype == gk32.dtype == gb32.dtype == np.float32
    assert np.abs(gx32 - gx64).max() / np.abs(gx64).max() < 1e-5
    gk64 = direct_kernel_gradient(x, g, SAME)
    assert np.abs(gk32 - gk64).max() / np.abs(gk64).max() < 1e-5


def test_kernel_transform_is_g_g_gt():
    rng = np.random.default_rng(1)
    k = rng.standard_normal((3, 3, 2, 3))
    g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    u = transform_kernel(k).reshape(4, 4, 2, 3)
    for c, f in itertools.product(range(2), range(3)):
        np.testing.assert_allclose(u[:, :, c, f], g @ k[:, :, c, f] @ g.T, rtol=1e-12)


def test_rejects_other_kernel_sizes_and_too_small_inputs():
    with pytest.raises(ValueError, match=r"\(3, 3, C, F\)"):
        winograd_conv3x3(np.zeros((1, 5, 5, 1)), np.zeros((2, 2, 1, 1)))
    with pytest.raises(ValueError, match="smaller than the 3x3 kernel"):
        winograd_conv3x3(np.zeros((1, 2, 5, 1)), np.zeros((3, 3, 1, 1)))


@pytest.mark.parametrize("padding,use_bias", [("valid", True), ("same", False)])
def test_conv2d_winograd_path_matches_im2col_path_float32(padding, use_bias, monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 11, 10, conv2d.WINOGRAD_MIN_CHANNELS)).astype(np.float32)
    results = []
    for threshold in (conv2d.WINOGRAD_MIN_CHANNELS, 10**9):   # Winograd, then im2col
        monkeypatch.setattr(conv2d, "WINOGRAD_MIN_CHANNELS", threshold)
        layer = layers.Conv2D(8, 3, padding=padding, use_bias=use_bias)
        layer.build(x.shape[1:])
        layer.set_weights([w + 0.1 for w in (np.random.default_rng(0).standard_normal(
            v.shape).astype(np.float32) * 0.2 for v in layer.get_weights())])
        y, backward = layer.forward(x, training=True)
        gx = backward(np.ones_like(y) + y)
        results.append((y, gx, *(grad.copy() for grad in layer.grads.values())))
    for got, expected in zip(results[0], results[1]):
        assert got.dtype == np.float32 and got.shape == expected.shape
        assert np.abs(got - expected).max() / np.abs(expected).max() < 1e-5
