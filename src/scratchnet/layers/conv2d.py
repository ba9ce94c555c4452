"""Conv2D: 2-D convolution (cross-correlation, as in Keras) over channels-last images."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from ..ops.conv import conv2d_backward, conv2d_forward
from ..ops.im2col import PADDINGS, output_size, pad_spatial, padding_amounts
from ..ops.winograd import Pads, winograd_backward, winograd_conv3x3
from ..ops.winograd_pool import pools_exactly, winograd_relu_max_pool2x2
from .base import ActivatedLayer, Array, Backward, _positive_int_pair

# Winograd F(2x2, 3x3) is used for 3x3 stride-1 kernels with at least this many input channels:
# below it the transforms cost more than the GEMM work they save (measured on 2 threads, batch
# 128, forward + backward: C=8 1.2x slower, C=16 even, C=32 1.3x and C=64 1.45x faster).
WINOGRAD_MIN_CHANNELS = 32


class Conv2D(ActivatedLayer):
    """2-D convolution layer.

    Input shape: (N, H, W, C). Output shape: (N, OH, OW, filters) where OH = floor((H - kh) / sh)
    + 1 for "valid" and ceil(H / sh) for "same" (Keras rules; the extra padding row/column goes
    bottom/right). Weights (Keras layout and order): kernel (kh, kw, C, filters), bias (filters,).

    Kernels: im2col + GEMM (ops/conv.py) in general. A 3x3 stride-1 kernel with C >=
    WINOGRAD_MIN_CHANNELS computes the output and both gradients with Winograd F(2x2, 3x3)
    instead (ops/winograd.py: 2.25x fewer multiplies; the same values to float rounding).
    """
    can_skip_input_gradient = True   # forward_linear(..., input_gradient=False): see base.py
    fused_activations = (activations.RELU,)   # forward_linear(..., activation=RELU): base.py

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any):
        super().__init__(activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"Conv2D filters must be a positive integer, got {filters!r}")
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in PADDINGS:
            raise ValueError(f"Conv2D padding must be one of {PADDINGS}, got {padding!r}")
        self.filters = int(filters)
        self.kernel_size = _positive_int_pair(kernel_size, "Conv2D kernel_size")
        self.strides = _positive_int_pair(strides, "Conv2D strides")
        self.padding = padding

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"Conv2D expects inputs of shape (N, H, W, C), got per-sample shape "
                             f"{tuple(input_shape)} (rank {len(input_shape) + 1} with the batch).")
        (kh, kw), (h, w) = self.kernel_size, input_shape[:2]
        if self.padding == "valid" and (kh > h or kw > w):
            raise ValueError(f"Conv2D kernel {self.kernel_size} is larger than its input "
                             f"{(h, w)} with padding='valid'; use a smaller kernel or 'same'.")
        self.add_weight("kernel", (kh, kw, input_shape[2], self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        h, w, _ = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (output_size(h, kh, sh, self.padding), output_size(w, kw, sw, self.padding),
                self.filters)

    def _pads(self, x_shape: tuple[int, ...]) -> Pads:
        (kh, kw), strides = self.kernel_size, self.strides
        return (padding_amounts(x_shape[1], kh, strides[0], self.padding),
                padding_amounts(x_shape[2], kw, strides[1], self.padding))

    def _uses_winograd(self, channels: int) -> bool:
        return (self.kernel_size == (3, 3) and self.strides == (1, 1)
                and channels >= WINOGRAD_MIN_CHANNELS)

    def forward_linear(self, x: Array, training: bool = False, input_gradient: bool = True,
                       activation: Any = None) -> tuple[Array, Backward]:
        strides = self.strides
        _, h, w, c = x.shape
        pads = self._pads(x.shape)
        kernel, bias = self.params["kernel"], self.params.get("bias")
        winograd = self._uses_winograd(c)
        relu = activation is activations.RELU   # else None: see fused_activations
        if winograd:
            return self._winograd_forward(x, kernel, bias, pads, input_gradient, relu)
        xp = pad_spatial(x, *pads)
        z = conv2d_forward(xp, kernel, bias, strides, relu)

        def backward(grad_z: Array) -> Array:
            grad_xp, grad_k, grad_b = conv2d_backward(grad_z, xp, kernel, strides, self.use_bias,
                                                      input_gradient, z if relu else None)
            self._set_grads(grad_k, grad_b)
            if grad_xp is None:
                return None
            (top, _), (left, _) = pads
            return grad_xp[:, top:top + h, left:left + w, :]
        return z, backward

    def _winograd_forward(self, x: Array, kernel: Array, bias: Array | None, pads: Pads,
                          input_gradient: bool, relu: bool) -> tuple[Array, Backward]:
        """The 3x3 stride-1 path: padding is applied per sub-batch inside the kernels."""
        z = winograd_conv3x3(x, kernel, bias, pads, relu)

        def backward(grad_z: Array) -> Array:
            grad_x, grad_k, grad_b = winograd_backward(x, grad_z, kernel, pads, self.use_bias,
                                                       input_gradient, z if relu else None)
            self._set_grads(grad_k, grad_b)
            return grad_x
        return z, backward

    def relu_max_pool2x2(self, x: Array, training: bool = False, input_gradient: bool = True
                         ) -> tuple[Array, Backward] | None:
        """MaxPooling2D(2)(relu(forward_linear(x))) in one Winograd pass, the same numbers
        (ops.winograd_pool.winograd_relu_max_pool2x2), or None where that path does not apply (not
        the Winograd path, or an odd output size). Used by fusion.relu_max_pool.

        Input shape: (N, H, W, C). Output shape: (N, OH // 2, OW // 2, filters).
        """
        pads = self._pads(x.shape)
        if not (self._uses_winograd(x.shape[3]) and pools_exactly(x.shape, pads)):
            return None
        kernel, bias = self.params["kernel"], self.params.get("bias")
        y, winner = winograd_relu_max_pool2x2(x, kernel, bias, pads, record_winner=training)

        def backward(grad_y: Array) -> Array:
            won = winner if winner is not None else winograd_relu_max_pool2x2(
                x, kernel, bias, pads, record_winner=True)[1]   # inference: found when asked
            grad_x, grad_k, grad_b = winograd_backward(x, grad_y, kernel, pads, self.use_bias,
                                                       input_gradient, pool_winner=won)
            self._set_grads(grad_k, grad_b)
            return grad_x
        return y, backward

    def _set_grads(self, grad_k: Array, grad_b: Array | None) -> None:
        self.grads["kernel"][...] = grad_k
        if self.use_bias:
            self.grads["bias"][...] = grad_b

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding}
