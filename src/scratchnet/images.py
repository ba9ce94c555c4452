"""Pictures of one digit brought to MNIST's conventions (Pillow), for ``predict`` and the explorer.

MNIST digits are light strokes on black, size-normalised to fit a 20x20 box keeping their aspect
ratio (anti-aliased, hence the grey levels), then placed in a 28x28 field so that the centre of
mass of the ink is at the centre of the field. A model trained on MNIST reads a drawn digit well
only when it is prepared the same way; resizing the whole picture to 28x28 is not enough (a thick
7 on a 200x200 canvas is then read as a 2).

Public API::

    prepare_digit(image, size=28) -> PreparedDigit   # .pixels: (28, 28) float32 in [0, 1]
    read_grey(image) -> (grey, warnings)              # (H, W) float32 in [0, 1], 0 = black
    prepare_grey(grey, size=28, notes=()) -> PreparedDigit   # the second half of prepare_digit
    load_digit(path, size=(28, 28)) -> (28, 28, 1)    # prepare_digit(...).pixels[..., None]
    ImageError                                        # a ValueError: unreadable or refused

``image`` is a file path, the bytes of an image file, a binary file object, a PIL image or a
NumPy array (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA. Every format Pillow reads works
(PNG, JPEG, GIF, BMP, WebP, TIFF, ...), at any size and aspect ratio.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import image_steps

__all__ = ["PreparedDigit", "ImageError", "prepare_digit", "prepare_grey", "read_grey",
           "load_digit"]


class ImageError(ValueError):
    """An image that cannot be read, or is refused (a decompression bomb)."""


@dataclass(frozen=True)
class PreparedDigit:
    """A digit as the model sees it, and what preparing it found.

    pixels: (size, size) float32 in [0, 1], light ink on black, as MNIST.
    warnings: human-readable reasons to doubt the result (blank, low contrast, ...).
    light_background: the picture was dark ink on a light background (and was inverted).
    ink_box: (top, left, bottom, right) of the ink in the picture's pixels, None when blank.
    source_size: (height, width) of the picture.
    thickened: thin strokes were widened to MNIST's pen width.
    """
    pixels: np.ndarray
    warnings: tuple[str, ...]
    light_background: bool
    ink_box: tuple[int, int, int, int] | None
    source_size: tuple[int, int]
    thickened: bool = False

    @property
    def blank(self) -> bool:
        return self.ink_box is None


def prepare_digit(image: Any, size: int | tuple[int, int] = 28) -> PreparedDigit:
    """Prepare a picture of one digit as MNIST's were made.

    Steps: grey (alpha composited onto the background, 16-bit depth scaled); background and ink
    told apart from the border (light or dark background); cropped to the ink; thin strokes
    widened; fitted into a 20x20 box keeping the aspect ratio (20/28 of ``size``), anti-aliased;
    placed so that the ink's centre of mass is at the centre of the ``size`` x ``size`` field.
    A blank picture gives an all-zero image and a warning; nothing is raised for it.

    Output: PreparedDigit with ``pixels`` of shape (size, size) (or ``size`` as (H, W)).
    Raises ImageError (a ValueError) for an unreadable or refused file, FileNotFoundError for a
    missing one, TypeError for an unsupported kind of ``image``.
    """
    grey, notes = read_grey(image)
    return prepare_grey(grey, size, notes)


def prepare_grey(grey: np.ndarray, size: int | tuple[int, int] = 28,
                 notes: Any = ()) -> PreparedDigit:
    """``prepare_digit`` from grey levels already read (``read_grey``'s output: (H, W) float32
    in [0, 1]); ``notes`` are warnings from reading, carried into the result."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(n, (int, np.integer)) and n >= 8 for n in pair):
        raise ValueError(f"size: expected an int >= 8 or a pair of them, got {size!r}")
    grey = image_steps.grey_of_array(grey)
    return image_steps.mnist_style(grey, (int(pair[0]), int(pair[1])), list(notes),
                                   PreparedDigit)


def load_digit(path: Any, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """``prepare_digit(path, size).pixels`` with a channel axis. Output shape: (H, W, 1)."""
    return prepare_digit(path, size).pixels[..., None]


def read_grey(image: Any) -> tuple[np.ndarray, list[str]]:
    """The picture as grey levels: (H, W) float32 in [0, 1], 0 black, 1 white, and warnings.

    Transparency is composited onto a background that contrasts with the opaque pixels (a black
    digit on a transparent canvas comes out black on white). 16-bit images are scaled by 65535,
    8-bit by 255; float arrays already in [0, 1] are kept, others scaled to their range.
    """
    if isinstance(image, np.ndarray):
        return image_steps.grey_of_array(image), []
    pil_image, name, frames = _open(image)
    notes = [f"{frames} frames: only the first is used"] if frames > 1 else []
    try:
        grey = image_steps.grey_of_pil(pil_image)
    except (ValueError, OSError) as err:
        raise ImageError(f"{name}: cannot convert a {pil_image.mode!r} image to grey ({err})") \
            from None
    return grey, notes


def _open(image: Any) -> tuple[Any, str, int]:
    """A loaded, upright PIL image (EXIF orientation applied), its name and its frame count."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    if isinstance(image, Image.Image):
        return image, "image", getattr(image, "n_frames", 1)
    if isinstance(image, (bytes, bytearray, memoryview)):
        source, name = io.BytesIO(bytes(image)), "image bytes"
    elif isinstance(image, (str, os.PathLike)):
        source, name = os.fspath(image), os.fspath(image)
        if not os.path.exists(source):
            raise FileNotFoundError(f"{name}: no such image file")
        if os.path.isdir(source):
            raise ImageError(f"{name}: is a directory; expected an image file")
    elif hasattr(image, "read"):
        source, name = image, getattr(image, "name", "image stream")
    else:
        raise TypeError(f"image: expected a path, image-file bytes, a file object, a PIL image "
                        f"or a NumPy array, got {type(image).__name__}")
    with warnings.catch_warnings():
        # Pillow only warns between its pixel limit and twice that: both are refused here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as opened:   # closed here: exif_transpose copies
                opened.load()
                frames = getattr(opened, "n_frames", 1)
                upright = ImageOps.exif_transpose(opened)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise ImageError(f"{name}: refused as a possible decompression bomb: expected at "
                             f"most {Image.MAX_IMAGE_PIXELS:,} pixels ({err})") from None
        except FileNotFoundError:
            raise FileNotFoundError(f"{name}: no such image file") from None
        except UnidentifiedImageError:
            raise ImageError(f"{name}: not an image file Pillow can read; expected a PNG, "
                             f"JPEG, GIF, BMP, WebP or TIFF file") from None
        except Exception as err:  # noqa: BLE001 - a third-party decoder on untrusted bytes
            # Broken files make Pillow's plugins raise OSError, SyntaxError, struct.error,
            # EOFError, IndexError, ...: all mean "this is not a readable image".
            raise ImageError(f"{name}: not a readable image ({type(err).__name__}: {err}); "
                             f"expected a PNG, JPEG, GIF, BMP, WebP or TIFF file") from None
    return upright, name, frames
