"""The user's story, reproduced: the Keras MNIST CNN written by hand, with four bugs.

1. A hand-written ReLU whose backward returns the constant 0.01 for negative inputs (instead of
   0, i.e. ``grad_y * (x > 0)``).
2. Weights drawn with standard deviation 1 (instead of glorot_uniform / he_normal).
3. Softmax followed by a squared-error loss (instead of categorical cross-entropy).
4. A loss that sums over the batch in its backward (the mean's gradient, not divided by N).

``build_user_story_model()`` returns ``(model, x, y)``; ``doctor(*build_user_story_model())``
names every problem. ``scratchnet doctor --example user-story`` prints that report.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations, backend, initializers, layers, losses, optimizers
from ..model import Sequential

Array = np.ndarray


def user_relu_forward(x: Array) -> Array:
    return np.maximum(x, 0)


def user_relu_backward(x: Array, y: Array, grad_y: Array) -> Array:
    # BUG 1: for x <= 0 the user returns the "derivative" 0.01 itself, not 0 * grad_y.
    return np.where(x > 0, grad_y, np.asarray(0.01, dtype=grad_y.dtype))


user_relu = activations.Activation("user_relu", user_relu_forward, user_relu_backward)


def std_one(shape, dtype=None, rng=None):
    """BUG 2: weights drawn from N(0, 1), whatever the fan-in."""
    return initializers.random_normal(shape, dtype=dtype, rng=rng, stddev=1.0)


class UserSquaredError(losses.Loss):
    """BUG 4: value is the batch mean of squared errors, but backward forgets to divide by N."""
    name = "user_squared_error"

    def __init__(self) -> None:
        super().__init__(from_logits=False)

    def forward(self, y_true, y_pred):
        diff = y_pred - y_true.astype(y_pred.dtype)
        classes = diff.shape[-1]
        value = float(np.mean(np.sum(diff * diff, axis=-1) / classes))
        return value, lambda: diff * np.asarray(2.0 / classes, dtype=diff.dtype)


def mnist_sample(samples: int = 256, scale: bool = True, seed: int = 0) -> tuple[Array, Array]:
    """``samples`` MNIST test images (N, 28, 28, 1) float32 (divided by 255 when ``scale``) with
    one-hot labels (N, 10): the bundled data, so it works offline."""
    from ..datasets import mnist
    from ..utils import to_categorical
    (_, _), (x, y) = mnist.load_data()
    index = np.random.default_rng(seed).permutation(len(x))[:samples]
    x = x[index].reshape(-1, 28, 28, 1).astype("float32")
    return (x / 255 if scale else x), to_categorical(y[index], 10)


def mnist_cnn(activation: Any = "relu", kernel_initializer: Any = "glorot_uniform",
              small: bool = False) -> Sequential:
    """The Keras MNIST CNN (``small``: 8/16 filters and 32 units, same structure, for tests)."""
    f1, f2, units = (8, 16, 32) if small else (32, 64, 128)
    init = {"kernel_initializer": kernel_initializer}
    return Sequential([
        layers.Conv2D(f1, (3, 3), activation=activation, input_shape=(28, 28, 1), **init),
        layers.Conv2D(f2, (3, 3), activation=activation, **init),
        layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(units, activation=activation, **init),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax", **init),
    ])


def build_user_story_model(samples: int = 256, small: bool = False,
                           seed: int = 0) -> tuple[Sequential, Array, Array]:
    """The user's model with all four bugs, compiled, and an MNIST batch to examine."""
    backend.set_random_seed(seed)
    model = mnist_cnn(activation=user_relu, kernel_initializer=std_one, small=small)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.01), loss=UserSquaredError())
    x, y = mnist_sample(samples, seed=seed)
    return model, x, y


def build_keras_recipe_model(samples: int = 256, small: bool = False,
                             seed: int = 0) -> tuple[Sequential, Array, Array]:
    """The healthy reference: the Keras MNIST CNN with its recipe (glorot, ReLU, softmax +
    categorical cross-entropy, Adadelta(learning_rate=1.0), inputs / 255)."""
    backend.set_random_seed(seed)
    model = mnist_cnn(small=small)
    model.compile(optimizer=optimizers.Adadelta(learning_rate=1.0),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = mnist_sample(samples, seed=seed)
    return model, x, y
