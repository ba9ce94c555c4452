"""Argument and shape checks shared by the channels-last image layers added for Keras code."""
from __future__ import annotations

from typing import Any


def check_channels_last(data_format: Any, layer: str) -> None:
    """Keras's ``data_format`` argument: None or "channels_last" (scratchnet's only layout)."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer} supports data_format='channels_last' (scratchnet is "
                         f"channels-last), got {data_format!r}")


def check_image_shape(input_shape: tuple[int, ...], layer: str) -> None:
    if len(input_shape) != 3:
        raise ValueError(f"{layer} expects inputs of shape (N, H, W, C), got per-sample shape "
                         f"{tuple(input_shape)}")
