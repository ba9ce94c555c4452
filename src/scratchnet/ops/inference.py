"""Inference-only kernels: nothing is recorded for a backward pass (no pool winners, no ReLU
masks, no kept inputs), and what depends only on the weights (the Winograd-transformed kernel)
is passed in by a caller that caches it.

- ``winograd4_relu_max_pool2x2``: Conv2D 3x3 stride 1 + bias + ReLU + MaxPooling2D(2, 2) in
  one Winograd F(4x4, 3x3) pass. Each 4x4 output block of a tile holds four whole 2x2 pool
  windows, so the pool and the ReLU (which commute) run on the blocks straight out of the
  output transform, in cache; the conv output is never written.

``TransformedKernel`` caches a kernel's F(4x4) transform for a caller that runs it many times
(the runner's inference plan), recomputed whenever the kernel's values change.

Channels-last, Keras kernel layout; batch split across threads (ops.parallel). Tested against a
direct convolution followed by ReLU and pooling.
"""
from __future__ import annotations

import numpy as np

from .elementwise import relu_into
from .parallel import run_chunks
from .winograd4 import Pads, Tiling4, transform_kernel, view

Array = np.ndarray


def winograd4_relu_max_pool2x2(x: Array, kernel: Array | None, bias: Array | None = None,
                               pads: Pads = ((0, 0), (0, 0)), u: Array | None = None) -> Array:
    """max_pool2x2(max(conv3x3(x, kernel) + bias, 0)) with Keras "valid" pooling (a trailing
    odd conv row/column is dropped): x (N, H, W, C) -> (N, OH // 2, OW // 2, F), OH = H + pt +
    pb - 2 (likewise OW). Pass ``u`` = winograd4.transform_kernel(kernel) to skip the kernel
    transform (``kernel`` may then be None)."""
    if u is None:
        if kernel is None or kernel.ndim != 4 or kernel.shape[:2] != (3, 3):
            raise ValueError(f"winograd4_relu_max_pool2x2 needs a (3, 3, C, F) kernel or its "
                             f"transform u, got {None if kernel is None else kernel.shape}")
        u = transform_kernel(kernel)
    if x.ndim != 4 or u.shape[:2] != (36, x.shape[3]):
        raise ValueError(f"winograd4_relu_max_pool2x2 needs x (N, H, W, C) matching the kernel's "
                         f"C = {u.shape[1]}, got x {x.shape}")
    f = u.shape[2]
    t = Tiling4(x.shape, pads, f, x.dtype)
    ph, pw = t.oh // 2, t.ow // 2
    if ph < 1 or pw < 1:
        raise ValueError(f"the conv output {(t.oh, t.ow)} is smaller than the 2x2 pool")
    y = np.empty((x.shape[0], 2 * t.th, 2 * t.tw, f), dtype=x.dtype)

    def work(start: int, stop: int) -> None:
        buf = t.buffers(min(t.step, stop - start))
        for a, b in t.sub_batches(start, stop):
            k, n_t = b - a, (b - a) * t.tiles
            blocks = t.output_blocks(x, u, bias, a, b, buf)          # (4, 4, n_t, F)
            half = view(buf, "rows", (2, 4, n_t, f))
            pooled = view(buf, "m", (2, 2, n_t, f))   # free once the blocks are out
            np.maximum(blocks[0::2], blocks[1::2], out=half)        # rows 2a, 2a + 1
            np.maximum(half[:, 0::2], half[:, 1::2], out=pooled)    # columns 2b, 2b + 1
            relu_into(pooled)
            # pooled[a, b, tile (s, i, j)] is pool output (2i + a, 2j + b) of sample s
            np.copyto(y[a:b].reshape(k, t.th, 2, t.tw, 2, f),
                      pooled.reshape(2, 2, k, t.th, t.tw, f).transpose(2, 3, 0, 4, 1, 5))
    run_chunks(work, x.shape[0])
    return y if (ph, pw) == y.shape[1:3] else np.ascontiguousarray(y[:, :ph, :pw])


class TransformedKernel:
    """winograd4.transform_kernel(kernel) of one live kernel array, kept while its values stay
    the same (a training step or set_weights between two predictions changes them in place;
    comparing 3*3*C*F values costs far less than the conv)."""

    def __init__(self) -> None:
        self._copy: Array | None = None
        self._u: Array | None = None

    def __call__(self, kernel: Array) -> Array:
        if self._copy is None or self._copy.dtype != kernel.dtype \
                or self._copy.shape != kernel.shape or not np.array_equal(self._copy, kernel):
            self._copy, self._u = kernel.copy(), transform_kernel(kernel)
        return self._u
