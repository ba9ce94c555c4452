"""Global numeric settings: the float type and the random generator.

float32 is the default end to end; ``set_floatx("float64")`` switches every new weight and every
cast input to float64, which gradient checking needs (like ``keras.config.set_floatx``).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

_FLOATX = "float32"
_ALLOWED = ("float32", "float64")
_rng = np.random.default_rng()


def floatx() -> str:
    """The float type new weights and cast inputs use: "float32" (default) or "float64"."""
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in _ALLOWED:
        raise ValueError(f"floatx must be one of {_ALLOWED}, got {value!r}")
    _FLOATX = value


@contextlib.contextmanager
def floatx_scope(value: str) -> Iterator[None]:
    """Temporarily use another float type: ``with floatx_scope("float64"): ...``."""
    previous = _FLOATX
    set_floatx(value)
    try:
        yield
    finally:
        set_floatx(previous)


def set_random_seed(seed: int) -> None:
    """Seed the generator used for weight initialisation (and, unless fit gets a seed, dropout)."""
    global _rng
    from .validation import check_seed
    _rng = np.random.default_rng(check_seed(seed, "set_random_seed: seed"))


def rng() -> np.random.Generator:
    """The library-wide generator, used where no more specific one is given."""
    return _rng
