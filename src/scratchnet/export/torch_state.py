"""PyTorch weights both ways, without torch: a safetensors state dict for ``torch.nn.Sequential``.

``torch_modules(model)`` lists the modules of the equivalent ``nn.Sequential`` as Python source
(``nn.Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(0, 0))``, ...); index ``i`` of that
list owns the state-dict keys ``"i.weight"``, ``"i.bias"``, ... written by ``save_torch_state_dict``
and read back by ``load_torch_state_dict``. The file's metadata repeats the module list.

Layouts. The torch model takes channels-first images (N, C, H, W) as PyTorch does
(``x_nhwc.permute(0, 3, 1, 2)``) and returns what scratchnet returns (image outputs come back
(N, C, H, W)). Conv kernels go from Keras's (kh, kw, C, F) to (F, C, kh, kw); Dense kernels from
(in, out) to nn.Linear's (out, in). Keras flattens an image (H, W, C) in channels-last order while
``nn.Flatten`` on (C, H, W) is channels-first: instead of a permute module (torch.nn has none),
the rows of the Dense kernel after the Flatten are reordered from (h, w, c) to (c, h, w), so
plain ``nn.Flatten()`` + ``nn.Linear`` compute exactly the same outputs.
Keras's "same" padding puts an odd extra row/column at the bottom/right: it becomes
``nn.ZeroPad2d((left, right, top, bottom))`` before the conv (-inf padding before a max pool).

TORCH_CONVERTERS maps a layer class to ``convert(layer, context) -> [TorchModule]``; a new
layer type adds an entry (``register(cls)`` as a decorator).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import layers
from ..files import atomic_write
from ..ops.im2col import padding_amounts
from .common import (
    InteropError,
    built_layers,
    input_path,
    named_weights,
    output_path,
    set_named_weights,
    shape_mismatch_report,
)

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


def _num(value: float) -> str:
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
        return [TorchModule(f"nn.LeakyReLU(negative_slope={_num(slope)})")]
    raise InteropError(f"layer {layer.name!r}: activation {name!r} has no torch.nn module here; "
                       f"expected linear, relu, sigmoid, tanh, softmax or leaky_relu")


def _same_pads(layer: Any, window: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = layer.input_shape[:2]
    top, bottom = padding_amounts(h, window[0], layer.strides[0], layer.padding)
    left, right = padding_amounts(w, window[1], layer.strides[1], layer.padding)
    return top, bottom, left, right


def _needs_image_order(layer: Any, context: Context) -> None:
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
    return [TorchModule(f"nn.Dropout(p={_num(layer.rate)})")]


@register(layers.Conv2D)
def _conv2d(layer: Any, context: Context) -> list[TorchModule]:
    _needs_image_order(layer, context)
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
    _needs_image_order(layer, context)
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
    _needs_image_order(layer, context)
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
        _needs_image_order(layer, context)
    return activation_modules(layer.activation, layer)


@register(layers.LeakyReLU)
def _leaky_relu(layer: Any, context: Context) -> list[TorchModule]:
    return [TorchModule(f"nn.LeakyReLU(negative_slope={_num(layer.negative_slope)})")]


@register(layers.Softmax)
def _softmax(layer: Any, context: Context) -> list[TorchModule]:
    _needs_image_order(layer, context)
    return [TorchModule(f"nn.Softmax(dim={_torch_dim(layer, layer.axis)})")]


@register(layers.ReLU)
def _relu(layer: Any, context: Context) -> list[TorchModule]:
    slope, threshold, cap = layer.negative_slope, layer.threshold, layer.max_value
    if threshold == 0 and cap is None:
        return [TorchModule("nn.ReLU()" if slope == 0
                            else f"nn.LeakyReLU(negative_slope={_num(slope)})")]
    if threshold == 0 and slope == 0:
        return [TorchModule(f"nn.Hardtanh(0.0, {_num(cap)})")]
    raise InteropError(f"layer {layer.name!r}: ReLU(max_value={cap}, negative_slope={slope}, "
                       f"threshold={threshold}) has no single torch.nn module")


def batch_normalization(layer: Any, context: Context) -> list[TorchModule]:
    _needs_image_order(layer, context)
    rank = len(layer.input_shape) + 1
    if getattr(layer, "axis", -1) not in (-1, rank - 1) or rank not in (2, 4):
        raise InteropError(f"layer {layer.name!r}: the torch export supports "
                           f"BatchNormalization over the channels of (N, C) or "
                           f"(N, H, W, C) inputs")
    channels = layer.input_shape[-1]
    kind = "nn.BatchNorm2d" if rank == 4 else "nn.BatchNorm1d"
    names = set(named_weights(layer))
    tensors = {
        "weight": Tensor("gamma" if "gamma" in names else None,
                         constant=np.ones(channels, np.float32)),
        "bias": Tensor("beta" if "beta" in names else None,
                       constant=np.zeros(channels, np.float32)),
        "running_mean": Tensor("moving_mean"), "running_var": Tensor("moving_variance"),
        "num_batches_tracked": Tensor(None, constant=np.zeros((), np.int64))}
    momentum = 1 - float(getattr(layer, "momentum", 0.99))   # torch's is the new sample's
    return [TorchModule(f"{kind}({channels}, eps={_num(getattr(layer, 'epsilon', 1e-3))}, "
                        f"momentum={_num(round(momentum, 12))})", tensors, layer)]


if getattr(layers, "BatchNormalization", None) is not None:
    register(layers.BatchNormalization)(batch_normalization)


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


def torch_state_dict(model: Any) -> dict[str, Array]:
    state = {}
    for index, module in enumerate(modules_of(model)):
        weights = named_weights(module.layer) if module.layer is not None else {}
        for key, tensor in module.tensors.items():
            value = tensor.constant if tensor.source is None else tensor.to_torch(
                weights[tensor.source])
            state[f"{index}.{key}"] = np.ascontiguousarray(value, dtype=(
                value.dtype if value.dtype.kind == "i" else np.float32))
    return state


def save_torch_state_dict(model: Any, path: Any) -> Any:
    """Write the state dict of ``torch_modules(model)`` as a safetensors file (atomically)."""
    from safetensors.numpy import save
    target = output_path(path, (".safetensors", ".pt.safetensors"), "torch state dict")
    metadata = {"format": "pt", "producer": "scratchnet", "model": model.name,
                "torch_modules": json.dumps(torch_modules(model)),
                "input_layout": "NCHW" if len(model.input_shape) == 3 else "NC"}
    atomic_write(target, save(torch_state_dict(model), metadata=metadata))
    return target


def _read_state(path: Any) -> dict[str, Array]:
    from safetensors import SafetensorError
    from safetensors.numpy import load
    source = input_path(path, "torch state dict")
    try:
        state = load(source.read_bytes())
    except (SafetensorError, ValueError) as err:
        raise InteropError(f"{str(source)!r} is not a readable safetensors state dict "
                           f"(truncated or another format?): {err}") from None
    prefix = "module."   # a DistributedDataParallel model's state dict
    if state and all(key.startswith(prefix) for key in state):
        state = {key[len(prefix):]: value for key, value in state.items()}
    return state


def load_torch_state_dict(model: Any, path: Any) -> Any:
    """Set ``model``'s weights from a safetensors state dict of its ``torch_modules`` (as saved
    by ``torch.save_file(torch_model.state_dict(), path)`` or ``save_torch_state_dict``).
    Names and shapes must match exactly; the error lists every difference."""
    state = _read_state(path)
    modules = modules_of(model)
    expected, torch_only = {}, set()
    for index, module in enumerate(modules):
        weights = named_weights(module.layer) if module.layer is not None else {}
        for key, tensor in module.tensors.items():
            if tensor.source is None:   # torch's own bookkeeping: optional, ignored here
                torch_only.add(f"{index}.{key}")
            else:
                expected[f"{index}.{key}"] = tuple(tensor.to_torch(weights[tensor.source]).shape)
    found = {k: v.shape for k, v in state.items() if k not in torch_only}
    report = shape_mismatch_report(expected, found, f"torch state dict {str(path)!r}",
                                   model.name)
    if report:
        raise InteropError(report + "\n  (the torch modules: " + ", ".join(
            f"{i}: {m.code}" for i, m in enumerate(modules)) + ")")
    for index, module in enumerate(modules):
        if module.layer is None:
            continue
        weights = named_weights(module.layer)
        for key, tensor in module.tensors.items():
            if tensor.source is not None:
                value = tensor.from_torch(state[f"{index}.{key}"])
                weights[tensor.source] = value.astype(weights[tensor.source].dtype)
        set_named_weights(module.layer, weights)
    return model

