"""Checks on user data, so mistakes surface as clear errors rather than broadcasting errors deep
inside a layer. Every message says what was expected and what was given."""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError, InvalidTypeError, NonFiniteInputError

Array = np.ndarray
SEED_MAX = 2**63 - 1   # what every NumPy bit generator accepts, and JSON integers carry


def as_numeric_array(value: Any, what: str) -> Array:
    """Return ``value`` as an ndarray of numbers (bool, int or float), without copying arrays."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:   # ragged nested lists
            raise InvalidArgumentError(
                f"{what} must be a rectangular array of numbers; NumPy could not make one from "
                f"the given {type(value).__name__} ({error}).") from None
    if array.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{what} must be an array of numbers, got dtype {array.dtype} "
                        f"(object or string arrays cannot be trained on).")
    return array


def check_features(x: Array, expected: tuple[int, ...] | None, what: str = "x") -> None:
    """x must be (N, *expected) with N >= 1. Hints at channels-first and a missing channel axis."""
    if x.ndim == 0 or x.shape[0] == 0:
        raise InvalidArgumentError(f"{what} is empty (shape {x.shape}); expected at least one "
                                   f"sample.")
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
    raise InvalidArgumentError(f"{what} has shape {x.shape}; the model expects {wanted}.{hint}")


def check_finite(x: Array, what: str = "x", dtype: Any = None) -> None:
    """No NaN/Inf in ``x``; with ``dtype`` (the model's float type) also nothing beyond its range,
    which the cast would silently turn into Inf (float64 data into a float32 model)."""
    if x.dtype.kind not in "biuf":
        return
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.isfinite(x).sum())
        raise NonFiniteInputError(f"{what} contains {bad} NaN or Inf values; expected finite "
                                  f"numbers.")
    if dtype is not None and np.dtype(dtype).kind == "f" and x.size:
        limit = float(np.finfo(dtype).max)
        largest = float(np.abs(x).max())
        if largest > limit:
            raise NonFiniteInputError(
                f"{what} has values up to {largest:.3g}, beyond the range of {np.dtype(dtype)} "
                f"(+-{limit:.3g}) the model computes in; expected values that fit (rescale the "
                f"data, or use float64 weights: scratchnet.set_floatx('float64')).")


def check_same_length(x: Array, y: Array) -> None:
    if len(x) != len(y):
        raise InvalidArgumentError(f"x and y must have the same number of samples, got "
                                   f"{len(x)} inputs and {len(y)} targets.")


def check_positive_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidArgumentError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_number(value: Any, what: str, low: float | None = None, high: float | None = None,
                 high_inclusive: bool = True) -> float:
    """A real number (int, float or NumPy scalar, not bool) in [low, high] (or [low, high))."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value):
        raise InvalidArgumentError(f"{what} must be a finite number, got {value!r}")
    above_high = high is not None and (value > high if high_inclusive else value >= high)
    if (low is not None and value < low) or above_high:
        bracket = "]" if high_inclusive else ")"
        raise InvalidArgumentError(f"{what} must be in [{low}, {high}{bracket}, got {value!r}")
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
        raise InvalidArgumentError(f"{what} must be a positive int or a tuple of positive ints, "
                         f"got {value!r}")
    return tuple(int(d) for d in shape)


def check_seed(value: Any, what: str = "seed") -> int | None:
    """A random seed: None or an integer in [0, 2**63 - 1] (NumPy's rule, with our name)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 0 <= int(value) <= SEED_MAX:
        raise InvalidArgumentError(f"{what} must be None or an integer in [0, 2**63 - 1], got "
                                   f"{value!r} ({type(value).__name__})")
    return int(value)
