"""What inference keeps between calls: ``TransformedKernel`` holds a kernel's Winograd F(4x4)
transform (``winograd4.transform_kernel``) for a caller that runs it many times (the runner's
inference plan: ``ops.conv.conv2d_inference``, ``ops.conv_block.ConvBlock``), recomputed
whenever the kernel's values change. The inference kernels themselves: ``ops.conv_block``
(conv block: [stem conv ->] 3x3 conv + ReLU + 2x2 pool) and ``ops.winograd4``.
"""
from __future__ import annotations

import numpy as np

from .winograd4 import transform_kernel

Array = np.ndarray


class TransformedKernel:
    """winograd4.transform_kernel(kernel) of one live kernel array, kept while its values stay
    the same (a training step or set_weights between two predictions changes them in place;
    comparing 3*3*C*F values costs far less than the conv)."""

    def __init__(self) -> None:
        self._copy: Array | None = None
        self._u: Array | None = None

    def __call__(self, kernel: Array) -> Array:
        if self._copy is None or self._copy.dtype != kernel.dtype \
                or self._copy.shape != kernel.shape or not np.array_equal(self._copy, kernel):
            self._copy, self._u = kernel.copy(), transform_kernel(kernel)
        return self._u
