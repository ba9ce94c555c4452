"""Golden vectors: one built-in layer, loss or optimizer in isolation, with small shapes and
its edge cases (``scratchnet trace --layer conv2d --case padding-same-stride-2``).

Every case is a bundle like a model trace. A layer case records input/x, the layer's weights,
its output (and pre-activation), a given upstream gradient ``<layer>/grad_output``, and the
gradients the layer must return. A loss case records targets, predictions, the value and
d loss / d prediction. An optimizer case records two steps of one parameter.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import backend, layers, losses, optimizers
from ..layers import Layer
from ..layers.base import snake_case
from .bundle import BundleWriter
from .recording import TraceRecorder, data_layout, param_layout

Rng = np.random.Generator
SEED = 20240611


def _normal(rng: Rng, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def _ties(rng: Rng, shape: tuple[int, ...]) -> np.ndarray:
    """Small integers, many windows with repeated maxima (and all-zero windows)."""
    return rng.integers(-1, 2, size=shape).astype(np.float32)


LAYER_CASES: dict[str, dict[str, tuple[str, Callable[[], Layer], tuple[int, ...], Any]]] = {
    "dense": {
        "default": ("Dense(3), input 2x4, no activation", lambda: layers.Dense(3), (2, 4), None),
        "relu": ("Dense(5, relu): pre-activation and ReLU", lambda: layers.Dense(5, "relu"),
                 (3, 4), None),
        "softmax": ("Dense(3, softmax): backward through the full softmax Jacobian",
                    lambda: layers.Dense(3, "softmax"), (2, 4), None),
        "no-bias": ("Dense(3, use_bias=False)", lambda: layers.Dense(3, use_bias=False),
                    (2, 4), None),
        "rank-3-input": ("Dense(3) on 2x3x4: applied to the last axis",
                         lambda: layers.Dense(3), (2, 3, 4), None)},
    "conv2d": {
        "valid": ("Conv2D(4, 3x3), input 2x5x5x3", lambda: layers.Conv2D(4, 3), (2, 5, 5, 3),
                  None),
        "padding-same": ("Conv2D(4, 3x3, padding='same'): one zero row/column each side",
                         lambda: layers.Conv2D(4, 3, padding="same"), (2, 5, 5, 3), None),
        "padding-same-stride-2": ("Conv2D(4, 3x3, strides 2, 'same') on 6x6: the extra padding "
                                  "row/column goes bottom/right",
                                  lambda: layers.Conv2D(4, 3, strides=2, padding="same"),
                                  (2, 6, 6, 3), None),
        "padding-same-even-kernel": ("Conv2D(2, 2x2, 'same') on 5x5: all padding bottom/right",
                                     lambda: layers.Conv2D(2, 2, padding="same"), (2, 5, 5, 3),
                                     None),
        "stride-2": ("Conv2D(4, 3x3, strides 2, 'valid') on 6x6: the last column is unused",
                     lambda: layers.Conv2D(4, 3, strides=2), (2, 6, 6, 3), None),
        "kernel-2x3": ("Conv2D(3, (2, 3)): a rectangular kernel",
                       lambda: layers.Conv2D(3, (2, 3)), (2, 5, 5, 2), None),
        "relu": ("Conv2D(4, 3x3, relu): pre-activation and ReLU",
                 lambda: layers.Conv2D(4, 3, activation="relu"), (2, 5, 5, 3), None),
        "1x1": ("Conv2D(4, 1x1): a per-pixel Dense", lambda: layers.Conv2D(4, 1), (2, 3, 3, 3),
                None),
        "no-bias": ("Conv2D(4, 3x3, use_bias=False)",
                    lambda: layers.Conv2D(4, 3, use_bias=False), (2, 5, 5, 3), None),
        "many-channels": ("Conv2D(2, 3x3) with 32 input channels (scratchnet's Winograd path: "
                          "same numbers)", lambda: layers.Conv2D(2, 3), (1, 4, 4, 32), None)},
    "max_pooling2d": {
        "default": ("MaxPooling2D(2x2) on 2x4x4x3", lambda: layers.MaxPooling2D(), (2, 4, 4, 3),
                    None),
        "ties": ("MaxPooling2D(2x2) with tied maxima: the gradient goes to the first maximum in "
                 "row-major order of each window", lambda: layers.MaxPooling2D(), (2, 4, 4, 3),
                 _ties),
        "odd-size": ("MaxPooling2D(2x2) on 5x5: the last row/column is dropped",
                     lambda: layers.MaxPooling2D(), (2, 5, 5, 2), None),
        "padding-same": ("MaxPooling2D(2x2, 'same') on 5x5: padding never wins (-inf)",
                         lambda: layers.MaxPooling2D(padding="same"), (2, 5, 5, 2), None),
        "overlapping": ("MaxPooling2D(3x3, strides 1): windows overlap, gradients add",
                        lambda: layers.MaxPooling2D(3, strides=1), (2, 5, 5, 2), _ties)},
    "average_pooling2d": {
        "default": ("AveragePooling2D(2x2) on 2x4x4x3", lambda: layers.AveragePooling2D(),
                    (2, 4, 4, 3), None),
        "padding-same": ("AveragePooling2D(2x2, 'same') on 5x5: padded cells are not counted",
                         lambda: layers.AveragePooling2D(padding="same"), (2, 5, 5, 2), None),
        "overlapping": ("AveragePooling2D(3x3, strides 1)",
                        lambda: layers.AveragePooling2D(3, strides=1), (2, 5, 5, 2), None)},
    "relu": {
        "default": ("ReLU(): max(x, 0), derivative 0 at x <= 0", lambda: layers.ReLU(), (3, 6),
                    None),
        "max-value": ("ReLU(max_value=0.5)", lambda: layers.ReLU(max_value=0.5), (3, 6), None),
        "negative-slope": ("ReLU(negative_slope=0.1)", lambda: layers.ReLU(negative_slope=0.1),
                           (3, 6), None),
        "threshold": ("ReLU(threshold=0.5)", lambda: layers.ReLU(threshold=0.5), (3, 6), None)},
    "leaky_relu": {
        "default": ("LeakyReLU(): the layer's default slope is 0.3", lambda: layers.LeakyReLU(),
                    (3, 6), None)},
    "softmax": {
        "default": ("Softmax() over the last axis, exact Jacobian backward",
                    lambda: layers.Softmax(), (3, 5), None),
        "axis-1": ("Softmax(axis=1) on 2x3x4", lambda: layers.Softmax(axis=1), (2, 3, 4), None)},
    "activation": {name: (f"Activation('{name}')", lambda name=name: layers.Activation(name),
                          (3, 6), None)
                   for name in ("sigmoid", "tanh", "softmax", "leaky_relu", "linear")},
    "dropout": {
        "training": ("Dropout(0.5) in training: output = input * mask, mask recorded",
                     lambda: layers.Dropout(0.5), (4, 6), None),
        "inference": ("Dropout(0.5) in inference: the identity", lambda: layers.Dropout(0.5),
                      (4, 6), "inference")},
    "flatten": {
        "default": ("Flatten() of 2x2x3x2: (H, W, C) order, channels fastest",
                    lambda: layers.Flatten(), (2, 2, 3, 2), None)},
    "input": {"default": ("Input: the identity", lambda: layers.Input(shape=(4,)), (2, 4), None)},
}


def _layer_case(build: Callable[[], Layer], shape: tuple[int, ...], special: Any,
                rng: Rng) -> tuple[BundleWriter, dict[str, Any]]:
    with backend.floatx_scope("float64"):
        layer = build()
        layer.build(shape[1:])
    layer.name = layer.name or snake_case(type(layer).__name__)
    layer.set_weights([w.astype(np.float32) for w in layer.get_weights()])
    x = special(rng, shape) if callable(special) else _normal(rng, shape)
    training = special != "inference"
    writer = BundleWriter()
    writer.add("input/x", x, data_layout(x.ndim), "the layer's input")
    for key, value in layer.params.items():
        writer.add(f"{layer.name}/{key}", value, param_layout(layer, key, value.ndim),
                   f"{layer.name} {key}")
    rngs = {}
    if isinstance(layer, layers.Dropout):
        layer.rng = np.random.default_rng(SEED)
        rngs = {id(layer.rng): layer.rng}
    recorder = TraceRecorder(writer, "", rngs)
    if not training:
        recorder.after_forward = lambda lyr, xi, yi: writer.add(
            f"{lyr.name}/output", yi, data_layout(yi.ndim), f"{lyr.name} output (inference)")
    x64 = x.astype(np.float64)
    y, backward = layer.forward(x64, training)
    recorder.after_forward(layer, x64, y)
    grad_y = _normal(rng, y.shape).astype(np.float64)
    grad_x = backward(grad_y)
    recorder.after_backward(layer, grad_y, grad_x, {k: g.copy() for k, g in layer.grads.items()})
    writer.entries[f"{layer.name}/grad_output"]["meaning"] = "the upstream gradient (given)"
    meta = {"model": {"name": "case", "input_shape": list(shape[1:]), "layers": [
        {"class_name": type(layer).__name__, "config": layer.get_config()}]},
        "layers": [{"name": layer.name, "class_name": type(layer).__name__, "input": "input/x",
                    "output": f"{layer.name}/output", "training": training,
                    "activation": getattr(getattr(layer, "activation", None), "name", None)}]}
    return writer, meta


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
}


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


def listing() -> list[tuple[str, str, str]]:
    rows = [(k, c, v[0]) for k, cs in LAYER_CASES.items() for c, v in cs.items()]
    rows += [(k, c, v[0]) for k, cs in LOSS_CASES.items() for c, v in cs.items()]
    rows += [(k, c, v[0]) for k, cs in OPTIMIZER_CASES.items() for c, v in cs.items()]
    return rows


def write_case(kind: str, case: str, path: str | os.PathLike[str]) -> Path:
    """Write golden case ``kind``/``case`` (see ``listing()``) as a bundle at ``path``."""
    rng = np.random.default_rng(SEED)
    table: dict[str, Any] = {**LAYER_CASES, **LOSS_CASES, **OPTIMIZER_CASES}
    if kind not in table:
        raise ValueError(f"unknown --layer {kind!r}; expected one of {sorted(table)}")
    if case not in table[kind]:
        raise ValueError(f"unknown --case {case!r} for {kind}; expected one of "
                         f"{sorted(table[kind])}")
    entry = table[kind][case]
    if kind in LAYER_CASES:
        writer, meta = _layer_case(entry[1], entry[2], entry[3], rng)
    elif kind in LOSS_CASES:
        writer, meta = _loss_case(kind, entry[1], entry[2], rng)
    else:
        writer, meta = _optimizer_case(entry[1], rng)
    meta = {"model": None, "loss": None, "optimizer": None, **meta,
            "case": {"layer": kind, "case": case, "about": entry[0]}, "computed_in": "float64"}
    return writer.write(path, meta)
