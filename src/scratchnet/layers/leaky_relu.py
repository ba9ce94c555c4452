"""LeakyReLU layer: x for x > 0, negative_slope * x otherwise (Keras default slope 0.3)."""
from __future__ import annotations

from typing import Any

from .. import activations
from .base import Array, Backward, Layer


class LeakyReLU(Layer):
    """Shape: unchanged. Note Keras's defaults differ: the layer's slope is 0.3, while the
    ``"leaky_relu"`` activation function's is 0.2."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        super().__init__(**kwargs)
        if negative_slope < 0:
            raise ValueError(f"LeakyReLU negative_slope must be >= 0, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.activation = activations.make_leaky_relu(self.negative_slope)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        activation = self.activation
        y = activation(x)

        def backward(grad_y: Array) -> Array:
            return activation.backward(x, y, grad_y)
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}
