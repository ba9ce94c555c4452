"""ReLU's dispatch point: in place on a fresh array, its gradient from the output.

The fast kernels split the work across threads; the reference ones are ``ops.reference.relu``
and ``ops.reference.relu_backward_from_output``. Every fast kernel's ReLU is ``relu_into``:
NumPy 2.4's ``maximum`` against a scalar runs an unvectorised loop, 4.5-4.8x slower than
against an array of zeros (float32, 65k values in cache: 21-22 us against 4.7 us), so the
zeros come from one shared, read-only array (``zeros_like``).
"""
from __future__ import annotations

import numpy as np

from . import kernels, reference
from .parallel import run_chunks

Array = np.ndarray
MIN_CHUNK_ELEMENTS = 1 << 16   # below this per thread, threading costs more than it saves


_zeros: dict[np.dtype, Array] = {}


def zeros_like(a: Array) -> Array:
    """Read-only zeros of a's shape and dtype (C order), views of one array kept per dtype
    and grown as needed."""
    flat = _zeros.get(a.dtype)
    if flat is None or flat.size < a.size:
        flat = np.zeros(max(a.size, 1 << 12), dtype=a.dtype)
        flat.flags.writeable = False
        _zeros[a.dtype] = flat
    return flat[:a.size].reshape(a.shape)


def relu_into(a: Array, out: Array | None = None) -> Array:
    """max(a, 0) into ``out`` (default: a itself); the NaN of a stays NaN, -0.0 stays."""
    return np.maximum(a, zeros_like(a), out=a if out is None else out)


def _min_rows(a: Array) -> int:
    return max(1, MIN_CHUNK_ELEMENTS // max(1, a.size // max(1, len(a))))


def relu_inplace(z: Array) -> Array:
    """max(z, 0) written over z (which must be a fresh array owned by the caller)."""
    if kernels.reference():
        z[...] = reference.relu(z)
        return z
    if not z.flags.c_contiguous:   # reshaping would copy, and the copy would get the ReLU
        return relu_into(z)
    flat = z.reshape(len(z), -1) if z.ndim > 1 else z.reshape(-1, 1)

    def work(a: int, b: int) -> None:
        relu_into(flat[a:b])
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
