"""Golden cases of the layers (see ``cases``): the table and how one case is computed.

A case is ``(about, build, input shape, special)``; ``special`` is None (a normal input), a
function ``(rng, shape) -> x``, "inference" (the layer runs with training=False), or a dict
with any of ``x`` (that function), ``training`` (bool) and ``weights`` (``(layer, rng) -> None``,
giving the weights values a real network has, e.g. BatchNormalization's moving statistics).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend, layers
from ..layers import Layer
from ..layers.base import snake_case
from .bundle import BundleWriter
from .keras_layer_cases import KERAS_LAYER_CASES
from .recording import TraceRecorder, data_layout, param_layout

Rng = np.random.Generator
SEED = 20240611   # the dropout masks of the layer cases


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
LAYER_CASES.update(KERAS_LAYER_CASES)


def _layer_case(build: Callable[[], Layer], shape: tuple[int, ...], special: Any,
                rng: Rng) -> tuple[BundleWriter, dict[str, Any]]:
    options = special if isinstance(special, dict) else {
        "x": special if callable(special) else None, "training": special != "inference"}
    with backend.floatx_scope("float64"):
        layer = build()
        layer.build(shape[1:])
    layer.name = layer.name or snake_case(type(layer).__name__)
    if options.get("weights"):
        options["weights"](layer, rng)
    layer.set_weights([w.astype(np.float32) for w in layer.get_weights()])
    x = options["x"](rng, shape) if options.get("x") else _normal(rng, shape)
    training = options.get("training", True)
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
    recorder.after_backward(layer, grad_y, grad_x, {k: g.copy() for k, g in layer.grads.items()
                                                    if k not in layer.non_trainable_names})
    for key in sorted(layer.non_trainable_names):   # state the forward pass updates (moving stats)
        writer.add(f"{layer.name}/{key}_after_forward", layer.params[key],
                   param_layout(layer, key, layer.params[key].ndim),
                   f"{layer.name} {key} after this forward pass (training={training})")
    writer.entries[f"{layer.name}/grad_output"]["meaning"] = "the upstream gradient (given)"
    meta = {"model": {"name": "case", "input_shape": list(shape[1:]), "layers": [
        {"class_name": type(layer).__name__, "config": layer.get_config()}]},
        "layers": [{"name": layer.name, "class_name": type(layer).__name__, "input": "input/x",
                    "output": f"{layer.name}/output", "training": training,
                    "activation": getattr(getattr(layer, "activation", None), "name", None)}]}
    return writer, meta


