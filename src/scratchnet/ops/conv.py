"""Convolution kernels: forward as im2col + one GEMM, backward without a scatter.

Channels-last; ``xp`` is the already padded input (N, H, W, C), ``kernel`` is Keras's
(kh, kw, C, F). The batch is split across threads (``ops.parallel``); each thread further works
on sub-batches so its temporaries stay in cache. Stateless; tested against naive loops.
"""
from __future__ import annotations

import numpy as np

from .im2col import patches
from .parallel import run_chunks

Array = np.ndarray
SUB_BATCH_BYTES = 4 << 20   # size of one sub-batch's patch matrix (fits a core's share of cache)


def _sub_batches(start: int, stop: int, row_bytes: int):
    step = max(1, SUB_BATCH_BYTES // max(1, row_bytes))
    for a in range(start, stop, step):
        yield a, min(a + step, stop)


def conv2d_forward(xp: Array, kernel: Array, bias: Array | None,
                   strides: tuple[int, int]) -> tuple[Array, Array]:
    """z = conv(xp, kernel) + bias, shape (N, OH, OW, F); also returns the patch matrix
    (N*OH*OW, kh*kw*C) that the kernel gradient needs."""
    kh, kw, c, f = kernel.shape
    (sh, sw), n = strides, xp.shape[0]
    oh, ow = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    rows = oh * ow
    cols = np.empty((n * rows, kh * kw * c), dtype=xp.dtype)
    z = np.empty((n, oh, ow, f), dtype=xp.dtype)
    z2 = z.reshape(n * rows, f)
    kernel2d = kernel.reshape(-1, f)

    def work(start: int, stop: int) -> None:
        part = slice(start * rows, stop * rows)
        np.copyto(cols[part].reshape(stop - start, oh, ow, kh, kw, c),
                  patches(xp[start:stop], kh, kw, sh, sw))
        np.matmul(cols[part], kernel2d, out=z2[part])
        if bias is not None:
            z2[part] += bias
    run_chunks(work, n)
    return z, cols


def conv2d_backward(grad_z: Array, cols: Array, kernel: Array, xp_shape: tuple[int, ...],
                    strides: tuple[int, int], use_bias: bool = True
                    ) -> tuple[Array, Array, Array | None]:
    """Gradients (grad_xp, grad_kernel, grad_bias) from grad_z (N, OH, OW, F).

    grad_xp is the adjoint of im2col applied to grad_z @ kernel^T, done per sub-batch as kh*kw
    strided slice-adds into that sub-batch's own rows of grad_xp (disjoint between threads), so
    there is no scatter and no large temporary.
    """
    kh, kw, c, f = kernel.shape
    (sh, sw), n = strides, xp_shape[0]
    oh, ow = grad_z.shape[1:3]
    rows = oh * ow
    g2 = grad_z.reshape(n * rows, f)
    kernel2d_t = np.ascontiguousarray(kernel.reshape(-1, f).T)
    grad_xp = np.empty(xp_shape, dtype=grad_z.dtype)

    def work(start: int, stop: int) -> tuple[Array, Array | None]:
        part = slice(start * rows, stop * rows)
        grad_k = cols[part].T @ g2[part]
        grad_b = g2[part].sum(axis=0) if use_bias else None
        for a, b in _sub_batches(start, stop, rows * kernel2d_t.shape[1] * grad_z.itemsize):
            blocks = (g2[a * rows:b * rows] @ kernel2d_t).reshape(b - a, oh, ow, kh, kw, c)
            out = grad_xp[a:b]
            out.fill(0)
            for i in range(kh):
                hs = slice(i, i + sh * (oh - 1) + 1, sh)
                for j in range(kw):
                    out[:, hs, j:j + sw * (ow - 1) + 1:sw, :] += blocks[:, :, :, i, j, :]
        return grad_k, grad_b
    results = run_chunks(work, n)
    grad_kernel = results[0][0]
    for part_k, _ in results[1:]:
        grad_kernel += part_k
    grad_bias = None
    if use_bias:
        grad_bias = results[0][1]
        for _, part_b in results[1:]:
            grad_bias += part_b
    return grad_xp, grad_kernel.reshape(kernel.shape), grad_bias
