"""Conv2D: 2-D convolution (cross-correlation, as in Keras) over channels-last images."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.conv import conv2d, conv_pads
from ..ops.im2col import PADDINGS, output_size
from .base import ActivatedLayer, Array, Backward, _positive_int_pair, builtin_layer


@builtin_layer
class Conv2D(ActivatedLayer):
    """2-D convolution layer.

    Input shape: (N, H, W, C). Output shape: (N, OH, OW, filters) where OH = floor((H - kh) / sh)
    + 1 for "valid" and ceil(H / sh) for "same" (Keras rules; the extra padding row/column goes
    bottom/right). Weights (Keras layout and order): kernel (kh, kw, C, filters), bias (filters,).

    The op ``ops.conv.conv2d`` chooses the kernel (reference loops, im2col + GEMM, Winograd)
    and computes z and, in backward, the input and kernel gradients. In a model the runner may
    run this layer inside a fused step (``scratchnet.fusion``: the ReLU in the kernel, a max
    pool in the Winograd transform), which computes these very numbers.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 dilation_rate: Any = (1, 1), **kwargs: Any):
        # Keras's argument, accepted at its default: dilated kernels have no reference and fast
        # kernel here yet, so anything else is refused rather than silently ignored.
        if _positive_int_pair(dilation_rate, "Conv2D dilation_rate") != (1, 1):
            raise NotImplementedError(f"Conv2D dilation_rate other than 1 is not supported yet: "
                                      f"expected 1 or (1, 1), got {dilation_rate!r}")
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

    def forward_linear(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        """z = conv(x, kernel) + bias. Input (N, H, W, C) -> z (N, OH, OW, filters)."""
        pads = conv_pads(x.shape, self.kernel_size, self.strides, self.padding)
        z, gradients = conv2d(x, self.params["kernel"], self.params.get("bias"), self.strides,
                              pads)

        def backward(grad_z: Array) -> Array:
            grad_x, grad_kernel, grad_bias = gradients(grad_z)
            self.grads["kernel"][...] = grad_kernel
            if self.use_bias:
                self.grads["bias"][...] = grad_bias
            return grad_x
        return z, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding}
