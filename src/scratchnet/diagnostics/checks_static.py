"""``loss_activation_mismatch``: the final activation and the loss do not go together.

Read from the model's configuration alone (no thresholds). Rules, after the usual pairings
(Keras documentation; cs231n "loss functions"): softmax goes with categorical cross-entropy,
sigmoid with binary cross-entropy, a linear output (logits) with a cross-entropy only when it
is told ``from_logits=True``, and squared error is for regression, not after softmax/sigmoid.
"""
from __future__ import annotations

from typing import Any

from .. import losses
from .probes import activation_name
from .report import Finding

_CE_FIX = ("Use loss='categorical_crossentropy' after softmax (one-hot labels) or "
           "'sparse_categorical_crossentropy' (integer labels); or drop the softmax and use "
           "CategoricalCrossentropy(from_logits=True).")


def check_loss_activation(model: Any) -> list[Finding]:
    if not model.layers:
        return []
    last = model.layers[-1]
    activation = model.final_activation
    name = activation.name if activation is not None else activation_name(last)
    if name is None:
        return []
    loss = model.loss
    units = model.output_shape[-1] if model.output_shape else None
    ce = isinstance(loss, losses.CategoricalCrossentropy)
    bce = isinstance(loss, losses.BinaryCrossentropy)
    evidence = {"final_activation": name, "loss": getattr(loss, "name", type(loss).__name__),
                "loss_class": type(loss).__name__, "from_logits": loss.from_logits,
                "output_units": units}

    def finding(severity: str, cause: str, fix: str) -> list[Finding]:
        return [Finding("loss_activation_mismatch", severity, last.name, evidence, cause, fix)]

    if "softmax" in name:
        if units == 1:
            return finding("error", "Softmax over a single unit always outputs 1: nothing can be "
                           "learned.", "Use sigmoid + binary_crossentropy for one output, or C "
                           "units with softmax + categorical_crossentropy.")
        if loss.from_logits and (ce or bce):
            return finding("error", "The loss applies its own softmax/sigmoid (from_logits=True) "
                           "to outputs that already went through softmax.",
                           "Remove the final softmax (activation=None) or set from_logits=False.")
        if bce:
            return finding("warning", "binary_crossentropy after softmax treats the C outputs as "
                           "independent yes/no answers although softmax couples them.", _CE_FIX)
        if not ce:
            return finding("warning", f"softmax is followed by {type(loss).__name__}, not "
                           "cross-entropy: the gradient goes through the softmax Jacobian and "
                           "vanishes when the softmax saturates, so learning is slow or stalls "
                           "(and with huge logits it stops).", _CE_FIX)
        return []
    if "sigmoid" in name:
        if loss.from_logits and (ce or bce):
            return finding("error", "The loss applies its own sigmoid/softmax (from_logits=True) "
                           "to outputs that already went through sigmoid.",
                           "Remove the final sigmoid (activation=None) or set from_logits=False.")
        if ce:
            return finding("error", "categorical_crossentropy after sigmoid: the outputs do not "
                           "form a distribution (with one unit the loss is constant 0).",
                           "For one class per sample use softmax + categorical_crossentropy; for "
                           "independent labels use sigmoid + binary_crossentropy.")
        if not bce:
            return finding("warning", f"sigmoid is followed by {type(loss).__name__}: its gradient "
                           "vanishes where the sigmoid saturates.",
                           "Use loss='binary_crossentropy' after sigmoid.")
        return []
    if (ce or bce) and not loss.from_logits:
        return finding("error", f"The output is not a probability ({name} activation) but "
                       f"{type(loss).__name__} expects probabilities: unnormalised or negative "
                       "values are clipped/renormalised and the gradient is meaningless.",
                       f"Add activation='{'sigmoid' if bce else 'softmax'}' to the last layer, or "
                       f"use {type(loss).__name__}(from_logits=True).")
    return []


def _shape_only(layer: Any) -> bool:
    """Layers that pass values through unchanged in inference (reshapes, dropout): a softmax
    before them is still a softmax after them."""
    return not layer.params and activation_name(layer) is None and type(layer).__name__ in (
        "Flatten", "Reshape", "Dropout", "InputLayer", "Identity")


def check_softmax_twice(model: Any) -> list[Finding]:
    """``softmax_twice``: a softmax output fed (through shape-only layers) to another softmax."""
    found, previous = [], None
    for layer in model.layers:
        name = activation_name(layer)
        if name is not None and "softmax" in name and previous is not None:
            found.append(Finding(
                "softmax_twice", "error", layer.name,
                {"first_softmax": previous.name, "second_softmax": layer.name},
                f"{previous.name} already ends in a softmax and {layer.name} applies another one "
                "to its probabilities: inputs in [0, 1] give outputs close to uniform (for 10 "
                "classes the largest probability is at most e/(e+9) = 0.23), so the loss can "
                "never fall below a floor and the gradient is squashed.",
                f"Keep one softmax: remove {layer.name}, or give {previous.name} no activation "
                "(activation=None) if the Softmax layer is wanted."))
        if name is not None and "softmax" in name:
            previous = layer
        elif name is not None or not _shape_only(layer):
            previous = None
    return found


def check_trainable(model: Any) -> list[Finding]:
    """``no_trainable_weights``: the optimizer has nothing to update."""
    if model.trainable_params():
        return []
    weighted = [layer.name for layer in model.layers if layer.params]
    frozen = [layer.name for layer in model.layers if layer.params and not layer.trainable]
    cause = (f"Every layer with weights is frozen (trainable=False: {', '.join(frozen)})."
             if frozen else "No layer has weights (only activations, reshapes, pooling):")
    return [Finding(
        "no_trainable_weights", "error", "model",
        {"layers": len(model.layers), "weighted_layers": weighted, "frozen_layers": frozen},
        cause + " Training cannot change the model's outputs.",
        "Set layer.trainable = True on the layers to train (recompile), or add a Dense/Conv2D "
        "layer.")]
