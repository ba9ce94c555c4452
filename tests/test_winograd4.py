"""Winograd F(4x4, 3x3) (ops.winograd4) against a direct loop convolution: float64 to rounding,
float32 within a stated bound, both gradients against their direct formulas."""
import itertools
from fractions import Fraction

import numpy as np
import pytest

from scratchnet.ops import winograd4
from scratchnet.ops.winograd4 import (
    transform_kernel,
    winograd4_backward,
    winograd4_conv3x3,
    winograd_matrices,
)

# Max |error| / max |output| for float32 inputs, C <= 32 channels. Measured 0.7-2.2e-6 (a float32
# unit roundoff is 6e-8; F(2x2) gives ~2.3e-7); the bound leaves room for other data and BLAS.
FLOAT32_RELATIVE_BOUND = 1e-5
FLOAT64_RELATIVE_BOUND = 1e-12


def direct_conv(xp, kernel):
    """Valid 3x3 cross-correlation of an already padded xp: one GEMM-free loop per tap."""
    n, h, w, _ = xp.shape
    z = np.zeros((n, h - 2, w - 2, kernel.shape[3]))
    for i, j in itertools.product(range(3), range(3)):
        z += xp[:, i:i + h - 2, j:j + w - 2] @ kernel[i, j]
    return z


def padded(x, pads):
    return np.pad(x, ((0, 0), *pads, (0, 0)))


VALID, SAME = ((0, 0), (0, 0)), ((1, 1), (1, 1))
# (N, H, W, C, F, pads): outputs that are multiples of 4 and not, 1x1 outputs, odd sizes,
# asymmetric pads; C and F odd and even.
CASES = [(1, 6, 6, 2, 3, VALID), (2, 3, 3, 1, 1, VALID), (2, 9, 7, 3, 4, VALID),
         (1, 7, 11, 5, 2, SAME), (3, 5, 6, 2, 5, ((0, 1), (1, 0))), (2, 1, 2, 3, 2, SAME),
         (2, 10, 10, 4, 3, ((2, 1), (0, 2)))]


@pytest.mark.parametrize("n,h,w,c,f,pads", CASES)
def test_forward_and_gradients_match_direct_float64(n, h, w, c, f, pads, threads, rng):
    x = rng.standard_normal((n, h, w, c))
    kernel, bias = rng.standard_normal((3, 3, c, f)), rng.standard_normal(f)
    expected = direct_conv(padded(x, pads), kernel) + bias
    z = winograd4_conv3x3(x, kernel, bias, pads)
    assert z.shape == expected.shape
    scale = np.abs(expected).max()
    assert np.abs(z - expected).max() <= FLOAT64_RELATIVE_BOUND * scale

    grad_z = rng.standard_normal(z.shape)
    grad_x, grad_k, grad_b = winograd4_backward(x, grad_z, kernel, pads)
    (pt, _), (pl, _) = pads
    xp = padded(x, pads)
    oh, ow = z.shape[1:3]
    expected_k = np.array([[np.einsum("nhwc,nhwf->cf", xp[:, i:i + oh, j:j + ow], grad_z)
                            for j in range(3)] for i in range(3)])
    # the input gradient is the full correlation of grad_z with the flipped kernel
    flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
    expected_xp = direct_conv(padded(grad_z, ((2, 2), (2, 2))), flipped)
    expected_x = expected_xp[:, pt:pt + h, pl:pl + w]
    for got, want in ((grad_k, expected_k), (grad_x, expected_x),
                      (grad_b, grad_z.sum(axis=(0, 1, 2)))):
        assert np.abs(got - want).max() <= FLOAT64_RELATIVE_BOUND * max(1, np.abs(want).max())


def test_float32_error_is_within_the_stated_bound(rng):
    """The MNIST CNN's conv2 shape (C=32 -> F=64), Glorot-scale weights, float32 in and out."""
    x = rng.random((4, 26, 26, 32))
    kernel = rng.uniform(-0.07, 0.07, (3, 3, 32, 64))
    expected = direct_conv(x, kernel)
    z32 = winograd4_conv3x3(x.astype(np.float32), kernel.astype(np.float32))
    assert z32.dtype == np.float32
    assert np.abs(z32 - expected).max() <= FLOAT32_RELATIVE_BOUND * np.abs(expected).max()


def test_many_sub_batches_and_a_short_last_one(monkeypatch, threads, rng):
    """Buffers are reused across sub-batches; the last, shorter one must still be exact."""
    monkeypatch.setattr(winograd4, "SUB_BATCH_BYTES", 1)      # one sample per sub-batch ...
    x = rng.standard_normal((7, 8, 9, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))
    expected = direct_conv(padded(x, SAME), kernel)
    assert np.allclose(winograd4_conv3x3(x, kernel, None, SAME), expected, atol=1e-11)
    monkeypatch.setattr(winograd4, "SUB_BATCH_BYTES", 3 * 36 * 6 * 5 * 8)   # ... 3, 3, 1
    assert np.allclose(winograd4_conv3x3(x, kernel, None, SAME), expected, atol=1e-11)
    grad_x, grad_k, _ = winograd4_backward(x, np.ones_like(expected), kernel, SAME)
    assert np.allclose(grad_k[1, 1], x.sum(axis=(0, 1, 2))[:, None], atol=1e-10)


def test_relu_forward_and_masked_backward(rng):
    x = rng.standard_normal((2, 6, 6, 2))
    kernel, bias = rng.standard_normal((3, 3, 2, 3)), rng.standard_normal(3)
    z = direct_conv(x, kernel) + bias
    y = winograd4_conv3x3(x, kernel, bias, relu=True)
    assert np.allclose(y, np.maximum(z, 0), atol=1e-12)
    grad_y = rng.standard_normal(y.shape)
    masked = winograd4_backward(x, grad_y * (z > 0), kernel, VALID)
    for got, want in zip(winograd4_backward(x, grad_y, kernel, VALID, relu_output=y), masked):
        assert np.allclose(got, want, atol=1e-12)


def test_kernel_gradient_matches_central_finite_differences(rng):
    x = rng.standard_normal((1, 5, 5, 2))
    kernel = rng.standard_normal((3, 3, 2, 2))
    grad_z = rng.standard_normal((1, 5, 5, 2))
    _, grad_k, _ = winograd4_backward(x, grad_z, kernel, SAME, use_bias=False,
                                      input_gradient=False)
    eps = 1e-6
    for index in [(0, 0, 0, 0), (1, 2, 1, 0), (2, 1, 0, 1)]:
        plus, minus = kernel.copy(), kernel.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric = ((winograd4_conv3x3(x, plus, None, SAME) * grad_z).sum()
                   - (winograd4_conv3x3(x, minus, None, SAME) * grad_z).sum()) / (2 * eps)
        assert numeric == pytest.approx(grad_k[index], rel=1e-6, abs=1e-8)


def test_matrices_give_exact_1d_correlation_for_other_point_sets():
    points = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), None)
    a_t, g, b_t = winograd_matrices(points)
    d, k = np.arange(1.0, 7.0), np.array([0.5, -2.0, 3.0])
    expected = np.array([d[i:i + 3] @ k for i in range(4)])
    assert np.allclose(a_t @ ((g @ k) * (b_t @ d)), expected, atol=1e-12)
    assert np.array_equal(b_t, np.round(b_t))       # integer rows: the per-tile transform
    with pytest.raises(ValueError, match="needs 6 interpolation points"):
        winograd_matrices(points[:5])


def test_cached_kernel_transform_gives_the_same_output(rng):
    x = rng.standard_normal((2, 6, 6, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))
    assert np.array_equal(winograd4_conv3x3(x, kernel),
                          winograd4_conv3x3(x, kernel, u=transform_kernel(kernel)))


def test_bad_shapes_get_one_clear_error(rng):
    with pytest.raises(ValueError, match=r"\(3, 3, C, F\) kernel"):
        winograd4_conv3x3(rng.standard_normal((1, 6, 6, 2)), rng.standard_normal((5, 5, 2, 1)))
    with pytest.raises(ValueError, match="smaller than the 3x3 kernel"):
        winograd4_conv3x3(rng.standard_normal((1, 2, 6, 2)), rng.standard_normal((3, 3, 2, 1)))
