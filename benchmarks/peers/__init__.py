"""One adapter per framework for the peer benchmark (benchmarks/bench.py).

Each adapter module has ``make(weights, variant) -> Peer``: the Keras MNIST CNN in that
framework, built from the same initial weights (Keras layout, scratchnet's seed-0 init, passed as
a list of arrays), trained with the same recipe (batch 128, dropout on, Adadelta lr=1.0,
rho=0.95, eps=1e-7, cross-entropy on softmax). A Peer turns the NHWC float32 inputs into its own
native form once, outside the timed calls (a user of that framework holds their data that way),
then times only ``train_step`` and ``predict``.

The adapters are imported only inside the worker process of their framework, so no framework
is ever loaded beside another one (measured alone, as its users run it).
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Peer(Protocol):
    def set_train_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        """x: (N, 28, 28, 1) float32, y: (N, 10) one-hot float32."""

    def train_step(self) -> None:
        """One optimizer step on the batch given to set_train_batch."""

    def native(self, x: np.ndarray) -> Any:
        """x (N, 28, 28, 1) in the framework's own input form (layout, device, type)."""

    def predict(self, x_native: Any, batch_size: int) -> Any:
        """Class probabilities for x in inference mode, ``batch_size`` samples per call."""


def keras_weights_to_oihw(kernel: np.ndarray) -> np.ndarray:
    """Keras conv kernel (kh, kw, in, out) -> PyTorch/ONNX (out, in, kh, kw)."""
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))


def dense_rows_hwc_to_chw(kernel: np.ndarray, h: int, w: int, c: int) -> np.ndarray:
    """Keras flattens (H, W, C), PyTorch (C, H, W): reorder the dense kernel's input rows."""
    return kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
