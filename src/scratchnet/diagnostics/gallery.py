"""A gallery of faulty (and healthy) setups, one builder per case, for the doctor's tests, the
examples in examples/doctor_gallery/ and ``scratchnet doctor --example NAME``.

``GALLERY[name](samples=..., small=..., seed=...) -> (model, x, y)``: a compiled model and a
batch of MNIST (the bundled test set) showing one fault. ``EXPECTED[name]`` lists the
``(code, layer)`` findings the doctor must report for it. ``HEALTHY`` holds correct setups that
must raise nothing above info.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import activations, backend, layers, losses, optimizers
from ..layers import Layer
from .gallery_helpers import Case, _compiled, _mlp, _mlp_case, constant, constant_normal
from .gallery_taxonomy import TAXONOMY_EXPECTED, TAXONOMY_FAULTS, TAXONOMY_HEALTHY
from .story import (
    UserSquaredError,
    build_keras_recipe_model,
    build_user_story_model,
    mnist_cnn,
    mnist_sample,
    std_one,
    user_relu,
)

Array = np.ndarray
__all__ = ["GALLERY", "EXPECTED", "HEALTHY", "constant", "constant_normal", "Case"]


def _story_variant(bug: str) -> Callable[..., Case]:
    """The Keras recipe with exactly one of the story's four bugs."""
    def build(samples: int = 256, small: bool = False, seed: int = 0) -> Case:
        backend.set_random_seed(seed)
        model = mnist_cnn(activation=user_relu if bug == "relu" else "relu",
                          kernel_initializer=std_one if bug == "weights" else "glorot_uniform",
                          small=small)
        loss = {"mse": "mse", "sum": UserSquaredError()}.get(bug, "categorical_crossentropy")
        _compiled(model, loss, optimizers.Adadelta(learning_rate=1.0))
        return (model, *mnist_sample(samples, seed=seed))
    build.__doc__ = f"The Keras MNIST CNN recipe with only the story's {bug!r} bug."
    return build


def user_log(x: Array) -> Array:
    return np.log(x)  # NaN for x < 0: the user forgot the domain of log


user_log_activation = activations.elementwise("user_log", user_log, lambda x: 1 / x)


class BatchCenter(Layer):
    """A user layer that subtracts the *batch* mean (axis 0): each sample's output depends on
    the others. Its backward is exact, so only batch_dependence can tell."""

    def forward(self, x, training=False):
        y = x - x.mean(axis=0, keepdims=True)

        def backward(grad_y):
            return grad_y - grad_y.mean(axis=0, keepdims=True)
        return y, backward


GALLERY: dict[str, Callable[..., Case]] = {
    "user-story": build_user_story_model,
    "story-relu-backward": _story_variant("relu"),
    "story-large-weights": _story_variant("weights"),
    "story-softmax-mse": _story_variant("mse"),
    "story-sum-loss": _story_variant("sum"),
    "dead-relu": _mlp_case(lambda: _mlp([layers.Dense(64, activation="relu", name="hidden",
                                                      bias_initializer=constant(-5.0))],
                                        layers.Dense(10, activation="softmax", name="output")),
                           doc="A hidden ReLU layer whose biases start at -5: no unit fires."),
    "vanishing-gradients": _mlp_case(
        lambda: _mlp([layers.Dense(32, activation="sigmoid", name=f"sigmoid_{i}")
                      for i in range(10)], layers.Dense(10, activation="softmax", name="output")),
        doc="Ten sigmoid layers: each multiplies the gradient by at most 0.25."),
    "exploding-gradients": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu", name=f"relu_{i}",
                                   kernel_initializer=constant_normal(0.5)) for i in range(6)],
                     layers.Dense(10, activation="softmax", name="output")),
        optimizer=lambda: optimizers.SGD(learning_rate=0.01),
        doc="Six ReLU layers with weights of std 0.5 (~3x He's): scale grows each layer."),
    "saturation": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="tanh", name="hidden",
                                   kernel_initializer=std_one)],
                     layers.Dense(10, activation="softmax", name="output")),
        doc="A tanh layer fed 784 inputs through weights of std 1: tanh is pinned at +-1."),
    "logits-to-crossentropy": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")], layers.Dense(10, name="output")),
        doc="No softmax on the output, but categorical_crossentropy expects probabilities."),
    "sigmoid-crossentropy": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")],
                     layers.Dense(10, activation="sigmoid", name="output")),
        doc="sigmoid outputs with categorical_crossentropy."),
    "raw-pixels": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")],
                     layers.Dense(10, activation="softmax")),
        scale=False, doc="Raw 0-255 pixels fed to the network."),
    "integer-labels": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")],
                     layers.Dense(10, activation="softmax")),
        transform=lambda x, y: (x, y.argmax(-1)),
        doc="Integer labels (N,) with categorical_crossentropy (needs one-hot)."),
    "nan-activation": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu"),
                      layers.Dense(32, activation=user_log_activation, name="log_layer")],
                     layers.Dense(10, activation="softmax")),
        doc="A user activation log(x) applied to values that can be negative: NaN."),
    "learning-rate-too-high": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")],
                     layers.Dense(10, activation="softmax")),
        optimizer=lambda: optimizers.SGD(learning_rate=200.0),
        doc="SGD with learning_rate=200."),
    "learning-rate-too-low": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")],
                     layers.Dense(10, activation="softmax")),
        optimizer=lambda: optimizers.SGD(learning_rate=1e-7),
        doc="SGD with learning_rate=1e-7."),
    "batch-dependence": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu"), BatchCenter(name="batch_center")],
                     layers.Dense(10, activation="softmax")),
        doc="A user layer that subtracts the batch mean."),
    "cannot-overfit": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")],
                     layers.Dense(10, activation="softmax")),
        scale=False, transform=lambda x, y: (x // 256, y),
        doc="Inputs scaled with // 256 instead of / 255: all zeros, nothing to learn from."),
    "initial-loss": _mlp_case(
        lambda: _mlp([layers.Dense(64, activation="relu")],
                     layers.Dense(10, activation="softmax", name="output",
                                  bias_initializer=constant_normal(5.0))),
        doc="Output biases drawn with std 5: confident wrong answers before any training."),
}

#: The findings (code, layer) each faulty case must produce (others may come along).
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "user-story": [("gradient_mismatch", "conv2d"), ("exploding_activations", "conv2d_1"),
                   ("exploding_activations", "dense"), ("loss_activation_mismatch", "dense_1"),
                   ("loss_not_averaged", "loss"), ("gradient_mismatch", "loss"),
                   ("initial_loss", "loss"), ("exploding_gradients", "conv2d"),
                   ("saturation", "dense_1"), ("cannot_overfit", "model")],
    "story-relu-backward": [("gradient_mismatch", "conv2d"), ("gradient_mismatch", "dense")],
    "story-large-weights": [("exploding_activations", "dense"), ("initial_loss", "loss")],
    "story-softmax-mse": [("loss_activation_mismatch", "dense_1")],
    "story-sum-loss": [("loss_not_averaged", "loss"), ("gradient_mismatch", "loss"),
                       ("loss_activation_mismatch", "dense_1")],  # its loss is a squared error
    "dead-relu": [("dead_relu", "hidden")],
    "vanishing-gradients": [("vanishing_gradients", "sigmoid_0")],
    "exploding-gradients": [("exploding_gradients", "output"),
                            ("exploding_activations", "relu_1")],
    "saturation": [("saturation", "hidden"), ("exploding_activations", "hidden")],
    "logits-to-crossentropy": [("loss_activation_mismatch", "output")],
    "sigmoid-crossentropy": [("loss_activation_mismatch", "output")],
    "raw-pixels": [("unnormalized_input", "input")],
    "integer-labels": [("label_mismatch", "labels")],
    "nan-activation": [("nonfinite", "log_layer")],
    "learning-rate-too-high": [("learning_rate_too_high", "optimizer")],
    "learning-rate-too-low": [("learning_rate_too_low", "optimizer")],
    "batch-dependence": [("batch_dependence", "batch_center")],
    "cannot-overfit": [("cannot_overfit", "model"), ("unnormalized_input", "input")],
    "initial-loss": [("initial_loss", "loss")],
}


def _binary(x: Array, y: Array) -> tuple[Array, Array]:
    return x, (y.argmax(-1) == 0).astype("float32").reshape(-1, 1)


#: Correct setups: the doctor must report nothing above info for them.
HEALTHY: dict[str, Callable[..., Case]] = {
    "keras-mnist-cnn": build_keras_recipe_model,
    "mlp-adam": _mlp_case(lambda: _mlp([layers.Dense(128, activation="relu")],
                                       layers.Dense(10, activation="softmax")),
                          doc="Dense 128 ReLU + softmax, Adam(1e-3)."),
    "mlp-sgd": _mlp_case(lambda: _mlp([layers.Dense(128, activation="relu",
                                                    kernel_initializer="he_normal")],
                                      layers.Dense(10, activation="softmax")),
                         optimizer=lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9),
                         doc="He-initialised ReLU MLP, SGD with momentum."),
    "sparse-labels": _mlp_case(lambda: _mlp([layers.Dense(64, activation="tanh")],
                                            layers.Dense(10, activation="softmax")),
                               loss="sparse_categorical_crossentropy",
                               transform=lambda x, y: (x, y.argmax(-1)),
                               doc="tanh MLP with integer labels."),
    "from-logits": _mlp_case(lambda: _mlp([layers.Dense(64, activation="relu")],
                                          layers.Dense(10)),
                             loss=lambda: losses.CategoricalCrossentropy(from_logits=True),
                             doc="Linear output with CategoricalCrossentropy(from_logits=True)."),
    "binary-sigmoid": _mlp_case(lambda: _mlp([layers.Dense(32, activation="relu")],
                                             layers.Dense(1, activation="sigmoid")),
                                loss="binary_crossentropy", transform=_binary,
                                doc="Zero-vs-rest with sigmoid + binary_crossentropy."),
}

GALLERY.update(TAXONOMY_FAULTS)
EXPECTED.update(TAXONOMY_EXPECTED)
HEALTHY.update(TAXONOMY_HEALTHY)
