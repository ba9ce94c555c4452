"""Activation: applies an activation function as a layer of its own."""
from __future__ import annotations

from typing import Any

from .. import activations
from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class Activation(Layer):
    """Applies ``activation`` (a name or an ``activations.Activation``). Shape: unchanged."""

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        activation = self.activation
        y = activation(x)

        def backward(grad_y: Array) -> Array:
            return activation.backward(x, y, grad_y)
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
