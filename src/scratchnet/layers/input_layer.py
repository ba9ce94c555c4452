"""Input: declares the per-sample input shape of a Sequential model (like keras.Input)."""
from __future__ import annotations

from typing import Any

from .. import validation
from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class Input(Layer):
    """``Input(shape=(28, 28, 1))``: identity layer fixing the input shape (no batch axis)."""

    def __init__(self, shape: tuple[int, ...] | None = None, **kwargs: Any):
        shape = kwargs.pop("input_shape", shape)
        super().__init__(input_shape=validation.as_shape(shape, "Input shape"), **kwargs)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        return x, lambda grad_y: grad_y

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["shape"] = config.pop("input_shape")
        return config
