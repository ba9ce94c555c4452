"""Max-pooling kernels for non-overlapping windows (strides == pool size, no padding).

The input is viewed as (N, OH, ph, OW, pw, C) without copying; the maximum is a running
np.maximum over the ph*pw window positions, and the backward routes each window's gradient to
its *first* maximum in row-major order (ties are common after ReLU), built position by position
from an "already routed" mask. Batch split across threads. Tested against naive loops.
"""
from __future__ import annotations

import numpy as np

from .parallel import run_chunks

Array = np.ndarray


def _window_view(x: Array, ph: int, pw: int) -> Array:
    n, h, w, c = x.shape
    oh, ow = h // ph, w // pw
    return x[:, :oh * ph, :ow * pw, :].reshape(n, oh, ph, ow, pw, c)


def maxpool_forward(x: Array, pool: tuple[int, int]) -> Array:
    """(N, H, W, C) -> (N, H // ph, W // pw, C); trailing rows/columns that fit no window are
    dropped ("valid" padding)."""
    ph, pw = pool
    view = _window_view(x, ph, pw)
    n, oh, _, ow, _, c = view.shape
    y = np.empty((n, oh, ow, c), dtype=x.dtype)

    def work(a: int, b: int) -> None:
        out = y[a:b]
        np.copyto(out, view[a:b, :, 0, :, 0, :])
        for i in range(ph):
            for j in range(pw):
                if i or j:
                    np.maximum(out, view[a:b, :, i, :, j, :], out=out)
    run_chunks(work, n)
    return y


def maxpool_backward(x: Array, y: Array, grad_y: Array, pool: tuple[int, int]) -> Array:
    """Gradient w.r.t. x: grad_y goes to the first maximum of each window, zeros elsewhere."""
    ph, pw = pool
    grad_x = np.zeros_like(x)
    view, gview = _window_view(x, ph, pw), _window_view(grad_x, ph, pw)

    def work(a: int, b: int) -> None:
        ys, gs = y[a:b], grad_y[a:b]
        routed = np.zeros(ys.shape, dtype=bool)
        hit = np.empty(ys.shape, dtype=bool)
        for i in range(ph):
            for j in range(pw):
                np.equal(view[a:b, :, i, :, j, :], ys, out=hit)
                hit &= ~routed
                np.multiply(gs, hit, out=gview[a:b, :, i, :, j, :])
                routed |= hit
    run_chunks(work, len(x))
    return grad_x
