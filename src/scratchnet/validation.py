"""Checks on user data, so mistakes surface as clear errors rather than broadcasting errors deep
inside a layer. Every message says what was expected and what was given."""
from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray


def as_numeric_array(value: Any, what: str) -> Array:
    """Return ``value`` as an ndarray of numbers (bool, int or float), without copying arrays."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:   # ragged nested lists
            raise ValueError(f"{what} must be a rectangular array of numbers; NumPy could not "
                             f"make one from the given {type(value).__name__} ({error}).") from None
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


def check_number(value: Any, what: str, low: float | None = None, high: float | None = None,
                 high_inclusive: bool = True) -> float:
    """A real number (int, float or NumPy scalar, not bool) in [low, high] (or [low, high))."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    above_high = high is not None and (value > high if high_inclusive else value >= high)
    if (low is not None and value < low) or above_high:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{what} must be in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


def as_shape(value: Any, what: str) -> tuple[int, ...]:
    """A per-sample shape: a positive int (784) or a sequence of them ((28, 28, 1))."""
    dims = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        shape = tuple(dims)
    except TypeError:
        shape = ()
    if not shape or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                            and d > 0 for d in shape):
        raise ValueError(f"{what} must be a positive int or a tuple of positive ints, "
                         f"got {value!r}")
    return tuple(int(d) for d in shape)
