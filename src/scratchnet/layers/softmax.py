"""Softmax layer over one axis, back-propagating through its full Jacobian."""
from __future__ import annotations

from typing import Any

from .. import activations
from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class Softmax(Layer):
    """Shape: unchanged. The backward is the exact vector-Jacobian product, whatever loss follows
    (it never assumes cross-entropy downstream)."""

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        moved = x.swapaxes(self.axis, -1)
        y = activations.softmax(moved)

        def backward(grad_y: Array) -> Array:
            return activations.softmax_backward(moved, y, grad_y.swapaxes(self.axis, -1)
                                                ).swapaxes(self.axis, -1)
        return y.swapaxes(self.axis, -1), backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
