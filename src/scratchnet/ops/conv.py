"""conv2d: the one dispatch point of the convolution (forward, input and kernel gradient).

``conv2d(x, kernel, bias, strides, pads)`` returns ``(z, gradients)``; ``gradients(grad_z,
input_gradient=True)`` returns ``(grad_x, grad_kernel, grad_bias)`` from the same kernel family
as the forward (grad_x None when not asked for, grad_bias None without a bias). Kernels:

- reference (``ops.reference``): one matrix product per kernel offset, plain NumPy;
- Winograd F(2x2, 3x3) (``ops.winograd``) for 3x3 stride-1 kernels with at least
  WINOGRAD_MIN_CHANNELS input channels; padding applied per sub-batch inside the kernels;
- Winograd F(4x4, 3x3) (``ops.winograd4``) in their place where WINOGRAD_TILE says so;
- im2col + GEMM (``ops.conv_gemm``) for everything else.

Inference (the runner's inference plan, nothing kept for a backward): ``conv2d_inference``
runs the Winograd convs on F(4x4) with the kernel's transform cached by the caller
(``ops.inference.TransformedKernel``); ``conv2d_relu_max_pool2x2_inference`` runs a conv block
(``ops.conv_block``): an optional small stem conv + ReLU, then the 3x3 conv on F(4x4) with ReLU
+ 2x2 max pooling inside the output transform, block by block through prepared NumPy calls.

``relu=True`` (used by ``scratchnet.fusion``) returns max(z, 0), applied inside the kernel
while each sub-batch is in cache, and ``gradients`` then takes the gradient w.r.t. that output.
``conv2d_relu_max_pool2x2`` goes further (pooling inside the Winograd output transform).
Channels-last: x (N, H, W, C), kernel (kh, kw, C, F) as Keras.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import kernels, reference
from .conv_block import ConvBlock, Stem, stem_fits
from .conv_gemm import conv2d_backward, conv2d_forward
from .im2col import pad_spatial, padding_amounts
from .inference import TransformedKernel
from .winograd import Pads, winograd_backward, winograd_conv3x3
from .winograd4 import winograd4_backward, winograd4_conv3x3
from .winograd_pool import pools_exactly, winograd_relu_max_pool2x2

Array = np.ndarray
Gradients = Callable[..., tuple[Array | None, Array, Array | None]]

# Winograd F(2x2, 3x3) is used for 3x3 stride-1 kernels with at least this many input channels:
# below it the transforms cost more than the GEMM work they save (measured on 2 threads, batch
# 128, forward + backward: C=8 1.2x slower, C=16 even, C=32 1.3x and C=64 1.45x faster).
WINOGRAD_MIN_CHANNELS = 32
# The Winograd tile of training (4: F(4x4), 2: F(2x2)); the pooled training step keeps F(2x2)
# with the pool inside its output transform (conv2d_relu_max_pool2x2). Inference always runs
# F(4x4): 1.41x F(2x2) forward on conv2 of the MNIST CNN (benchmarks/results/
# inference_kernels.md). Training: an interleaved A/B of a whole MNIST-CNN training step
# (batch 128, 2 threads) put F(4x4) + max pool with winners at 1.01x and 1.08x (median of 14
# and 8 rounds, rounds 0.5-1.6x) of the pooled F(2x2): no clear win, so F(2x2) stays, with
# its bit-exact pooled path. WINOGRAD_TILE = 4 is tested (gradcheck, against reference).
WINOGRAD_TILE = 2


def conv_pads(x_shape: tuple[int, ...], kernel_size: tuple[int, int], strides: tuple[int, int],
              padding: str) -> Pads:
    """((top, bottom), (left, right)) of Keras's "valid" / "same" for inputs (N, H, W, C)."""
    return (padding_amounts(x_shape[1], kernel_size[0], strides[0], padding),
            padding_amounts(x_shape[2], kernel_size[1], strides[1], padding))


def uses_winograd(kernel_shape: tuple[int, ...], strides: tuple[int, int]) -> bool:
    """Whether the fast path of this kernel (kh, kw, C, F) is Winograd."""
    return (tuple(kernel_shape[:2]) == (3, 3) and tuple(strides) == (1, 1)
            and kernel_shape[2] >= WINOGRAD_MIN_CHANNELS)


def conv2d(x: Array, kernel: Array, bias: Array | None, strides: tuple[int, int], pads: Pads,
           relu: bool = False) -> tuple[Array, Gradients]:
    """z = conv(pad(x), kernel) + bias, (N, OH, OW, F), and its gradients (see the module)."""
    if kernels.reference():
        return _reference(x, kernel, bias, strides, pads, relu)
    use_bias = bias is not None
    if uses_winograd(kernel.shape, strides) and WINOGRAD_TILE == 4:
        z = winograd4_conv3x3(x, kernel, bias, pads, relu)

        def winograd4_gradients(grad_z: Array, input_gradient: bool = True):
            return winograd4_backward(x, grad_z, kernel, pads, use_bias, input_gradient,
                                      z if relu else None)
        return z, winograd4_gradients
    if uses_winograd(kernel.shape, strides):
        z = winograd_conv3x3(x, kernel, bias, pads, relu)

        def winograd_gradients(grad_z: Array, input_gradient: bool = True):
            return winograd_backward(x, grad_z, kernel, pads, use_bias, input_gradient,
                                     z if relu else None)
        return z, winograd_gradients
    xp = pad_spatial(x, *pads)
    z = conv2d_forward(xp, kernel, bias, strides, relu)

    def gemm_gradients(grad_z: Array, input_gradient: bool = True):
        grad_xp, grad_k, grad_b = conv2d_backward(grad_z, xp, kernel, strides, use_bias,
                                                  input_gradient, z if relu else None)
        return None if grad_xp is None else _crop(grad_xp, x.shape, pads), grad_k, grad_b
    return z, gemm_gradients


def _crop(grad_xp: Array, x_shape: tuple[int, ...], pads: Pads) -> Array:
    (top, _), (left, _) = pads
    return grad_xp[:, top:top + x_shape[1], left:left + x_shape[2], :]


def _reference(x: Array, kernel: Array, bias: Array | None, strides: tuple[int, int],
               pads: Pads, relu: bool) -> tuple[Array, Gradients]:
    xp = pad_spatial(x, *pads)
    z = reference.conv2d(xp, kernel, strides)
    if bias is not None:
        z += bias
    if relu:
        z = reference.relu(z)

    def gradients(grad_z: Array, input_gradient: bool = True):
        if relu:
            grad_z = reference.relu_backward_from_output(z, grad_z)
        grad_k = reference.conv2d_kernel_grad(xp, grad_z, kernel.shape, strides)
        grad_b = grad_z.sum(axis=(0, 1, 2)) if bias is not None else None
        grad_x = None
        if input_gradient:
            grad_xp = reference.conv2d_input_grad(grad_z, kernel, xp.shape, strides)
            grad_x = _crop(grad_xp, x.shape, pads)
        return grad_x, grad_k, grad_b
    return z, gradients


def pools_in_winograd(x_shape: tuple[int, ...], kernel_shape: tuple[int, ...],
                      strides: tuple[int, int], pads: Pads) -> bool:
    """Whether conv2d_relu_max_pool2x2 applies: fast kernels, the Winograd path, and an even
    conv output (each 2x2 output block of a Winograd tile is then one pool window)."""
    return (not kernels.reference() and uses_winograd(kernel_shape, strides)
            and WINOGRAD_TILE == 2 and pools_exactly(x_shape, pads))


def conv2d_relu_max_pool2x2(x: Array, kernel: Array, bias: Array | None, pads: Pads,
                            training: bool) -> tuple[Array, Gradients]:
    """max_pool2x2(relu(conv2d(x))) in one Winograd pass, the very numbers of the three steps
    (``ops.winograd_pool``); only where ``pools_in_winograd``. Output: (N, OH/2, OW/2, F).
    Training records each window's winner; inference finds it if a backward is asked for."""
    y, winner = winograd_relu_max_pool2x2(x, kernel, bias, pads, record_winner=training)

    def gradients(grad_y: Array, input_gradient: bool = True):
        won = winner if winner is not None else winograd_relu_max_pool2x2(
            x, kernel, bias, pads, record_winner=True)[1]
        return winograd_backward(x, grad_y, kernel, pads, bias is not None, input_gradient,
                                 pool_winner=won)
    return y, gradients


def conv2d_inference(x: Array, kernel: Array, bias: Array | None, strides: tuple[int, int],
                     pads: Pads, relu: bool, transformed: TransformedKernel) -> Array:
    """conv2d's output alone (max(z, 0) with ``relu``), nothing kept for a backward: F(4x4)
    Winograd with the kernel transform from ``transformed`` where uses_winograd, else the
    training forward's kernels. The reference kernels with SCRATCHNET_KERNELS=reference."""
    if not kernels.reference() and uses_winograd(kernel.shape, strides):
        return winograd4_conv3x3(x, kernel, bias, pads, relu, u=transformed(kernel))
    return conv2d(x, kernel, bias, strides, pads, relu)[0]


def pools_in_winograd4(kernel_shape: tuple[int, ...], strides: tuple[int, int]) -> bool:
    """Whether conv2d_relu_max_pool2x2_inference applies (fast kernels, the Winograd path);
    any conv output size: 2x2 "valid" pooling drops a trailing odd row or column."""
    return not kernels.reference() and uses_winograd(kernel_shape, strides)


def stem_of_block(kernel_shape: tuple[int, ...], strides: tuple[int, int]) -> bool:
    """Whether a conv (relu) in front of a ``pools_in_winograd4`` conv runs inside its block:
    fast kernels, not itself on the Winograd path, a small patch (``conv_block.stem_fits``)."""
    return (not kernels.reference() and not uses_winograd(kernel_shape, strides)
            and stem_fits(kernel_shape))


def conv2d_relu_max_pool2x2_inference(x: Array, kernel: Array, bias: Array | None, pads: Pads,
                                      block: ConvBlock, stem: Stem | None = None) -> Array:
    """max_pool2x2(relu(conv2d(x))) in one F(4x4) Winograd pass, no winners recorded; only
    where ``pools_in_winograd4``. With ``stem`` (only where ``stem_of_block``), x first goes
    through relu(stem conv) inside the same pass. Output: (N, OH // 2, OW // 2, F). ``block``
    keeps the scratch buffers and kernel transforms of one fused step between calls."""
    return block(x, kernel, bias, pads, stem)
