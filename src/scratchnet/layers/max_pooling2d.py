"""MaxPooling2D: the maximum of each window."""
from __future__ import annotations

from ..ops.pool import max_pool2d
from .base import Array, Backward, builtin_layer
from .pooling import Pooling2D


@builtin_layer
class MaxPooling2D(Pooling2D):
    """Max pooling. Input shape: (N, H, W, C). Output shape: (N, OH, OW, C).

    Backward routes each window's gradient to exactly one maximum: the first in row-major order
    within the window (a valid subgradient; exact ties are common on MNIST, where many windows
    are all zeros after ReLU). "same" padding pads with -inf, so padding never wins. The op
    ``ops.pool.max_pool2d`` chooses the kernel.
    """

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        pads = self.paddings(*x.shape[1:3])
        return max_pool2d(x, self.pool_size, self.strides, pads, training)
