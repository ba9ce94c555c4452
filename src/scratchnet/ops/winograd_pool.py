"""Winograd F(2x2, 3x3) convolution, ReLU and 2x2 max pooling in one pass.

When the conv output (OH, OW) is even, each 2x2 output block of a Winograd tile is exactly one
2x2 pool window: the pool (first-max rule, ops.pool.first_max) and the ReLU run on the blocks
straight out of the output transform, in cache, and the conv output is never written. Backward
is ops.winograd.winograd_backward(..., pool_winner=winner), which builds each tile's gradient
block from the pooled gradient. Stateless; tested against the conv followed by the pool.
"""
from __future__ import annotations

import numpy as np

from .parallel import run_chunks
from .pool import first_max
from .winograd import WINDOW, Array, Pads, _Tiling, output_blocks, transform_kernel


def pools_exactly(x_shape: tuple[int, ...], pads: Pads) -> bool:
    """Whether the conv output of x_shape (N, H, W, C) with ``pads`` has even height and width,
    so that each 2x2 output block of a tile is one 2x2 max-pool window."""
    (pt, pb), (pl, pr) = pads
    return (x_shape[1] + pt + pb - 2) % 2 == 0 and (x_shape[2] + pl + pr - 2) % 2 == 0


def winograd_relu_max_pool2x2(x: Array, kernel: Array, bias: Array | None, pads: Pads,
                              record_winner: bool) -> tuple[Array, Array | None]:
    """(y, winner) = ops.pool.maxpool_forward(winograd_conv3x3(x, kernel, bias, pads), (2, 2),
    record_winner, relu=True), the same numbers, without writing the conv output: each tile's
    2x2 output block is one pool window, pooled while in cache. y: (N, OH / 2, OW / 2, F); the
    conv output size (OH, OW) must be even (``pools_exactly``)."""
    if kernel.shape[:2] != (3, 3) or not pools_exactly(x.shape, pads):
        raise ValueError(f"winograd_relu_max_pool2x2 needs a (3, 3, C, F) kernel and an even "
                         f"conv output, got kernel {kernel.shape}, input {x.shape}, pads {pads}")
    f = kernel.shape[3]
    t = _Tiling(x, pads, f)
    u = transform_kernel(kernel)
    y = np.empty((x.shape[0], t.th, t.tw, f), dtype=x.dtype)
    winner = np.empty(y.shape, dtype=np.uint8) if record_winner else None

    def work(start: int, stop: int) -> None:
        buf = t.buffers(min(t.step, stop - start))
        for a, b in t.sub_batches(start, stop):
            blocks = output_blocks(t, x, u, bias, a, b, buf)
            first_max([blocks[q, p] for p, q in WINDOW], y[a:b],
                      None if winner is None else winner[a:b], relu=True)
    run_chunks(work, x.shape[0])
    return y, winner
