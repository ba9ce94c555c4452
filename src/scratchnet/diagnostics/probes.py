"""Forward and backward statistics of a model, gathered from outside its layers.

:func:`trace` runs a Sequential model's layers one by one, as ``Sequential.forward`` does, and
keeps each layer's input, pre-activation (for layers with an activation), output, the gradient
reaching it and its parameter gradients. Layers are not modified: a layer with an activation
(Dense, Conv2D) is run as ``forward_linear`` followed by its activation, exactly as its own
``forward`` composes them, so the pre-activation is visible.
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


def trace(model: Any, x: Array, y: Array, training: bool = False) -> Trace:
    """One forward and backward pass of ``model`` on (x, y), layer by layer, with the compiled
    loss (the fused softmax + cross-entropy path when the model uses it). Parameter gradients
    are copied out, so the layers' own ``grads`` are left as the pass leaves them."""
    model._ensure_built(x)
    x = model._cast(np.asarray(x))
    fused = model._fused_loss
    records: list[LayerTrace] = []
    backs: list[Any] = []
    h = x
    last = len(model.layers) - 1
    with np.errstate(all="ignore"):
        for index, layer in enumerate(model.layers):
            record = LayerTrace(layer.name, layer, h, h, activation=activation_name(layer))
            if isinstance(layer, ActivatedLayer):
                z, back_linear = layer.forward_linear(h, training)
                out = layer.activation(z)
                record.z = z
                backs.append(("activated", back_linear))
            elif fused is not None and index == last:  # a final Activation/Softmax layer
                z, out = h, model._final_activation()[0](h)
                record.z = z
                backs.append(("identity", None))
            else:
                out, back = layer.forward(h, training)
                backs.append(("plain", back))
            record.y = out
            records.append(record)
            h = out
        if fused is not None:
            loss, loss_backward = fused.forward(y, records[-1].z)
            grad, grad_output, skip_activation = loss_backward(), None, True
        else:
            loss, loss_backward = model.loss.forward(y, h)
            grad = grad_output = loss_backward()
            skip_activation = False
        for index in range(last, -1, -1):
            record, (kind, back) = records[index], backs[index]
            if not (skip_activation and index == last):
                record.grad_y = grad
            if kind == "activated":
                layer = record.layer
                if not (skip_activation and index == last):
                    grad = layer.activation.backward(record.z, record.y, grad)
                grad = back(grad)
            elif kind == "plain":
                grad = back(grad)
            record.grad_x = grad
            record.grads = {k: v.copy() for k, v in record.layer.grads.items()}
    return Trace(records, float(loss), h, grad_output, fused is not None)
