"""torch.nn equivalents of BatchNormalization, the global poolings, Rescaling, Reshape,
ZeroPadding2D, Cropping2D and UpSampling2D (registered into ``TORCH_CONVERTERS`` on import).

torch.nn has no module for a scalar ``x * scale + offset``: Rescaling becomes a frozen
per-channel 1x1 convolution (images) or a diagonal ``nn.Linear`` (vectors) whose weights are
constants of the file, not scratchnet weights (loading ignores them). Cropping is
``nn.ZeroPad2d`` with negative amounts, which torch defines as cropping.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import layers
from .common import InteropError, named_weights
from .torch_convert import (
    Context,
    Tensor,
    TorchModule,
    needs_image_order,
    num,
    register,
)


@register(layers.BatchNormalization)
def batch_normalization(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    rank = len(layer.input_shape) + 1
    if layer.axis not in (-1, rank - 1) or rank not in (2, 4):
        raise InteropError(f"layer {layer.name!r}: the torch export supports "
                           f"BatchNormalization over the channels of (N, C) or "
                           f"(N, H, W, C) inputs, got per-sample shape "
                           f"{tuple(layer.input_shape)}")
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
    momentum = 1 - float(layer.momentum)   # torch's momentum weighs the new batch
    return [TorchModule(f"{kind}({channels}, eps={num(layer.epsilon)}, "
                        f"momentum={num(round(momentum, 12))})", tensors, layer)]


def _global_pool(module: str) -> Any:
    def convert(layer: Any, context: Context) -> list[TorchModule]:
        needs_image_order(layer, context)
        flat = [] if layer.keepdims else [TorchModule("nn.Flatten()")]
        return [TorchModule(f"{module}(1)")] + flat       # keepdims: (N, C, 1, 1)
    return convert


register(layers.GlobalAveragePooling2D)(_global_pool("nn.AdaptiveAvgPool2d"))
register(layers.GlobalMaxPooling2D)(_global_pool("nn.AdaptiveMaxPool2d"))


@register(layers.Rescaling)
def _rescaling(layer: Any, context: Context) -> list[TorchModule]:
    shape = layer.input_shape
    if len(shape) == 3:
        c = shape[-1]
        return [TorchModule(
            f"nn.Conv2d({c}, {c}, kernel_size=(1, 1), groups={c}, bias=True)"
            f".requires_grad_(False)",
            {"weight": Tensor(None, constant=np.full((c, 1, 1, 1), layer.scale, np.float32)),
             "bias": Tensor(None, constant=np.full(c, layer.offset, np.float32))})]
    if len(shape) == 1:
        f = shape[0]
        return [TorchModule(
            f"nn.Linear({f}, {f}, bias=True).requires_grad_(False)",
            {"weight": Tensor(None, constant=np.eye(f, dtype=np.float32) * np.float32(
                layer.scale)),
             "bias": Tensor(None, constant=np.full(f, layer.offset, np.float32))})]
    raise InteropError(f"layer {layer.name!r}: the torch export supports Rescaling of images "
                       f"(H, W, C) or vectors, got per-sample shape {tuple(shape)}")


@register(layers.Reshape)
def _reshape(layer: Any, context: Context) -> list[TorchModule]:
    """Only the reshapes that are a Flatten or nothing at all: any other one reorders in
    Keras's channels-last order, which needs a permute module torch.nn does not have."""
    shape_in, shape_out = tuple(layer.input_shape), tuple(layer.output_shape)
    if len(shape_out) == 1 and len(shape_in) == 1:
        return []
    if len(shape_out) == 1 and len(shape_in) == 3:
        needs_image_order(layer, context)
        context.flattened_image = shape_in
        return [TorchModule("nn.Flatten()")]
    raise InteropError(f"layer {layer.name!r}: the torch export supports a Reshape to a vector "
                       f"(a Flatten), got {shape_in} -> {shape_out}: Keras reshapes in "
                       f"channels-last order and torch.nn has no permute module to match it")


@register(layers.ZeroPadding2D)
def _zero_padding(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    (top, bottom), (left, right) = layer.padding
    return [TorchModule(f"nn.ZeroPad2d(({left}, {right}, {top}, {bottom}))")]


@register(layers.Cropping2D)
def _cropping(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    (top, bottom), (left, right) = layer.cropping
    return [TorchModule(f"nn.ZeroPad2d(({-left}, {-right}, {-top}, {-bottom}))")]


@register(layers.UpSampling2D)
def _up_sampling(layer: Any, context: Context) -> list[TorchModule]:
    needs_image_order(layer, context)
    interpolation = getattr(layer, "interpolation", "nearest")
    if interpolation != "nearest":
        raise InteropError(f"layer {layer.name!r}: the torch export supports UpSampling2D with "
                           f"interpolation='nearest', got {interpolation!r}")
    sh, sw = layer.size
    return [TorchModule(f"nn.Upsample(scale_factor=({num(sh)}, {num(sw)}), mode='nearest')")]
