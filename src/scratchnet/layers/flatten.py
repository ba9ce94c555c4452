"""Flatten: (N, H, W, C) -> (N, H*W*C), keeping (H, W, C) order (channels fastest, as Keras)."""
from __future__ import annotations

import math

from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class Flatten(Layer):
    """Input shape: (N, d1, ..., dk). Output shape: (N, d1*...*dk)."""

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        shape = x.shape

        def backward(grad_y: Array) -> Array:
            return grad_y.reshape(shape)
        return x.reshape(shape[0], -1), backward
