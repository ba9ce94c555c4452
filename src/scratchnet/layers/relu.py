"""ReLU layer, with Keras's optional max_value, negative_slope and threshold."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import validation
from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class ReLU(Layer):
    """f(x) = max_value for x >= max_value; x for threshold <= x < max_value;
    negative_slope * (x - threshold) otherwise. Defaults give max(x, 0). Shape: unchanged.

    The derivative is 1 on the linear part and negative_slope below the threshold, and it always
    multiplies the upstream gradient (never a constant returned on its own).
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_value = (None if max_value is None
                          else validation.check_number(max_value, "ReLU max_value", 0))
        self.negative_slope = validation.check_number(negative_slope, "ReLU negative_slope", 0)
        self.threshold = validation.check_number(threshold, "ReLU threshold")

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        dtype = x.dtype
        above = x >= self.threshold if self.negative_slope else x > self.threshold
        slope = np.where(above, 1, self.negative_slope).astype(dtype)
        y = np.where(above, x, (x - self.threshold) * slope)
        if self.max_value is not None:
            capped = x >= self.max_value
            y = np.where(capped, np.asarray(self.max_value, dtype), y)
            slope[capped] = 0
        y = y.astype(dtype, copy=False)

        def backward(grad_y: Array) -> Array:
            return grad_y * slope
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}
