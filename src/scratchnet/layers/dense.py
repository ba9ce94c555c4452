"""Dense: y = activation(x @ kernel + bias)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import ActivatedLayer, Array, Backward


class Dense(ActivatedLayer):
    """Fully connected layer, applied to the last axis.

    Input shape: (N, ..., in). Output shape: (N, ..., units).
    Weights (Keras layout and order): kernel (in, units), bias (units,).
    """
    linear_output_is_scratch = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any):
        super().__init__(activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        self.units = int(units)

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) < 1:
            raise ValueError(f"Dense expects inputs of shape (N, ..., features), "
                             f"got per-sample shape {tuple(input_shape)}")
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*input_shape[:-1], self.units)

    def forward_linear(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        kernel = self.params["kernel"]
        x2 = x.reshape(-1, x.shape[-1])
        z = x2 @ kernel
        if self.use_bias:
            z += self.params["bias"]

        def backward(grad_z: Array) -> Array:
            g2 = grad_z.reshape(-1, self.units)
            np.matmul(x2.T, g2, out=self.grads["kernel"])
            if self.use_bias:
                np.sum(g2, axis=0, out=self.grads["bias"])
            return (g2 @ kernel.T).reshape(x.shape)
        return z.reshape(*x.shape[:-1], self.units), backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}
