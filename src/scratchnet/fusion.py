"""The fusions the runner may apply: explicit rules over adjacent built-in layers.

Like ``losses.fused_loss`` (softmax + cross-entropy), a fused step computes exactly what the
layers compute one after the other: the same outputs and the same gradients, bit for bit (tests
compare every rule with the layers run one by one), with less work. The layers know nothing of
these rules; the rules read the layers' public settings and weights, call the ops, and fill the
layers' ``grads``. Custom layers, and subclasses overriding ``forward`` or ``forward_linear``,
are never fused. Rules are tried in ``RULES`` order at each position; the first match wins.

- ``conv_relu_max_pool2x2``: Conv2D(relu) -> MaxPooling2D(2x2) on the Winograd path with an
  even conv output: each 2x2 output block of a Winograd tile is one pool window, pooled inside
  the output transform (``ops.conv.conv2d_relu_max_pool2x2``); the conv output is never written.
- ``affine_relu_max_pool``: Dense/Conv2D(relu) -> MaxPooling2D whose windows tile its input.
  Max and ReLU commute, so the pool runs on the pre-activation and the ReLU on the pooled output
  (1/(ph*pw) of the data); the ReLU mask of the larger tensor is never formed.
- ``affine_relu``: Dense/Conv2D(relu) alone: the ReLU runs inside the op (in cache, in place).
- ``affine``: any built-in Dense/Conv2D, used only where the runner skips its input gradient
  (the first layer with weights in training): the op is asked for the weight gradients alone.

Inference rules (``match(..., inference=True)``, the runner's inference plan): steps that
return the output alone, nothing kept for a backward (no pool winners, no ReLU masks); their
backward raises. Not bit-exact with training's kernels (F(4x4) Winograd rounds differently):
tests check them against the reference kernels.

- ``conv_block_inference``: Conv2D(relu) -> Conv2D(relu) -> MaxPooling2D(2x2), the VGG block
  of the Keras MNIST CNN: the first conv small (a patch of at most 75 values, not on the
  Winograd path), the second on it; both convs and the pool run sample block by sample block
  on each thread through prepared NumPy calls (``ops.conv_block``), the first conv's output
  never leaving the cache.
- ``conv_relu_max_pool2x2_inference``: Conv2D(relu) -> MaxPooling2D(2x2) on the Winograd path
  in one F(4x4) pass, pool and ReLU inside the output transform (any conv output size).
- ``conv_inference``: a Winograd-path Conv2D alone, on F(4x4) (its activation after).
- ``dropout_inference``: a built-in Dropout passes its input through unchanged.

Every step also takes ``input_gradient``: False computes the weight gradients only and the
backward returns None (the runner asks this of the first layer with weights, whose input
gradient nobody reads). With the reference kernels (``ops.kernels``) no rule applies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import activations
from .layers import ActivatedLayer, Conv2D, Dense, Dropout, Layer, MaxPooling2D
from .ops import kernels
from .ops.conv import (
    conv2d,
    conv2d_inference,
    conv2d_relu_max_pool2x2,
    conv2d_relu_max_pool2x2_inference,
    conv_pads,
    pools_in_winograd,
    pools_in_winograd4,
    stem_of_block,
    uses_winograd,
)
from .ops.conv_block import ConvBlock, Stem
from .ops.dense import dense
from .ops.inference import TransformedKernel
from .ops.pool import max_pool2d, tiles

Array = np.ndarray
Backward = Callable[[Array], Array | None]
Step = Callable[[Array, bool, bool], tuple[Array, Backward]]   # (x, training, input_gradient)


@dataclass(frozen=True)
class Fused:
    """A rule's step: it replaces the next ``size`` layers."""
    rule: str
    size: int
    run: Step


def plain_affine(layer: Layer) -> bool:
    """A built-in Dense or Conv2D running its own forward (not a subclass changing it)."""
    kind = type(layer)
    return (isinstance(layer, (Dense, Conv2D)) and kind.forward is ActivatedLayer.forward
            and kind.forward_linear in (Dense.forward_linear, Conv2D.forward_linear))


def _relu(layer: Layer) -> bool:
    return plain_affine(layer) and layer.activation is activations.RELU


def _tiling_pool(layer: Layer, input_shape: tuple[int, ...] | None) -> bool:
    return (isinstance(layer, MaxPooling2D) and type(layer).forward is MaxPooling2D.forward
            and input_shape is not None
            and tiles(layer.pool_size, layer.strides, layer.paddings(*input_shape[:2])))


def _store(layer: Layer, grad_kernel: Array, grad_bias: Array | None) -> None:
    layer.grads["kernel"][...] = grad_kernel
    if layer.use_bias:
        layer.grads["bias"][...] = grad_bias


def affine_op(layer: Layer, x: Array, relu: bool, input_gradient: bool
              ) -> tuple[Array, Backward]:
    """The pre-activation (``relu``: its ReLU) of a built-in Dense/Conv2D through its op, and a
    backward filling the layer's grads and returning grad_x (None without ``input_gradient``)."""
    bias = layer.params.get("bias")
    if isinstance(layer, Conv2D):
        pads = conv_pads(x.shape, layer.kernel_size, layer.strides, layer.padding)
        z, gradients = conv2d(x, layer.params["kernel"], bias, layer.strides, pads, relu)
        out_shape = z.shape
    else:
        z, gradients = dense(x.reshape(-1, x.shape[-1]), layer.params["kernel"], bias, relu)
        out_shape = (*x.shape[:-1], layer.units)

    def backward(grad: Array) -> Array | None:
        grad_x, grad_kernel, grad_bias = gradients(grad.reshape(z.shape), input_gradient)
        _store(layer, grad_kernel, grad_bias)
        return None if grad_x is None else grad_x.reshape(x.shape)
    return z.reshape(out_shape), backward


def affine_step(layer: Layer, activation: activations.Activation | None) -> Step:
    """A built-in Dense/Conv2D followed by ``activation`` (None: the pre-activation alone)."""
    def run(x: Array, training: bool, input_gradient: bool) -> tuple[Array, Backward]:
        z, backward_linear = affine_op(layer, x, False, input_gradient)
        if activation is None:
            return z, backward_linear
        y = activation(z)
        return y, lambda grad_y: backward_linear(activation.backward(z, y, grad_y))
    return run


def conv_relu_max_pool2x2(layers: Sequence[Layer]) -> Fused | None:
    if len(layers) < 2 or not (isinstance(layers[0], Conv2D) and _relu(layers[0])):
        return None
    conv, pool = layers[0], layers[1]
    if not (_tiling_pool(pool, conv.output_shape) and pool.pool_size == (2, 2)):
        return None
    x_shape = (1, *conv.input_shape)
    pads = conv_pads(x_shape, conv.kernel_size, conv.strides, conv.padding)
    if not pools_in_winograd(x_shape, conv.params["kernel"].shape, conv.strides, pads):
        return None

    def run(x: Array, training: bool, input_gradient: bool) -> tuple[Array, Backward]:
        y, gradients = conv2d_relu_max_pool2x2(x, conv.params["kernel"], conv.params.get("bias"),
                                               pads, training)

        def backward(grad_y: Array) -> Array | None:
            grad_x, grad_kernel, grad_bias = gradients(grad_y, input_gradient)
            _store(conv, grad_kernel, grad_bias)
            return grad_x
        return y, backward
    return Fused("conv_relu_max_pool2x2", 2, run)


def affine_relu_max_pool(layers: Sequence[Layer]) -> Fused | None:
    if len(layers) < 2 or not (_relu(layers[0])
                               and _tiling_pool(layers[1], layers[0].output_shape)):
        return None
    first, pool = layers[0], layers[1]

    def run(x: Array, training: bool, input_gradient: bool) -> tuple[Array, Backward]:
        z, backward_linear = affine_op(first, x, False, input_gradient)
        y, backward_pool = max_pool2d(z, pool.pool_size, pool.strides, ((0, 0), (0, 0)),
                                      training, relu=True)
        return y, lambda grad_y: backward_linear(backward_pool(grad_y))
    return Fused("affine_relu_max_pool", 2, run)


def affine_relu(layers: Sequence[Layer]) -> Fused | None:
    if not (layers and _relu(layers[0])):
        return None
    layer = layers[0]

    def run(x: Array, training: bool, input_gradient: bool) -> tuple[Array, Backward]:
        return affine_op(layer, x, True, input_gradient)
    return Fused("affine_relu", 1, run)


def no_backward(grad: Array) -> Array | None:
    raise RuntimeError("an inference step keeps nothing for a backward pass: run the model "
                       "with Runner.forward (model.forward) to differentiate it")


def _pooled_winograd(layers: Sequence[Layer]) -> bool:
    """Conv2D(relu) -> MaxPooling2D(2x2) on the F(4x4) Winograd path."""
    if len(layers) < 2 or not (isinstance(layers[0], Conv2D) and _relu(layers[0])):
        return False
    conv, pool = layers[0], layers[1]
    return (_tiling_pool(pool, conv.output_shape) and pool.pool_size == (2, 2)
            and pools_in_winograd4(conv.params["kernel"].shape, conv.strides))


def conv_block_inference(layers: Sequence[Layer]) -> Fused | None:
    if not (len(layers) >= 3 and isinstance(layers[0], Conv2D) and _relu(layers[0])
            and stem_of_block(layers[0].params["kernel"].shape, layers[0].strides)
            and _pooled_winograd(layers[1:])):
        return None
    first, conv, block = layers[0], layers[1], ConvBlock()

    def run(x: Array, training: bool, input_gradient: bool) -> tuple[Array, Backward]:
        stem_pads = conv_pads(x.shape, first.kernel_size, first.strides, first.padding)
        stem = Stem(first.params["kernel"], first.params.get("bias"), first.strides, stem_pads)
        between = (len(x), *first.compute_output_shape(x.shape[1:]))
        pads = conv_pads(between, conv.kernel_size, conv.strides, conv.padding)
        return conv2d_relu_max_pool2x2_inference(x, conv.params["kernel"],
                                                 conv.params.get("bias"), pads, block,
                                                 stem), no_backward
    return Fused("conv_block_inference", 3, run)


def conv_relu_max_pool2x2_inference(layers: Sequence[Layer]) -> Fused | None:
    if not _pooled_winograd(layers):
        return None
    conv, block = layers[0], ConvBlock()

    def run(x: Array, training: bool, input_gradient: bool) -> tuple[Array, Backward]:
        pads = conv_pads(x.shape, conv.kernel_size, conv.strides, conv.padding)
        return conv2d_relu_max_pool2x2_inference(x, conv.params["kernel"],
                                                 conv.params.get("bias"), pads,
                                                 block), no_backward
    return Fused("conv_relu_max_pool2x2_inference", 2, run)


def conv_inference(layers: Sequence[Layer]) -> Fused | None:
    if not (layers and isinstance(layers[0], Conv2D) and plain_affine(layers[0])
            and uses_winograd(layers[0].params["kernel"].shape, layers[0].strides)):
        return None
    conv, transformed = layers[0], TransformedKernel()
    relu = conv.activation is activations.RELU

    def run(x: Array, training: bool, input_gradient: bool) -> tuple[Array, Backward]:
        pads = conv_pads(x.shape, conv.kernel_size, conv.strides, conv.padding)
        z = conv2d_inference(x, conv.params["kernel"], conv.params.get("bias"), conv.strides,
                             pads, relu, transformed)
        return (z if relu else conv.activation(z)), no_backward
    return Fused("conv_inference", 1, run)


def dropout_inference(layers: Sequence[Layer]) -> Fused | None:
    if not (layers and type(layers[0]) is Dropout):
        return None
    return Fused("dropout_inference", 1, lambda x, training, input_gradient: (x, no_backward))


RULES: tuple[Callable[[Sequence[Layer]], Fused | None], ...] = (
    conv_relu_max_pool2x2, affine_relu_max_pool, affine_relu)
INFERENCE_RULES: tuple[Callable[[Sequence[Layer]], Fused | None], ...] = (
    conv_block_inference, conv_relu_max_pool2x2_inference, conv_inference, dropout_inference,
    *RULES)


def match(layers: Sequence[Layer], *, multi_layer: bool = True,
          inference: bool = False) -> Fused | None:
    """The first rule matching the start of ``layers`` (only one-layer rules when not
    ``multi_layer``; INFERENCE_RULES with ``inference``); None with the reference kernels or
    when no rule matches."""
    if kernels.reference():
        return None
    for rule in (INFERENCE_RULES if inference else RULES):
        fused = rule(layers if multi_layer else layers[:1])
        if fused is not None:
            return fused
    return None
