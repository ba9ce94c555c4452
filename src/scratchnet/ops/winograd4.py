"""Winograd minimal filtering F(4x4, 3x3) for 3x3, stride-1 convolutions (Lavin & Gray 2016).

Each 4x4 block of outputs comes from a 6x6 input tile (tiles overlap by 2): with V = B^T d B,
U = G g G^T and M = sum_C V * U, the block is A^T M A. Summed over channels the 36 element-wise
products are 36 GEMMs (tiles, C) @ (C, F): 36 multiplies per 16 outputs instead of 144, 4x
fewer than im2col + GEMM (F(2x2) in ops/winograd.py: 2.25x).

The matrices are built exactly (fractions) from the interpolation points by the Toom-Cook
construction, transposed for correlation: G = V_r, A^T = V_m^T, B^T = V_n^-T, where V_k
evaluates a polynomial of k coefficients at the points (the point "inf" takes the leading
coefficient). POINTS = 0, 1, -1, 1/2, -2, inf: one point inside and one outside the unit
interval balances the magnitudes of A^T and G; its float32 error (max relative to the output
scale, C=32) was 1.7-2.0e-6 against 3.9-6.1e-6 for 0, +-1, +-2, inf (Lavin's) and for
0, +-1, +-1/2, inf (tests/test_winograd4.py states and asserts the bound). Each row of B^T
is scaled to coprime integers and G carries the inverse scale.

The transforms run as small GEMMs over whole sub-batches laid out (6, 6, tiles, C), so each
one is a single BLAS call on contiguous memory. Channels-last, kernels in Keras layout
(3, 3, C, F); the batch is split across threads (ops.parallel) and each thread works on
cache-sized sub-batches with reused buffers. Stateless; tested against a direct loop.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .elementwise import relu_into
from .parallel import run_chunks

Array = np.ndarray
Pads = tuple[tuple[int, int], tuple[int, int]]
M_OUT, R_KERNEL = 4, 3
N_TILE = M_OUT + R_KERNEL - 1          # 6x6 input tiles
POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(1, 2), Fraction(-2), None)
SUB_BATCH_BYTES = 3 << 19   # input tiles + GEMM output of one sub-batch (~3 MNIST samples)


def _vandermonde(points, k: int) -> list[list[Fraction]]:
    """Rows evaluate a polynomial of ``k`` coefficients at each point (None = infinity)."""
    return [[Fraction(int(j == k - 1)) for j in range(k)] if p is None
            else [p ** j for j in range(k)] for p in points]


def _inverse(a: list[list[Fraction]]) -> list[list[Fraction]]:
    n = len(a)
    aug = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(a)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if aug[r][col] != 0)
        aug[col], aug[pivot] = aug[pivot], aug[col]
        scale = aug[col][col]
        aug[col] = [v / scale for v in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0:
                factor = aug[r][col]
                aug[r] = [v - factor * w for v, w in zip(aug[r], aug[col])]
    return [row[n:] for row in aug]


def winograd_matrices(points=POINTS, m: int = M_OUT, r: int = R_KERNEL
                      ) -> tuple[Array, Array, Array]:
    """(A^T (m, n), G (n, r), B^T (n, n)) in float64 for F(m, r) with n = m + r - 1 points,
    exact up to the final rounding of each entry to float64."""
    n = m + r - 1
    if len(points) != n:
        raise ValueError(f"F({m}, {r}) needs {n} interpolation points, got {len(points)}")
    a_t = [list(col) for col in zip(*_vandermonde(points, m))]
    g = _vandermonde(points, r)
    b_t = [list(col) for col in zip(*_inverse(_vandermonde(points, n)))]   # V_n^-T
    for i, row in enumerate(b_t):   # integer rows for the per-tile transform; G takes 1/scale
        lcm = 1
        for v in row:
            lcm = lcm * v.denominator // np.gcd(lcm, v.denominator)
        ints = [int(v * lcm) for v in row]
        common = int(np.gcd.reduce([abs(v) for v in ints if v]))
        scale = Fraction(lcm, common)
        b_t[i] = [v * scale for v in row]
        g[i] = [v / scale for v in g[i]]
    as_array = lambda rows: np.array([[float(v) for v in row] for row in rows])  # noqa: E731
    return as_array(a_t), as_array(g), as_array(b_t)


_AT, _G, _BT = winograd_matrices()
# The tile element (point 1, point 1) enters every output with weight 1 (column of A^T for the
# point 1 is all ones): adding the bias there adds it to all 16 outputs of a tile.
_BIAS_AT = POINTS.index(1) * (N_TILE + 1)


def transform_kernel(kernel: Array) -> Array:
    """U = G g G^T for every (C, F) pair: (3, 3, C, F) -> (36, C, F), row-major over (6, 6).
    Cacheable: depends on the kernel only."""
    g = _G.astype(kernel.dtype)
    u = np.tensordot(g, kernel, axes=(1, 0))                     # (6, 3, C, F)
    u = np.tensordot(g, u, axes=(1, 1)).transpose(1, 0, 2, 3)      # (6, 6, C, F)
    return np.ascontiguousarray(u.reshape(N_TILE * N_TILE, *kernel.shape[2:]))


def _tile_view(a: Array, r0: int, c0: int, nr: int, nc: int, th: int, tw: int) -> Array:
    """View (nr, nc, k, th, tw, C) of a (k, H, W, C): [r, c, s, i, j] = a[s, 4i + r0 + r,
    4j + c0 + c]; writeable when ``a`` is."""
    s_n, s_h, s_w, s_c = a.strides
    base = a[:, r0:, c0:]
    return as_strided(base, shape=(nr, nc, a.shape[0], th, tw, a.shape[3]),
                      strides=(s_h, s_w, s_n, M_OUT * s_h, M_OUT * s_w, s_c))


class Tiling4:
    """How 4x4 output blocks (6x6 input tiles, stride 4) cover the zero-padded input, and the
    scratch buffers of one thread, reused across its sub-batches of at most ``step`` samples."""

    def __init__(self, x_shape: tuple[int, ...], pads: Pads, f: int, dtype):
        _, self.h, self.w, self.c = x_shape
        (self.pt, pb), (self.pl, pr) = pads
        self.oh, self.ow = self.h + self.pt + pb - 2, self.w + self.pl + pr - 2
        if self.oh < 1 or self.ow < 1:
            raise ValueError(f"input {tuple(x_shape[1:3])} with pads {pads} is smaller than the "
                             f"3x3 kernel")
        self.th, self.tw = -(-self.oh // M_OUT), -(-self.ow // M_OUT)
        self.hp, self.wp = M_OUT * self.th + 2, M_OUT * self.tw + 2
        self.exact = (M_OUT * self.th, M_OUT * self.tw) == (self.oh, self.ow)
        self.copy_needed = (self.hp, self.wp) != (self.h, self.w)
        self.tiles, self.f, self.dtype = self.th * self.tw, f, np.dtype(dtype)
        per_sample = 36 * self.tiles * (self.c + f) * self.dtype.itemsize
        self.step = max(1, SUB_BATCH_BYTES // per_sample)
        self.at, self.bt = _AT.astype(self.dtype), _BT.astype(self.dtype)

    def buffers(self, nb: int) -> dict[str, Array]:
        """Flat scratch arrays; ``view(buf, name, shape)`` takes a contiguous leading part, so
        the last, shorter sub-batch still gets contiguous arrays (reshapes never copy)."""
        t, c, f = nb * self.tiles, self.c, self.f
        sizes = {"d": 36 * t * c, "v": 36 * t * c, "m": 36 * t * f, "rows": 24 * t * f,
                 "y": 16 * t * f}
        out = {key: np.empty(size, dtype=self.dtype) for key, size in sizes.items()}
        out["padded"] = (np.zeros((nb, self.hp, self.wp, c), self.dtype) if self.copy_needed
                         else None)   # zero borders, written once; the inside per sub-batch
        return out

    def sub_batches(self, start: int, stop: int):
        for a in range(start, stop, self.step):
            yield a, min(a + self.step, stop)

    def transformed_input(self, x: Array, a: int, b: int, buf: dict[str, Array]) -> Array:
        """V = B^T d B of every tile of samples a..b: (36, (b - a) * tiles, C)."""
        k, t = b - a, (b - a) * self.tiles
        src = x[a:b]
        if self.copy_needed:
            src = buf["padded"][:k]
            src[:, self.pt:self.pt + self.h, self.pl:self.pl + self.w] = x[a:b]
        d = view(buf, "d", (36, t, self.c))
        np.copyto(d.reshape(6, 6, k, self.th, self.tw, self.c),
                  _tile_view(src, 0, 0, 6, 6, self.th, self.tw))
        v = view(buf, "v", (36, t, self.c))
        np.matmul(self.bt, d.reshape(6, -1), out=v.reshape(6, -1))          # rows: B^T d
        np.matmul(self.bt, v.reshape(6, 6, -1), out=d.reshape(6, 6, -1))    # columns: .. B
        return d

    def output_blocks(self, x: Array, u: Array, bias: Array | None, a: int, b: int,
                      buf: dict[str, Array]) -> Array:
        """The convolution of samples a..b as (4, 4, tiles, F): [p, q, tile (s, i, j)] is
        output pixel (4i + p, 4j + q) of sample a + s; bias added."""
        t = (b - a) * self.tiles
        m = view(buf, "m", (36, t, self.f))
        np.matmul(self.transformed_input(x, a, b, buf), u, out=m)
        if bias is not None:
            m[_BIAS_AT] += bias
        rows, y = view(buf, "rows", (4, 6, t, self.f)), view(buf, "y", (4, 4, t, self.f))
        np.matmul(self.at, m.reshape(6, -1), out=rows.reshape(4, -1))           # A^T m
        np.matmul(self.at, rows.reshape(4, 6, -1), out=y.reshape(4, 4, -1))     # .. A
        return y

    def scatter_blocks(self, y: Array, out: Array) -> None:
        """out (k, 4 th, 4 tw, F) = the blocks y (4, 4, k * tiles, F) in image order."""
        k = out.shape[0]
        np.copyto(out.reshape(k, self.th, 4, self.tw, 4, self.f),
                  y.reshape(4, 4, k, self.th, self.tw, self.f).transpose(2, 3, 0, 4, 1, 5))


def view(buf: dict[str, Array], name: str, shape: tuple[int, ...]) -> Array:
    """The leading part of scratch array ``name`` as a contiguous array of ``shape``."""
    return buf[name][:int(np.prod(shape))].reshape(shape)


def _check(x: Array, kernel: Array, name: str) -> None:
    if x.ndim != 4 or kernel.ndim != 4 or kernel.shape[:2] != (3, 3) \
            or kernel.shape[2] != x.shape[3]:
        raise ValueError(f"{name} needs x (N, H, W, C) and a (3, 3, C, F) kernel, got x "
                         f"{x.shape} and kernel {kernel.shape}")


def winograd4_conv3x3(x: Array, kernel: Array, bias: Array | None = None,
                      pads: Pads = ((0, 0), (0, 0)), relu: bool = False,
                      u: Array | None = None) -> Array:
    """Valid cross-correlation of zero-padded ``x`` (N, H, W, C) with ``kernel`` (3, 3, C, F),
    plus ``bias``; returns (N, H + pt + pb - 2, W + pl + pr - 2, F), max(.., 0) with ``relu``.
    ``u`` = transform_kernel(kernel) when the caller caches it. Padding is applied per
    sub-batch into a reused buffer; sizes that are not multiples of 4 get extra zero input
    rows/columns whose outputs are dropped."""
    _check(x, kernel, "winograd4_conv3x3")
    f = kernel.shape[3]
    t = Tiling4(x.shape, pads, f, x.dtype)
    u = transform_kernel(kernel) if u is None else u
    z = np.empty((x.shape[0], M_OUT * t.th, M_OUT * t.tw, f), dtype=x.dtype)

    def work(start: int, stop: int) -> None:
        buf = t.buffers(min(t.step, stop - start))
        for a, b in t.sub_batches(start, stop):
            y = t.output_blocks(x, u, bias, a, b, buf)
            if relu:
                relu_into(y)
            t.scatter_blocks(y, z[a:b])
    run_chunks(work, x.shape[0])
    return z if t.exact else np.ascontiguousarray(z[:, :t.oh, :t.ow])


def winograd4_backward(x: Array, grad_z: Array, kernel: Array, pads: Pads,
                       use_bias: bool = True, input_gradient: bool = True,
                       relu_output: Array | None = None
                       ) -> tuple[Array | None, Array, Array | None]:
    """(grad_x or None, grad_kernel, grad_bias or None) of z = winograd4_conv3x3(x, kernel,
    bias, pads) given grad_z (N, OH, OW, F); with ``relu_output`` (y = max(z, 0)) grad_z is the
    gradient w.r.t. y and is masked by y > 0.

    The exact adjoint of the forward, one sub-batch at a time: E = A grad A^T per tile; the
    kernel gradient is G^T (sum over tiles of V^T E) G (36 GEMMs); the input gradient is
    B (E U^T) B^T added back onto the overlapping tiles.
    """
    _check(x, kernel, "winograd4_backward")
    f = grad_z.shape[3]
    t = Tiling4(x.shape, pads, f, x.dtype)
    u_t = np.ascontiguousarray(transform_kernel(kernel).transpose(0, 2, 1))
    grad_x = np.empty(x.shape, dtype=x.dtype) if input_gradient else None
    a_mat, b_mat = np.ascontiguousarray(t.at.T), np.ascontiguousarray(t.bt.T)

    def work(start: int, stop: int) -> tuple[Array, Array | None]:
        nb = min(t.step, stop - start)
        buf = t.buffers(nb)
        grad_u = np.zeros((36, t.c, f), dtype=x.dtype)
        grad_b = np.zeros(f, dtype=x.dtype) if use_bias else None
        gxp = np.empty((nb, t.hp, t.wp, t.c), dtype=x.dtype) if input_gradient else None
        for a, b in t.sub_batches(start, stop):
            k, n_t = b - a, (b - a) * t.tiles
            g = grad_z[a:b]
            if relu_output is not None:
                g = g * (relu_output[a:b] > 0)
            y = view(buf, "y", (4, 4, n_t, f))
            blocks = y.reshape(4, 4, k, t.th, t.tw, f).transpose(2, 3, 0, 4, 1, 5)
            if t.exact:
                np.copyto(blocks, g.reshape(k, t.th, 4, t.tw, 4, f))
            else:   # the outputs cropped away have zero gradient
                full = np.zeros((k, 4 * t.th, 4 * t.tw, f), dtype=x.dtype)
                full[:, :t.oh, :t.ow] = g
                np.copyto(blocks, full.reshape(k, t.th, 4, t.tw, 4, f))
            rows6, e = view(buf, "rows", (6, 4, n_t, f)), view(buf, "m", (36, n_t, f))
            np.matmul(a_mat, y.reshape(4, -1), out=rows6.reshape(6, -1))          # A g
            np.matmul(a_mat, rows6.reshape(6, 4, -1), out=e.reshape(6, 6, -1))    # .. A^T
            if use_bias:
                grad_b += y.sum(axis=(0, 1, 2))
            v = t.transformed_input(x, a, b, buf)
            grad_u += np.matmul(v.transpose(0, 2, 1), e)
            if grad_x is None:
                continue
            dv = view(buf, "v", (36, n_t, t.c))
            np.matmul(e, u_t, out=dv)
            dd = view(buf, "d", (36, n_t, t.c))
            np.matmul(b_mat, dv.reshape(6, -1), out=dd.reshape(6, -1))            # B dv
            np.matmul(b_mat, dd.reshape(6, 6, -1), out=dv.reshape(6, 6, -1))      # .. B^T
            _overlap_add(dv.reshape(6, 6, k, t.th, t.tw, t.c), gxp[:k], t)
            grad_x[a:b] = gxp[:k, t.pt:t.pt + t.h, t.pl:t.pl + t.w]
        return grad_u, grad_b
    results = run_chunks(work, x.shape[0])
    grad_u = results[0][0]
    for part, _ in results[1:]:
        grad_u += part
    g64 = _G.astype(x.dtype)
    grad_u = grad_u.reshape(6, 6, t.c, f)
    grad_k = np.tensordot(g64, np.tensordot(g64, grad_u, axes=(0, 1)), axes=(0, 1))
    grad_b = None
    if use_bias:
        grad_b = results[0][1]
        for _, part in results[1:]:
            grad_b += part
    return grad_x, grad_k, grad_b


def _overlap_add(dd: Array, gxp: Array, t: Tiling4) -> None:
    """gxp (k, hp, wp, C) = the tile gradients dd (6, 6, k, th, tw, C) summed onto the pixels
    they were read from (tiles overlap by two rows and columns)."""
    th, tw = t.th, t.tw
    gxp[:, -2:] = 0
    gxp[:, :, -2:] = 0
    _tile_view(gxp, 0, 0, 4, 4, th, tw)[...] = dd[:4, :4]
    _tile_view(gxp, 4, 0, 2, 4, th, tw)[...] += dd[4:, :4]
    _tile_view(gxp, 0, 4, 4, 2, th, tw)[...] += dd[:4, 4:]
    _tile_view(gxp, 4, 4, 2, 2, th, tw)[...] += dd[4:, 4:]
