"""Arrays to the page's JSON: images as base64 uint8 with the value range they were scaled from.

A view is a dict with ``kind``:
- ``maps``: (C, H, W) uint8 channel images (Conv2D, pooling); ``lo``/``hi`` map 0/255 back.
- ``bars``: a short vector (Dense), as float values.
- ``strip``: a long vector (Flatten of a big map) laid out as one (H, W) uint8 image.
Signed images (filters, saliency) are scaled symmetrically: 0 is -limit, 255 is +limit.
"""
from __future__ import annotations

import base64
from typing import Any

import numpy as np

Array = np.ndarray
MAX_BARS = 512          # vectors longer than this are drawn as an image, not as bars
MAX_FILTERS = 64


def b64_uint8(values: Array, lo: float, hi: float) -> str:
    span = hi - lo
    scaled = (values - lo) * (255.0 / span) if span > 0 else np.zeros_like(values)
    return base64.b64encode(np.clip(np.rint(scaled), 0, 255).astype(np.uint8).tobytes()).decode()


def _range(values: Array) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    return min(0.0, float(finite.min())), max(float(finite.max()), 0.0)


def units_of(output_shape: tuple[int, ...]) -> int:
    """How many units a layer's view shows: channels of an image-like output, else its size."""
    return int(output_shape[-1]) if len(output_shape) == 3 else int(np.prod(output_shape))


def layer_view(output: Array) -> dict[str, Any]:
    """One sample's layer output (no batch axis) as a view."""
    lo, hi = _range(output)
    if output.ndim == 3:
        height, width, channels = output.shape
        return {"kind": "maps", "height": height, "width": width, "channels": channels,
                "lo": lo, "hi": hi, "data": b64_uint8(output.transpose(2, 0, 1), lo, hi)}
    flat = output.reshape(-1)
    if flat.size <= MAX_BARS:
        return {"kind": "bars", "lo": lo, "hi": hi,
                "values": [round(float(v), 5) for v in flat]}
    width = int(np.ceil(np.sqrt(flat.size)))
    height = int(np.ceil(flat.size / width))
    padded = np.full(height * width, lo, dtype=np.float64)
    padded[:flat.size] = flat
    return {"kind": "strip", "height": height, "width": width, "units": int(flat.size),
            "lo": lo, "hi": hi, "data": b64_uint8(padded, lo, hi)}


def signed_image(values: Array) -> dict[str, Any]:
    """A signed (H, W) or (K, H, W) array, scaled so that 0 stays mid-grey."""
    limit = float(np.abs(values).max()) if values.size else 0.0
    limit = limit or 1.0
    return {"limit": limit, "data": b64_uint8(values, -limit, limit)}


def first_layer_filters(model: Any, size: tuple[int, int]) -> dict[str, Any] | None:
    """The first Conv2D's kernels (first input channel), or the first Dense's weights as input
    images when it reads the whole image (an MLP); None when there is neither."""
    for layer in model.layers:
        kernel = getattr(layer, "params", {}).get("kernel")
        if kernel is None:
            continue
        if kernel.ndim == 4:
            filters = kernel[:, :, 0, :MAX_FILTERS].transpose(2, 0, 1)
        elif kernel.ndim == 2 and kernel.shape[0] == size[0] * size[1]:
            filters = kernel[:, :MAX_FILTERS].T.reshape(-1, *size)
        else:
            return None
        return {"layer": layer.name, "count": int(filters.shape[0]),
                "total": int(kernel.shape[-1]), "height": int(filters.shape[1]),
                "width": int(filters.shape[2]), **signed_image(filters)}
    return None


def gray_image(image: Array) -> str:
    """A (H, W) image in [0, 1] as base64 uint8."""
    return b64_uint8(np.asarray(image, dtype=np.float64), 0.0, 1.0)


def dead_units(outputs_per_batch: list[list[Array]]) -> list[list[int]]:
    """Units (channels of image-like outputs) that are exactly zero for every sample and
    position, per layer. ``outputs_per_batch``: for each batch, every layer's output."""
    alive: list[Array] = []
    for outputs in outputs_per_batch:
        for index, output in enumerate(outputs):
            flat = output.reshape(len(output), -1, output.shape[-1]) if output.ndim == 4 \
                else output.reshape(len(output), 1, -1)
            nonzero = np.any(flat != 0, axis=(0, 1))
            if index == len(alive):
                alive.append(nonzero)
            else:
                alive[index] |= nonzero
    return [np.flatnonzero(~a).tolist() for a in alive]
