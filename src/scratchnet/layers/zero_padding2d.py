"""ZeroPadding2D: rows and columns of zeros around each image."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Array, Backward, Layer, builtin_layer
from .image_checks import check_channels_last, check_image_shape


def pad_pairs(value: Any, what: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's spellings: n, (rows, cols), or ((top, bottom), (left, right)); ints >= 0."""
    def ok(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
    if ok(value):
        return (int(value),) * 2, (int(value),) * 2
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(ok(v) for v in value):
            return (int(value[0]),) * 2, (int(value[1]),) * 2
        if all(isinstance(v, (tuple, list)) and len(v) == 2 and all(ok(u) for u in v)
               for v in value):
            return (int(value[0][0]), int(value[0][1])), (int(value[1][0]), int(value[1][1]))
    raise ValueError(f"{what} must be an int >= 0, a pair (rows, cols) or ((top, bottom), "
                     f"(left, right)), got {value!r}")


@builtin_layer
class ZeroPadding2D(Layer):
    """Input shape: (N, H, W, C). Output shape: (N, top + H + bottom, left + W + right, C)."""

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        check_channels_last(data_format, "ZeroPadding2D")
        self.padding = pad_pairs(padding, "ZeroPadding2D padding")

    def build(self, input_shape: tuple[int, ...]) -> None:
        check_image_shape(input_shape, "ZeroPadding2D")
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        (top, bottom), (left, right) = self.padding
        h, w, c = input_shape
        return h + top + bottom, w + left + right, c

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        (top, bottom), (left, right) = self.padding
        _, h, w, _ = x.shape
        y = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

        def backward(grad_y: Array) -> Array:
            return grad_y[:, top:top + h, left:left + w, :]
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}
