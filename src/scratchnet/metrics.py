"""Metrics. "accuracy" resolves like Keras: binary, sparse or categorical from the shapes."""
from __future__ import annotations

from typing import Callable

import numpy as np

Array = np.ndarray
Metric = Callable[[Array, Array], float]


def categorical_accuracy(y_true: Array, y_pred: Array) -> float:
    return float(np.mean(y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)))


def sparse_categorical_accuracy(y_true: Array, y_pred: Array) -> float:
    return float(np.mean(np.asarray(y_true).reshape(-1) == y_pred.argmax(axis=-1).reshape(-1)))


def binary_accuracy(y_true: Array, y_pred: Array, threshold: float = 0.5) -> float:
    return float(np.mean(y_true == (y_pred > threshold)))


def resolve_accuracy(y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...],
                     loss_name: str) -> Metric:
    """Keras's choice for metrics=["accuracy"]: a single output unit -> binary; integer labels
    (one axis fewer than the output, or sparse loss) -> sparse; otherwise categorical."""
    if y_pred_shape[-1] == 1 or loss_name == "binary_crossentropy":
        return binary_accuracy
    if loss_name == "sparse_categorical_crossentropy" or len(y_true_shape) < len(y_pred_shape):
        return sparse_categorical_accuracy
    return categorical_accuracy


_METRICS: dict[str, Metric] = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
}
KNOWN = ("accuracy", "acc", *_METRICS)


def get(name: str, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...],
        loss_name: str) -> Metric:
    if name in ("accuracy", "acc"):
        return resolve_accuracy(y_true_shape, y_pred_shape, loss_name)
    return _METRICS[name]
