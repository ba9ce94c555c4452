"""AveragePooling2D: the mean of each window."""
from __future__ import annotations

import numpy as np

from ..ops.im2col import col2im, im2col, pad_spatial
from .base import Array, Backward, builtin_layer
from .pooling import Pooling2D


@builtin_layer
class AveragePooling2D(Pooling2D):
    """Average pooling. Input shape: (N, H, W, C). Output shape: (N, OH, OW, C).

    With "same" padding the padded cells are left out of the count, as in Keras/TensorFlow: a
    border window averages only the pixels it really covers.
    """

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        n, h, w, c = x.shape
        pad_h, pad_w = self.paddings(h, w)
        xp = pad_spatial(x, pad_h, pad_w)
        inside = pad_spatial(np.ones((1, h, w, 1), dtype=x.dtype), pad_h, pad_w)
        counts = im2col(inside, ph, pw, sh, sw).sum(axis=1)            # (OH*OW,)
        oh, ow = (xp.shape[1] - ph) // sh + 1, (xp.shape[2] - pw) // sw + 1
        windows = im2col(xp, ph, pw, sh, sw).reshape(n, oh * ow, ph * pw, c)
        scale = (1 / counts).astype(x.dtype)[None, :, None]
        y = windows.sum(axis=2) * scale                                   # (N, OH*OW, C)

        def backward(grad_y: Array) -> Array:
            share = grad_y.reshape(n, oh * ow, 1, c) * scale[:, :, :, None]
            spread = np.broadcast_to(share, (n, oh * ow, ph * pw, c))
            grad_xp = col2im(spread.reshape(-1, ph * pw * c), xp.shape, ph, pw, sh, sw)
            return grad_xp[:, pad_h[0]:pad_h[0] + h, pad_w[0]:pad_w[0] + w, :]
        return y.reshape(n, oh, ow, c), backward
