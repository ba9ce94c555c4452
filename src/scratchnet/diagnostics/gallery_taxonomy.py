"""Faults from the published taxonomies of real deep-learning bugs, each beside a healthy
near-miss that differs in the one thing that matters.

Sources of the fault kinds: Humbatova et al., "Taxonomy of real faults in deep learning
systems" (ICSE 2020: wrong weight initialisation, suboptimal learning rate, redundant softmax,
frozen layers, wrong layer behaviour at inference, overfitting, wrong validation data);
DeepFD (Cao et al., ICSE 2022: learning rate, activation, initialisation, loss faults);
AUTOTRAINER (Zhang et al., ICSE 2021: vanishing gradients, oscillating loss, slow convergence);
DeepDiagnosis (Wardat et al., ICSE 2022: exploding tensors, unchanged weights, loss not
decreasing); UMLAUT (Schoop et al., CHI 2021: overfitting, train/validation gaps).

Cases that need a trained model train a small MLP for a few epochs (well under a second).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend, layers, optimizers
from ..callbacks import History
from ..layers import Layer
from ..model import Sequential
from .gallery_helpers import Case, _compiled, _mlp, _mlp_case, constant, constant_normal
from .story import mnist_sample

Array = np.ndarray


class UserBatchNorm(Layer):
    """A user's batch normalisation that standardises with batch statistics in training but
    keeps no moving statistics, so inference returns its input unnormalised."""

    def forward(self, x, training=False):
        if not training:
            return x, lambda grad_y: grad_y
        std = np.sqrt(x.var(axis=0) + 1e-3)
        y = (x - x.mean(axis=0)) / std

        def backward(grad_y):
            return (grad_y - grad_y.mean(axis=0) - y * (grad_y * y).mean(axis=0)) / std
        return y, backward


class UserDropout(Layer):
    """A user's dropout through the custom-layer API that zeroes units with probability
    ``rate`` in training but forgets to scale the kept ones by 1 / (1 - rate): training-mode
    activations are (1 - rate)x the inference-mode ones."""

    def __init__(self, rate: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = rate
        self.rng = np.random.default_rng(0)

    def forward(self, x, training=False):
        if not training:
            return x, lambda grad_y: grad_y
        mask = (self.rng.random(x.shape) >= self.rate).astype(x.dtype)
        return x * mask, lambda grad_y: grad_y * mask


def _relu_mlp(units: int = 64, **kwargs: Any) -> Sequential:
    return _mlp([layers.Dense(units, activation="relu", **kwargs)],
                layers.Dense(10, activation="softmax"))


def _trained(make: Callable[[], Sequential], optimizer: Callable[[], Any], epochs: int = 3,
             train: int = 1024, transform: Callable[[Array, Array], tuple[Array, Array]]
             | None = None, validation: int = 256, doc: str = "") -> Callable[..., Case]:
    """A model trained ``epochs`` epochs on ``train`` MNIST samples (validation on others); the
    probe batch is taken from its training samples."""
    def build(samples: int = 128, small: bool = False, seed: int = 0) -> Case:
        backend.set_random_seed(seed)
        model = _compiled(make(), optimizer=optimizer())
        x, y = mnist_sample(train + validation, seed=seed + 1)
        xt, yt = (transform(x[:train], y[:train]) if transform else (x[:train], y[:train]))
        model.fit(xt, yt, batch_size=32, epochs=epochs, verbose=0, seed=seed,
                  validation_data=(x[train:], y[train:]))
        return model, xt[:samples], yt[:samples]
    build.__doc__ = doc
    return build


def _noisy_labels(x: Array, y: Array) -> tuple[Array, Array]:
    """Half the training labels replaced by random classes; validation labels stay clean."""
    rng = np.random.default_rng(5)
    flip = rng.random(len(y)) < 0.5
    noisy = y.copy()
    noisy[flip] = np.eye(y.shape[1], dtype=y.dtype)[rng.integers(0, y.shape[1], flip.sum())]
    return x, noisy


def _with_history(make: Callable[..., Case], history: dict[str, list[float]],
                  doc: str) -> Callable[..., Case]:
    """A healthy untrained setup carrying a recorded history (as a loaded run would)."""
    def build(samples: int = 128, small: bool = False, seed: int = 0) -> Case:
        model, x, y = make(samples=samples, small=small, seed=seed)
        record = History()
        record.history = {k: list(v) for k, v in history.items()}
        record.epoch = list(range(len(history["loss"])))
        model.history = record
        return model, x, y
    build.__doc__ = doc
    return build


def _stack(tail: Callable[[], list[Layer]]) -> Callable[[], Sequential]:
    def make() -> Sequential:
        return Sequential([layers.Flatten(input_shape=(28, 28, 1)), *tail()])
    return make


def _frozen(first_only: bool) -> Callable[[], Sequential]:
    def make() -> Sequential:
        model = _relu_mlp()
        for layer in model.layers[1:2] if first_only else model.layers:
            layer.trainable = False
        return model
    return make


def _std3(activation: str, units: int, depth: int, doc: str) -> Callable[..., Case]:
    """``depth`` Dense layers of ``units`` with std-3 weights (DeepDiagnosis: exploding
    tensor), SGD(0.01): huge but correct activations, for the gradient check."""
    return _mlp_case(
        lambda: _mlp([layers.Dense(units, activation=activation, name=f"{activation}_{i}",
                                   kernel_initializer=constant_normal(3.0))
                      for i in range(depth)],
                     layers.Dense(10, activation="softmax", name="output")),
        optimizer=lambda: optimizers.SGD(learning_rate=0.01), doc=doc)


_healthy_mlp = _mlp_case(_relu_mlp, doc="Dense 64 ReLU + softmax, Adam(1e-3).")

TAXONOMY_FAULTS: dict[str, Callable[..., Case]] = {
    "tanh-tiny-init": _mlp_case(
        lambda: _mlp([layers.Dense(32, activation="tanh", name=f"tanh_{i}",
                                   kernel_initializer=constant_normal(0.01)) for i in range(8)],
                     layers.Dense(10, activation="softmax")),
        doc="Eight tanh layers with weights of std 0.01: the signal dies out uniformly "
            "(Humbatova: wrong weight initialisation; AUTOTRAINER: vanishing gradient)."),
    "adadelta-keras3-default": _mlp_case(
        _relu_mlp, optimizer=lambda: optimizers.Adadelta(),
        doc="Adadelta at Keras 3's default learning_rate=0.001 (Keras 2 and Zeiler: 1.0) "
            "(Humbatova / DeepFD: suboptimal learning rate)."),
    "softmax-twice": _mlp_case(
        _stack(lambda: [layers.Dense(64, activation="relu"),
                        layers.Dense(10, activation="softmax", name="output"),
                        layers.Softmax(name="extra_softmax")]),
        doc="A softmax output followed by a Softmax layer (Humbatova: redundant softmax)."),
    "zero-init-tanh": _mlp_case(
        lambda: _mlp([layers.Dense(32, activation="tanh", name=f"tanh_{i}",
                                   kernel_initializer="zeros") for i in range(2)],
                     layers.Dense(10, activation="softmax", kernel_initializer="zeros")),
        doc="Every kernel initialised to zero in a tanh net (Humbatova: wrong weight "
            "initialisation; DeepDiagnosis: unchanged weights)."),
    "constant-init-relu": _mlp_case(
        lambda: _mlp([layers.Dense(32, activation="relu", name=f"relu_{i}",
                                   kernel_initializer=constant(0.01)) for i in range(2)],
                     layers.Dense(10, activation="softmax")),
        doc="Hidden kernels all 0.01: every unit identical (symmetry never broken)."),
    "all-frozen": _mlp_case(_frozen(first_only=False),
                            doc="Every layer trainable=False (Humbatova: frozen layers)."),
    "std3-deep-relu": _std3("relu", 64, 6,
                            "Six ReLU layers with std-3 weights: pre-activations ~1e11 "
                            "(DeepDiagnosis: exploding tensor); gradcheck must not accuse the "
                            "correct layers."),
    "std3-deep-tanh": _std3("tanh", 64, 4,
                            "Four tanh layers with std-3 weights: every unit pinned at +-1 "
                            "(gradcheck of a saturated, correct tanh must pass)."),
    "std3-deep-sigmoid": _std3("sigmoid", 64, 4,
                               "Four sigmoid layers with std-3 weights: saturated at 0/1."),
    "std3-wide-relu": _std3("relu", 1024, 3,
                            "Three 1024-unit ReLU layers with std-3 weights: pre-activations "
                            "~1e6 summed over 1024 inputs (gradcheck must not accuse the "
                            "correct layers)."),
    "softmax-binary-crossentropy": _mlp_case(
        _relu_mlp, loss="binary_crossentropy",
        doc="softmax + binary_crossentropy for 10 classes (Humbatova / DeepFD: wrong loss)."),
    "adam-learning-rate-1": _mlp_case(
        _relu_mlp, optimizer=lambda: optimizers.Adam(learning_rate=1.0),
        doc="Adam(learning_rate=1.0), 1000x its usual value (DeepFD: learning rate)."),
    "batchnorm-no-moving-stats": _trained(
        lambda: _mlp([UserBatchNorm(name="user_bn"), layers.Dense(32, activation="relu")],
                     layers.Dense(10, activation="softmax")),
        lambda: optimizers.Adam(learning_rate=1e-3),
        doc="A user batch norm without moving statistics, trained 3 epochs (Humbatova: wrong "
            "layer behaviour at inference)."),
    "dropout-no-rescale": _mlp_case(
        lambda: _mlp([layers.Dense(128, activation="relu"), UserDropout(0.5, name="user_dropout")],
                     layers.Dense(10, activation="softmax")),
        doc="A user Dropout(0.5) that does not rescale the kept units (Humbatova: wrong layer "
            "behaviour at inference; the issue's 'dropout that does not rescale')."),
    "overfitting-small-data": _trained(
        lambda: _relu_mlp(256), lambda: optimizers.Adam(learning_rate=3e-3), epochs=30,
        train=64, doc="64 training samples, 30 epochs: validation loss turns up (UMLAUT / "
        "Humbatova: overfitting)."),
    "diverged-sgd": _trained(
        _relu_mlp, lambda: optimizers.SGD(learning_rate=20.0), epochs=3,
        doc="SGD(learning_rate=20) trained 3 epochs: the loss became NaN (AUTOTRAINER)."),
    "underfitting-tiny-lr": _trained(
        _relu_mlp, lambda: optimizers.SGD(learning_rate=1e-5), epochs=4,
        doc="SGD(1e-5) for 4 epochs: the loss does not move (DeepDiagnosis: loss not "
            "decreasing)."),
    "validation-from-elsewhere": _trained(
        _relu_mlp, lambda: optimizers.Adam(learning_rate=1e-3), epochs=4,
        transform=_noisy_labels,
        doc="Half the training labels wrong, validation labels clean: validation accuracy far "
            "above training accuracy from epoch 1 (Humbatova: training data quality)."),
    "oscillating-loss": _with_history(
        _healthy_mlp, {"loss": [1.2, 0.9, 1.4, 0.8, 1.6, 1.1, 1.7, 1.3],
                       "val_loss": [1.1, 1.0, 1.5, 0.9, 1.7, 1.2, 1.8, 1.4]},
        doc="A recorded run whose training loss oscillates and ends above its best "
            "(AUTOTRAINER: oscillating loss)."),
}

#: What each case must produce (code, layer); others may come along as consequences.
TAXONOMY_EXPECTED: dict[str, list[tuple[str, str]]] = {
    "tanh-tiny-init": [("vanishing_gradients", "tanh_0")],
    "adadelta-keras3-default": [("learning_rate_too_low", "optimizer")],
    "softmax-twice": [("softmax_twice", "extra_softmax")],
    "zero-init-tanh": [("symmetric_weights", "tanh_0")],
    "constant-init-relu": [("symmetric_weights", "relu_0")],
    "all-frozen": [("no_trainable_weights", "model")],
    "std3-deep-relu": [("exploding_activations", "relu_0")],
    "std3-deep-tanh": [("exploding_activations", "tanh_0"), ("saturation", "tanh_0")],
    "std3-deep-sigmoid": [("exploding_activations", "sigmoid_0"), ("saturation", "sigmoid_0")],
    "std3-wide-relu": [("exploding_activations", "relu_0")],
    "softmax-binary-crossentropy": [("loss_activation_mismatch", "dense_1")],
    "adam-learning-rate-1": [("learning_rate_too_high", "optimizer")],
    "batchnorm-no-moving-stats": [("train_inference_mismatch", "model")],
    "dropout-no-rescale": [("train_inference_mismatch", "user_dropout")],
    "overfitting-small-data": [("overfitting", "history")],
    "diverged-sgd": [("loss_diverged", "history")],
    "underfitting-tiny-lr": [("underfitting", "history"), ("learning_rate_too_low", "optimizer")],
    "validation-from-elsewhere": [("validation_mismatch", "history")],
    "oscillating-loss": [("learning_rate_too_high", "history")],
}

#: The near-misses: each differs from a faulty case above in the one thing that matters.
TAXONOMY_HEALTHY: dict[str, Callable[..., Case]] = {
    "tanh-deep-glorot": _mlp_case(
        lambda: _mlp([layers.Dense(32, activation="tanh") for _ in range(8)],
                     layers.Dense(10, activation="softmax")),
        doc="Eight tanh layers with glorot_uniform (vs tanh-tiny-init)."),
    "adam-small-lr": _mlp_case(_relu_mlp, optimizer=lambda: optimizers.Adam(learning_rate=1e-4),
                               doc="Adam(1e-4): small, and right for Adam (vs "
                                   "adadelta-keras3-default)."),
    "adadelta-recipe-mlp": _mlp_case(_relu_mlp,
                                     optimizer=lambda: optimizers.Adadelta(learning_rate=1.0),
                                     doc="Adadelta(1.0), the Keras 2 recipe."),
    "softmax-layer-once": _mlp_case(_stack(lambda: [layers.Dense(64, activation="relu"),
                                                   layers.Dense(10), layers.Softmax()]),
                                    doc="Linear Dense then one Softmax layer (vs softmax-twice)."),
    "zero-init-output-only": _mlp_case(
        lambda: _mlp([layers.Dense(32, activation="tanh")],
                     layers.Dense(10, activation="softmax", kernel_initializer="zeros")),
        doc="Only the output kernel is zero: hidden units differ, so it learns (vs "
            "zero-init-tanh)."),
    "first-layer-frozen": _mlp_case(_frozen(first_only=True),
                                    doc="One frozen layer, one trainable (vs all-frozen)."),
    "mse-linear-regression": _mlp_case(
        lambda: _mlp([layers.Dense(32, activation="relu")], layers.Dense(1)), loss="mse",
        transform=lambda x, y: (x, (y.argmax(-1, keepdims=True) / 9.0).astype("float32")),
        doc="A linear output with mean squared error (regression of the digit / 9)."),
    "trained-sgd": _trained(_relu_mlp, lambda: optimizers.SGD(learning_rate=0.1), epochs=3,
                            doc="Trained 3 epochs with SGD(0.1): confident logits, healthy."),
    "trained-dropout": _trained(
        lambda: _mlp([layers.Dense(128, activation="relu"), layers.Dropout(0.5)],
                     layers.Dense(10, activation="softmax")),
        lambda: optimizers.Adam(learning_rate=1e-3), epochs=3,
        doc="Built-in (inverted) dropout, trained: training mode is the worse mode (vs "
            "batchnorm-no-moving-stats)."),
    "dropout-builtin": _mlp_case(
        lambda: _mlp([layers.Dense(128, activation="relu"), layers.Dropout(0.5)],
                     layers.Dense(10, activation="softmax")),
        doc="The built-in (inverted) Dropout(0.5), untrained (vs dropout-no-rescale)."),
    "trained-more-data": _trained(
        lambda: _relu_mlp(256), lambda: optimizers.Adam(learning_rate=1e-3), epochs=6,
        train=1024, doc="The overfitting model with 16x the data and 6 epochs."),
    "noisy-validation-history": _with_history(
        _healthy_mlp, {"loss": [0.9, 0.5, 0.4, 0.35, 0.33, 0.31],
                       "val_loss": [0.6, 0.45, 0.47, 0.41, 0.43, 0.42],
                       "accuracy": [0.75, 0.86, 0.89, 0.9, 0.91, 0.91],
                       "val_accuracy": [0.84, 0.87, 0.87, 0.89, 0.88, 0.89]},
        doc="A healthy run with a noisy validation loss and a small early train/val gap."),
}

__all__ = ["TAXONOMY_FAULTS", "TAXONOMY_EXPECTED", "TAXONOMY_HEALTHY", "UserBatchNorm",
           "UserDropout"]
