"""The conv block of inference (ops.conv_block): [stem conv + ReLU ->] 3x3 conv + ReLU -> 2x2
max pool through prepared calls, against a direct loop written here and the reference kernels;
its buffers reused safely (new weights, new shapes, concurrent callers, returned arrays)."""
import itertools
import threading

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers
from scratchnet.ops import winograd4
from scratchnet.ops.conv_block import ConvBlock, Stem, stem_fits
from scratchnet.ops.kernels import kernels_scope


def direct_conv(x, kernel, bias, strides, pads):
    """Zero-padded cross-correlation as loops over kernel offsets (float64)."""
    xp = np.pad(x, ((0, 0), *pads, (0, 0)))
    kh, kw, _, f = kernel.shape
    sh, sw = strides
    oh, ow = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    z = np.zeros((len(x), oh, ow, f))
    for i, j in itertools.product(range(kh), range(kw)):
        z += xp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] @ kernel[i, j]
    return z if bias is None else z + bias


def expected_block(x, kernel, bias, pads, stem):
    h = x if stem is None else np.maximum(
        direct_conv(x, stem.kernel, stem.bias, stem.strides, stem.pads), 0)
    y = np.maximum(direct_conv(h, kernel, bias, (1, 1), pads), 0)
    ph, pw = y.shape[1] // 2, y.shape[2] // 2
    return y[:, :2 * ph, :2 * pw].reshape(len(x), ph, 2, pw, 2, -1).max(axis=(2, 4))


CASES = {   # name: (x shape, stem (kernel shape, strides, pads) or None, block pads, F)
    "mnist_like": ((7, 12, 12, 1), ((3, 3, 1, 4), (1, 1), ((0, 0), (0, 0))),
                   ((0, 0), (0, 0)), 5),
    "strided_same_stem": ((5, 9, 11, 3), ((3, 3, 3, 2), (2, 2), ((1, 1), (1, 1))),
                          ((1, 1), (1, 1)), 3),
    "odd_sizes": ((4, 10, 9, 2), ((2, 3, 2, 3), (1, 1), ((0, 0), (0, 0))),
                  ((0, 1), (1, 0)), 2),
    "no_stem": ((6, 9, 10, 3), None, ((0, 0), (0, 0)), 4),
    "no_stem_whole_blocks": ((2, 10, 10, 3), None, ((0, 0), (0, 0)), 5),    # 8x8 conv output
    "no_stem_odd": ((3, 9, 11, 2), None, ((0, 0), (0, 0)), 5),   # 7x9: last row/column dropped
    "no_stem_same": ((3, 6, 7, 2), None, ((1, 1), (1, 1)), 2),
    "no_stem_one_window": ((1, 4, 4, 1), None, ((0, 1), (1, 0)), 3),   # 3x3 conv output
}


def make_case(name, rng, use_bias=True):
    x_shape, stem_spec, pads, f = CASES[name]
    x = rng.standard_normal(x_shape)
    stem = None
    if stem_spec is not None:
        shape, strides, stem_pads = stem_spec
        stem = Stem(rng.standard_normal(shape),
                    rng.standard_normal(shape[3]) if use_bias else None, strides, stem_pads)
    c = x_shape[3] if stem is None else stem.kernel.shape[3]
    kernel = rng.standard_normal((3, 3, c, f))
    bias = rng.standard_normal(f) if use_bias else None
    return x, kernel, bias, pads, stem


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("use_bias", [True, False])
def test_block_matches_direct_loops(name, use_bias, threads, rng, monkeypatch):
    monkeypatch.setattr(winograd4, "SUB_BATCH_BYTES", 1)    # one sample per sub-batch
    x, kernel, bias, pads, stem = make_case(name, rng, use_bias)
    want = expected_block(x, kernel, bias, pads, stem)
    got = ConvBlock()(x, kernel, bias, pads, stem)
    assert got.shape == want.shape and got.dtype == np.float64
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()


def test_block_sub_batches_of_several_samples_and_a_shorter_last_one(rng):
    x, kernel, bias, pads, stem = make_case("mnist_like", rng)
    x = rng.standard_normal((23, 12, 12, 1))      # several default-sized sub-batches per lane
    block = ConvBlock()
    got = block(x, kernel, bias, pads, stem)
    assert np.abs(got - expected_block(x, kernel, bias, pads, stem)).max() <= 1e-11
    steps = block._lanes[0].geo.tiling.step
    assert steps > 1 and all(len(lane.programs) <= steps for lane in block._lanes)


def test_block_in_float32_stays_close(rng):
    x, kernel, bias, pads, stem = make_case("mnist_like", rng)
    stem32 = Stem(stem.kernel.astype(np.float32), stem.bias.astype(np.float32), stem.strides,
                  stem.pads)
    got = ConvBlock()(x.astype(np.float32), kernel.astype(np.float32),
                      bias.astype(np.float32), pads, stem32)
    want = expected_block(x, kernel, bias, pads, stem)
    assert got.dtype == np.float32
    assert np.abs(got - want).max() <= 2e-5 * np.abs(want).max()


def test_block_follows_new_weights_new_shapes_and_never_reuses_its_output(rng):
    block = ConvBlock()
    x, kernel, bias, pads, stem = make_case("mnist_like", rng)
    first = block(x, kernel, bias, pads, stem)
    kept = first.copy()
    kernel *= -0.5      # in place, as an optimizer step does
    bias += 1.0
    stem.kernel[...] *= 2.0
    stem.bias[...] -= 0.25
    assert np.abs(block(x, kernel, bias, pads, stem)
                  - expected_block(x, kernel, bias, pads, stem)).max() <= 1e-11
    assert np.array_equal(first, kept), "a returned array was overwritten by the next call"
    x2, kernel2, bias2, pads2, stem2 = make_case("strided_same_stem", rng)
    assert np.abs(block(x2, kernel2, bias2, pads2, stem2)
                  - expected_block(x2, kernel2, bias2, pads2, stem2)).max() <= 1e-11
    assert np.abs(block(x[:1], kernel, bias, pads, stem)
                  - expected_block(x[:1], kernel, bias, pads, stem)).max() <= 1e-11


def test_two_threads_inside_one_block_each_get_their_own_answer(rng):
    x, kernel, bias, pads, stem = make_case("mnist_like", rng)
    inputs = [rng.standard_normal((40, 12, 12, 1)) for _ in range(4)]
    wants = [expected_block(v, kernel, bias, pads, stem) for v in inputs]
    block, errors = ConvBlock(), []

    def predict(i):
        for _ in range(5):
            got = block(inputs[i], kernel, bias, pads, stem)
            if np.abs(got - wants[i]).max() > 1e-11:
                errors.append(i)
    workers = [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []


def test_block_refuses_what_it_cannot_do(rng):
    with pytest.raises(ValueError, match=r"\(3, 3, C, F\) kernel"):
        ConvBlock()(rng.standard_normal((1, 6, 6, 2)), rng.standard_normal((2, 2, 2, 1)), None,
                    ((0, 0), (0, 0)))
    with pytest.raises(ValueError, match="expects 4 input channels, got 2"):
        ConvBlock()(rng.standard_normal((1, 6, 6, 2)), rng.standard_normal((3, 3, 4, 1)), None,
                    ((0, 0), (0, 0)))
    with pytest.raises(ValueError, match="smaller than the stem"):
        stem = Stem(rng.standard_normal((5, 5, 1, 2)), None, (1, 1), ((0, 0), (0, 0)))
        ConvBlock()(rng.standard_normal((1, 4, 4, 1)), rng.standard_normal((3, 3, 2, 1)), None,
                    ((0, 0), (0, 0)), stem)
    with pytest.raises(ValueError, match="smaller than the 2x2 pool"):
        ConvBlock()(rng.standard_normal((1, 3, 6, 2)), rng.standard_normal((3, 3, 2, 1)), None,
                    ((0, 0), (0, 0)))


def test_a_stem_with_a_long_patch_is_left_to_its_own_step(rng):
    assert stem_fits((3, 3, 8, 32)) and not stem_fits((3, 3, 9, 32))
    model = sn.Sequential([layers.Conv2D(32, 3, activation="relu", input_shape=(10, 10, 9)),
                           layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2)])
    model.build((10, 10, 9))
    with kernels_scope("fast"):
        rules = [line.split(": ")[1] for line in model.runner.plan(inference=True).describe()]
    assert rules == ["affine_relu", "conv_relu_max_pool2x2_inference"]
    x = rng.standard_normal((3, 10, 10, 9)).astype(np.float32)
    with kernels_scope("reference"):
        want = model.forward(x, training=False)[0]
    assert np.abs(model.predict(x, verbose=0) - want).max() <= 1e-5


def test_memory_stays_flat_over_many_predictions(rng):
    """The block's buffers are made once: predicting again, at batch sizes that come and go,
    allocates nothing that stays."""
    import tracemalloc
    model = sn.Sequential([layers.Conv2D(32, 3, activation="relu", input_shape=(12, 12, 1)),
                           layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
                           layers.Flatten(), layers.Dense(3)])
    model.build((12, 12, 1))
    batches = [rng.random((n, 12, 12, 1)).astype(np.float32) for n in (9, 4, 9, 1)]
    for x in batches:
        model.predict(x, verbose=0)
    tracemalloc.start()
    try:
        for x in batches * 5:
            model.predict(x, verbose=0)
        before = tracemalloc.get_traced_memory()[0]
        for x in batches * 10:
            model.predict(x, verbose=0)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 << 10, f"{grown} bytes stayed allocated after 40 more predictions"
