"""ONNX converters of BatchNormalization, the global poolings, Rescaling, Reshape, ZeroPadding2D,
Cropping2D and UpSampling2D (registered into ``onnx.CONVERTERS`` on import).

Image layers work in whichever layout the tensor has (padding, cropping and upsampling name
their axes from ``graph.channels_first``); Reshape always works on the channels-last order, as
Keras does.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import layers
from .common import InteropError, named_weights
from .onnx import Graph, register


def _spatial_axes(graph: Graph) -> tuple[int, int]:
    return (2, 3) if graph.channels_first else (1, 2)


@register(layers.BatchNormalization)
def batch_normalization(layer: Any, graph: Graph, x: str) -> str:
    """Inference mode: the moving statistics (an exported graph never trains)."""
    rank = len(layer.input_shape) + 1
    if layer.axis not in (-1, rank - 1):
        raise InteropError(f"layer {layer.name!r}: ONNX export supports BatchNormalization "
                           f"over the last (channels) axis, got axis={layer.axis}")
    if rank not in (2, 4):
        raise InteropError(f"layer {layer.name!r}: ONNX export supports BatchNormalization "
                           f"of (N, C) or (N, H, W, C) inputs, got per-sample shape "
                           f"{tuple(layer.input_shape)}")
    weights = named_weights(layer)
    channels = layer.input_shape[-1]
    gamma = weights.get("gamma", np.ones(channels))
    beta = weights.get("beta", np.zeros(channels))
    inputs = [graph.to_channels_first(x)] + [
        graph.constant(f"{layer.name}.{key}", value) for key, value in
        (("gamma", gamma), ("beta", beta), ("moving_mean", weights["moving_mean"]),
         ("moving_variance", weights["moving_variance"]))]
    return graph.node("BatchNormalization", inputs, layer.name, epsilon=float(layer.epsilon))


def _global_pool(op: str) -> Any:
    def convert(layer: Any, graph: Graph, x: str) -> str:
        y = graph.node(op, [graph.to_channels_first(x)], layer.name)      # (N, C, 1, 1)
        if layer.keepdims:
            return y
        return graph.node("Flatten", [y], f"{layer.name}_flat", axis=1)  # (N, C)
    return convert


register(layers.GlobalAveragePooling2D)(_global_pool("GlobalAveragePool"))
register(layers.GlobalMaxPooling2D)(_global_pool("GlobalMaxPool"))


@register(layers.Rescaling)
def _rescaling(layer: Any, graph: Graph, x: str) -> str:
    y = graph.node("Mul", [x, graph.constant(f"{layer.name}.scale", layer.scale)], layer.name)
    if layer.offset == 0:
        return y
    return graph.node("Add", [y, graph.constant(f"{layer.name}.offset", layer.offset)],
                      f"{layer.name}_offset")


@register(layers.Reshape)
def _reshape(layer: Any, graph: Graph, x: str) -> str:
    # Keras reshapes the channels-last order; 0 keeps the (dynamic) batch dimension.
    shape = graph.constant(f"{layer.name}.shape", [0, *layer.output_shape], np.int64)
    return graph.node("Reshape", [graph.to_channels_last(x), shape], layer.name)


@register(layers.ZeroPadding2D)
def _zero_padding(layer: Any, graph: Graph, x: str) -> str:
    (top, bottom), (left, right) = layer.padding
    begin, end = [0] * 4, [0] * 4
    rows, cols = _spatial_axes(graph)
    begin[rows], begin[cols], end[rows], end[cols] = top, left, bottom, right
    pads = graph.constant(f"{layer.name}.pads", begin + end, np.int64)
    return graph.node("Pad", [x, pads], layer.name, mode="constant")


@register(layers.Cropping2D)
def _cropping(layer: Any, graph: Graph, x: str) -> str:
    (top, bottom), (left, right) = layer.cropping
    h, w = layer.input_shape[:2]
    starts = graph.constant(f"{layer.name}.starts", [top, left], np.int64)
    ends = graph.constant(f"{layer.name}.ends", [h - bottom, w - right], np.int64)
    axes = graph.constant(f"{layer.name}.axes", list(_spatial_axes(graph)), np.int64)
    return graph.node("Slice", [x, starts, ends, axes], layer.name)


@register(layers.UpSampling2D)
def _up_sampling(layer: Any, graph: Graph, x: str) -> str:
    interpolation = getattr(layer, "interpolation", "nearest")
    if interpolation != "nearest":
        raise InteropError(f"layer {layer.name!r}: ONNX export supports UpSampling2D with "
                           f"interpolation='nearest', got {interpolation!r}")
    scales = [1.0] * 4
    rows, cols = _spatial_axes(graph)
    scales[rows], scales[cols] = map(float, layer.size)
    # asymmetric + floor: output pixel i reads input pixel floor(i / size), Keras's repeat.
    return graph.node("Resize", [x, "", graph.constant(f"{layer.name}.scales", scales)],
                      layer.name, mode="nearest", coordinate_transformation_mode="asymmetric",
                      nearest_mode="floor")
