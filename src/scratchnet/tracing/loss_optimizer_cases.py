"""Golden cases of the losses and optimizers (see ``cases``): the tables and how one case is
computed. A loss case is ``(about, make(rng) -> (y, y_pred), chained)`` (chained: the
predictions are logits through a softmax first); an optimizer case ``(about, make())``."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import layers, losses, optimizers
from .bundle import BundleWriter
from .layer_cases import Rng, _normal


def _probabilities(rng: Rng, n: int, k: int) -> np.ndarray:
    z = rng.standard_normal((n, k))
    return (np.exp(z) / np.exp(z).sum(-1, keepdims=True)).astype(np.float32)


def _one_hot(rng: Rng, n: int, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


LOSS_CASES: dict[str, dict[str, tuple[str, Callable[[Rng], tuple[np.ndarray, np.ndarray]],
                                      bool]]] = {
    "mean_squared_error": {
        "default": ("MSE of 3x4 probabilities: mean over the last axis and the batch",
                    lambda r: (_one_hot(r, 3, 4), _probabilities(r, 3, 4)), False),
        "softmax-mse": ("softmax then MSE: d loss / d logits through the softmax Jacobian "
                        "(NOT p - y)", lambda r: (_one_hot(r, 3, 4), _normal(r, (3, 4))), True)},
    "categorical_crossentropy": {
        "default": ("-sum y log p, mean over the batch", lambda r: (_one_hot(r, 3, 4),
                                                                    _probabilities(r, 3, 4)),
                    False),
        "unnormalised": ("predictions not summing to 1 are renormalised first",
                         lambda r: (_one_hot(r, 3, 4), 2 * _probabilities(r, 3, 4)), False),
        "clipped": ("probabilities 0 and 1 are clipped to [1e-7, 1 - 1e-7]; gradient 0 there",
                    lambda r: (np.eye(3, dtype=np.float32),
                               np.array([[1, 0, 0], [0.5, 0, 0.5], [0, 0, 1]], np.float32)),
                    False),
        "softmax-ce": ("softmax then cross-entropy: d loss / d logits = (p - y) / N",
                       lambda r: (_one_hot(r, 3, 4), _normal(r, (3, 4))), True)},
    "sparse_categorical_crossentropy": {
        "default": ("integer labels (N,)", lambda r: (r.integers(0, 4, 3).astype(np.float32),
                                                      _probabilities(r, 3, 4)), False),
        "labels-n-by-1": ("integer labels (N, 1)",
                          lambda r: (r.integers(0, 4, (3, 1)).astype(np.float32),
                                     _probabilities(r, 3, 4)), False)},
    "binary_crossentropy": {
        "default": ("mean over the last axis of -(y log p + (1 - y) log(1 - p))",
                    lambda r: (r.integers(0, 2, (3, 2)).astype(np.float32),
                               r.uniform(0.05, 0.95, (3, 2)).astype(np.float32)), False),
        "clipped": ("p = 0 and 1 clipped to [1e-7, 1 - 1e-7]; gradient 0 there",
                    lambda r: (np.array([[1, 0], [0, 1]], np.float32),
                               np.array([[1, 0], [0.3, 1]], np.float32)), False)},

    "mean_absolute_error": {
        "default": ("|p - y|, mean over every entry", lambda r: _regression(r), False),
        "ties": ("p == y on some entries: the gradient is 0 there (sign(0) = 0)",
                 lambda r: _with_ties(r), False)},
    "mean_absolute_percentage_error": {
        "default": ("100 |y - p| / max(|y|, 1e-7)", lambda r: _regression(r), False),
        "zero-target": ("y = 0 on a row: divided by 1e-7 (huge, as Keras)",
                        lambda r: _zero_row(_regression(r)), False)},
    "mean_squared_logarithmic_error": {
        "default": ("(log(1 + p) - log(1 + y))^2, both clipped below at 1e-7",
                    lambda r: _positive(r), False),
        "negative-predictions": ("p < 1e-7 is clipped: its gradient is 0",
                                 lambda r: _negative_row(_positive(r)), False)},
    "huber": {"default": ("delta 1: e^2/2 where |e| <= 1, |e| - 1/2 beyond; errors on "
                          "both sides of delta", lambda r: _regression(r, 1.5), False)},
    "log_cosh": {
        "default": ("log(cosh(p - y)); derivative tanh(p - y)", lambda r: _regression(r),
                    False),
        "large-errors": ("|p - y| up to 200: no overflow (x + softplus(-2x) - log 2)",
                         lambda r: _regression(r, 100.0), False)},
    "poisson": {"default": ("p - y log(p + 1e-7)", lambda r: _positive(r), False)},
    "hinge": {
        "labels-0-1": ("max(1 - y p, 0) with labels 0/1 turned into -1/1",
                       lambda r: _signed(r, False), False),
        "labels-minus-1-1": ("max(1 - y p, 0) with labels -1/1",
                             lambda r: _signed(r, True), False)},
    "squared_hinge": {"default": ("max(1 - y p, 0)^2, labels 0/1 turned into -1/1",
                                  lambda r: _signed(r, False), False)},
    "categorical_hinge": {"default": ("max(max((1 - y) p) - sum(y p) + 1, 0) per sample",
                                      lambda r: (_one_hot(r, 4, 3),
                                                 _probabilities(r, 4, 3)), False)},
    "kl_divergence": {
        "default": ("sum y log(y / p) per sample, both clipped to [1e-7, 1]",
                    lambda r: (_probabilities(r, 3, 4), _probabilities(r, 3, 4)), False),
        "one-hot-targets": ("one-hot y: the zeros are clipped to 1e-7 (their terms ~0)",
                            lambda r: (_one_hot(r, 3, 4), _probabilities(r, 3, 4)), False)},
}


def _regression(rng: Rng, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    return _normal(rng, (3, 4)), _normal(rng, (3, 4), scale)


def _with_ties(rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    y, p = _regression(rng)
    p[0, :2] = y[0, :2]
    return y, p


def _zero_row(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pair[0][1] = 0
    return pair


def _positive(rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    return (rng.uniform(0, 3, (3, 4)).astype(np.float32),
            rng.uniform(0.05, 3, (3, 4)).astype(np.float32))


def _negative_row(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pair[1][2] = -0.5
    return pair


def _signed(rng: Rng, minus_one: bool) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 2, (4, 3)).astype(np.float32)
    return (2 * labels - 1 if minus_one else labels), _normal(rng, (4, 3))


def _loss_case(name: str, make: Callable[[Rng], tuple[np.ndarray, np.ndarray]], chained: bool,
               rng: Rng) -> tuple[BundleWriter, dict[str, Any]]:
    y, pred = make(rng)
    loss = losses.get(name)
    writer = BundleWriter()
    writer.add("input/y", y, "N" if y.ndim == 1 else "NC", "targets")
    pred64 = pred.astype(np.float64)
    if chained:
        writer.add("input/logits", pred, "NC", "logits (the softmax's input)")
        softmax = layers.Softmax(name="softmax")
        pred64, back = softmax.forward(pred64)
        writer.add("softmax/output", pred64, "NC", "softmax of the logits")
    else:
        writer.add("input/y_pred", pred, "NC", "predictions (probabilities)")
    value, backward = loss.forward(y.astype(np.float64), pred64)
    grad = backward()
    writer.add("loss/value", [value], "scalar", f"{loss.name}, the mean over the batch")
    writer.add("loss/grad", grad, "NC", "d loss / d prediction (includes 1/N)")
    entries = []
    if chained:
        writer.add("softmax/grad_input", back(grad), "NC", "d loss / d logits")
        entries = [{"name": "softmax", "class_name": "Softmax", "input": "input/logits",
                    "output": "softmax/output", "activation": "softmax"}]
    return writer, {"loss": loss.get_config() | {"name": loss.name}, "layers": entries}


OPTIMIZER_CASES: dict[str, dict[str, tuple[str, Callable[[], optimizers.Optimizer]]]] = {
    "sgd": {"default": ("SGD(0.01): w -= lr g", lambda: optimizers.SGD()),
            "momentum": ("SGD(0.01, momentum=0.9)", lambda: optimizers.SGD(momentum=0.9)),
            "nesterov": ("SGD(0.01, momentum=0.9, nesterov=True)",
                         lambda: optimizers.SGD(momentum=0.9, nesterov=True))},
    "adam": {"first-steps": ("Adam(): the first two steps, bias-corrected",
                             lambda: optimizers.Adam())},
    "rmsprop": {"default": ("RMSprop(): eps inside the square root",
                            lambda: optimizers.RMSprop()),
                "momentum": ("RMSprop(momentum=0.9)", lambda: optimizers.RMSprop(momentum=0.9))},
    "adadelta": {"first-steps": ("Adadelta(learning_rate=1.0), the Keras MNIST recipe",
                                 lambda: optimizers.Adadelta(learning_rate=1.0)),
                 "keras3-default": ("Adadelta() with Keras 3's learning_rate 0.001",
                                    lambda: optimizers.Adadelta())},
    "adamw": {"first-steps": ("AdamW(): w -= w * 0.004 * lr, then the Adam step",
                              lambda: optimizers.AdamW()),
              "large-decay": ("AdamW(learning_rate=0.01, weight_decay=0.5): the decay shows",
                              lambda: optimizers.AdamW(0.01, weight_decay=0.5))},
    "nadam": {"first-steps": ("Nadam(): Nesterov momentum with Keras 3's 0.96^t schedule",
                              lambda: optimizers.Nadam())},
    "adagrad": {"first-steps": ("Adagrad(): the accumulator starts at 0.1, eps inside the root",
                                lambda: optimizers.Adagrad())},
    "adamax": {"first-steps": ("Adamax(): u = max(b2 u, |g|), bias correction of m only",
                               lambda: optimizers.Adamax())},
}


def _optimizer_case(make: Callable[[], optimizers.Optimizer],
                    rng: Rng) -> tuple[BundleWriter, dict[str, Any]]:
    optimizer = make()
    param = _normal(rng, (2, 3)).astype(np.float64)
    writer = BundleWriter()
    writer.add("param/value", param, "DD", "the parameter before the first step")
    for step in range(2):
        prefix = f"step{step}/" if step else ""
        grad = _normal(rng, param.shape)
        writer.add(f"{prefix}param/grad", grad, "DD", f"its gradient at step {step}")
        optimizer.apply({"param": param}, {"param": grad.astype(np.float64)})
        writer.add(f"{prefix}param/value_after_step", param, "DD", f"after step {step}")
        for slot, state in optimizer.slots["param"].items():
            writer.add(f"{prefix}optimizer/param/{slot}", state, "DD", f"{slot} after step {step}")
    return writer, {"optimizer": optimizer.get_config(), "layers": []}


