"""The rest of Keras 3's losses: regression (mae, mape, msle, huber, log_cosh, poisson), hinge
losses and the KL divergence. Same contract as ``losses.py``: each is the mean over the batch,
and ``backward()`` returns dL/dy_pred including that division.

Most are element-wise: the mean over the last axis of a per-element value, then over the batch,
which is the mean over every element; a subclass gives the per-element value and derivative.
KL divergence and categorical hinge are per-sample (a sum or a max over the last axis).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .losses import EPSILON, Array, Loss, _per_sample_count
from .validation import check_number


class ElementwiseLoss(Loss):
    """mean over every element of ``values(y, p)``; gradient ``derivative(y, p)`` / size."""

    def __init__(self) -> None:
        super().__init__(from_logits=False)

    def values(self, y: Array, p: Array) -> Array:
        raise NotImplementedError

    def derivative(self, y: Array, p: Array) -> Array:
        raise NotImplementedError

    def forward(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        value = float(np.mean(self.values(y, y_pred)))
        return value, lambda: (self.derivative(y, y_pred) / y_pred.size).astype(y_pred.dtype)

    def per_sample(self, y_true, y_pred):
        values = self.values(y_true.astype(y_pred.dtype, copy=False), y_pred)
        return values.reshape(len(y_pred), -1).mean(axis=1)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class MeanAbsoluteError(ElementwiseLoss):
    """|y_true - y_pred| (derivative sign(y_pred - y_true), 0 where equal)."""
    name = "mean_absolute_error"

    def values(self, y, p):
        return np.abs(p - y)

    def derivative(self, y, p):
        return np.sign(p - y)


class MeanAbsolutePercentageError(ElementwiseLoss):
    """100 * |(y_true - y_pred) / max(|y_true|, 1e-7)|."""
    name = "mean_absolute_percentage_error"

    def values(self, y, p):
        return 100 * np.abs((y - p) / np.maximum(np.abs(y), EPSILON))

    def derivative(self, y, p):
        return 100 * np.sign(p - y) / np.maximum(np.abs(y), EPSILON)


class MeanSquaredLogarithmicError(ElementwiseLoss):
    """(log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2."""
    name = "mean_squared_logarithmic_error"

    def values(self, y, p):
        return (np.log1p(np.maximum(p, EPSILON)) - np.log1p(np.maximum(y, EPSILON))) ** 2

    def derivative(self, y, p):
        diff = np.log1p(np.maximum(p, EPSILON)) - np.log1p(np.maximum(y, EPSILON))
        return np.where(p > EPSILON, 2 * diff / (1 + np.maximum(p, EPSILON)), 0)


class Huber(ElementwiseLoss):
    """e = y_pred - y_true: e^2 / 2 where |e| <= delta, delta * (|e| - delta / 2) beyond."""
    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        self.delta = check_number(delta, "Huber delta", 0)
        if self.delta == 0:
            raise ValueError("Huber delta must be > 0, got 0")

    def values(self, y, p):
        error = np.abs(p - y)
        quadratic = np.minimum(error, self.delta)
        return 0.5 * quadratic * quadratic + self.delta * (error - quadratic)

    def derivative(self, y, p):
        return np.clip(p - y, -self.delta, self.delta)

    def get_config(self):
        return {"name": self.name, "delta": self.delta}


class LogCosh(ElementwiseLoss):
    """log(cosh(y_pred - y_true)), computed as x + softplus(-2x) - log 2 (no overflow)."""
    name = "log_cosh"

    def values(self, y, p):
        x = p - y
        return x + np.logaddexp(0, -2 * x) - np.log(2)

    def derivative(self, y, p):
        return np.tanh(p - y)


class Poisson(ElementwiseLoss):
    """y_pred - y_true * log(y_pred + 1e-7)."""
    name = "poisson"

    def values(self, y, p):
        return p - y * np.log(p + EPSILON)

    def derivative(self, y, p):
        return 1 - y / (p + EPSILON)


def _hinge_labels(y: Array) -> Array:
    """Keras: labels in {0, 1} become {-1, 1}; labels already in {-1, 1} stay."""
    return np.where(y == 0, -1, y) if y.size and y.min() >= 0 else y


class Hinge(ElementwiseLoss):
    """max(1 - y_true * y_pred, 0), with 0/1 labels turned into -1/1."""
    name = "hinge"

    def values(self, y, p):
        return np.maximum(1 - _hinge_labels(y) * p, 0)

    def derivative(self, y, p):
        labels = _hinge_labels(y)
        return np.where(1 - labels * p > 0, -labels, 0)


class SquaredHinge(Hinge):
    """max(1 - y_true * y_pred, 0)^2, with 0/1 labels turned into -1/1."""
    name = "squared_hinge"

    def values(self, y, p):
        return super().values(y, p) ** 2

    def derivative(self, y, p):
        labels = _hinge_labels(y)
        return -2 * labels * np.maximum(1 - labels * p, 0)


class KLDivergence(Loss):
    """sum over the last axis of y * log(y / p), both clipped to [1e-7, 1]; mean over samples."""
    name = "kl_divergence"

    def __init__(self) -> None:
        super().__init__(from_logits=False)

    def forward(self, y_true, y_pred):
        y = np.clip(y_true.astype(y_pred.dtype, copy=False), EPSILON, 1)
        p = np.clip(y_pred, EPSILON, 1)
        n = _per_sample_count(y_pred)
        value = float((y * np.log(y / p)).sum() / n)
        return value, lambda: (np.where((y_pred >= EPSILON) & (y_pred <= 1), -y / p, 0) / n
                               ).astype(y_pred.dtype)

    def get_config(self):
        return {"name": self.name}


class CategoricalHinge(Loss):
    """max(max((1 - y) * p) - sum(y * p) + 1, 0) per sample (one-hot y), mean over samples."""
    name = "categorical_hinge"

    def __init__(self) -> None:
        super().__init__(from_logits=False)

    def forward(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        n = _per_sample_count(y_pred)
        others = (1 - y) * y_pred
        margin = others.max(axis=-1) - (y * y_pred).sum(axis=-1) + 1
        value = float(np.maximum(margin, 0).sum() / n)

        def backward():
            active = (margin > 0)[..., None]
            top = np.zeros_like(y_pred)
            np.put_along_axis(top, others.argmax(axis=-1)[..., None], 1, axis=-1)
            return (np.where(active, top * (1 - y) - y, 0) / n).astype(y_pred.dtype)
        return value, backward

    def get_config(self):
        return {"name": self.name}


# Keras 3's names, and the Keras 2 spellings that cost nothing.
ALIASES: dict[str, type[Loss]] = {
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "huber": Huber, "huber_loss": Huber,
    "log_cosh": LogCosh, "logcosh": LogCosh,
    "poisson": Poisson,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
}
