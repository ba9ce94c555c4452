"""dense: the dispatch point of z = x2 @ kernel + bias, and its fast kernels.

``dense(x2, kernel, bias)`` returns ``(z, gradients)``; ``gradients(grad_z, input_gradient=True)``
returns ``(grad_x2, grad_kernel, grad_bias)``. The reference kernel is ``ops.reference.dense``;
the fast one splits the GEMMs across threads (below). ``relu=True`` (for ``scratchnet.fusion``)
applies max(z, 0) in place on the fresh output, and ``gradients`` then takes dL/d(relu output).

Splitting ourselves (each thread one independent single-threaded GEMM) keeps all GEMMs on the
same threads as the element-wise work; BLAS's own threads are left idle during a step.
x2 is (N, in), kernel (in, units). Tested against plain matmuls.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import kernels, reference
from .elementwise import relu_backward_from_output, relu_inplace
from .parallel import run_chunks

Array = np.ndarray
MIN_CHUNK_FLOP = 1 << 21   # below this per thread, one inline GEMM is cheaper


def _min_rows(other_dims: int) -> int:
    return max(1, MIN_CHUNK_FLOP // max(1, 2 * other_dims))


def dense(x2: Array, kernel: Array, bias: Array | None, relu: bool = False
          ) -> tuple[Array, Callable[..., tuple[Array | None, Array, Array | None]]]:
    """z = x2 @ kernel + bias for x2 (N, in), kernel (in, units); see the module docstring."""
    use_bias = bias is not None
    if kernels.reference():
        z = reference.dense(x2, kernel)
        if use_bias:
            z += bias
    else:
        z = dense_forward(x2, kernel, bias)
    if relu:
        z = relu_inplace(z)       # z is fresh and nothing else reads it: overwrite

    def gradients(grad_z: Array, input_gradient: bool = True):
        if relu:
            grad_z = relu_backward_from_output(z, grad_z)
        if kernels.reference():
            grad_x2, grad_k = reference.dense_grads(x2, grad_z, kernel)
            return (grad_x2 if input_gradient else None, grad_k,
                    grad_z.sum(axis=0) if use_bias else None)
        return dense_backward(x2, grad_z, kernel, use_bias, input_gradient)
    return z, gradients


def dense_forward(x2: Array, kernel: Array, bias: Array | None) -> Array:
    """x2 @ kernel + bias, shape (N, units)."""
    n, units = x2.shape[0], kernel.shape[1]
    z = np.empty((n, units), dtype=np.result_type(x2, kernel))

    def work(a: int, b: int) -> None:
        np.matmul(x2[a:b], kernel, out=z[a:b])
        if bias is not None:
            z[a:b] += bias
    run_chunks(work, n, _min_rows(kernel.size))
    return z


def dense_backward(x2: Array, grad_z: Array, kernel: Array, use_bias: bool = True,
                   input_gradient: bool = True) -> tuple[Array | None, Array, Array | None]:
    """(grad_x2, grad_kernel, grad_bias) for z = x2 @ kernel + bias; grad_z is (N, units).
    grad_x2 is None when ``input_gradient`` is False (not computed).

    The kernel gradient is split over its rows (input features), the input gradient over the
    batch: each thread writes its own rows, so no partial sums need adding up.
    """
    n, (fan_in, units) = x2.shape[0], kernel.shape
    grad_k = np.empty(kernel.shape, dtype=grad_z.dtype)
    grad_x = np.empty(x2.shape, dtype=grad_z.dtype) if input_gradient else None

    def kernel_rows(a: int, b: int) -> None:
        np.matmul(x2[:, a:b].T, grad_z, out=grad_k[a:b])

    def batch_rows(a: int, b: int) -> None:
        np.matmul(grad_z[a:b], kernel.T, out=grad_x[a:b])
    run_chunks(kernel_rows, fan_in, _min_rows(n * units))
    if input_gradient:
        run_chunks(batch_rows, n, _min_rows(kernel.size))
    grad_b = grad_z.sum(axis=0) if use_bias else None
    return grad_x, grad_k, grad_b
