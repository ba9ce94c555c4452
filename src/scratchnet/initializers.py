"""Weight initializers with Keras's names, formulas and defaults.

Fans follow Keras: for a Dense kernel (in, out) fan_in = in, fan_out = out; for a Conv2D kernel
(kh, kw, in, out) fan_in = kh*kw*in and fan_out = kh*kw*out. The "normal" variance-scaling
initializers draw from a normal truncated at two standard deviations, rescaled so the variance is
the intended one (stddev / 0.87962566103423978), as Keras does.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import backend

Initializer = Callable[..., np.ndarray]
_TRUNCATION_CORRECTION = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _truncated_normal(shape, stddev, rng):
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():  # resample the tails until every draw lies within two std
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out * stddev


def _variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    def initializer(shape, dtype=None, rng=None):
        rng = rng or backend.rng()
        fan_in, fan_out = compute_fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, n)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, size=shape)
        else:
            values = _truncated_normal(shape, math.sqrt(variance) / _TRUNCATION_CORRECTION, rng)
        return values.astype(dtype or backend.floatx())
    return initializer


glorot_uniform = _variance_scaling(1.0, "fan_avg", "uniform")
glorot_normal = _variance_scaling(1.0, "fan_avg", "normal")
he_normal = _variance_scaling(2.0, "fan_in", "normal")
he_uniform = _variance_scaling(2.0, "fan_in", "uniform")
lecun_normal = _variance_scaling(1.0, "fan_in", "normal")
lecun_uniform = _variance_scaling(1.0, "fan_in", "uniform")


def zeros(shape, dtype=None, rng=None):
    return np.zeros(shape, dtype=dtype or backend.floatx())


def ones(shape, dtype=None, rng=None):
    return np.ones(shape, dtype=dtype or backend.floatx())


def random_normal(shape, dtype=None, rng=None, mean=0.0, stddev=0.05):
    """Keras RandomNormal defaults: mean 0, stddev 0.05."""
    rng = rng or backend.rng()
    return rng.normal(mean, stddev, size=shape).astype(dtype or backend.floatx())


def random_uniform(shape, dtype=None, rng=None, minval=-0.05, maxval=0.05):
    """Keras RandomUniform defaults: [-0.05, 0.05]."""
    rng = rng or backend.rng()
    return rng.uniform(minval, maxval, size=shape).astype(dtype or backend.floatx())


_REGISTRY: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_normal": he_normal, "he_uniform": he_uniform,
    "lecun_normal": lecun_normal, "lecun_uniform": lecun_uniform,
    "zeros": zeros, "ones": ones,
    "random_normal": random_normal, "random_uniform": random_uniform,
}


def get(identifier: str | Initializer) -> Initializer:
    """Resolve an initializer name (``"he_normal"``) or return a callable as is.

    A callable initializer takes ``(shape, dtype=None, rng=None)`` and returns an array.
    """
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:
            raise ValueError(f"Unknown initializer {identifier!r}; expected one of "
                             f"{sorted(_REGISTRY)} or a callable (shape, dtype, rng) -> array.")
        return _REGISTRY[identifier]
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a name or a callable, got {identifier!r}")


def serialize(initializer: str | Initializer) -> str:
    if isinstance(initializer, str):
        return initializer
    for name, fn in _REGISTRY.items():
        if fn is initializer:
            return name
    raise ValueError(f"Initializer {initializer!r} has no registered name and cannot be saved.")
