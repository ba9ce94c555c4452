"""BatchNormalization: normalise each feature over the batch, then scale and shift (Keras 3)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers, validation
from .base import Array, Backward, Layer, builtin_layer


@builtin_layer
class BatchNormalization(Layer):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta, per feature of the last axis.

    Input shape: (N, ..., C). Output shape: the same.
    Training: mean and var (biased) are those of the batch, over every axis but the last, and the
    moving statistics follow them: moving = moving * momentum + batch * (1 - momentum).
    Inference (or ``trainable=False``, as Keras 3): the moving statistics are used.
    Weights (Keras order): gamma (C,) and beta (C,) trainable; moving_mean (C,) and
    moving_variance (C,) saved but not trained.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", **kwargs: Any):
        super().__init__(**kwargs)
        if axis not in (-1,):
            # Channels-last only: the features are the last axis, as in every scratchnet layer.
            raise ValueError(f"BatchNormalization supports axis=-1 (channels last), got {axis!r}")
        self.axis = -1
        self.momentum = validation.check_number(momentum, "BatchNormalization momentum", 0, 1)
        self.epsilon = validation.check_number(epsilon, "BatchNormalization epsilon", 0)
        if self.epsilon == 0:
            raise ValueError("BatchNormalization epsilon must be > 0 (it keeps 1/sqrt(var + "
                             "epsilon) finite for a constant feature), got 0")
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = {name: initializers.get(init) for name, init in (
            ("gamma", gamma_initializer), ("beta", beta_initializer),
            ("moving_mean", moving_mean_initializer),
            ("moving_variance", moving_variance_initializer))}

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) < 1:
            raise ValueError(f"BatchNormalization expects inputs (N, ..., C), got per-sample "
                             f"shape {tuple(input_shape)}")
        channels = (input_shape[-1],)
        for name, wanted in (("gamma", self.scale), ("beta", self.center)):
            if wanted:
                self.add_weight(name, channels, self.initializers[name])
        for name in ("moving_mean", "moving_variance"):
            self.add_weight(name, channels, self.initializers[name], trainable=False)
        super().build(input_shape)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        axes = tuple(range(x.ndim - 1))
        gamma, beta = self.params.get("gamma"), self.params.get("beta")
        batch_stats = training and self.trainable
        if batch_stats:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            for name, value in (("moving_mean", mean), ("moving_variance", var)):
                moving = self.params[name]
                moving *= self.momentum
                moving += (1 - self.momentum) * value
        else:
            mean, var = self.params["moving_mean"], self.params["moving_variance"]
        inv_std = (1 / np.sqrt(var + self.epsilon)).astype(x.dtype, copy=False)
        x_hat = (x - mean) * inv_std
        y = x_hat * gamma if gamma is not None else x_hat.copy()
        if beta is not None:
            y += beta

        def backward(grad_y: Array) -> Array:
            if beta is not None:
                self.grads["beta"][...] = grad_y.sum(axis=axes)
            if gamma is not None:
                self.grads["gamma"][...] = (grad_y * x_hat).sum(axis=axes)
            grad_hat = grad_y * gamma if gamma is not None else grad_y
            if not batch_stats:   # mean and var are constants
                return grad_hat * inv_std
            # Through the batch mean and variance: dx = inv_std * (g - mean(g) - x_hat *
            # mean(g * x_hat)), means over the batch axes.
            return inv_std * (grad_hat - grad_hat.mean(axis=axes)
                              - x_hat * (grad_hat * x_hat).mean(axis=axes))
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **{f"{name}_initializer": initializers.serialize(init)
                   for name, init in self.initializers.items()}}
