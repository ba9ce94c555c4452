"""Checks on user data, so mistakes surface as clear errors rather than broadcasting errors deep
inside a layer. Every message says what was expected and what was given."""
from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray


def as_numeric_array(value: Any, what: str) -> Array:
    """Return ``value`` as an ndarray of numbers (bool, int or float), without copying arrays."""
    array = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be an array of numbers, got dtype {array.dtype} "
                        f"(object or string arrays cannot be trained on).")
    return array


def check_features(x: Array, expected: tuple[int, ...] | None, what: str = "x") -> None:
    """x must be (N, *expected) with N >= 1. Hints at channels-first and a missing channel axis."""
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{what} is empty (shape {x.shape}); expected at least one sample.")
    if expected is None or tuple(x.shape[1:]) == tuple(expected):
        return
    wanted = "(N, " + ", ".join(map(str, expected)) + ")"
    hint = ""
    if len(expected) == 3 and x.ndim == 4 and tuple(x.shape[1:]) == (expected[2], *expected[:2]):
        hint = (" It looks channels-first (N, C, H, W); scratchnet is channels-last: use "
                "x.transpose(0, 2, 3, 1).")
    elif x.ndim == len(expected) and tuple(x.shape[1:]) == tuple(expected[:-1]) \
            and expected[-1] == 1:
        hint = " The channel axis is missing: use x.reshape(-1, *x.shape[1:], 1)."
    raise ValueError(f"{what} has shape {x.shape}; the model expects {wanted}.{hint}")


def check_finite(x: Array, what: str = "x") -> None:
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.isfinite(x).sum())
        raise ValueError(f"{what} contains {bad} NaN or Inf values; expected finite numbers.")


def check_same_length(x: Array, y: Array) -> None:
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} inputs "
                         f"and {len(y)} targets.")


def check_positive_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)
