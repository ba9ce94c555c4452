"""Winograd minimal filtering F(2x2, 3x3) for 3x3, stride-1 convolutions (Lavin & Gray 2015).

Each 2x2 block of outputs comes from a 4x4 input tile (tiles overlap by 2): with
V = B^T d B (input tile), U = G g G^T (kernel) and M = sum_C V * U, the block is A^T M A.
Summed over channels, the 16 element-wise products become 16 GEMMs (tiles, C) @ (C, F): 16
multiplies per 2x2 block instead of 36, i.e. 2.25 times fewer FLOPs than im2col + GEMM, paid for
by the transforms, which are done here as slice adds over strided views (no loop over tiles).

Channels-last; kernels in Keras layout (3, 3, C, F). Stateless; tested against naive loops.
"""
from __future__ import annotations

import numpy as np

from .parallel import run_chunks

Array = np.ndarray
SUB_BATCH_BYTES = 1 << 20   # transformed input + GEMM output of one sub-batch (stays in cache)

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

Pads = tuple[tuple[int, int], tuple[int, int]]


def transform_kernel(kernel: Array) -> Array:
    """U = G g G^T for every (C, F) pair: (3, 3, C, F) -> (16, C, F), row-major over (4, 4)."""
    g = _G.astype(kernel.dtype)
    u = np.tensordot(g, kernel, axes=(1, 0))                 # (4, 3, C, F)
    u = np.tensordot(g, u, axes=(1, 1)).transpose(1, 0, 2, 3)  # (4, 4, C, F)
    return np.ascontiguousarray(u.reshape(16, *kernel.shape[2:]))


def winograd_conv3x3(x: Array, kernel: Array, bias: Array | None = None,
                     pads: Pads = ((0, 0), (0, 0))) -> Array:
    """Valid cross-correlation of zero-padded ``x`` (N, H, W, C) with ``kernel`` (3, 3, C, F),
    plus ``bias``; returns (N, H + pt + pb - 2, W + pl + pr - 2, F).

    ``pads`` ((top, bottom), (left, right)) is applied per sub-batch into a reused buffer, so the
    padded image is never materialised whole. Odd output sizes get one extra zero row/column of
    input so that 2x2 blocks cover the output; the extra output row/column is dropped.
    """
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"winograd_conv3x3 needs a (3, 3, C, F) kernel, got {kernel.shape}")
    n, h, w, c = x.shape
    f = kernel.shape[3]
    (pt, pb), (pl, pr) = pads
    oh, ow = h + pt + pb - 2, w + pl + pr - 2
    if oh < 1 or ow < 1:
        raise ValueError(f"input {x.shape[1:3]} with pads {pads} is smaller than the 3x3 kernel")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    hp, wp = 2 * th + 2, 2 * tw + 2                 # padded input that the tiles cover exactly
    pb, pr = hp - h - pt, wp - w - pl
    copy_needed = (pt, pb, pl, pr) != (0, 0, 0, 0)
    u = transform_kernel(kernel)
    exact = (2 * th, 2 * tw) == (oh, ow)
    z = np.empty((n, 2 * th, 2 * tw, f), dtype=x.dtype)
    tiles = th * tw
    per_sample = 16 * tiles * (c + f) * x.itemsize
    step = max(1, SUB_BATCH_BYTES // per_sample)

    def work(start: int, stop: int) -> None:
        nb = min(step, stop - start)
        padded = np.zeros((nb, hp, wp, c), dtype=x.dtype) if copy_needed else None
        cols = np.empty((4, nb, hp, tw, c), dtype=x.dtype)
        v = np.empty((16, nb, th, tw, c), dtype=x.dtype)
        m = np.empty((16, nb * tiles, f), dtype=x.dtype)
        rows = np.empty((2, 4, nb, th, tw, f), dtype=x.dtype)
        for a in range(start, stop, step):
            b = min(a + step, stop)
            k = b - a
            if copy_needed:
                np.copyto(padded[:k, pt:pt + h, pl:pl + w], x[a:b])
                src = padded[:k]
            else:
                src = x[a:b]
            _input_transform(src, cols[:, :k], v[:, :k], th, tw)
            mk = m[:, :k * tiles]
            np.matmul(v[:, :k].reshape(16, k * tiles, c), u, out=mk)
            if bias is not None:
                mk[5] += bias          # every output of a tile has m[1, 1] with weight +1
            out = z[a:b].reshape(k, th, 2, tw, 2, f)
            _output_transform(mk.reshape(16, k, th, tw, f), rows[:, :, :k], out)
    run_chunks(work, n)
    return z if exact else np.ascontiguousarray(z[:, :oh, :ow])


def _input_transform(src: Array, cols: Array, v: Array, th: int, tw: int) -> None:
    """v[4*i + j] = (B^T d B)[i, j] for every tile d of src (k, 2*th + 2, 2*tw + 2, C).

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]. The column pass goes
    first (its reads are strided by two pixels); the row pass then reads whole contiguous rows,
    for the four column outputs j at once (v[4*i:4*i + 4] is one block).
    """
    _bt_pass(src, cols, axis=2, count=tw)
    _bt_pass(cols, v.reshape(4, 4, *v.shape[1:]), axis=2, count=th)


def _bt_pass(d: Array, out: Array, axis: int, count: int) -> None:
    """out[0..3] = B^T applied along ``axis`` of d at stride 2 (``count`` tiles)."""
    def at(k: int) -> Array:
        index = [slice(None)] * d.ndim
        index[axis] = slice(k, k + 2 * count, 2)
        return d[tuple(index)]
    d0, d1, d2, d3 = at(0), at(1), at(2), at(3)
    np.subtract(d0, d2, out=out[0])
    np.add(d1, d2, out=out[1])
    np.subtract(d2, d1, out=out[2])
    np.subtract(d1, d3, out=out[3])


def _output_transform(m: Array, rows: Array, out: Array) -> None:
    """out[:, :, p, :, q] = (A^T m A)[p, q], A^T = [[1, 1, 1, 0], [0, 1, -1, -1]].

    m: (16, k, th, tw, F); rows: (2, 4, k, th, tw, F) scratch; out: (k, th, 2, tw, 2, F).
    The row pass handles the four columns j at once on contiguous blocks; the column pass
    handles both output rows p at once; only its writes are strided.
    """
    m0, m1, m2, m3 = m.reshape(4, 4, *m.shape[1:])
    np.add(m0, m1, out=rows[0])
    rows[0] += m2
    np.subtract(m1, m2, out=rows[1])
    rows[1] -= m3
    r0, r1, r2, r3 = (rows[:, j].transpose(1, 2, 0, 3, 4) for j in range(4))  # (k, th, 2, tw, F)
    left, right = out[:, :, :, :, 0], out[:, :, :, :, 1]
    np.add(r0, r1, out=left)
    left += r2
    np.subtract(r1, r2, out=right)
    right -= r3


def winograd_input_gradient(grad_z: Array, kernel: Array, pads: Pads) -> Array:
    """Gradient w.r.t. the unpadded input x of z = winograd_conv3x3(x, kernel, pads=pads).

    The adjoint of a valid 3x3 correlation is a "full" correlation of grad_z with the kernel
    turned 180 degrees and in/out swapped: the same Winograd routine with pads 2 - p on each
    side (the forward padding cancels out, which also crops the gradient to x's shape).
    """
    (pt, pb), (pl, pr) = pads
    flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    return winograd_conv3x3(grad_z, flipped, None, ((2 - pt, 2 - pb), (2 - pl, 2 - pr)))
