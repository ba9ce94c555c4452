"""ONNX export: ``export_onnx(model, "model.onnx")`` writes a standard ONNX graph (opset 17).

The graph takes what the model takes, channels-last ``(batch, H, W, C)`` images or feature
vectors, under the input name ``"input"`` with a dynamic batch axis, and returns ``"output"``.
ONNX convolutions and pooling work channels-first, so the graph transposes to (N, C, H, W)
before the first of them and back to channels-last wherever Keras's order matters (Flatten,
Dense, Softmax, the output): the numbers and their order are scratchnet's exactly.

CONVERTERS maps a layer class to ``convert(layer, graph, x) -> y`` (tensor names); a new layer
type adds an entry (``register(cls)`` as a decorator). The converters of the image and shape
layers (BatchNormalization, global pooling, Rescaling, Reshape, padding, cropping, upsampling)
live in ``onnx_layers``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import layers
from ..files import atomic_write
from ..ops.im2col import padding_amounts
from .common import (
    InteropError,
    built_layers,
    named_weights,
    output_path,
    require,
)

OPSET = 17
IR_VERSION = 8   # the IR of opset 17: files load in every ONNX Runtime that knows the opset
NCHW_FROM_NHWC, NHWC_FROM_NCHW = (0, 3, 1, 2), (0, 2, 3, 1)


class Graph:
    """Nodes and initializers being built, and the layout of the current image tensor."""

    def __init__(self, helper: Any, numpy_helper: Any):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.channels_first = False   # layout of the rank-4 tensor flowing through
        self.rank = 0
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, value: Any, dtype: Any = np.float32) -> str:
        name = self.name(hint)
        self.initializers.append(self.numpy_helper.from_array(
            np.ascontiguousarray(np.asarray(value, dtype=dtype)), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attributes: Any) -> str:
        out = self.name(hint)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attributes))
        return out

    def to_channels_first(self, x: str) -> str:
        if self.rank == 4 and not self.channels_first:
            x = self.node("Transpose", [x], "to_nchw", perm=list(NCHW_FROM_NHWC))
            self.channels_first = True
        return x

    def to_channels_last(self, x: str) -> str:
        if self.rank == 4 and self.channels_first:
            x = self.node("Transpose", [x], "to_nhwc", perm=list(NHWC_FROM_NCHW))
            self.channels_first = False
        return x


Converter = Callable[[Any, Graph, str], str]
CONVERTERS: dict[type, Converter] = {}


def register(cls: type) -> Callable[[Converter], Converter]:
    def add(convert: Converter) -> Converter:
        CONVERTERS[cls] = convert
        return convert
    return add


# --- activations -------------------------------------------------------------------------------
def leaky_slope(activation: Any) -> float:
    """The slope of a leaky ReLU activation, read off the function itself (exact)."""
    return -float(activation.forward(np.array([-1.0]))[0])


def activation_node(activation: Any, graph: Graph, x: str, where: str) -> str:
    name = activation.name
    if name == "linear":
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if name in simple:
        return graph.node(simple[name], [x], name)
    if name == "softmax":
        return graph.node("Softmax", [graph.to_channels_last(x)], "softmax", axis=-1)
    if name.startswith("leaky_relu"):
        return graph.node("LeakyRelu", [x], "leaky_relu", alpha=leaky_slope(activation))
    raise InteropError(f"{where}: activation {name!r} has no ONNX equivalent here; expected "
                       f"one of linear, relu, sigmoid, tanh, softmax, leaky_relu")


# --- layers ------------------------------------------------------------------------------------
def _pads(layer: Any, window: tuple[int, int]) -> list[int]:
    """ONNX pads [top, left, bottom, right] for Keras's padding (extra row/column at the end)."""
    h, w = layer.input_shape[:2]
    (top, bottom), (left, right) = (padding_amounts(h, window[0], layer.strides[0], layer.padding),
                                    padding_amounts(w, window[1], layer.strides[1], layer.padding))
    return [top, left, bottom, right]


@register(layers.Input)
@register(layers.Dropout)   # identity in inference
def _identity(layer: Any, graph: Graph, x: str) -> str:
    return x


@register(layers.Conv2D)
def _conv2d(layer: Any, graph: Graph, x: str) -> str:
    weights = named_weights(layer)
    kernel = weights["kernel"].transpose(3, 2, 0, 1)          # (kh, kw, C, F) -> (F, C, kh, kw)
    inputs = [graph.to_channels_first(x), graph.constant(f"{layer.name}.kernel", kernel)]
    if layer.use_bias:
        inputs.append(graph.constant(f"{layer.name}.bias", weights["bias"]))
    y = graph.node("Conv", inputs, layer.name, kernel_shape=list(layer.kernel_size),
                   strides=list(layer.strides), pads=_pads(layer, layer.kernel_size))
    return activation_node(layer.activation, graph, y, f"layer {layer.name!r}")


def _pool(op: str, **extra: Any) -> Converter:
    def convert(layer: Any, graph: Graph, x: str) -> str:
        return graph.node(op, [graph.to_channels_first(x)], layer.name,
                          kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                          pads=_pads(layer, layer.pool_size), **extra)
    return convert


# MaxPool ignores padded cells, as Keras's -inf padding does; AveragePool leaves them out of the
# count (count_include_pad=0), as Keras does.
register(layers.MaxPooling2D)(_pool("MaxPool"))
register(layers.AveragePooling2D)(_pool("AveragePool", count_include_pad=0))


@register(layers.Flatten)
def _flatten(layer: Any, graph: Graph, x: str) -> str:
    y = graph.node("Flatten", [graph.to_channels_last(x)], layer.name, axis=1)
    graph.rank = 2
    return y


@register(layers.Dense)
def _dense(layer: Any, graph: Graph, x: str) -> str:
    weights = named_weights(layer)
    y = graph.node("MatMul", [graph.to_channels_last(x),
                              graph.constant(f"{layer.name}.kernel", weights["kernel"])],
                   layer.name)
    if layer.use_bias:
        y = graph.node("Add", [y, graph.constant(f"{layer.name}.bias", weights["bias"])],
                       f"{layer.name}_bias")
    return activation_node(layer.activation, graph, y, f"layer {layer.name!r}")


@register(layers.Activation)
def _activation(layer: Any, graph: Graph, x: str) -> str:
    return activation_node(layer.activation, graph, x, f"layer {layer.name!r}")


@register(layers.LeakyReLU)
def _leaky_relu(layer: Any, graph: Graph, x: str) -> str:
    return graph.node("LeakyRelu", [x], layer.name, alpha=float(layer.negative_slope))


@register(layers.Softmax)
def _softmax(layer: Any, graph: Graph, x: str) -> str:
    return graph.node("Softmax", [graph.to_channels_last(x)], layer.name, axis=layer.axis)


@register(layers.ReLU)
def _relu(layer: Any, graph: Graph, x: str) -> str:
    """Keras's ReLU(max_value, negative_slope, threshold), as the layer computes it."""
    slope, threshold, cap = layer.negative_slope, layer.threshold, layer.max_value
    if slope == 0 and threshold == 0:
        y = graph.node("Relu", [x], layer.name)
    else:
        t = graph.constant(f"{layer.name}.threshold", threshold)
        above = graph.node("GreaterOrEqual" if slope else "Greater", [x, t], f"{layer.name}_on")
        below = graph.node("Mul", [graph.node("Sub", [x, t], f"{layer.name}_shift"),
                                   graph.constant(f"{layer.name}.slope", slope)],
                           f"{layer.name}_leak")
        y = graph.node("Where", [above, x, below], layer.name)
    if cap is not None:
        y = graph.node("Min", [y, graph.constant(f"{layer.name}.max_value", cap)],
                       f"{layer.name}_cap")
    return y


# --- the model ---------------------------------------------------------------------------------
def to_onnx(model: Any) -> Any:
    """The model as an ``onnx.ModelProto`` (checked with ``onnx.checker``)."""
    onnx = require("onnx", "onnx", "ONNX export")
    from onnx import TensorProto, helper, numpy_helper
    stack = built_layers(model)
    graph = Graph(helper, numpy_helper)
    graph.rank = len(model.input_shape) + 1
    x = "input"
    for layer in stack:
        convert = CONVERTERS.get(type(layer))
        if convert is None:
            raise InteropError(
                f"layer {layer.name!r} ({type(layer).__name__}) has no ONNX converter; expected "
                f"one of {sorted(cls.__name__ for cls in CONVERTERS)} (a new layer type adds "
                f"one with scratchnet.export.onnx.register)")
        x = convert(layer, graph, x)
        graph.rank = len(layer.output_shape) + 1
        if graph.rank != 4:    # (N, C) or (N, ..., C): one layout only
            graph.channels_first = False
    x = graph.to_channels_last(x)
    graph.nodes.append(helper.make_node("Identity", [x], ["output"], name="output"))
    batch = ["batch"]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                            batch + list(model.input_shape))]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                             batch + list(model.output_shape))]
    proto = helper.make_model(
        helper.make_graph(graph.nodes, model.name, inputs, outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="scratchnet",
        ir_version=IR_VERSION)
    proto.doc_string = (f"scratchnet model {model.name!r}: input (batch, "
                        f"{', '.join(map(str, model.input_shape))}) float32, channels-last")
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model: Any, path: Any) -> Any:
    """Write ``model`` as an ONNX file at ``path`` (atomically) and return the path."""
    target = output_path(path, (".onnx",), "ONNX model")
    atomic_write(target, to_onnx(model).SerializeToString())
    return target


from . import onnx_layers  # noqa: E402,F401  (registers the remaining converters)
