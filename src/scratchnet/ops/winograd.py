"""Winograd minimal filtering F(2x2, 3x3) for 3x3, stride-1 convolutions (Lavin & Gray 2015).

Each 2x2 block of outputs comes from a 4x4 input tile (tiles overlap by 2): with
V = B^T d B (input tile), U = G g G^T (kernel) and M = sum_C V * U, the block is A^T M A.
Summed over channels, the 16 element-wise products become 16 GEMMs (tiles, C) @ (C, F): 16
multiplies per 2x2 block instead of 36, i.e. 2.25 times fewer FLOPs than im2col + GEMM, paid for
by the transforms, which are done here as slice adds over whole blocks (no loop over tiles).
Both gradients come from the exact adjoint of the same algorithm (winograd_backward, one sweep
over the batch), so they save the same share of multiplies.

Channels-last; kernels in Keras layout (3, 3, C, F). Stateless; tested against the reference
kernels. Slightly over 300 lines on purpose: each transform sits beside its adjoint, and both
directions share one tiling; split apart, a reader could no longer check one against the other.
"""
from __future__ import annotations

import numpy as np

from .elementwise import relu_into
from .parallel import run_chunks
from .pool import route_to_winner

Array = np.ndarray
SUB_BATCH_BYTES = 3 << 20   # transformed input + GEMM output of one sub-batch (stays in cache)

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

Pads = tuple[tuple[int, int], tuple[int, int]]
# (p, q) of each row-major position 2p + q of a 2x2 pool window: blocks[q, p] holds output pixel
# (2i + p, 2j + q) of tile (i, j), i.e. that position of pool window (i, j) (ops.winograd_pool)
WINDOW = ((0, 0), (0, 1), (1, 0), (1, 1))


def transform_kernel(kernel: Array) -> Array:
    """U = G g G^T for every (C, F) pair: (3, 3, C, F) -> (16, C, F), row-major over (4, 4)."""
    g = _G.astype(kernel.dtype)
    u = np.tensordot(g, kernel, axes=(1, 0))                 # (4, 3, C, F)
    u = np.tensordot(g, u, axes=(1, 1)).transpose(1, 0, 2, 3)  # (4, 4, C, F)
    return np.ascontiguousarray(u.reshape(16, *kernel.shape[2:]))


class _Tiling:
    """How 2x2 output blocks (4x4 input tiles, stride 2) cover a padded input, and the scratch
    buffers one thread reuses for its sub-batches of ``nb`` samples."""

    def __init__(self, x: Array, pads: Pads, f: int):
        n, self.h, self.w, self.c = x.shape
        (self.pt, pb), (self.pl, pr) = pads
        self.oh, self.ow = self.h + self.pt + pb - 2, self.w + self.pl + pr - 2
        if self.oh < 1 or self.ow < 1:
            raise ValueError(f"input {x.shape[1:3]} with pads {pads} is smaller than the 3x3 "
                             f"kernel")
        self.th, self.tw = (self.oh + 1) // 2, (self.ow + 1) // 2
        self.hp, self.wp = 2 * self.th + 2, 2 * self.tw + 2   # what the tiles cover exactly
        self.exact = (2 * self.th, 2 * self.tw) == (self.oh, self.ow)
        self.copy_needed = (self.hp, self.wp) != (self.h, self.w)
        self.tiles, self.f, self.dtype = self.th * self.tw, f, x.dtype
        per_sample = 16 * self.tiles * (self.c + f) * x.itemsize
        self.step = max(1, SUB_BATCH_BYTES // per_sample)

    def buffers(self, nb: int) -> dict[str, Array]:
        th, tw, hp, c, f = self.th, self.tw, self.hp, self.c, self.f
        shapes = {"split": (nb, hp, 2, tw + 1, c), "cols": (4, nb, 2, th + 1, tw, c),
                  "v": (16, nb, th, tw, c), "m": (16, nb * self.tiles, f),
                  "rows": (4, 4, nb * self.tiles, f), "blocks": (2, 2, nb, th, tw, f)}
        out = {key: np.empty(shape, dtype=self.dtype) for key, shape in shapes.items()}
        padded = (nb, hp, self.wp, c)
        out["padded"] = np.zeros(padded, self.dtype) if self.copy_needed else None  # 0 borders
        out["padded_grad"] = np.empty(padded, self.dtype) if self.copy_needed else None
        return out

    def transformed_input(self, x: Array, a: int, b: int, buf: dict[str, Array]) -> Array:
        """V = B^T d B of samples a..b: (16, (b - a) * tiles, C)."""
        k = b - a
        src = x[a:b]
        if self.copy_needed:
            src = buf["padded"][:k]
            src[:, self.pt:self.pt + self.h, self.pl:self.pl + self.w] = x[a:b]
        v = buf["v"][:, :k]
        _input_transform(src, buf["split"][:k], buf["cols"][:, :k], v)
        return v.reshape(16, k * self.tiles, self.c)

    def input_adjoint(self, dv: Array, buf: dict[str, Array], out: Array) -> None:
        """out = the gradient w.r.t. the unpadded samples of dv = gradient w.r.t. V: B dv B^T
        per tile, added back onto the overlapping tiles (the adjoint of transformed_input)."""
        k = dv.shape[1]
        split, cols = buf["split"][:k], buf["cols"][:, :k]
        _bt_adjoint(dv.reshape(4, 4, *dv.shape[1:]), cols[:, :, 0], cols[:, :, 1], axis=2)
        th1, tw1 = self.th + 1, self.tw + 1
        s0, s1 = (split[:, :, p].reshape(k, th1, 2, tw1, self.c) for p in range(2))
        _bt_adjoint([cols[j].transpose(0, 2, 1, 3, 4) for j in range(4)], s0, s1, axis=3)
        pixels = (split.transpose(0, 1, 3, 2, 4), (k, self.hp, tw1, 2, self.c))
        if self.copy_needed:
            padded = buf["padded_grad"][:k]
            np.copyto(padded.reshape(pixels[1]), pixels[0])
            out[...] = padded[:, self.pt:self.pt + self.h, self.pl:self.pl + self.w]
        else:
            np.copyto(out.reshape(pixels[1]), pixels[0])

    def sub_batches(self, start: int, stop: int):
        for a in range(start, stop, self.step):
            yield a, min(a + self.step, stop)


def output_blocks(t: "_Tiling", x: Array, u: Array, bias: Array | None, a: int, b: int,
                  buf: dict[str, Array]) -> Array:
    """The convolution of samples a..b as 2x2 output blocks, in ``buf``: input transform, the
    16 GEMMs with the transformed kernel ``u``, bias, output transform. blocks[q, p] holds
    output pixel (2i + p, 2j + q) of every tile (i, j)."""
    k = b - a
    m = buf["m"][:, :k * t.tiles]
    np.matmul(t.transformed_input(x, a, b, buf), u, out=m)
    if bias is not None:
        m[5] += bias           # every output of a tile has m[1, 1] with weight +1
    blocks = buf["blocks"][:, :, :k]
    _output_transform(m, buf["rows"][:2, :, :k * t.tiles], blocks)
    return blocks


def winograd_conv3x3(x: Array, kernel: Array, bias: Array | None = None,
                     pads: Pads = ((0, 0), (0, 0)), relu: bool = False) -> Array:
    """Valid cross-correlation of zero-padded ``x`` (N, H, W, C) with ``kernel`` (3, 3, C, F),
    plus ``bias``; returns (N, H + pt + pb - 2, W + pl + pr - 2, F), max(.., 0) with ``relu``
    (applied per sub-batch while it is in cache).

    ``pads`` ((top, bottom), (left, right)) is applied per sub-batch into a reused buffer, so the
    padded image is never materialised whole. Odd output sizes get one extra zero row/column of
    input so that 2x2 blocks cover the output; the extra output row/column is dropped.
    """
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"winograd_conv3x3 needs a (3, 3, C, F) kernel, got {kernel.shape}")
    f = kernel.shape[3]
    t = _Tiling(x, pads, f)
    u = transform_kernel(kernel)
    z = np.empty((x.shape[0], 2 * t.th, 2 * t.tw, f), dtype=x.dtype)

    def work(start: int, stop: int) -> None:
        buf = t.buffers(min(t.step, stop - start))
        for a, b in t.sub_batches(start, stop):
            k = b - a
            blocks = output_blocks(t, x, u, bias, a, b, buf)
            if relu:
                relu_into(blocks)
            # blocks[q, p] holds output pixel (2i + p, 2j + q) of every tile (i, j)
            np.copyto(z[a:b].reshape(k, t.th, 2, t.tw, 2, f), blocks.transpose(2, 3, 1, 4, 0, 5))
    run_chunks(work, x.shape[0])
    return z if t.exact else np.ascontiguousarray(z[:, :t.oh, :t.ow])


def winograd_backward(x: Array, grad_z: Array, kernel: Array, pads: Pads,
                      use_bias: bool = True, input_gradient: bool = True,
                      relu_output: Array | None = None, pool_winner: Array | None = None
                      ) -> tuple[Array | None, Array, Array | None]:
    """Gradients (grad_x or None, grad_kernel, grad_bias or None) of z = winograd_conv3x3(x,
    kernel, bias, pads) given grad_z (N, OH, OW, F); grad_x has x's shape (N, H, W, C). With
    ``relu_output`` (y = max(z, 0) of the forward), grad_z is the gradient w.r.t. y and is
    masked by y > 0 per sub-batch. With ``pool_winner`` (from
    ops.winograd_pool.winograd_relu_max_pool2x2),
    grad_z is the gradient w.r.t. the pooled output (N, OH / 2, OW / 2, F) and each tile's
    gradient block is built directly from it: grad_y at the window's winner, 0 elsewhere.

    The exact adjoint of the forward algorithm, one sub-batch at a time: E = A grad_y A^T per
    tile (shared by both gradients); the kernel gradient is G^T (sum over tiles of V^T E) G, 16
    GEMMs; the input gradient is B (E U^T) B^T added back onto the overlapping tiles. Both use
    2.25 times fewer multiplies than im2col.
    """
    f = grad_z.shape[3]
    t = _Tiling(x, pads, f)
    if pool_winner is not None and not t.exact:
        raise ValueError(f"pool_winner needs an even conv output, got {(t.oh, t.ow)}")
    u_t = np.ascontiguousarray(transform_kernel(kernel).transpose(0, 2, 1))  # GEMMs 25% faster
    grad_x = np.empty(x.shape, dtype=x.dtype) if input_gradient else None

    def work(start: int, stop: int) -> tuple[Array, Array | None]:
        buf = t.buffers(min(t.step, stop - start))
        grad_u = np.zeros((16, t.c, f), dtype=x.dtype)
        grad_b = np.zeros(f, dtype=x.dtype) if use_bias else None
        for a, b in t.sub_batches(start, stop):
            k = b - a
            # blocks[q, p] = gradient of output pixel (2i + p, 2j + q) of every tile (i, j)
            blocks = buf["blocks"][:, :, :k]
            if pool_winner is not None:
                route_to_winner(pool_winner[a:b], grad_z[a:b], [blocks[q, p] for p, q in WINDOW])
            else:
                g = grad_z[a:b]
                if relu_output is not None:
                    g = g * (relu_output[a:b] > 0)
                if not t.exact:        # the outputs cropped away have zero gradient
                    padded_g = np.zeros((k, 2 * t.th, 2 * t.tw, f), dtype=g.dtype)
                    padded_g[:, :t.oh, :t.ow] = g
                    g = padded_g
                np.copyto(blocks.transpose(2, 3, 1, 4, 0, 5), g.reshape(k, t.th, 2, t.tw, 2, f))
            e = buf["m"][:, :k * t.tiles]
            _output_adjoint(blocks, buf["rows"][:, :2, :k * t.tiles], e)
            if use_bias:
                grad_b += e[5].sum(axis=0)     # e[1, 1] sums each tile's four outputs
            grad_u += np.matmul(t.transformed_input(x, a, b, buf).transpose(0, 2, 1), e)
            if grad_x is not None:
                dv = buf["v"][:, :k]
                np.matmul(e, u_t, out=dv.reshape(16, k * t.tiles, t.c))
                t.input_adjoint(dv, buf, grad_x[a:b])
        return grad_u, grad_b
    results = run_chunks(work, x.shape[0])
    grad_u = results[0][0]
    for part, _ in results[1:]:
        grad_u += part
    g = _G.astype(x.dtype)
    grad_u = grad_u.reshape(4, 4, t.c, f)
    grad_k = np.tensordot(g, np.tensordot(g, grad_u, axes=(0, 1)), axes=(0, 1))   # (i, j, C, F)
    grad_b = None
    if use_bias:
        grad_b = results[0][1]
        for _, part in results[1:]:
            grad_b += part
    return grad_x, grad_k, grad_b


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


def _bt_adjoint(dv: list[Array], even: Array, odd: Array, axis: int) -> None:
    """Adjoint of _bt over stride-2 windows along ``axis``: window position q of tile i is
    (even, odd)[q % 2] at index i + q // 2 (one longer than the tile count), and receives
    sum_r B^T[r, q] dv[r]; B^T[:, 0] = (1, 0, 0, 0), B^T[:, 1] = (0, 1, -1, 1),
    B^T[:, 2] = (-1, 1, 1, 0), B^T[:, 3] = (0, 0, 0, -1)."""
    count = dv[0].shape[axis]

    def at(a: Array, lo: int, hi: int) -> Array:
        index = [slice(None)] * a.ndim
        index[axis] = slice(lo, hi)
        return a[tuple(index)]
    np.copyto(at(even, 0, count), dv[0])
    at(even, count, count + 1).fill(0)
    shifted = at(even, 1, count + 1)
    shifted += dv[1]
    shifted += dv[2]
    shifted -= dv[0]
    np.subtract(dv[1], dv[2], out=at(odd, 0, count))
    at(odd, 0, count)[...] += dv[3]
    at(odd, count, count + 1).fill(0)
    at(odd, 1, count + 1)[...] -= dv[3]


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


def _output_adjoint(blocks: Array, rows: Array, e: Array) -> None:
    """e = A y A^T per tile, the adjoint of the output transform (A^T m A).

    blocks: (2, 2, k, th, tw, F) with blocks[q, p] = y[p, q]; rows: (4, 2, T, F) scratch;
    e: (16, T, F), T = k*th*tw.
    """
    y = blocks.reshape(2, 2, *e.shape[1:])
    _a(y[0], y[1], rows)                                  # rows[b, p] = sum_q A[b, q] y[p, q]
    _a(rows[:, 0], rows[:, 1], e.reshape(4, 4, *e.shape[1:]))


def _a(y0: Array, y1: Array, out: Array) -> None:
    """out[r] = A[r, 0] y0 + A[r, 1] y1, A = [[1, 0], [1, 1], [1, -1], [0, -1]]."""
    np.copyto(out[0], y0)
    np.add(y0, y1, out=out[1])
    np.subtract(y0, y1, out=out[2])
    np.negative(y1, out=out[3])
