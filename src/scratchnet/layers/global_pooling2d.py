"""GlobalAveragePooling2D and GlobalMaxPooling2D: one value per channel per image."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Array, Backward, Layer, builtin_layer
from .image_checks import check_channels_last, check_image_shape


class GlobalPooling2D(Layer):
    """Base: pools over H and W. Input shape: (N, H, W, C). Output shape: (N, C), or
    (N, 1, 1, C) with ``keepdims=True`` (Keras 3). ``data_format`` must be "channels_last"."""

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        check_channels_last(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def build(self, input_shape: tuple[int, ...]) -> None:
        check_image_shape(input_shape, type(self).__name__)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (1, 1, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def _shaped(self, y: Array) -> Array:
        """(N, 1, 1, C) -> the output shape."""
        return y if self.keepdims else y.reshape(y.shape[0], y.shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}


@builtin_layer
class GlobalAveragePooling2D(GlobalPooling2D):
    """The mean of each channel over H x W; backward spreads the gradient evenly."""

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        shape = x.shape
        y = x.mean(axis=(1, 2), keepdims=True)

        def backward(grad_y: Array) -> Array:
            grad = grad_y.reshape(shape[0], 1, 1, shape[3]) / (shape[1] * shape[2])
            return np.broadcast_to(grad, shape).astype(grad_y.dtype)
        return self._shaped(y), backward


@builtin_layer
class GlobalMaxPooling2D(GlobalPooling2D):
    """The maximum of each channel over H x W; backward routes the gradient to the first
    maximum in row-major order (as MaxPooling2D does with ties)."""

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        n, h, w, c = x.shape
        flat = x.reshape(n, h * w, c)
        winner = flat.argmax(axis=1)[:, None, :]                     # (N, 1, C)
        y = np.take_along_axis(flat, winner, axis=1).reshape(n, 1, 1, c)

        def backward(grad_y: Array) -> Array:
            grad = np.zeros(flat.shape, dtype=grad_y.dtype)
            np.put_along_axis(grad, winner, grad_y.reshape(n, 1, c), axis=1)
            return grad.reshape(x.shape)
        return self._shaped(y), backward
