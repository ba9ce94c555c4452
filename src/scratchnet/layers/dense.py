"""Dense: y = activation(x @ kernel + bias)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.dense import dense
from .base import ActivatedLayer, Array, Backward, builtin_layer


@builtin_layer
class Dense(ActivatedLayer):
    """Fully connected layer, applied to the last axis.

    Input shape: (N, ..., in). Output shape: (N, ..., units).
    Weights (Keras layout and order): kernel (in, units), bias (units,).
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_dim: int | None = None, **kwargs: Any):
        if input_dim is not None:   # Keras 2: Dense(32, input_dim=784) = input_shape=(784,)
            if "input_shape" in kwargs:
                raise ValueError("Dense takes input_dim or input_shape, not both")
            kwargs["input_shape"] = (input_dim,)
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
        """z = x @ kernel + bias over the last axis (the op ``ops.dense.dense``)."""
        x2 = x.reshape(-1, x.shape[-1])
        z, gradients = dense(x2, self.params["kernel"], self.params.get("bias"))

        def backward(grad_z: Array) -> Array:
            grad_x2, grad_kernel, grad_bias = gradients(grad_z.reshape(-1, self.units))
            self.grads["kernel"][...] = grad_kernel
            if self.use_bias:
                self.grads["bias"][...] = grad_bias
            return grad_x2.reshape(x.shape)
        return z.reshape(*x.shape[:-1], self.units), backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}
