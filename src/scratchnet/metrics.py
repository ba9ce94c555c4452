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
mae, mse = mean_absolute_error, mean_squared_error


def _loss_metrics() -> dict[str, MetricFn]:
    """Every loss name is also a metric name, as in Keras (metrics=["categorical_crossentropy"]):
    the batch mean of the loss, computed by the loss itself."""
    from . import losses

    def metric(name: str) -> MetricFn:
        loss = losses.get(name)
        return lambda y_true, y_pred: loss(np.asarray(y_true), y_pred)
    return {name: metric(name) for name in sorted(losses._ALIASES) if name not in _METRICS}


_METRICS.update(_loss_metrics())
KNOWN = ("accuracy", "acc", *_METRICS)


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

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "threshold": self.threshold}


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

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """The true class (integer y_true) is among the k highest scores; k = 5 by default."""
    default_name = "sparse_top_k_categorical_accuracy"
    sparse = True


# --- resolving what compile(metrics=[...]) was given --------------------------------------------
CLASSES: dict[str, type[Metric]] = {cls.__name__: cls for cls in (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, MeanAbsoluteError,
    MeanSquaredError, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy)}


def _is_function(identifier: Any) -> bool:
    return callable(identifier) and not isinstance(identifier, (Metric, type))


def _is_loss(identifier: Any) -> bool:
    from .losses import Loss
    return isinstance(identifier, Loss)   # metrics=[losses.categorical_crossentropy]


def name_of(identifier: str | Metric | MetricFn) -> str:
    """The logs key of a metric: its name (``"acc"`` is logged as ``"accuracy"``); a function
    (``keras.metrics.mae`` or one of the user's own) is logged under its ``__name__``."""
    if isinstance(identifier, Metric):
        return identifier.name
    if _is_loss(identifier):
        return identifier.name
    if isinstance(identifier, str) and identifier in KNOWN:
        return "accuracy" if identifier == "acc" else identifier
    if _is_function(identifier) and getattr(identifier, "__name__", "<lambda>") != "<lambda>":
        return identifier.__name__
    raise ValueError(f"Unknown metric {identifier!r}; expected one of {KNOWN}, a "
                     f"scratchnet.metrics.Metric object such as SparseCategoricalAccuracy(), or "
                     f"a named function f(y_true, y_pred).")


def check_all(identifiers: Any) -> list[str | Metric | MetricFn]:
    """compile's ``metrics=``: a list of names, Metric objects (or their saved configs) and
    functions, each checked, with distinct log keys."""
    if identifiers is None:
        return []
    if isinstance(identifiers, (str, Metric)) or _is_function(identifiers):
        identifiers = [identifiers]
    if isinstance(identifiers, dict) and "class_name" not in identifiers:
        raise TypeError("compile: metrics as a dict {output: [...]} is for several outputs; a "
                        "Sequential model has one: pass a list, e.g. metrics=['accuracy'].")
    if not isinstance(identifiers, (list, tuple)):
        raise TypeError(f"compile: metrics must be a list of metric names, Metric objects or "
                        f"functions, got {type(identifiers).__name__}")
    resolved = [_from_config(m) if isinstance(m, dict) else m for m in identifiers]
    if any(isinstance(m, type) and issubclass(m, Metric) for m in resolved):
        raise TypeError("compile: metrics needs Metric *objects*, e.g. "
                        "metrics.SparseCategoricalAccuracy(), not the class itself.")
    names = [name_of(m) for m in resolved]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"compile: metrics {repeated} appear more than once; give objects "
                         f"distinct names, e.g. SparseCategoricalAccuracy(name='acc_2').")
    return [("accuracy" if m == "acc" else m) if isinstance(m, str) else m for m in resolved]


def serialize(identifiers: list[str | Metric | MetricFn]) -> list[Any]:
    """What a model file stores for ``check_all``'s result: names and Metric configs. A user's
    own function cannot be stored (no pickle): it is left out with a warning."""
    stored: list[Any] = []
    for metric in identifiers:
        if isinstance(metric, Metric):
            stored.append({"class_name": type(metric).__name__, "config": metric.get_config()})
        elif isinstance(metric, str) or name_of(metric) in _METRICS:
            stored.append(name_of(metric))
        else:
            import warnings
            warnings.warn(f"metric function {metric.__name__!r} is not saved in the model file "
                          f"(code is never stored); pass it to compile again after loading.",
                          UserWarning, stacklevel=3)
    return stored


def _from_config(config: dict[str, Any]) -> Metric:
    cls = CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"Unknown metric class {config.get('class_name')!r}; expected one of "
                         f"{sorted(CLASSES)}")
    return cls(**config.get("config", {}))


def get(identifier: str | Metric | MetricFn, y_true_shape: tuple[int, ...],
        y_pred_shape: tuple[int, ...], loss_name: str) -> MetricFn:
    """The batch function for a metric name, object or function, given the shapes and the loss
    name. A function's value is averaged over the batch (it may return per-sample values)."""
    if isinstance(identifier, Metric):
        return identifier.batch_function(y_true_shape, y_pred_shape, loss_name)
    if _is_loss(identifier):
        return lambda y_true, y_pred: identifier(np.asarray(y_true), y_pred)
    name = name_of(identifier)
    if name == "accuracy":
        return resolve_accuracy(y_true_shape, y_pred_shape, loss_name)
    if name in _METRICS:
        return _METRICS[name]
    return lambda y_true, y_pred: float(np.mean(identifier(y_true, y_pred)))
