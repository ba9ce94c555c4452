"""How Sequential runs the network: forward, forward + loss, gradients, all through the runner.

A mixin of ``model.Sequential`` (kept apart so model.py stays about the Keras workflow); it
needs ``self.layers``, ``self.runner``, ``self.loss``, ``self.fused_loss`` and
``self.final_activation``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import backend, fusion, regularizers

Array = np.ndarray


class ForwardAndGradients:
    layers: list[Any]
    runner: Any
    loss: Any
    fused_loss: Any

    def forward(self, x: Array, training: bool = False, logits: bool = False,
                input_gradient: bool = True, hooks: Any = (),
                backward: bool = True) -> tuple[Array, Callable]:
        """Run every layer (``Runner.forward``); returns the output and a backward closure
        (grad_out -> grad_x). ``logits=True`` leaves out the last layer's activation (the
        fused-loss path); ``input_gradient=False`` computes no dL/dx (backward returns None);
        ``hooks``: objects with ``after_forward`` / ``after_backward`` (see scratchnet.runner).
        ``backward=False`` (inference, no hooks): the runner's inference plan, no backward.
        """
        if not (backward or training or hooks):
            return self.runner.infer(x, logits=logits), fusion.no_backward
        return self.runner.forward(x, training, logits=logits, input_gradient=input_gradient,
                                   hooks=hooks)

    def trainable_params(self) -> dict[str, Array]:
        """{"layer/weight": array} of every weight the optimizer updates."""
        return {f"{layer.name}/{key}": value for layer in self.layers
                for key, value in layer.trainable_params.items()}

    def trainable_grads(self) -> dict[str, Array]:
        """The gradients of ``trainable_params``, same keys, as the last backward left them."""
        return {f"{layer.name}/{key}": layer.grads[key] for layer in self.layers
                for key in layer.trainable_params}

    def forward_loss(self, x: Array, y: Array, training: bool = False,
                     input_gradient: bool = True, hooks: Any = (), backward: bool = True,
                     sample_weight: Array | None = None
                     ) -> tuple[float, Array, Callable[[], Any]]:
        """Forward and loss on one batch, through the fused softmax+cross-entropy path when the
        model has one. Returns (loss value, output probabilities, backward): ``backward()``
        back-propagates the loss, fills every layer's ``grads`` and returns dL/dx (None with
        ``input_gradient=False``). ``hooks`` as in ``forward``; ``sample_weight`` (N,) weighs
        the per-sample losses (``losses.Loss.weighted_forward``)."""
        fused = self.fused_loss
        out, backward = self.forward(x, training=training, logits=fused is not None,
                                     input_gradient=input_gradient, hooks=hooks,
                                     backward=backward)
        value, loss_backward = (fused or self.loss).weighted_forward(y, out, sample_weight)
        value += regularizers.regularization_loss(self.layers)   # weight penalties, as Keras
        y_pred = self.final_activation(out) if fused is not None else out

        def backward_with_penalties() -> Any:
            grad_x = backward(loss_backward())
            regularizers.add_regularization_gradients(self.layers)
            return grad_x
        return value, y_pred, backward_with_penalties

    def compute_loss_and_gradients(self, x: Array, y: Array, training: bool = True,
                                   sample_weight: Array | None = None) -> tuple[float, Array]:
        """Forward, loss and backward on one batch; leaves gradients in each layer's ``grads``.
        Returns the batch loss and the model output (probabilities, not logits). The gradient
        with respect to x is not needed here, so the first layer may skip computing it."""
        value, y_pred, backward = self.forward_loss(x, y, training, input_gradient=False,
                                                    sample_weight=sample_weight)
        backward()
        return value, y_pred

    def cast_input(self, x: Array) -> Array:
        """x in the model's weight dtype (no copy when it already is)."""
        return x.astype(self.dtype, copy=False)

    @property
    def dtype(self) -> np.dtype:
        for layer in self.layers:
            for value in layer.params.values():
                return value.dtype
        return np.dtype(backend.floatx())
