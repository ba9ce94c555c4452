"""Metrics, as functions of one batch and as Keras's stateful metric objects.

"accuracy" resolves like Keras: binary, sparse or categorical from the shapes and the loss.
Every function returns the mean over the batch of a per-sample value, so the sample-weighted mean
over batches (what fit and evaluate report) is the metric of the whole data set.

A metric object (``metrics.SparseCategoricalAccuracy()``) accumulates over batches:
``update_state(y_true, y_pred)``, ``result()``, ``reset_state()``; calling it updates and returns
the result, as in Keras. ``name_of(identifier)`` is the key it gets in the logs.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

Array = np.ndarray
MetricFn = Callable[[Array, Array], float]


# --- batch functions ----------------------------------------------------------------------------
def categorical_accuracy(y_true: Array, y_pred: Array) -> float:
    return float(np.mean(y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)))


def sparse_categorical_accuracy(y_true: Array, y_pred: Array) -> float:
    return float(np.mean(np.asarray(y_true).reshape(-1) == y_pred.argmax(axis=-1).reshape(-1)))


def binary_accuracy(y_true: Array, y_pred: Array, threshold: float = 0.5) -> float:
    return float(np.mean(y_true == (y_pred > threshold)))


def accuracy(y_true: Array, y_pred: Array) -> float:
    """Keras's ``metrics.Accuracy``: how often y_pred *equals* y_true (no argmax, no threshold)."""
    return float(np.mean(np.asarray(y_true).reshape(y_pred.shape) == y_pred))


def mean_absolute_error(y_true: Array, y_pred: Array) -> float:
    return float(np.mean(np.abs(y_pred - np.asarray(y_true).reshape(y_pred.shape))))


def mean_squared_error(y_true: Array, y_pred: Array) -> float:
    return float(np.mean((y_pred - np.asarray(y_true).reshape(y_pred.shape)) ** 2))


def top_k_categorical_accuracy(y_true: Array, y_pred: Array, k: int = 5) -> float:
    return sparse_top_k_categorical_accuracy(y_true.argmax(axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Array, y_pred: Array, k: int = 5) -> float:
    """The true class is among the k highest scores (fewer than k scores are above it)."""
    labels = np.asarray(y_true).reshape(-1).astype(np.intp)
    scores = y_pred.reshape(len(labels), -1)
    true_score = scores[np.arange(len(labels)), labels][:, None]
    return float(np.mean((scores > true_score).sum(axis=1) < k))


def resolve_accuracy(y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...],
                     loss_name: str) -> MetricFn:
    """Keras's choice for metrics=["accuracy"]: a single output unit -> binary; integer labels
    (one axis fewer than the output, or sparse loss) -> sparse; otherwise categorical."""
    if y_pred_shape[-1] == 1 or loss_name == "binary_crossentropy":
        return binary_accuracy
    if loss_name == "sparse_categorical_crossentropy" or len(y_true_shape) < len(y_pred_shape):
        return sparse_categorical_accuracy
    return categorical_accuracy


_METRICS: dict[str, MetricFn] = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
}
KNOWN = ("accuracy", "acc", *_METRICS)
mae, mse = mean_absolute_error, mean_squared_error


# --- metric objects -----------------------------------------------------------------------------
class Metric:
    """A running, sample-weighted mean of a batch function (Keras's ``MeanMetricWrapper``)."""
    default_name = "metric"

    def __init__(self, name: str | None = None, dtype: Any = None):
        if name is not None and not (isinstance(name, str) and name):
            raise ValueError(f"metric name must be a non-empty string, got {name!r}")
        self.name = name or self.default_name
        self.reset_state()

    def batch_function(self, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...],
                       loss_name: str) -> MetricFn:
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if sample_weight is not None:
            raise NotImplementedError("sample_weight in metric objects is not supported yet")
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if len(y_true) != len(y_pred):
            raise ValueError(f"{type(self).__name__}: y_true has {len(y_true)} samples but "
                             f"y_pred has {len(y_pred)}")
        fn = self.batch_function(y_true.shape, y_pred.shape, "")
        self.total += fn(y_true, y_pred) * len(y_pred)
        self.count += len(y_pred)

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _wrapper(class_name: str, default_name: str, fn: MetricFn, doc: str) -> type[Metric]:
    def batch_function(self, y_true_shape, y_pred_shape, loss_name):
        return fn
    return type(class_name, (Metric,), {"default_name": default_name, "__doc__": doc,
                                        "batch_function": batch_function})


Accuracy = _wrapper("Accuracy", "accuracy", accuracy,
                    "How often predictions equal labels exactly (Keras's Accuracy).")
CategoricalAccuracy = _wrapper("CategoricalAccuracy", "categorical_accuracy",
                               categorical_accuracy, "argmax(y_pred) == argmax(y_true).")
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", "sparse_categorical_accuracy",
                                     sparse_categorical_accuracy,
                                     "argmax(y_pred) == y_true (integer labels).")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", "mean_absolute_error", mean_absolute_error,
                             "mean |y_true - y_pred|.")
MeanSquaredError = _wrapper("MeanSquaredError", "mean_squared_error", mean_squared_error,
                            "mean (y_true - y_pred)^2.")


class BinaryAccuracy(Metric):
    """y_true == (y_pred > threshold), threshold 0.5 by default."""
    default_name = "binary_accuracy"

    def __init__(self, name: str | None = None, dtype: Any = None, threshold: float = 0.5):
        from .validation import check_number
        self.threshold = check_number(threshold, "BinaryAccuracy threshold", 0, 1)
        super().__init__(name, dtype)

    def batch_function(self, y_true_shape, y_pred_shape, loss_name):
        return lambda y_true, y_pred: binary_accuracy(
            np.asarray(y_true).reshape(y_pred.shape), y_pred, self.threshold)


class TopKCategoricalAccuracy(Metric):
    """The true class (one-hot y_true) is among the k highest scores; k = 5 by default."""
    default_name = "top_k_categorical_accuracy"
    sparse = False

    def __init__(self, k: int = 5, name: str | None = None, dtype: Any = None):
        from .validation import check_positive_int
        self.k = check_positive_int(k, f"{type(self).__name__} k")
        super().__init__(name, dtype)

    def batch_function(self, y_true_shape, y_pred_shape, loss_name):
        fn = sparse_top_k_categorical_accuracy if self.sparse else top_k_categorical_accuracy
        return lambda y_true, y_pred: fn(y_true, y_pred, self.k)


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """The true class (integer y_true) is among the k highest scores; k = 5 by default."""
    default_name = "sparse_top_k_categorical_accuracy"
    sparse = True


# --- resolving what compile(metrics=[...]) was given --------------------------------------------
def name_of(identifier: str | Metric) -> str:
    """The logs key of a metric: its name (``"acc"`` is logged as ``"accuracy"``)."""
    if isinstance(identifier, Metric):
        return identifier.name
    if isinstance(identifier, str) and identifier in KNOWN:
        return "accuracy" if identifier == "acc" else identifier
    if callable(identifier) and getattr(identifier, "__name__", None) in _METRICS:
        return identifier.__name__    # metrics=[keras.metrics.mae]
    raise ValueError(f"Unknown metric {identifier!r}; expected one of {KNOWN} or a "
                     f"scratchnet.metrics.Metric object such as SparseCategoricalAccuracy().")


def get(identifier: str | Metric, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...],
        loss_name: str) -> MetricFn:
    """The batch function for a metric name or object, given the shapes and the loss name."""
    if isinstance(identifier, Metric):
        return identifier.batch_function(y_true_shape, y_pred_shape, loss_name)
    name = name_of(identifier)
    if name == "accuracy":
        return resolve_accuracy(y_true_shape, y_pred_shape, loss_name)
    return _METRICS[name]
