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


# --- Keras backend functions programs call --------------------------------------------------
def image_data_format() -> str:
    """Always "channels_last": every scratchnet image layer takes (N, H, W, C)."""
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    if data_format != "channels_last":
        raise ValueError(f"scratchnet supports image_data_format 'channels_last' only, got "
                         f"{data_format!r}; transpose (N, C, H, W) data with "
                         f"x.transpose(0, 2, 3, 1).")


def epsilon() -> float:
    """The fuzz factor Keras clips probabilities with (1e-7)."""
    return 1e-7


def clear_session() -> None:
    """Keras frees its global graph state here; scratchnet keeps none (layer names are per
    model), so there is nothing to clear."""
