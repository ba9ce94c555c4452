"""Explicit fusions of adjacent layers that a Sequential model applies when it runs them.

Like ``losses.fused_loss`` (softmax + cross-entropy), a fusion here computes exactly what the
layers compute one after the other (same outputs, same gradients), only faster; the layers
themselves stay unaware of it, and anything that runs layers one by one (probes, the doctor,
the profiler, a user) still gets the plain path.

- ReLU then non-overlapping max pooling: ``Dense``/``Conv2D`` with the built-in ReLU followed
  by ``MaxPooling2D`` whose windows tile its input. Max and ReLU commute, so the pool runs on
  the pre-activation and the ReLU on the pooled output (1/(ph*pw) of the data), inside the
  pooling kernel; the ReLU mask of the larger tensor is never formed (see ``ops.pool``).
  A Winograd ``Conv2D`` with an even output and a 2x2 pool goes further: each 2x2 output block
  of a Winograd tile is one pool window, so it pools inside the output transform and builds the
  backward's tile gradients from the pooled gradient (``Conv2D.relu_max_pool2x2``); the conv
  output is never written.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import activations
from .layers import ActivatedLayer, Conv2D, Layer, MaxPooling2D
from .ops.pool import maxpool_backward, maxpool_forward

Array = np.ndarray
Step = Callable[..., tuple[Array, Callable[[Array], Array]]]


def relu_max_pool(first: Layer, second: Layer) -> Step | None:
    """A forward ``(x, training, input_gradient=True) -> (y, backward)`` computing
    ``second(first(x))``, when the pair is a built-in ReLU layer followed by a built-in
    non-overlapping MaxPooling2D; None for any other pair (custom forwards are never bypassed).
    """
    if not (isinstance(first, ActivatedLayer) and type(first).forward is ActivatedLayer.forward
            and first.activation is activations.RELU and isinstance(second, MaxPooling2D)
            and type(second).forward is MaxPooling2D.forward and first.output_shape is not None
            and second.tiles_input(*first.output_shape[:2])):
        return None
    pool = second.pool_size
    in_conv = (isinstance(first, Conv2D) and pool == (2, 2)
               and type(first).forward_linear is Conv2D.forward_linear)

    def forward(x: Array, training: bool = False,
                input_gradient: bool = True) -> tuple[Array, Callable[[Array], Array]]:
        fused = first.relu_max_pool2x2(x, training, input_gradient) if in_conv else None
        if fused is not None:
            return fused
        z, backward_linear = (first.forward_linear(x, training) if input_gradient
                              else first.forward_linear(x, training, input_gradient=False))
        y, winner = maxpool_forward(z, pool, record_winner=training, relu=True)
        z_kept = None if training else z     # inference finds winners only if asked
        z_shape = z.shape

        def backward(grad_y: Array) -> Array:
            won = winner if winner is not None else maxpool_forward(z_kept, pool, relu=True)[1]
            return backward_linear(maxpool_backward(won, grad_y, z_shape, pool))
        return y, backward
    return forward
