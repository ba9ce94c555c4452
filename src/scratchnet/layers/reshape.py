"""Reshape: give each sample a new shape with the same number of entries (C order)."""
from __future__ import annotations

import math
from typing import Any

from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class Reshape(Layer):
    """Input shape: (N, *in). Output shape: (N, *target_shape); one entry of target_shape may be
    -1, inferred from the others (as in Keras)."""

    def __init__(self, target_shape: Any, **kwargs: Any):
        super().__init__(**kwargs)
        dims = (target_shape,) if isinstance(target_shape, int) else target_shape
        try:
            shape = tuple(dims)
        except TypeError:
            shape = ()
        if not shape or not all(isinstance(d, int) and not isinstance(d, bool)
                                and (d > 0 or d == -1) for d in shape) \
                or shape.count(-1) > 1:
            raise ValueError(f"Reshape target_shape must be a tuple of positive ints with at "
                             f"most one -1, got {target_shape!r}")
        self.target_shape = shape

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        size, known = math.prod(input_shape), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"Reshape cannot fit per-sample shape {tuple(input_shape)} "
                                 f"({size} entries) into {self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size != known:
            raise ValueError(f"Reshape target_shape {self.target_shape} has {known} entries, "
                             f"but the per-sample input {tuple(input_shape)} has {size}")
        return self.target_shape

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        shape = x.shape
        out = self.compute_output_shape(shape[1:])

        def backward(grad_y: Array) -> Array:
            return grad_y.reshape(shape)
        return x.reshape(shape[0], *out), backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
