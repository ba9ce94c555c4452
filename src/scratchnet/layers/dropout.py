"""Dropout: inverted dropout in training, identity in inference."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, validation
from ..ops.dropout import dropout_mask
from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class Dropout(Layer):
    """Zero each input with probability ``rate`` during training and scale the kept ones by
    1 / (1 - rate), so inference needs no rescaling (identity). Shape: unchanged.

    The mask comes from ``self.rng`` when set (``fit(seed=...)`` sets it; gradient checks set a
    fixed one to replay the same mask), else from the library-wide generator. It is drawn as
    16-bit integers (see ``ops.dropout``): the drop probability is ``rate`` to within 2**-17.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = validation.check_number(rate, "Dropout rate", 0, 1, high_inclusive=False)
        self.seed = seed
        self.rng: np.random.Generator | None = (
            np.random.default_rng(seed) if seed is not None else None)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        if not training or self.rate == 0:
            return x, lambda grad_y: grad_y
        rng = self.rng or backend.rng()
        mask = dropout_mask(rng, x.shape, self.rate, x.dtype)

        def backward(grad_y: Array) -> Array:
            return grad_y * mask
        return x * mask, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
