"""ReLU's dispatch point: in place on a fresh array, its gradient from the output.

The fast kernels split the work across threads; the reference ones are ``ops.reference.relu``
and ``ops.reference.relu_backward_from_output``.
"""
from __future__ import annotations

import numpy as np

from . import kernels, reference
from .parallel import run_chunks

Array = np.ndarray
MIN_CHUNK_ELEMENTS = 1 << 16   # below this per thread, threading costs more than it saves


def _min_rows(a: Array) -> int:
    return max(1, MIN_CHUNK_ELEMENTS // max(1, a.size // max(1, len(a))))


def relu_inplace(z: Array) -> Array:
    """max(z, 0) written over z (which must be a fresh array owned by the caller)."""
    if kernels.reference():
        z[...] = reference.relu(z)
        return z
    if not z.flags.c_contiguous:   # reshaping would copy, and the copy would get the ReLU
        return np.maximum(z, 0, out=z)
    flat = z.reshape(len(z), -1) if z.ndim > 1 else z.reshape(-1, 1)

    def work(a: int, b: int) -> None:
        np.maximum(flat[a:b], 0, out=flat[a:b])
    run_chunks(work, len(flat), _min_rows(flat))
    return z


def relu_backward_from_output(y: Array, grad_y: Array) -> Array:
    """grad_y * (y > 0): with y = relu(z), y > 0 exactly where z > 0 (0 at the kink)."""
    if kernels.reference():
        return reference.relu_backward_from_output(y, grad_y)
    # C order whatever grad_y's layout (a transposed view from the layer above, say): the
    # threads write through reshaped views of out, which must not be copies.
    out = np.empty(grad_y.shape, dtype=grad_y.dtype)
    y2, g2, o2 = (a.reshape(len(a), -1) if a.ndim > 1 else a.reshape(-1, 1)
                  for a in (y, grad_y, out))

    def work(a: int, b: int) -> None:
        np.multiply(g2[a:b], y2[a:b] > 0, out=o2[a:b])
    run_chunks(work, len(o2), _min_rows(o2))
    return out
