"""UpSampling2D: repeat each row and column (nearest-neighbour upsampling)."""
from __future__ import annotations

from typing import Any

from .base import Array, Backward, Layer, _positive_int_pair, builtin_layer
from .image_checks import check_channels_last, check_image_shape


@builtin_layer
class UpSampling2D(Layer):
    """Input shape: (N, H, W, C). Output shape: (N, H * sh, W * sw, C), size = (sh, sw).
    Only interpolation="nearest" (the Keras default)."""

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any):
        super().__init__(**kwargs)
        check_channels_last(data_format, "UpSampling2D")
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D supports interpolation='nearest', "
                             f"got {interpolation!r}")
        self.size = _positive_int_pair(size, "UpSampling2D size")

    def build(self, input_shape: tuple[int, ...]) -> None:
        check_image_shape(input_shape, "UpSampling2D")
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        h, w, c = input_shape
        return h * self.size[0], w * self.size[1], c

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        sh, sw = self.size
        n, h, w, c = x.shape
        y = x.repeat(sh, axis=1).repeat(sw, axis=2)

        def backward(grad_y: Array) -> Array:
            # Each input pixel fed an sh x sw block: its gradient is the block's sum.
            return grad_y.reshape(n, h, sh, w, sw, c).sum(axis=(2, 4))
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size), "interpolation": "nearest"}
