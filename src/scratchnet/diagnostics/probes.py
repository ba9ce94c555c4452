"""Forward and backward statistics of a model, gathered from outside its layers.

:func:`trace` runs one forward and backward pass of a Sequential model through its runner
(``scratchnet.runner``), the very path a training step takes, and keeps, through the runner's
hooks, each layer's input, output, the gradient reaching it and its parameter gradients. The
pre-activation of a layer with an activation (Dense, Conv2D) is its ``forward_linear`` of the
same input, computed again (no layer is modified, and the pass itself is unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..layers import ActivatedLayer, Layer
from ..layers.activation import Activation as ActivationLayer
from ..layers.leaky_relu import LeakyReLU
from ..layers.relu import ReLU
from ..layers.softmax import Softmax

Array = np.ndarray


@dataclass
class LayerTrace:
    """What one layer saw and produced on the probe batch."""
    name: str
    layer: Layer
    x: Array
    y: Array
    z: Array | None = None          # pre-activation (layers with an activation)
    activation: str | None = None   # the non-linearity this layer applies, if any
    grad_y: Array | None = None     # dL/dy (None for the last layer on the fused-loss path)
    grad_x: Array | None = None
    grads: dict[str, Array] = field(default_factory=dict)

    @property
    def pre(self) -> Array:
        """The input of this layer's non-linearity."""
        return self.z if self.z is not None else self.x


@dataclass
class Trace:
    layers: list[LayerTrace]
    loss: float
    output: Array  # the model's output (probabilities when the last activation is softmax)
    grad_output: Array | None  # dL/d(model output), None on the fused path
    fused: bool


def activation_name(layer: Layer) -> str | None:
    """The non-linearity a layer applies: its activation's name for built-in layers, else a guess
    from a user class name (``MyReLU`` -> "myrelu") so user-written activations are probed too."""
    if isinstance(layer, (ActivatedLayer, ActivationLayer)):
        return layer.activation.name
    if isinstance(layer, ReLU):
        return "relu"
    if isinstance(layer, LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, Softmax):
        return "softmax"
    name = type(layer).__name__.lower()
    return name if any(k in name for k in ("relu", "sigmoid", "tanh", "softmax")) else None


def rms(a: Array) -> float:
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) if a.size else 0.0


class _Recorder:
    """Runner hooks keeping what each layer saw (see scratchnet.runner for the hook API)."""

    def __init__(self, final_on_logits: Layer | None) -> None:
        self.records: dict[int, LayerTrace] = {}
        self.final_on_logits = final_on_logits   # a last Activation/Softmax left to the loss

    def after_forward(self, layer: Layer, x: Array, y: Array) -> None:
        record = LayerTrace(layer.name, layer, x, y, activation=activation_name(layer))
        if isinstance(layer, ActivatedLayer):
            record.z = layer.forward_linear(x)[0]
        elif layer is self.final_on_logits:
            record.z = x
        self.records[id(layer)] = record

    def after_backward(self, layer: Layer, grad_output: Array | None, grad_input: Array | None,
                       param_grads: dict[str, Array]) -> None:
        record = self.records[id(layer)]
        record.grad_y, record.grad_x = grad_output, grad_input
        record.grads = {k: v.copy() for k, v in param_grads.items()}


def trace(model: Any, x: Array, y: Array, training: bool = False) -> Trace:
    """One forward and backward pass of ``model`` on (x, y), with the compiled loss (the fused
    softmax + cross-entropy path when the model uses it). Parameter gradients are copied out,
    so the layers' own ``grads`` are left as the pass leaves them."""
    model.ensure_built(x)
    x = model.cast_input(np.asarray(x))
    fused = model.fused_loss
    recorder = _Recorder(model.layers[-1] if fused is not None else None)
    with np.errstate(all="ignore"):
        out, backward = model.forward(x, training, logits=fused is not None, hooks=[recorder])
        loss, loss_backward = (fused or model.loss).forward(y, out)
        grad = loss_backward()
        backward(grad)
    records = [recorder.records[id(layer)] for layer in model.layers]
    output = records[-1].y if records else out
    return Trace(records, float(loss), output, None if fused is not None else grad,
                 fused is not None)
