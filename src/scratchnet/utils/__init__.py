"""Utilities with Keras' semantics: ``to_categorical``, ``normalize`` (also under Keras 2's
``utils.np_utils``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import set_random_seed  # noqa: F401  (keras.utils.set_random_seed)


def to_categorical(y: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """One-hot encode integer class labels, like ``keras.utils.to_categorical``.

    y: integer labels of any shape S (ints, or floats holding whole numbers).
    num_classes: C; inferred as ``max(y) + 1`` when None.
    Returns an array of shape S + (C,) and ``dtype``; as in Keras, a trailing axis of size 1
    is dropped first, so (N, 1) -> (N, C), while (N,) -> (N, C) and a scalar -> (C,).
    """
    labels = np.asarray(y)
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"to_categorical expects integer class labels, got an array of dtype "
                         f"{labels.dtype} (convert it with .astype(int) if it holds numbers)")
    if labels.dtype.kind == "f" and labels.size:
        bad = ~np.isfinite(labels) | (labels != np.floor(labels))
        if bad.any():
            raise ValueError(f"to_categorical expects integer class labels, got non-integer "
                             f"value {labels[bad].flat[0]!r}")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:  # Keras: labels of shape (N, 1) give (N, C)
        shape = shape[:-1]
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: class labels must be >= 0, got {labels.min()}")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels; "
                             "pass num_classes")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"to_categorical: num_classes must be a positive integer, "
                         f"got {num_classes!r}")
    num_classes = int(num_classes)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: label {labels.max()} is out of range for "
                         f"num_classes={num_classes} (labels must be in 0..{num_classes - 1})")
    flat = labels.reshape(-1).astype(np.intp)
    out = np.zeros((flat.size, num_classes), dtype=dtype)
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """x divided by its ``order``-norm along ``axis`` (zero vectors stay zero), as Keras."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"normalize expects an array of numbers, got dtype {x.dtype}")
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


from . import np_utils  # noqa: E402, F401  (Keras 2's keras.utils.np_utils, after what it re-exports)
from .plot_model import plot_model  # noqa: E402, F401
