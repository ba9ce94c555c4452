"""Inference of a conv block: [stem Conv2D + ReLU ->] 3x3 Conv2D + ReLU -> MaxPooling2D(2x2),
block of samples by block of samples on each thread, through NumPy calls prepared once.

Why: on 2 threads the layer-by-layer inference plan was GIL-bound, not compute-bound. Each
NumPy call on a cache-sized sub-batch (3 MNIST samples) lasts 5-80 us, and the Python between
two calls (views, reshapes, argument checks) holds the GIL, so the two threads kept waiting
for each other: conv2 + pool of the MNIST CNN ran 82 us/sample on one thread but only 60-69
us/sample on two. Two processes running the same code were not slowed by each other at all, so
neither the cores nor the memory were the limit. A :class:`ConvBlock` makes every view of its
scratch buffers once per thread and block size; a block then costs the prepared calls alone,
and the stem's output (the block conv's input) never leaves the core's cache (conv1 of the
MNIST CNN wrote 11 MB per batch of 128 and conv2 read it back). Figures:
benchmarks/results/conv_block.md.

The block conv is Winograd F(4x4, 3x3) (``ops.winograd4``'s tiling and matrices). Each 4x4
output block of a tile holds four whole 2x2 pool windows, so the pool and the ReLU (which
commute) run on the blocks straight out of the output transform, in cache; the conv output is
never written. Keras "valid" pooling drops a trailing odd row or column. The stem is im2col +
one GEMM with its bias folded in (a row of ones). Tested against direct loops and the
reference kernels (tests/test_conv_block.py).

Scratch buffers belong to one ConvBlock (one fused step) and are reused by every call; a call
that finds another thread inside the same block (two threads predicting with one model) runs
on buffers of its own instead.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .elementwise import zeros_like
from .inference import TransformedKernel
from .parallel import num_threads, run_chunks
from .winograd4 import _BIAS_AT, Pads, Tiling4, _tile_view, view

Array = np.ndarray
Call = tuple[Callable[..., Any], tuple[Any, ...]]
# A stem whose patch (kh * kw * C) is longer than this is left to its own step: its patch
# matrix (patch x the pixels of a block) would outgrow the cache the block is sized for, and a
# conv that large does enough work per call to run well on its own.
STEM_MAX_PATCH = 75


@dataclass(frozen=True)
class Stem:
    """The conv in front of the block (relu after it): kernel (kh, kw, C0, C1), bias or None,
    strides, pads ((top, bottom), (left, right))."""
    kernel: Array
    bias: Array | None
    strides: tuple[int, int]
    pads: Pads


def stem_fits(kernel_shape: tuple[int, ...]) -> bool:
    """Whether a conv with this kernel (kh, kw, C0, C1) can run as a block's stem."""
    return int(np.prod(kernel_shape[:3])) <= STEM_MAX_PATCH


def _maximum(a: Array, b: Any, out: Array) -> None:
    np.maximum(a, b, out=out)


class _Geometry:
    """The shapes of one block for inputs (H0, W0, C0) of one dtype."""

    def __init__(self, x_shape: tuple[int, ...], stem: Stem | None, c: int, f: int,
                 pads: Pads, dtype):
        self.dtype, self.x_shape = np.dtype(dtype), tuple(x_shape)
        if stem is None:
            conv_in = tuple(x_shape)
        else:
            kh, kw, c0, c1 = stem.kernel.shape
            if c0 != x_shape[3]:
                raise ValueError(f"the stem expects {c0} input channels, got {x_shape[3]}")
            (pt, pb), (pl, pr) = stem.pads
            self.x_padded = (x_shape[1] + pt + pb, x_shape[2] + pl + pr, c0)
            self.oh1 = (self.x_padded[0] - kh) // stem.strides[0] + 1
            self.ow1 = (self.x_padded[1] - kw) // stem.strides[1] + 1
            if self.oh1 < 1 or self.ow1 < 1:
                raise ValueError(f"input {tuple(x_shape[1:3])} with pads {stem.pads} is smaller "
                                 f"than the stem's {kh}x{kw} kernel")
            self.patch = kh * kw * c0
            conv_in = (x_shape[0], self.oh1, self.ow1, c1)
        if conv_in[3] != c:
            raise ValueError(f"the block conv expects {c} input channels, got {conv_in[3]}")
        self.tiling = Tiling4(conv_in, pads, f, self.dtype)
        t = self.tiling
        self.ph, self.pw = t.oh // 2, t.ow // 2
        if self.ph < 1 or self.pw < 1:
            raise ValueError(f"the conv output {(t.oh, t.ow)} is smaller than the 2x2 pool")


class _Lane:
    """One thread's scratch buffers and its prepared calls, by block size."""

    def __init__(self, geo: _Geometry, weights: dict[str, Array], stem: Stem | None):
        self.geo, self.weights, self.stem = geo, weights, stem
        t = geo.tiling
        self.buf = t.buffers(t.step)
        if stem is not None:
            self.x_stage = np.zeros((t.step, *geo.x_padded), geo.dtype)   # zero borders
            m = t.step * geo.oh1 * geo.ow1
            self.patches = np.empty((geo.patch + 1, m), geo.dtype)
            self.patches[-1] = 1          # the row of ones that carries the stem's bias
            self.stem_out = np.empty((m, t.c), geo.dtype)
        self.programs: dict[int, Program] = {}

    def program(self, k: int) -> Program:
        found = self.programs.get(k)
        if found is None:
            found = self.programs[k] = self._prepare(k)
        return found

    def _prepare(self, k: int) -> Program:
        t, w, buf = self.geo.tiling, self.weights, self.buf
        calls: list[Call] = []
        n_t, c, f = k * t.tiles, t.c, t.f
        d = view(buf, "d", (36, n_t, c))
        tiles_of = d.reshape(6, 6, k, t.th, t.tw, c)
        entry: Array | None = None       # where a block's samples are copied to, if anywhere
        source: Array | None = None      # what the tiles are read from, if fixed
        if self.stem is not None:
            entry, source = self._prepare_stem(k, calls)
        if t.copy_needed:
            padded = buf["padded"][:k]
            inside = padded[:, t.pt:t.pt + t.h, t.pl:t.pl + t.w]
            if source is None:
                entry = inside
            else:
                calls.append((np.copyto, (inside, source)))
            source = padded
        if source is not None:
            calls.append((np.copyto, (tiles_of, _tile_view(source, 0, 0, 6, 6, t.th, t.tw))))
        v, m = view(buf, "v", (36, n_t, c)), view(buf, "m", (36, n_t, f))
        rows, y = view(buf, "rows", (4, 6, n_t, f)), view(buf, "y", (4, 4, n_t, f))
        half, pooled = view(buf, "rows", (2, 4, n_t, f)), view(buf, "m", (2, 2, n_t, f))
        calls += [(np.matmul, (t.bt, d.reshape(6, -1), v.reshape(6, -1))),        # B^T d
                  (np.matmul, (t.bt, v.reshape(6, 6, -1), d.reshape(6, 6, -1))),  # .. B
                  (np.matmul, (d, w["u"], m))]
        if "bias" in w:
            calls.append((np.add, (m[_BIAS_AT], w["bias"], m[_BIAS_AT])))
        calls += [(np.matmul, (t.at, m.reshape(6, -1), rows.reshape(4, -1))),    # A^T m
                  (np.matmul, (t.at, rows.reshape(4, 6, -1), y.reshape(4, 4, -1))),  # .. A
                  (_maximum, (y[0::2], y[1::2], half)),              # pool rows 2a, 2a + 1
                  (_maximum, (half[:, 0::2], half[:, 1::2], pooled))]  # columns 2b, 2b + 1
        # pooled[a, b, tile (s, i, j)] is pool output (2i + a, 2j + b) of sample s; the ReLU
        # (which commutes with the pool) rides on the copy out
        blocks = pooled.reshape(2, 2, k, t.th, t.tw, f).transpose(2, 3, 0, 4, 1, 5)
        zeros = zeros_like(blocks)

        def last(y_block: Array) -> None:
            np.maximum(blocks, zeros, out=y_block.reshape(blocks.shape))
        if entry is not None:
            def first(xb: Array, entry: Array = entry) -> None:
                np.copyto(entry, xb)
        else:       # no copy at all: the tiles are gathered from the caller's x
            def first(xb: Array) -> None:
                np.copyto(tiles_of, _tile_view(xb, 0, 0, 6, 6, t.th, t.tw))
        return Program(first, calls, last)

    def _prepare_stem(self, k: int, calls: list[Call]) -> tuple[Array, Array]:
        """The stem's calls: (staged x, zero-padded) -> transposed patches (one copy) -> one
        GEMM (the bias from the row of ones) -> ReLU. Returns (where x goes, the stem's
        output)."""
        geo, stem = self.geo, self.stem
        assert stem is not None
        kh, kw, c0, c1 = stem.kernel.shape
        (pt, _), (pl, _) = stem.pads
        sh, sw = stem.strides
        stage = self.x_stage[:k]
        m = k * geo.oh1 * geo.ow1
        patches = self.patches[:, :m]     # rows contiguous: a valid BLAS operand transposed
        row, item = patches.strides[0], patches.itemsize
        # [i, j, ch, s, p, q] = patch row (i, j, ch) at output pixel (p, q) of sample s ...
        rows_of = as_strided(patches, (kh, kw, c0, k, geo.oh1, geo.ow1),
                             (kw * c0 * row, c0 * row, row, geo.oh1 * geo.ow1 * item,
                              geo.ow1 * item, item))
        s_n, s_h, s_w, s_c = stage.strides
        # ... = the staged input at (sh * p + i, sw * q + j, ch) of sample s
        taps = as_strided(stage, rows_of.shape, (s_h, s_w, s_c, s_n, sh * s_h, sw * s_w))
        calls.append((np.copyto, (rows_of, taps)))
        out = self.stem_out[:m]
        calls += [(np.matmul, (patches.T, self.weights["stem"], out)),
                  (_maximum, (out, zeros_like(out), out))]      # ReLU
        inside = stage[:, pt:pt + geo.x_shape[1], pl:pl + geo.x_shape[2]]
        return inside, out.reshape(k, geo.oh1, geo.ow1, c1)


@dataclass(frozen=True)
class Program:
    """A block of k samples: ``first(x_block)`` takes them in, ``calls`` run in order, and
    ``last(y_block)`` writes the k pooled outputs, (k, 2 th, 2 tw, F)."""
    first: Callable[[Array], None]
    calls: list[Call]
    last: Callable[[Array], None]


class ConvBlock:
    """The state of one fused block step: its kernels in their GEMM forms and one lane of
    scratch buffers per thread, kept while the input shape, dtype and thread count stay."""

    def __init__(self) -> None:
        self._transformed = TransformedKernel()
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._lanes: list[_Lane] = []
        self._weights: dict[str, Array] = {}

    def __call__(self, x: Array, kernel: Array, bias: Array | None, pads: Pads,
                 stem: Stem | None = None) -> Array:
        """max_pool2x2(relu(conv3x3(relu(stem(x)) or x, kernel) + bias)): (N, H, W, C0) ->
        (N, OH // 2, OW // 2, F), Keras "valid" pooling (a trailing odd row/column dropped)."""
        if x.ndim != 4 or kernel.ndim != 4 or kernel.shape[:2] != (3, 3):
            raise ValueError(f"a conv block needs x (N, H, W, C) and a (3, 3, C, F) kernel, got "
                             f"x {x.shape} and kernel {kernel.shape}")
        if not self._lock.acquire(blocking=False):
            return ConvBlock()(x, kernel, bias, pads, stem)   # another thread is inside
        try:
            return self._run(x, kernel, bias, pads, stem)
        finally:
            self._lock.release()

    def _run(self, x: Array, kernel: Array, bias: Array | None, pads: Pads,
             stem: Stem | None) -> Array:
        lanes = num_threads()
        key = (x.shape[1:], x.dtype, kernel.shape, bias is not None, pads, lanes,
               None if stem is None else (stem.kernel.shape, stem.bias is not None,
                                          stem.strides, stem.pads))
        if key != self._key:
            self._key, self._lanes = None, []
            geo = _Geometry(x.shape, stem, kernel.shape[2], kernel.shape[3], pads, x.dtype)
            self._weights = self._allocate(geo, kernel, bias, stem)
            self._lanes = [_Lane(geo, self._weights, stem) for _ in range(lanes)]
            self._key = key
        self._refresh(kernel, bias, stem)
        geo = self._lanes[0].geo
        t = geo.tiling
        y = np.empty((len(x), 2 * t.th, 2 * t.tw, t.f), dtype=x.dtype)
        n, step = len(x), t.step
        claims = itertools.count()    # blocks are claimed one at a time: a slowed lane does less

        def work(first_lane: int, stop_lane: int) -> None:
            lane = self._lanes[first_lane]
            while (a := next(claims) * step) < n:
                b = min(a + step, n)
                program = lane.program(b - a)
                program.first(x[a:b])
                for call, args in program.calls:
                    call(*args)
                program.last(y[a:b])
        run_chunks(work, min(lanes, -(-n // step)))
        return y if (geo.ph, geo.pw) == y.shape[1:3] else \
            np.ascontiguousarray(y[:, :geo.ph, :geo.pw])

    @staticmethod
    def _allocate(geo: _Geometry, kernel: Array, bias: Array | None, stem: Stem | None
                  ) -> dict[str, Array]:
        weights = {"u": np.empty((36, *kernel.shape[2:]), geo.dtype)}
        if bias is not None:
            weights["bias"] = np.empty(kernel.shape[3], geo.dtype)
        if stem is not None:
            weights["stem"] = np.empty((geo.patch + 1, stem.kernel.shape[3]), geo.dtype)
        return weights

    def _refresh(self, kernel: Array, bias: Array | None, stem: Stem | None) -> None:
        """Copy the live weights into the buffers the prepared calls read (a training step or
        set_weights may have changed them since the last call)."""
        w = self._weights
        np.copyto(w["u"], self._transformed(kernel))
        if bias is not None:
            np.copyto(w["bias"], bias)
        if stem is not None:
            patch = w["stem"].shape[0] - 1
            np.copyto(w["stem"][:patch], stem.kernel.reshape(patch, -1))
            w["stem"][patch] = 0 if stem.bias is None else stem.bias
