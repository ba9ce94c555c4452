"""Fast convolution kernels: forward as im2col + one GEMM, backward without a scatter.

Channels-last; ``xp`` is the already padded input (N, H, W, C), ``kernel`` is Keras's
(kh, kw, C, F). The batch is split across threads (``ops.parallel``); each thread further works
on sub-batches so its temporaries stay in cache. Stateless; tested against naive loops.
"""
from __future__ import annotations

import numpy as np

from .elementwise import relu_into
from .im2col import patches
from .parallel import run_chunks

Array = np.ndarray
SUB_BATCH_BYTES = 2 << 20   # size of one sub-batch's patch matrix (fits a core's share of cache)


def _sub_batches(start: int, stop: int, row_bytes: int):
    step = max(1, SUB_BATCH_BYTES // max(1, row_bytes))
    for a in range(start, stop, step):
        yield a, min(a + step, stop)


def conv2d_forward(xp: Array, kernel: Array, bias: Array | None,
                   strides: tuple[int, int], relu: bool = False) -> Array:
    """z = conv(xp, kernel) + bias, shape (N, OH, OW, F); max(z, 0) with ``relu`` (applied to
    each sub-batch while it is in cache).

    Each sub-batch's patches are copied into one reused buffer and multiplied at once, while the
    buffer is still in cache; the patch matrix is never kept (backward rebuilds it the same way).
    """
    kh, kw, c, f = kernel.shape
    (sh, sw), n = strides, xp.shape[0]
    oh, ow = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    rows, width = oh * ow, kh * kw * c
    z = np.empty((n, oh, ow, f), dtype=xp.dtype)
    z2 = z.reshape(n * rows, f)
    kernel2d = kernel.reshape(width, f)

    def work(start: int, stop: int) -> None:
        buffer = None
        for a, b in _sub_batches(start, stop, rows * width * xp.itemsize):
            buffer = _patch_rows(xp, a, b, kh, kw, sh, sw, buffer)
            out = z2[a * rows:b * rows]
            np.matmul(buffer[:(b - a) * rows], kernel2d, out=out)
            if bias is not None:
                out += bias
            if relu:
                relu_into(out)
    run_chunks(work, n)
    return z


def _patch_rows(xp: Array, a: int, b: int, kh: int, kw: int, sh: int, sw: int,
                buffer: Array | None) -> Array:
    """im2col of samples a..b written into ``buffer`` (reused when given; grown if too small)."""
    view = patches(xp[a:b], kh, kw, sh, sw)
    shape = (view.shape[0] * view.shape[1] * view.shape[2], kh * kw * xp.shape[3])
    if buffer is None or buffer.shape[0] < shape[0]:
        buffer = np.empty(shape, dtype=xp.dtype)
    np.copyto(buffer[:shape[0]].reshape(view.shape), view)
    return buffer


def conv2d_backward(grad_z: Array, xp: Array, kernel: Array, strides: tuple[int, int],
                    use_bias: bool = True, input_gradient: bool = True,
                    relu_output: Array | None = None
                    ) -> tuple[Array | None, Array, Array | None]:
    """Gradients (grad_xp, grad_kernel, grad_bias) from grad_z (N, OH, OW, F); grad_xp is None
    when ``input_gradient`` is False (not computed). With ``relu_output`` (y = max(z, 0) of
    the forward), grad_z is the gradient w.r.t. y and is masked by y > 0 per sub-batch.

    Per sub-batch: the kernel gradient is patches^T @ grad_z (patches rebuilt in a reused
    buffer); the input gradient is the adjoint of im2col applied to grad_z @ kernel^T, computed
    as one (rows, C) block per kernel offset (a batched GEMM) and added into that sub-batch's own
    rows of grad_xp (disjoint between threads) as kh*kw slice-adds: no scatter, no large
    temporary, and each add runs over whole contiguous image rows.
    """
    kh, kw, c, f = kernel.shape
    (sh, sw), n = strides, xp.shape[0]
    oh, ow = grad_z.shape[1:3]
    rows, width = oh * ow, kh * kw * c
    g2 = grad_z.reshape(n * rows, f)
    y2 = None if relu_output is None else relu_output.reshape(n * rows, f)
    kernel_t = np.ascontiguousarray(kernel.reshape(kh * kw, c, f).transpose(0, 2, 1))
    grad_xp = np.empty(xp.shape, dtype=grad_z.dtype) if input_gradient else None

    def work(start: int, stop: int) -> tuple[Array, Array | None]:
        grad_k = np.zeros((width, f), dtype=grad_z.dtype)
        grad_b = np.zeros(f, dtype=grad_z.dtype) if use_bias else None
        buffer = blocks = masked = None
        for a, b in _sub_batches(start, stop, rows * width * xp.itemsize):
            g_part = g2[a * rows:b * rows]
            if y2 is not None:
                if masked is None or masked.shape[0] < len(g_part):
                    masked = np.empty(g_part.shape, dtype=g_part.dtype)
                g_part = np.multiply(g_part, y2[a * rows:b * rows] > 0, out=masked[:len(g_part)])
            buffer = _patch_rows(xp, a, b, kh, kw, sh, sw, buffer)
            grad_k += buffer[:(b - a) * rows].T @ g_part
            if use_bias:
                grad_b += g_part.sum(axis=0)      # while g_part is in cache
            if grad_xp is None:
                continue
            if blocks is None or blocks.shape[1] != (b - a) * rows:
                blocks = np.empty((kh * kw, (b - a) * rows, c), dtype=grad_z.dtype)
            np.matmul(g_part, kernel_t, out=blocks)          # (kh*kw, rows, C)
            out = grad_xp[a:b]
            out.fill(0)
            for k in range(kh * kw):
                i, j = divmod(k, kw)
                out[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :] += (
                    blocks[k].reshape(b - a, oh, ow, c))
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
