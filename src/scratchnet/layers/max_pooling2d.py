"""MaxPooling2D: the maximum of each window."""
from __future__ import annotations

import numpy as np

from ..ops.im2col import col2im, im2col, pad_spatial
from ..ops.pool import maxpool_backward, maxpool_forward
from .base import Array, Backward
from .pooling import Pooling2D


class MaxPooling2D(Pooling2D):
    """Max pooling. Input shape: (N, H, W, C). Output shape: (N, OH, OW, C).

    Backward routes each window's gradient to exactly one maximum: the first in row-major order
    within the window (a valid subgradient; exact ties are common on MNIST, where many windows
    are all zeros after ReLU). "same" padding pads with -inf, so padding never wins.
    """

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        n, h, w, c = x.shape
        pad_h, pad_w = self._paddings(h, w)
        if self.tiles_input(h, w):
            return self._forward_non_overlapping(x, training)
        xp = pad_spatial(x, pad_h, pad_w, value=-np.inf)
        windows = im2col(xp, ph, pw, sh, sw).reshape(-1, ph * pw, c)   # (N*OH*OW, ph*pw, C)
        winner = windows.argmax(axis=1)[:, None, :]                    # first max, row-major
        y = np.take_along_axis(windows, winner, axis=1)[:, 0, :]
        oh, ow = (xp.shape[1] - ph) // sh + 1, (xp.shape[2] - pw) // sw + 1

        def backward(grad_y: Array) -> Array:
            routed = np.zeros(windows.shape, dtype=grad_y.dtype)
            np.put_along_axis(routed, winner, grad_y.reshape(-1, 1, c), axis=1)
            grad_xp = col2im(routed.reshape(-1, ph * pw * c), xp.shape, ph, pw, sh, sw)
            return grad_xp[:, pad_h[0]:pad_h[0] + h, pad_w[0]:pad_w[0] + w, :]
        return y.reshape(n, oh, ow, c), backward

    def tiles_input(self, h: int, w: int) -> bool:
        """True when the windows over an (h, w) input do not overlap and need no padding."""
        return self.strides == self.pool_size and self._paddings(h, w) == ((0, 0), (0, 0))

    def _forward_non_overlapping(self, x: Array, training: bool) -> tuple[Array, Backward]:
        """Windows tile the input: a reshape instead of im2col (see ops.pool), same routing.
        Training records each window's winner for the backward; inference finds it only if a
        backward is actually called."""
        y, winner = maxpool_forward(x, self.pool_size, record_winner=training)

        def backward(grad_y: Array) -> Array:
            won = winner if winner is not None else maxpool_forward(x, self.pool_size)[1]
            return maxpool_backward(won, grad_y, x.shape, self.pool_size)
        return y, backward
