"""The fast kernels in scratchnet.ops against the reference kernels and naive loops, the
reference convolution against values worked out by hand, and the layers built on them against
central differences (float64). Every kernel is run with 1 and with 3 threads (odd splits)."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers
from scratchnet.ops import parallel, reference
from scratchnet.ops.conv_gemm import conv2d_backward, conv2d_forward
from scratchnet.ops.dropout import dropout_mask, random_uint16
from scratchnet.ops.elementwise import relu_backward_from_output, relu_inplace
from scratchnet.ops.im2col import col2im, im2col
from scratchnet.ops.pool import maxpool_backward, maxpool_forward


def naive_conv(x, k, b, sh, sw):
    z = reference.conv2d(x, k, (sh, sw))
    return z if b is None else z + b


def naive_conv_grads(x, k, g, sh, sw):
    return (reference.conv2d_input_grad(g, k, x.shape, (sh, sw)),
            reference.conv2d_kernel_grad(x, g, k.shape, (sh, sw)), g.sum(axis=(0, 1, 2)))


def test_reference_convolution_by_hand():
    """The reference kernel itself, on numbers worked out by hand: 3x3 image 1..9, 2x2 kernel
    [[1, 2], [3, 4]]: z[i, j] = x[i, j] + 2 x[i, j+1] + 3 x[i+1, j] + 4 x[i+1, j+1]."""
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    k = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(reference.conv2d(x, k, (1, 1))[0, :, :, 0], [[37, 47],
                                                                               [67, 77]])
    np.testing.assert_array_equal(reference.conv2d(x, k, (2, 2)).ravel(), [37])
    g = np.ones((1, 2, 2, 1))        # every output's gradient 1: each pixel gets the taps it met
    np.testing.assert_array_equal(reference.conv2d_input_grad(g, k, x.shape, (1, 1))[0, :, :, 0],
                                  [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    np.testing.assert_array_equal(reference.conv2d_kernel_grad(x, g, k.shape, (1, 1))[:, :, 0, 0],
                                  [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6], [4 + 5 + 7 + 8, 5 + 6 + 8 + 9]])


GEOMETRIES = [  # (N, H, W, C, kh, kw, sh, sw, F)
    (2, 5, 5, 1, 3, 3, 1, 1, 4),
    (3, 7, 6, 2, 3, 2, 2, 1, 3),
    (4, 8, 9, 3, 2, 2, 2, 2, 2),
    (5, 6, 7, 2, 1, 1, 1, 1, 3),
    (3, 9, 8, 2, 3, 3, 3, 2, 2),
]


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_im2col_col2im_match_loops(geom):
    n, h, w, c, kh, kw, sh, sw, _ = geom
    x = np.random.default_rng(0).standard_normal((n, h, w, c))
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = im2col(x, kh, kw, sh, sw)
    expected = np.stack([x[s, i * sh:i * sh + kh, j * sw:j * sw + kw, :].ravel()
                         for s in range(n) for i in range(oh) for j in range(ow)])
    np.testing.assert_array_equal(cols, expected)
    back = col2im(expected, x.shape, kh, kw, sh, sw)
    naive = np.zeros_like(x)
    for r, (s, i, j) in enumerate((s, i, j) for s in range(n) for i in range(oh)
                                  for j in range(ow)):
        naive[s, i * sh:i * sh + kh, j * sw:j * sw + kw, :] += expected[r].reshape(kh, kw, c)
    np.testing.assert_allclose(back, naive, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_conv_kernels_match_loops(geom, use_bias, threads):
    n, h, w, c, kh, kw, sh, sw, f = geom
    rng = np.random.default_rng(1)
    x, k = rng.standard_normal((n, h, w, c)), rng.standard_normal((kh, kw, c, f))
    b = rng.standard_normal(f) if use_bias else None
    z = conv2d_forward(x, k, b, (sh, sw))
    np.testing.assert_allclose(z, naive_conv(x, k, b, sh, sw), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(z.shape)
    gx, gk, gb = conv2d_backward(g, x, k, (sh, sw), use_bias)
    ex, ek, eb = naive_conv_grads(x, k, g, sh, sw)
    np.testing.assert_allclose(gx, ex, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gk, ek, rtol=1e-10, atol=1e-10)
    if use_bias:
        np.testing.assert_allclose(gb, eb, rtol=1e-10, atol=1e-10)
    else:
        assert gb is None


def test_conv_kernels_keep_float32():
    x = np.ones((2, 5, 5, 3), np.float32)
    k, b = np.ones((3, 3, 3, 4), np.float32), np.zeros(4, np.float32)
    z = conv2d_forward(x, k, b, (1, 1))
    grads = conv2d_backward(z, x, k, (1, 1))
    assert z.dtype == np.float32
    assert all(a.dtype == np.float32 for a in grads)


def naive_maxpool(x, ph, pw):
    n, h, w, c = x.shape
    oh, ow = h // ph, w // pw
    y, gx_route = np.zeros((n, oh, ow, c)), {}
    for s in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    window = x[s, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw, ch]
                    flat = int(np.argmax(window))          # first max in row-major order
                    y[s, i, j, ch] = window.ravel()[flat]
                    gx_route[s, i, j, ch] = (s, i * ph + flat // pw, j * pw + flat % pw, ch)
    return y, gx_route


@pytest.mark.parametrize("shape,pool", [((2, 6, 6, 3), (2, 2)), ((3, 7, 5, 2), (2, 2)),
                                        ((2, 9, 8, 1), (3, 3)), ((4, 6, 7, 2), (2, 3))])
def test_maxpool_kernels_route_to_first_max(shape, pool, threads):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, size=shape).astype(np.float32)   # many exact ties
    x[0] = 0.0                                               # whole windows tied (post-ReLU zeros)
    y, winner = maxpool_forward(x, pool)
    expected_y, route = naive_maxpool(x, *pool)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(maxpool_forward(x, pool, record_winner=False)[0], expected_y)
    assert maxpool_forward(x, pool, record_winner=False)[1] is None
    for (s, i, j, ch), (_, xi, xj, _) in route.items():
        assert winner[s, i, j, ch] == (xi - i * pool[0]) * pool[1] + (xj - j * pool[1])
    g = rng.standard_normal(y.shape).astype(np.float32)
    gx = maxpool_backward(winner, g, x.shape, pool)
    expected = np.zeros_like(x)
    for out_index, in_index in route.items():
        expected[in_index] += g[out_index]
    np.testing.assert_array_equal(gx, expected)


def test_relu_kernels(threads):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((64, 40, 30)).astype(np.float32)
    z[0, 0, :5] = 0.0
    expected = np.maximum(z, 0)
    y = relu_inplace(z)
    assert y is z
    np.testing.assert_array_equal(y, expected)
    g = rng.standard_normal(z.shape).astype(np.float32)
    np.testing.assert_array_equal(relu_backward_from_output(y, g), g * (expected > 0))


def test_chunk_bounds_cover_range_once():
    for n in range(0, 12):
        for parts in range(1, 5):
            bounds = parallel.chunk_bounds(n, parts)
            covered = [i for a, b in bounds for i in range(a, b)]
            assert covered == list(range(n))


@pytest.mark.parametrize("layer,shape", [
    (lambda: layers.Conv2D(3, (3, 3), activation="relu"), (2, 6, 5, 2)),
    (lambda: layers.Conv2D(2, (3, 2), strides=(2, 1), padding="same"), (3, 7, 6, 2)),
    (lambda: layers.Conv2D(2, 2, strides=2, activation="tanh", use_bias=False), (2, 6, 6, 3)),
    (lambda: layers.MaxPooling2D((2, 2)), (2, 7, 6, 3)),
    (lambda: layers.MaxPooling2D((2, 2), strides=(1, 1)), (2, 5, 5, 2)),
    (lambda: layers.Dense(5, activation="relu"), (4, 7)),
])
def test_fast_layers_pass_gradcheck_float64(layer, shape, threads):
    x = np.random.default_rng(4).standard_normal(shape)
    result = sn.gradcheck(layer(), x, seed=0)
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("rate", [0.25, 0.5, 0.1])
def test_dropout_mask_from_16_bit_draws(rate):
    shape = (70, 9, 11)                        # odd sizes: the last 64-bit draw is partly used
    mask = dropout_mask(np.random.default_rng(5), shape, rate, np.float32)
    raw = np.random.default_rng(5).bit_generator.random_raw(-(-mask.size // 4))
    draws = [(int(r) >> (16 * k)) & 0xFFFF for r in raw for k in range(4)][:mask.size]
    threshold = round(rate * 2 ** 16)          # little-endian: low 16 bits first
    expected = np.array([0.0 if u < threshold else 1 / (1 - rate) for u in draws], np.float32)
    np.testing.assert_array_equal(mask.ravel(), expected)
    assert mask.dtype == np.float32
    assert abs((mask == 0).mean() - rate) < 0.02


def test_dropout_rate_is_exact_to_16_bits():
    bits = random_uint16(np.random.default_rng(6), (1 << 20,))
    counts = np.bincount(bits, minlength=1 << 16)
    assert counts.min() > 0 and bits.dtype == np.uint16          # every value occurs: uniform
    assert abs(counts.std() / counts.mean() - 1 / 4) < 0.02      # Poisson(16) spread
    for rate in (0.25, 0.5, 0.3):
        threshold = round(rate * 2 ** 16)
        assert abs(threshold / 2 ** 16 - rate) <= 2 ** -17



def test_maxpool_layer_backward_after_inference_forward_finds_the_winners():
    x = np.random.default_rng(8).integers(-2, 2, size=(3, 6, 7, 2)).astype(np.float32)
    layer, g = layers.MaxPooling2D(2), np.arange(54, dtype=np.float32).reshape(3, 3, 3, 2)
    trained = layer.forward(x, training=True)[1](g)
    np.testing.assert_array_equal(layer.forward(x, training=False)[1](g), trained)
    assert trained.sum() == g.sum() and (trained[:, :, 6, :] == 0).all()


def test_worker_threads_follow_the_callers_errstate():
    from scratchnet.ops import parallel

    def overflow(a, b):
        return np.float32(3e38) * np.float32(10)   # inf, with an overflow warning
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            parallel.run_chunks(overflow, 8)
    with np.errstate(over="ignore"):
        assert np.isinf(parallel.run_chunks(overflow, 8)).all()
