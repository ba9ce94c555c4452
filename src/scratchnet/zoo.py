"""Built-in models by name (for the command line and quick experiments).

Input shape of every model here: (N, 28, 28, 1), MNIST scaled to [0, 1]; output: (N, 10)
softmax probabilities.
"""
from __future__ import annotations

from typing import Callable

from . import layers
from .model import Sequential


def mnist_cnn() -> Sequential:
    """The classic Keras MNIST CNN (1,199,882 parameters)."""
    return Sequential([
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="mnist_cnn")


def mnist_mlp() -> Sequential:
    """A small multilayer perceptron: fast, ~98% on MNIST (101,770 parameters)."""
    return Sequential([
        layers.Flatten(input_shape=(28, 28, 1)),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ], name="mnist_mlp")


MODELS: dict[str, Callable[[], Sequential]] = {"mnist-cnn": mnist_cnn, "mnist-mlp": mnist_mlp}


def get(name: str) -> Sequential:
    if name not in MODELS:
        raise ValueError(f"Unknown built-in model {name!r}; expected one of {sorted(MODELS)} or "
                         f"the path of a model file.")
    return MODELS[name]()
