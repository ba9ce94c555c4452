"""Reference kernels: each op as a student would write it, in plain NumPy, no speed tricks.

``SCRATCHNET_KERNELS=reference`` (or ``scratchnet.set_kernels("reference")``) runs every layer
on these; the tests check the fast kernels against them. Channels-last: images are (N, H, W, C),
conv kernels (kh, kw, C, F) as in Keras; ``xp`` is an already padded input.
"""
from __future__ import annotations

import numpy as np

Array = np.ndarray


def _window(a: Array, i: int, j: int, out_hw: tuple[int, int], strides: tuple[int, int]):
    """The (N, OH, OW, C) view of ``a`` that kernel offset (i, j) meets across all outputs."""
    (oh, ow), (sh, sw) = out_hw, strides
    return a[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]


def _out_hw(xp_shape: tuple[int, ...], kh: int, kw: int, strides: tuple[int, int]):
    return (xp_shape[1] - kh) // strides[0] + 1, (xp_shape[2] - kw) // strides[1] + 1


# --- convolution: z[n, y, x, f] = sum_{i, j, c} xp[n, y*sh + i, x*sw + j, c] * k[i, j, c, f]
def conv2d(xp: Array, kernel: Array, strides: tuple[int, int]) -> Array:
    """Valid cross-correlation, one (C, F) matrix product per kernel offset."""
    kh, kw, _, f = kernel.shape
    out_hw = _out_hw(xp.shape, kh, kw, strides)
    z = np.zeros((xp.shape[0], *out_hw, f), dtype=np.result_type(xp, kernel))
    for i in range(kh):
        for j in range(kw):
            z += _window(xp, i, j, out_hw, strides) @ kernel[i, j]
    return z


def conv2d_input_grad(grad_z: Array, kernel: Array, xp_shape: tuple[int, ...],
                      strides: tuple[int, int]) -> Array:
    """dL/dxp: each offset's share of grad_z goes back to the pixels that offset read."""
    kh, kw = kernel.shape[:2]
    grad_xp = np.zeros(xp_shape, dtype=grad_z.dtype)
    for i in range(kh):
        for j in range(kw):
            _window(grad_xp, i, j, grad_z.shape[1:3], strides)[...] += grad_z @ kernel[i, j].T
    return grad_xp


def conv2d_kernel_grad(xp: Array, grad_z: Array, kernel_shape: tuple[int, ...],
                       strides: tuple[int, int]) -> Array:
    """dL/dkernel[i, j] = sum over samples and outputs of (pixel read at (i, j)) x grad_z."""
    kh, kw, _, f = kernel_shape
    grad_k = np.zeros(kernel_shape, dtype=grad_z.dtype)
    for i in range(kh):
        for j in range(kw):
            window = _window(xp, i, j, grad_z.shape[1:3], strides)     # (N, OH, OW, C)
            grad_k[i, j] = window.reshape(-1, window.shape[3]).T @ grad_z.reshape(-1, f)
    return grad_k


# --- dense: z = x @ kernel + bias ---------------------------------------------------------------
def dense(x2: Array, kernel: Array) -> Array:
    return x2 @ kernel


def dense_grads(x2: Array, grad_z: Array, kernel: Array) -> tuple[Array, Array]:
    """(dL/dx2, dL/dkernel)."""
    return grad_z @ kernel.T, x2.T @ grad_z


# --- max pooling: the first maximum of each window (row-major) wins -----------------------------
def max_pool2d(xp: Array, pool: tuple[int, int], strides: tuple[int, int]
               ) -> tuple[Array, Array]:
    """(y, winner): each window's maximum and the row-major offset i * pw + j of its first
    maximum (a later offset wins only when strictly greater)."""
    (ph, pw) = pool
    out_hw = _out_hw(xp.shape, ph, pw, strides)
    y = _window(xp, 0, 0, out_hw, strides).copy()
    winner = np.zeros(y.shape, dtype=np.int64)
    for k in range(1, ph * pw):
        candidate = _window(xp, k // pw, k % pw, out_hw, strides)
        better = candidate > y
        y = np.where(better, candidate, y)
        winner[better] = k
    return y, winner


def max_pool2d_backward(winner: Array, grad_y: Array, xp_shape: tuple[int, ...],
                        pool: tuple[int, int], strides: tuple[int, int]) -> Array:
    """grad_y goes to each window's winner (offsets with winner == ph*pw get nothing)."""
    ph, pw = pool
    grad_xp = np.zeros(xp_shape, dtype=grad_y.dtype)
    for k in range(ph * pw):
        _window(grad_xp, k // pw, k % pw, grad_y.shape[1:3], strides)[...] += (
            grad_y * (winner == k))
    return grad_xp


# --- ReLU -------------------------------------------------------------------------------------
def relu(z: Array) -> Array:
    return np.maximum(z, 0)


def relu_backward_from_output(y: Array, grad_y: Array) -> Array:
    """y = relu(z) is > 0 exactly where z > 0 (the derivative there is 1, else 0)."""
    return grad_y * (y > 0)


# --- dropout ----------------------------------------------------------------------------------
def dropout_mask(draws: Array, threshold: int, rate: float, dtype: np.dtype) -> Array:
    """1 / (1 - rate) where the uniform 16-bit draw is >= threshold (kept), else 0."""
    return ((draws >= threshold) / (1.0 - rate)).astype(dtype)
