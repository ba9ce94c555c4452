"""An inference plan for a built Sequential model: ``InferencePlan(model).predict(x)`` returns
what ``model.predict(x)`` returns (the same numbers to float rounding), faster.

What it does differently, all outside the layers (which stay unaware of it, like fusion.py):
- No training bookkeeping: no backward closures, no pool winners, no ReLU masks.
- Conv2D 3x3 stride 1 with at least ``WINOGRAD_MIN_CHANNELS`` input channels runs Winograd
  F(4x4, 3x3) (ops.winograd4) with its transformed kernel cached (recomputed when the kernel's
  values change), fused with a following ReLU + MaxPooling2D(2, 2) (ops.inference).
- Dropout is skipped (the identity at inference).
- Large batches are cut into chunks of ``chunk`` samples that run through the whole network
  one after the other, so the activations of one chunk stay in cache (1,024 samples in one call
  cost no more per sample than 128).
- Small batches (fewer samples than ``SMALL_BATCH``) run with BLAS on one thread: on a busy
  machine a multi-threaded BLAS call on one sample can wait milliseconds for its second thread.
Every other layer runs its own ``forward(x, training=False)``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from threadpoolctl import ThreadpoolController

from . import activations, validation
from .layers import Conv2D, Dropout, MaxPooling2D
from .ops.conv import WINOGRAD_MIN_CHANNELS
from .ops.im2col import padding_amounts
from .ops.inference import winograd4_relu_max_pool2x2
from .ops.pool import tiles
from .ops.winograd4 import transform_kernel, winograd4_conv3x3

Array = np.ndarray
CHUNK_SAMPLES = 64   # MNIST CNN, 1,024 samples, 2 threads: 8-32 0.5-0.7x, 128 0.8x, 256 0.7x
SMALL_BATCH = 2
_controller: ThreadpoolController | None = None


def _winograd_conv(layer) -> bool:
    return (type(layer) is Conv2D and layer.kernel_size == (3, 3) and layer.strides == (1, 1)
            and layer.input_shape is not None
            and layer.input_shape[-1] >= WINOGRAD_MIN_CHANNELS
            and layer.activation in (activations.RELU, activations.get("linear")))


def _pools_after(conv, layer) -> bool:
    return (type(layer) is MaxPooling2D and layer.pool_size == (2, 2)
            and conv.activation is activations.RELU and conv.output_shape is not None
            and tiles(layer.pool_size, layer.strides, layer.paddings(*conv.output_shape[:2])))


class _WinogradConv:
    """One Conv2D (optionally + ReLU + 2x2 max pool) with its transformed kernel cached."""

    def __init__(self, layer: Conv2D, pooled: bool):
        self.layer, self.pooled = layer, pooled
        self.relu = layer.activation is activations.RELU
        self._kernel_copy: Array | None = None
        self._u: Array | None = None

    def _transformed(self) -> Array:
        kernel = self.layer.params["kernel"]
        if self._kernel_copy is None or self._kernel_copy.dtype != kernel.dtype \
                or not np.array_equal(self._kernel_copy, kernel):
            self._kernel_copy, self._u = kernel.copy(), transform_kernel(kernel)
        return self._u

    def __call__(self, x: Array) -> Array:
        layer = self.layer
        pads = (padding_amounts(x.shape[1], 3, 1, layer.padding),
                padding_amounts(x.shape[2], 3, 1, layer.padding))
        u, bias = self._transformed(), layer.params.get("bias")
        if self.pooled:
            return winograd4_relu_max_pool2x2(x, None, bias, pads, u=u)
        return winograd4_conv3x3(x, layer.params["kernel"], bias, pads, self.relu, u=u)


def _plan(layers) -> list[Callable[[Array], Array]]:
    steps: list[Callable[[Array], Array]] = []
    index = 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if _winograd_conv(layer):
            pooled = _pools_after(layer, following)
            steps.append(_WinogradConv(layer, pooled))
            index += 2 if pooled else 1
            continue
        if type(layer) is not Dropout:
            steps.append(lambda h, layer=layer: layer.forward(h, training=False)[0])
        index += 1
    return steps


class InferencePlan:
    """``predict(x)`` for a built Sequential model without training bookkeeping.

    Input shape: (N, *model.input_shape). Output shape: (N, *model.output_shape). The plan reads
    the layers' current weights on every call; rebuild it after adding or removing layers.
    """

    def __init__(self, model, chunk: int = CHUNK_SAMPLES):
        if not getattr(model, "built", False):
            raise ValueError("InferencePlan needs a built model: call model.build(input_shape) "
                             "or run it once first.")
        self.model = model
        self.chunk = validation.check_positive_int(chunk, "chunk")
        self.steps = _plan(model.layers)

    def run(self, x: Array) -> Array:
        """The outputs for an already validated batch of the model's dtype, chunk by chunk."""
        global _controller
        if len(x) < SMALL_BATCH:
            if _controller is None:
                _controller = ThreadpoolController()
            with _controller.limit(limits=1, user_api="blas"):
                return self._run_chunk(x)
        if len(x) <= self.chunk:
            return self._run_chunk(x)
        parts = [self._run_chunk(x[a:a + self.chunk]) for a in range(0, len(x), self.chunk)]
        return np.concatenate(parts, axis=0)

    def _run_chunk(self, h: Array) -> Array:
        for step in self.steps:
            h = step(h)
        return h

    def predict(self, x, batch_size: int | None = None) -> Array:
        """Like Sequential.predict: ``batch_size`` only bounds the chunk (default ``chunk``)."""
        x = validation.as_numeric_array(x, "predict: x")
        validation.check_features(x, self.model.input_shape, "predict: x")
        if batch_size is not None:
            validation.check_positive_int(batch_size, "batch_size")
        x = x.astype(self.model.dtype, copy=False)
        chunk = self.chunk if batch_size is None else min(self.chunk, batch_size)
        if chunk == self.chunk:
            return self.run(x)
        return np.concatenate([self.run(x[a:a + chunk]) for a in range(0, len(x), chunk)])
