"""LeakyReLU layer: x for x > 0, negative_slope * x otherwise (Keras default slope 0.3)."""
from __future__ import annotations

from typing import Any

from .. import activations, validation
from .activation import Activation
from .base import builtin_layer


@builtin_layer
class LeakyReLU(Activation):
    """Shape: unchanged. Note Keras's defaults differ: the layer's slope is 0.3, while the
    ``"leaky_relu"`` activation function's is 0.2."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        negative_slope = validation.check_number(negative_slope, "LeakyReLU negative_slope", 0)
        super().__init__(activations.make_leaky_relu(negative_slope), **kwargs)
        self.negative_slope = float(negative_slope)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["activation"]  # derived from the slope
        return {**config, "negative_slope": self.negative_slope}
