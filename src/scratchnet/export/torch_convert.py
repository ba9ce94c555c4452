"""The torch.nn equivalent of a model: which modules, and which state-dict entries hold which
scratchnet weight in which layout (see ``torch_state`` for the files and the layout rules).

TORCH_CONVERTERS maps a layer class to ``convert(layer, context) -> [TorchModule]``; a new
layer type adds an entry (``register(cls)`` as a decorator). The converters of BatchNormalization
and the shape layers live in ``torch_layers``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import layers
from ..ops.im2col import padding_amounts
from .common import InteropError, built_layers

Array = np.ndarray
ToTorch = Callable[[Array], Array]


@dataclass
class Tensor:
    """One state-dict entry of a module: which scratchnet weight it holds and how it is laid out.
    ``source`` None marks torch-only state (BatchNorm's num_batches_tracked)."""
    source: str | None
    to_torch: ToTorch = lambda a: a
    from_torch: ToTorch = lambda a: a
    constant: Array | None = None


@dataclass
class TorchModule:
    code: str                                      # e.g. "nn.ReLU()"
    tensors: dict[str, Tensor] = field(default_factory=dict)
    layer: Any = None


@dataclass
class Context:
    """What a converter needs to know about the tensors flowing in: the (h, w, c) of an image
    flattened channels-first whose Dense must be reordered (see the module docstring)."""
    flattened_image: tuple[int, int, int] | None = None


Converter = Callable[[Any, Context], list[TorchModule]]
TORCH_CONVERTERS: dict[type, Converter] = {}


def register(cls: type) -> Callable[[Converter], Converter]:
    def add(convert: Converter) -> Converter:
        TORCH_CONVERTERS[cls] = convert
        return convert
    return add


def num(value: float) -> str:
    return repr(float(value))


def _torch_dim(layer: Any, axis: int) -> int:
    """The torch dim of a Keras axis, for the (N, C, H, W) layout of images."""
    rank = len(layer.input_shape) + 1
    axis = axis % rank
    if rank == 4 and axis > 0:
        return {1: 2, 2: 3, 3: 1}[axis]
    return axis


def activation_modules(activation: Any, layer: Any) -> list[TorchModule]:
    name = activation.name
    simple = {"linear": None, "relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()"}
    if name in simple:
        return [] if simple[name] is None else [TorchModule(simple[name])]
    if name == "softmax":
        return [TorchModule(f"nn.Softmax(dim={_torch_dim(layer, -1)})")]
    if name.startswith("leaky_relu"):
        slope = -float(activation.forward(np.array([-1.0]))[0])
        return [TorchModule(f"nn.LeakyReLU(negative_slope={num(slope)})")]
    raise InteropError(f"layer {layer.name!r}: activation {name!r} has no torch.nn module here; "
                       f"expected linear, relu, sigmoid, tanh, softmax or leaky_relu")


def _same_pads(layer: Any, window: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = layer.input_shape[:2]
    top, bottom = padding_amounts(h, window[0], layer.strides[0], layer.padding)
    left, right = padding_amounts(w, window[1], layer.strides[1], layer.padding)
    return top, bottom, left, right


def needs_image_order(layer: Any, context: Context) -> None:
    if context.flattened_image is not None:
        raise InteropError(
            f"layer {layer.name!r} ({type(layer).__name__}) follows a Flatten of an image "
            f"{context.flattened_image}: the torch export keeps Keras's channels-last flatten "
            f"order by reordering the next Dense's kernel, so a Dense must come first")


@register(layers.Input)
def _input(layer: Any, context: Context) -> list[TorchModule]:
    return []


@register(layers.Dropout)
def _dropout(layer: Any, context: Context) -> list[TorchModule]:
    return [TorchModule(f"nn.Dropout(p={num(layer.rate)})")]


@register(layers.Conv2D)
def _conv2d(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    top, bottom, left, right = _same_pads(layer, layer.kernel_size)
    modules = []
    if (top, left) != (bottom, right):
        modules.append(TorchModule(f"nn.ZeroPad2d(({left}, {right}, {top}, {bottom}))"))
        top = left = 0
    (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
    channels = layer.input_shape[-1]
    tensors = {"weight": Tensor("kernel", lambda k: k.transpose(3, 2, 0, 1),
                                lambda w: w.transpose(2, 3, 1, 0))}
    if layer.use_bias:
        tensors["bias"] = Tensor("bias")
    modules.append(TorchModule(
        f"nn.Conv2d({channels}, {layer.filters}, kernel_size=({kh}, {kw}), stride=({sh}, {sw}), "
        f"padding=({top}, {left}), bias={layer.use_bias})", tensors, layer))
    return modules + activation_modules(layer.activation, layer)


@register(layers.MaxPooling2D)
def _max_pool(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    top, bottom, left, right = _same_pads(layer, layer.pool_size)
    (ph, pw), (sh, sw) = layer.pool_size, layer.strides
    modules = []
    if (top, left) != (bottom, right) or top > ph // 2 or left > pw // 2:
        # torch pads a max pool symmetrically (at most half the window): pad with -inf first.
        modules.append(TorchModule(
            f"nn.ConstantPad2d(({left}, {right}, {top}, {bottom}), float('-inf'))"))
        top = left = 0
    modules.append(TorchModule(f"nn.MaxPool2d(kernel_size=({ph}, {pw}), stride=({sh}, {sw}), "
                               f"padding=({top}, {left}))"))
    return modules


@register(layers.AveragePooling2D)
def _average_pool(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    top, bottom, left, right = _same_pads(layer, layer.pool_size)
    (ph, pw), (sh, sw) = layer.pool_size, layer.strides
    if top > ph // 2 or left > pw // 2:
        raise InteropError(f"layer {layer.name!r}: torch's AvgPool2d pads at most half the "
                           f"window, this pooling pads {(top, left)} for {layer.pool_size}")
    # Keras leaves padded cells out of the average (count_include_pad=False). Its extra bottom/
    # right row is a last window that ceil_mode lets run past the edge, also left out.
    ceil = (top, left) != (bottom, right)
    return [TorchModule(f"nn.AvgPool2d(kernel_size=({ph}, {pw}), stride=({sh}, {sw}), "
                        f"padding=({top}, {left}), ceil_mode={ceil}, count_include_pad=False)")]


@register(layers.Flatten)
def _flatten(layer: Any, context: Context) -> list[TorchModule]:
    shape = layer.input_shape
    if len(shape) == 3 and shape[-1] > 1 and shape[0] * shape[1] > 1:
        context.flattened_image = tuple(shape)
    elif len(shape) > 3:
        raise InteropError(f"layer {layer.name!r}: the torch export flattens (H, W, C) images "
                           f"or vectors, got per-sample shape {shape}")
    return [TorchModule("nn.Flatten()")]


@register(layers.Dense)
def _dense(layer: Any, context: Context) -> list[TorchModule]:
    if len(layer.input_shape) != 1:
        raise InteropError(f"layer {layer.name!r}: the torch export supports Dense on vectors "
                           f"(N, features), got per-sample shape {layer.input_shape}")
    to_torch, from_torch = (lambda k: k.T), (lambda w: w.T)
    if context.flattened_image is not None:
        h, w, c = context.flattened_image
        units = layer.units
        to_torch = lambda k: k.reshape(h, w, c, units).transpose(3, 2, 0, 1).reshape(units, -1)
        from_torch = lambda t: t.reshape(units, c, h, w).transpose(2, 3, 1, 0).reshape(-1, units)
        context.flattened_image = None
    tensors = {"weight": Tensor("kernel", to_torch, from_torch)}
    if layer.use_bias:
        tensors["bias"] = Tensor("bias")
    module = TorchModule(f"nn.Linear({layer.input_shape[0]}, {layer.units}, "
                         f"bias={layer.use_bias})", tensors, layer)
    return [module] + activation_modules(layer.activation, layer)


@register(layers.Activation)
def _activation(layer: Any, context: Context) -> list[TorchModule]:
    if layer.activation.name == "softmax":
        needs_image_order(layer, context)
    return activation_modules(layer.activation, layer)


@register(layers.LeakyReLU)
def _leaky_relu(layer: Any, context: Context) -> list[TorchModule]:
    return [TorchModule(f"nn.LeakyReLU(negative_slope={num(layer.negative_slope)})")]


@register(layers.Softmax)
def _softmax(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    return [TorchModule(f"nn.Softmax(dim={_torch_dim(layer, layer.axis)})")]


@register(layers.ReLU)
def _relu(layer: Any, context: Context) -> list[TorchModule]:
    slope, threshold, cap = layer.negative_slope, layer.threshold, layer.max_value
    if threshold == 0 and cap is None:
        return [TorchModule("nn.ReLU()" if slope == 0
                            else f"nn.LeakyReLU(negative_slope={num(slope)})")]
    if threshold == 0 and slope == 0:
        return [TorchModule(f"nn.Hardtanh(0.0, {num(cap)})")]
    raise InteropError(f"layer {layer.name!r}: ReLU(max_value={cap}, negative_slope={slope}, "
                       f"threshold={threshold}) has no single torch.nn module")


# --- the model ---------------------------------------------------------------------------------
def modules_of(model: Any) -> list[TorchModule]:
    context, modules = Context(), []
    for layer in built_layers(model):
        convert = TORCH_CONVERTERS.get(type(layer))
        if convert is None:
            raise InteropError(
                f"layer {layer.name!r} ({type(layer).__name__}) has no torch converter; expected "
                f"one of {sorted(cls.__name__ for cls in TORCH_CONVERTERS)} (a new layer type "
                f"adds one with scratchnet.export.torch_state.register)")
        modules += convert(layer, context)
    if context.flattened_image is not None:
        raise InteropError(f"the model ends with a Flatten of an image {context.flattened_image}:"
                           f" torch flattens channels-first, so the output order would differ")
    return modules


def torch_modules(model: Any) -> list[str]:
    """The modules of the equivalent ``torch.nn.Sequential``, as Python source."""
    return [module.code for module in modules_of(model)]


def torch_source(model: Any) -> str:
    lines = ",\n    ".join(torch_modules(model))
    return f"import torch.nn as nn\nmodel = nn.Sequential(\n    {lines},\n)"


from . import torch_layers  # noqa: E402,F401  (registers the remaining converters)
