"""Weight penalties (Keras 3): ``Dense(64, kernel_regularizer=regularizers.l2(1e-4))``.

A regularizer maps a weight w to a penalty added to the loss, and knows its gradient:
L1: l1 * sum(|w|) (gradient l1 * sign(w), 0 at 0); L2: l2 * sum(w^2) (gradient 2 * l2 * w, no
1/2, as Keras); L1L2: both. A layer opts in with an attribute ``<param>_regularizer`` (Dense and
Conv2D: ``kernel_regularizer``, ``bias_regularizer``); the penalty counts only for trainable
layers, as in Keras (it is part of ``model.losses`` there).

The model adds ``regularization_loss(layers)`` to each batch's loss (training and evaluation,
as Keras 3's compute_loss) and, after back-propagation, ``add_regularization_gradients(layers)``
adds the penalties' gradients to the layers' parameter gradients.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from .validation import check_number

Array = np.ndarray


class Regularizer:
    """Base class: ``__call__(w) -> float`` and ``gradient(w) -> array like w``."""

    def __call__(self, w: Array) -> float:
        raise NotImplementedError

    def gradient(self, w: Array) -> Array:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w^2). Defaults (Keras 3): l1 = l2 = 0."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = check_number(l1, f"{type(self).__name__} l1", 0)
        self.l2 = check_number(l2, f"{type(self).__name__} l2", 0)

    def __call__(self, w: Array) -> float:
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(w).sum())
        if self.l2:
            total += self.l2 * float((w * w).sum())
        return total

    def gradient(self, w: Array) -> Array:
        grad = np.zeros_like(w)
        if self.l1:
            grad += np.sign(w) * np.asarray(self.l1, w.dtype)
        if self.l2:
            grad += w * np.asarray(2 * self.l2, w.dtype)
        return grad

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|w|); l1 = 0.01 by default."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(w^2); l2 = 0.01 by default."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


# Keras's lower-case names (Keras 3 exports the classes under them too).
l1, l2, l1_l2 = L1, L2, L1L2
_CLASSES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier: Any) -> Regularizer | None:
    """None, a Regularizer, a name ("l1", "l2", "l1_l2": default strengths) or a config."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES \
            and isinstance(identifier.get("config", {}), dict):
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(f"Unknown regularizer {identifier!r}; expected None, 'l1', 'l2', 'l1_l2', "
                     f"a scratchnet.regularizers.Regularizer such as l2(1e-4), or its config.")


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    if regularizer is None:
        return None
    if type(regularizer).__name__ not in _CLASSES:
        raise ValueError(f"Regularizer {regularizer!r} is not a built-in one, so a saved model "
                         f"could not be loaded back; use L1, L2 or L1L2.")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def _penalized(layers: Iterable[Any]) -> Iterator[tuple[Any, str, Regularizer]]:
    for layer in layers:
        if not getattr(layer, "trainable", True):
            continue
        for key in layer.params:
            regularizer = getattr(layer, f"{key}_regularizer", None)
            if regularizer is not None and key not in getattr(layer, "non_trainable_names", ()):
                yield layer, key, regularizer


def regularization_loss(layers: Iterable[Any]) -> float:
    """The sum of every trainable layer's weight penalties (0.0 when there are none)."""
    return float(sum(reg(layer.params[key]) for layer, key, reg in _penalized(layers)))


def add_regularization_gradients(layers: Iterable[Any]) -> None:
    """Add each penalty's gradient to ``layer.grads[key]``, in place. Call it after the
    backward pass has filled the gradients of the batch loss."""
    for layer, key, reg in _penalized(layers):
        layer.grads[key] += reg.gradient(layer.params[key])
