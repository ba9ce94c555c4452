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
SUB_BATCH_BYTES = 3 << 20   # transformed input + GEMM output of one sub-batch (stays in cache)

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
        split = np.empty((nb, hp, 2, tw + 1, c), dtype=x.dtype)
        cols = np.empty((4, nb, 2, th + 1, tw, c), dtype=x.dtype)
        v = np.empty((16, nb, th, tw, c), dtype=x.dtype)
        m = np.empty((16, nb * tiles, f), dtype=x.dtype)
        rows = np.empty((2, 4, nb * tiles, f), dtype=x.dtype)
        blocks = np.empty((2, 2, nb, th, tw, f), dtype=x.dtype)
        for a in range(start, stop, step):
            b = min(a + step, stop)
            k = b - a
            if copy_needed:
                np.copyto(padded[:k, pt:pt + h, pl:pl + w], x[a:b])
                src = padded[:k]
            else:
                src = x[a:b]
            _input_transform(src, split[:k], cols[:, :k], v[:, :k])
            mk = m[:, :k * tiles]
            np.matmul(v[:, :k].reshape(16, k * tiles, c), u, out=mk)
            if bias is not None:
                mk[5] += bias          # every output of a tile has m[1, 1] with weight +1
            _output_transform(mk, rows[:, :, :k * tiles], blocks[:, :, :k])
            # blocks[q, p] holds output pixel (2i + p, 2j + q) of every tile (i, j)
            np.copyto(z[a:b].reshape(k, th, 2, tw, 2, f),
                      blocks[:, :, :k].transpose(2, 3, 1, 4, 0, 5))
    run_chunks(work, n)
    return z if exact else np.ascontiguousarray(z[:, :oh, :ow])


# NumPy runs arithmetic on interleaved views (stride-2 pixels) one short channel run at a time,
# several times slower than on contiguous blocks, while a strided copy is cheap. So the layout
# is changed by copies only (even/odd pixels apart on the way in, 2x2 blocks back on the way
# out) and every add/subtract runs over long contiguous runs.

def _input_transform(src: Array, split: Array, cols: Array, v: Array) -> None:
    """v[4*i + j] = (B^T d B)[i, j] for every 4x4 tile d (stride 2) of src.

    src: (k, 2*th + 2, 2*tw + 2, C); split: (k, 2*th + 2, 2, tw + 1, C) and cols:
    (4, k, 2, th + 1, tw, C) scratch; v: (16, k, th, tw, C).
    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
    """
    k, hp, wp, c = src.shape
    np.copyto(split, src.reshape(k, hp, wp // 2, 2, c).transpose(0, 1, 3, 2, 4))
    # column pass: pixel 2j + q is split[:, :, q % 2, j + q // 2]; rows go even/odd apart
    tw = cols.shape[4]
    d = [split[:, :, q % 2, q // 2:q // 2 + tw].reshape(k, hp // 2, 2, tw, c) for q in range(4)]
    _bt(d, [cols[j].transpose(0, 2, 1, 3, 4) for j in range(4)])
    # row pass, all four column outputs at once: row 2i + r is cols[:, :, r % 2, i + r // 2]
    th = v.shape[2]
    d = [cols[:, :, r % 2, r // 2:r // 2 + th] for r in range(4)]
    _bt(d, [v[4 * i:4 * i + 4] for i in range(4)])


def _bt(d: list[Array], out: list[Array]) -> None:
    """out = B^T d along the list index."""
    np.subtract(d[0], d[2], out=out[0])
    np.add(d[1], d[2], out=out[1])
    np.subtract(d[2], d[1], out=out[2])
    np.subtract(d[1], d[3], out=out[3])


def _output_transform(m: Array, rows: Array, blocks: Array) -> None:
    """blocks[q, p] = (A^T m A)[p, q], A^T = [[1, 1, 1, 0], [0, 1, -1, -1]].

    m: (16, T, F) with T = k*th*tw tiles; rows: (2, 4, T, F) scratch; blocks: (2, 2, k, th, tw, F).
    """
    _at(m.reshape(4, 4, *m.shape[1:]), rows)              # rows[p, j] = sum_i A^T[p, i] m[i, j]
    _at(rows.transpose(1, 0, 2, 3), blocks.reshape(2, 2, *rows.shape[2:]))


def _at(m: Array, out: Array) -> None:
    """out[p] = sum_i A^T[p, i] m[i]."""
    np.add(m[0], m[1], out=out[0])
    out[0] += m[2]
    np.subtract(m[1], m[2], out=out[1])
    out[1] -= m[3]


def winograd_input_gradient(grad_z: Array, kernel: Array, pads: Pads) -> Array:
    """Gradient w.r.t. the unpadded input x of z = winograd_conv3x3(x, kernel, pads=pads).

    The adjoint of a valid 3x3 correlation is a "full" correlation of grad_z with the kernel
    turned 180 degrees and in/out swapped: the same Winograd routine with pads 2 - p on each
    side (the forward padding cancels out, which also crops the gradient to x's shape).
    """
    (pt, pb), (pl, pr) = pads
    flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    return winograd_conv3x3(grad_z, flipped, None, ((2 - pt, 2 - pb), (2 - pl, 2 - pr)))
