"""Digit images from files, brought to MNIST's conventions (Pillow)."""
from __future__ import annotations

import os

import numpy as np


def load_digit(path: str | os.PathLike[str], size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Read a PNG/JPEG digit as MNIST sees digits: grayscale, resized to ``size``, white on
    black (inverted when the background is light), scaled to [0, 1].

    Output shape: (H, W, 1) float32.
    """
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            gray = image.convert("L").resize(size[::-1], Image.Resampling.LANCZOS)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such image file.") from None
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path}: not a readable image ({err}); expected a PNG or JPEG.") \
            from None
    pixels = np.asarray(gray, dtype=np.float32) / 255.0
    # MNIST digits are light strokes on a dark background; the border tells the background.
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 0.5:
        pixels = 1.0 - pixels
    return pixels[..., None]
