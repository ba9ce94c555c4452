"""Builders shared by the doctor's galleries (:mod:`.gallery`, :mod:`.gallery_taxonomy`)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend, initializers, layers, optimizers
from ..model import Sequential
from .story import mnist_sample

Array = np.ndarray
Case = tuple[Sequential, Array, Array]


def constant(value: float) -> Callable[..., Array]:
    def initializer(shape, dtype=None, rng=None):
        return np.full(shape, value, dtype=dtype or backend.floatx())
    return initializer


def constant_normal(stddev: float) -> Callable[..., Array]:
    def initializer(shape, dtype=None, rng=None):
        return initializers.random_normal(shape, dtype=dtype, rng=rng, stddev=stddev)
    return initializer


def _mlp(hidden: list[layers.Layer], output: layers.Layer) -> Sequential:
    return Sequential([layers.Flatten(input_shape=(28, 28, 1)), *hidden, output])


def _compiled(model: Sequential, loss: Any = "categorical_crossentropy",
              optimizer: Any = None) -> Sequential:
    model.compile(optimizer=optimizer or optimizers.Adam(learning_rate=1e-3), loss=loss,
                  metrics=["accuracy"])
    return model


def _mlp_case(make: Callable[[], Sequential], loss: Any = "categorical_crossentropy",
              optimizer: Callable[[], Any] | None = None, scale: bool = True,
              transform: Callable[[Array, Array], tuple[Array, Array]] | None = None,
              doc: str = "") -> Callable[..., Case]:
    def build(samples: int = 128, small: bool = False, seed: int = 0) -> Case:
        backend.set_random_seed(seed)
        model = _compiled(make(), loss() if callable(loss) else loss,
                          optimizer() if optimizer else None)
        x, y = mnist_sample(samples, scale=scale, seed=seed)
        return (model, *(transform(x, y) if transform else (x, y)))
    build.__doc__ = doc
    return build
