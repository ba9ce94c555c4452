"""Cropping2D: drop rows and columns at the edges of each image."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Array, Backward, Layer, builtin_layer
from .image_checks import check_channels_last, check_image_shape
from .zero_padding2d import pad_pairs


@builtin_layer
class Cropping2D(Layer):
    """Input shape: (N, H, W, C). Output shape: (N, H - top - bottom, W - left - right, C)."""

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        check_channels_last(data_format, "Cropping2D")
        self.cropping = pad_pairs(cropping, "Cropping2D cropping")

    def build(self, input_shape: tuple[int, ...]) -> None:
        check_image_shape(input_shape, "Cropping2D")
        (top, bottom), (left, right) = self.cropping
        if top + bottom >= input_shape[0] or left + right >= input_shape[1]:
            raise ValueError(f"Cropping2D cropping {self.cropping} leaves nothing of a "
                             f"{input_shape[0]}x{input_shape[1]} input")
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        (top, bottom), (left, right) = self.cropping
        h, w, c = input_shape
        return h - top - bottom, w - left - right, c

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        (top, bottom), (left, right) = self.cropping
        _, h, w, _ = x.shape
        y = x[:, top:h - bottom, left:w - right, :]

        def backward(grad_y: Array) -> Array:
            grad = np.zeros(x.shape, dtype=grad_y.dtype)
            grad[:, top:h - bottom, left:w - right, :] = grad_y
            return grad
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping]}
