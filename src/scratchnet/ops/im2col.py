"""Patch extraction (im2col) and its adjoint (col2im) for channels-last images.

Layout: images are (N, H, W, C); a patch row is ordered (kh, kw, C), which is exactly the Keras
kernel layout (kh, kw, in, out) flattened, so ``im2col(x) @ kernel.reshape(-1, out)`` is a
convolution. Stateless and tested against naive loops.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

Array = np.ndarray
PADDINGS = ("valid", "same")   # Keras's padding modes for convolutions and pooling


def output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Keras: "valid" -> floor((size - kernel) / stride) + 1; "same" -> ceil(size / stride)."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def padding_amounts(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(before, after) padding; for "same" the extra row/column goes after (bottom/right)."""
    if padding != "same":
        return 0, 0
    total = max((output_size(size, kernel, stride, "same") - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_spatial(x: Array, pad_h: tuple[int, int], pad_w: tuple[int, int],
                value: float = 0.0) -> Array:
    """Pad axes 1 and 2 of (N, H, W, C); returns x itself when there is nothing to pad."""
    if pad_h == (0, 0) and pad_w == (0, 0):
        return x
    return np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)), constant_values=value)


def patches(x: Array, kh: int, kw: int, sh: int, sw: int) -> Array:
    """A read-only strided view (N, OH, OW, kh, kw, C) of every window of x; copies nothing."""
    n, h, w, c = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s_n, s_h, s_w, s_c = x.strides
    return as_strided(x, shape=(n, oh, ow, kh, kw, c),
                      strides=(s_n, s_h * sh, s_w * sw, s_h, s_w, s_c), writeable=False)


def im2col(x: Array, kh: int, kw: int, sh: int, sw: int) -> Array:
    """Windows of x (N, H, W, C) as rows: (N*OH*OW, kh*kw*C), each row ordered (kh, kw, C)."""
    view = patches(x, kh, kw, sh, sw)
    n, oh, ow = view.shape[:3]
    return view.reshape(n * oh * ow, kh * kw * x.shape[3])


def col2im(cols: Array, x_shape: tuple[int, int, int, int], kh: int, kw: int,
           sh: int, sw: int) -> Array:
    """Adjoint of im2col: sum each row's entries back onto the pixels they came from.

    cols: (N*OH*OW, kh*kw*C) -> (N, H, W, C). One strided slice-add per kernel offset (kh*kw of
    them), each vectorised over the batch, so no element-wise scatter (np.add.at) is needed.
    """
    n, h, w, c = x_shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    blocks = cols.reshape(n, oh, ow, kh, kw, c)
    out = np.zeros(x_shape, dtype=cols.dtype)
    for i in range(kh):
        rows = slice(i, i + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            out[:, rows, j:j + sw * (ow - 1) + 1:sw, :] += blocks[:, :, :, i, j, :]
    return out
