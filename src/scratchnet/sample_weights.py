"""Per-sample weights for fit and evaluate: ``sample_weight=`` and ``class_weight=`` (Keras 3).

Both become one array (N,) of non-negative weights that the loss multiplies its per-sample
losses by (``losses.Loss.weighted_forward``); metrics stay unweighted, as Keras's ``metrics=``
(Keras weights only ``weighted_metrics=``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import validation

Array = np.ndarray


def check_sample_weight(sample_weight: Any, n: int, what: str) -> Array | None:
    """``sample_weight`` as float64 (N,), finite and >= 0; (N, 1) is accepted, as Keras does."""
    if sample_weight is None:
        return None
    weights = validation.as_numeric_array(sample_weight, f"{what}: sample_weight")
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights.reshape(-1)
    if weights.shape != (n,):
        raise ValueError(f"{what}: sample_weight must have shape ({n},), one weight per sample, "
                         f"got shape {weights.shape}.")
    weights = weights.astype(np.float64)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"{what}: sample_weight must be finite and >= 0, got values in "
                         f"[{weights.min()}, {weights.max()}].")
    return weights


def class_weight_to_sample_weight(class_weight: Any, y: Array, what: str = "fit") -> Array:
    """Keras's rule: the class of a sample is argmax(y) for one-hot targets (last axis > 1),
    else the integer label itself; a class missing from the dict weighs 1.0."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"{what}: class_weight must be a dict {{class index: weight}}, got "
                        f"{type(class_weight).__name__}.")
    table: dict[int, float] = {}
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
            raise ValueError(f"{what}: class_weight keys must be class indices (int >= 0), "
                             f"got {key!r}.")
        table[int(key)] = validation.check_number(value, f"{what}: class_weight[{key}]", 0)
    if y.ndim > 1 and y.shape[-1] > 1:
        classes = y.reshape(len(y), -1, y.shape[-1]).argmax(axis=-1)[:, 0]
    else:
        classes = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    return np.array([table.get(int(c), 1.0) for c in classes], dtype=np.float64)


def fit_weights(sample_weight: Any, class_weight: Any, y: Array) -> Array | None:
    """The weights fit trains with; both arguments at once is refused, as in Keras 3."""
    if sample_weight is not None and class_weight is not None:
        raise ValueError("fit: pass class_weight or sample_weight, not both (Keras 3 refuses "
                         "the pair too); fold the class weights into sample_weight.")
    if class_weight is not None:
        return class_weight_to_sample_weight(class_weight, y)
    return check_sample_weight(sample_weight, len(y), "fit")
