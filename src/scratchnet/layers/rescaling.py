"""Rescaling: y = x * scale + offset (Keras's preprocessing layer, e.g. scale=1/255)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import validation
from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class Rescaling(Layer):
    """Input shape: any (N, ...). Output shape: the same, in the input's float type (integer
    images become floatx)."""

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = validation.check_number(scale, "Rescaling scale")
        self.offset = validation.check_number(offset, "Rescaling offset")

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        if x.dtype.kind != "f":
            from .. import backend
            x = x.astype(backend.floatx())
        dtype = x.dtype
        y = x * np.asarray(self.scale, dtype) + np.asarray(self.offset, dtype)

        def backward(grad_y: Array) -> Array:
            return grad_y * np.asarray(self.scale, grad_y.dtype)
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
