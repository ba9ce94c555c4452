"""Classification reports: confusion matrix and per-class accuracy."""
from __future__ import annotations

import numpy as np

Array = np.ndarray


def class_labels(y: Array) -> Array:
    """Integer labels from integer labels (N,) / (N, 1) or one-hot / probability rows (N, K)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(-1).astype(np.int64)


def confusion_matrix(y_true: Array, y_pred: Array, num_classes: int) -> Array:
    """(K, K) counts: row = true class, column = predicted class."""
    true, pred = class_labels(y_true), class_labels(y_pred)
    if len(true) != len(pred):
        raise ValueError(f"y_true has {len(true)} samples, y_pred {len(pred)}.")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (true, pred), 1)
    return matrix


def per_class_accuracy(matrix: Array) -> Array:
    """Recall of each class (diagonal / row sum); NaN for a class with no samples."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)
