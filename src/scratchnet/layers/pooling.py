"""Shared geometry of the 2-D pooling layers (pool size, strides, padding)."""
from __future__ import annotations

from typing import Any

from ..ops.im2col import PADDINGS, output_size, padding_amounts
from .base import Layer, _positive_int_pair


class Pooling2D(Layer):
    """Base of MaxPooling2D and AveragePooling2D.

    Input shape: (N, H, W, C). Output shape: (N, OH, OW, C), with Keras's output-size rules.
    strides default to pool_size; padding defaults to "valid".
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 **kwargs: Any):
        super().__init__(**kwargs)
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in PADDINGS:
            raise ValueError(f"{type(self).__name__} padding must be one of {PADDINGS}, "
                             f"got {padding!r}")
        self.pool_size = _positive_int_pair(pool_size, f"{type(self).__name__} pool_size")
        self.strides = (self.pool_size if strides is None
                        else _positive_int_pair(strides, f"{type(self).__name__} strides"))
        self.padding = padding

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (N, H, W, C), got "
                             f"per-sample shape {tuple(input_shape)}")
        (ph, pw), (h, w) = self.pool_size, input_shape[:2]
        if self.padding == "valid" and (ph > h or pw > w):
            raise ValueError(f"{type(self).__name__} pool_size {self.pool_size} is larger than "
                             f"its input {(h, w)} with padding='valid'.")
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        h, w, c = input_shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return output_size(h, ph, sh, self.padding), output_size(w, pw, sw, self.padding), c

    def paddings(self, h: int, w: int) -> tuple[tuple[int, int], tuple[int, int]]:
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return (padding_amounts(h, ph, sh, self.padding), padding_amounts(w, pw, sw, self.padding))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}
