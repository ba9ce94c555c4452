"""The steps of MNIST-style digit preparation on NumPy arrays (the API is ``scratchnet.images``).

Grey levels are float32 in [0, 1] with 0 black; "ink" is how far a pixel is from the background,
0 for background and 1 for the strongest stroke, whatever the colours of the picture.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

BOX = 20 / 28            # MNIST fits the digit into 20x20 of the 28x28 field
BLANK_CONTRAST = 0.03    # ink closer to the background than ~8 of 255 grey levels is no ink
LOW_CONTRAST = 0.2       # below this the digit is faint enough to doubt the result
INK_LEVEL = 0.25         # of the strongest ink: what counts for the crop box
MIN_STROKE = 1.2         # output px: 95% of MNIST strokes are wider (median 2); a 1 px line is not
MAX_SIDE = 4096          # bigger pictures are box-reduced first: no digit needs more
WORK_SIDE = 8            # the crop is worked on at most 8x the output size (max-pooled to it)


# --- grey levels ---------------------------------------------------------------------------
def grey_of_pil(image: Any) -> np.ndarray:
    """(H, W) float32 grey of a PIL image of any mode; 16-bit scaled, alpha composited."""
    mode = image.mode
    if mode.startswith("I;16"):
        return np.asarray(image, dtype=np.float32) / 65535
    if mode == "I":   # 32-bit ints: PNG uses it for 16-bit grey; TIFF may hold anything
        values = np.asarray(image).astype(np.float64)
        high = float(values.max(initial=0))
        sixteen = image.format == "PNG" or 255 < high <= 65535
        return _scaled(values, 65535 if sixteen else 255)
    if mode == "F":
        return _scaled(np.asarray(image, dtype=np.float64), 1)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255
        return composite(luma(rgba[..., :3]), rgba[..., 3])
    grey = image if mode == "L" else image.convert("L" if mode == "1" else "RGB").convert("L")
    return np.asarray(grey, dtype=np.float32) / 255


def grey_of_array(array: np.ndarray) -> np.ndarray:
    """(H, W) float32 grey of an array (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA.

    uint8 is scaled by 255, uint16 by 65535; floats in [0, 1] are kept, floats in [0, 255] are
    scaled by 255, anything else to its own range."""
    values = np.asarray(array)
    if values.dtype == bool:
        values = values.astype(np.uint8) * 255
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise TypeError(f"image array: expected numbers, got dtype {values.dtype}")
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim not in (2, 3) or (values.ndim == 3 and values.shape[-1] not in (3, 4)) \
            or 0 in values.shape:
        raise ValueError(f"image array: expected shape (H, W), (H, W, 1), (H, W, 3) or "
                         f"(H, W, 4), got {values.shape}")
    floats = values.astype(np.float64)
    if np.issubdtype(values.dtype, np.integer):
        high = float(floats.max())
        full = 65535 if values.dtype == np.uint16 or high > 255 else 255
    else:
        full = 1 if floats.max() <= 1 else 255
    scaled = _scaled(floats, full)
    if scaled.ndim == 2:
        return scaled
    grey = luma(scaled[..., :3])
    return composite(grey, scaled[..., 3]) if scaled.shape[-1] == 4 else grey


def _scaled(values: np.ndarray, full: float) -> np.ndarray:
    """values / full when they fit in [0, full], else stretched over their own range."""
    if not np.isfinite(values).all():
        raise ValueError("expected finite pixel values, got NaN or infinity")
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > full:
        if not np.isfinite(high - low):   # -1e308 .. 1e308: bring into range before subtracting
            values = values / max(abs(low), abs(high))
            low, high = float(values.min()), float(values.max())
        return ((values - low) / ((high - low) or 1)).astype(np.float32)
    return (values / full).astype(np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, as Pillow's "L" conversion."""
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=rgb.dtype)).astype(np.float32)


def composite(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Grey over a background that contrasts with its opaque pixels: a dark digit drawn on a
    transparent canvas lands on white, a light one on black (dropping alpha would make both
    the colour of the invisible pixels, usually black)."""
    weight = float(alpha.sum())
    ink = float((grey * alpha).sum()) / weight if weight > 0 else 1.0
    background = np.float32(1.0 if ink < 0.5 else 0.0)
    return (alpha * grey + (1 - alpha) * background).astype(np.float32)


# --- MNIST-style normalisation ---------------------------------------------------------------
def mnist_style(grey: np.ndarray, size: tuple[int, int], notes: list[str], result: Any) -> Any:
    """Crop to the ink, fit into 20/28 of ``size`` keeping the aspect ratio, centre of mass at
    the centre. ``result``: the PreparedDigit class (kept in scratchnet.images)."""
    source_size = (int(grey.shape[0]), int(grey.shape[1]))
    grey, factor = box_reduce(grey, MAX_SIDE)
    warnings = list(notes)
    ink, light_background, spread = ink_of(grey)
    contrast = float(ink.max())
    if contrast < BLANK_CONTRAST:
        warnings.append("blank: no digit found (the picture is one flat shade)")
        return result(np.zeros(size, np.float32), tuple(warnings), light_background, None,
                      source_size)
    if contrast < LOW_CONTRAST:
        warnings.append(f"low contrast: the ink differs from the background by only "
                        f"{contrast:.0%} of the full range; the digit may be misread")
    # Paper texture and JPEG noise sit just off the background level: drop them, stretch the rest.
    floor = min(max(3 * spread, 0.05 * contrast), 0.5 * contrast)
    ink = np.clip((ink - floor) / (contrast - floor), 0, 1)
    rows = np.flatnonzero((ink > INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((ink > INK_LEVEL).any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    ink_box = (top * factor, left * factor, min(bottom * factor, source_size[0]),
               min(right * factor, source_size[1]))
    across = max(ink_box[2] - ink_box[0], ink_box[3] - ink_box[1])
    if across < 6:
        warnings.append(f"tiny: the digit is only {across} pixels across; it was enlarged and "
                        f"may be misread")
    box = (max(1, round(size[0] * BOX)), max(1, round(size[1] * BOX)))
    crop = max_pool(ink[top:bottom, left:right], WORK_SIDE * max(box))
    width = stroke_width(crop > 0.5)
    scale = min(box[0] / crop.shape[0], box[1] / crop.shape[1])
    thickened = width * scale < MIN_STROKE
    if thickened:
        crop = dilate(crop, math.ceil((MIN_STROKE / scale - width) / 2))
        scale = min(box[0] / crop.shape[0], box[1] / crop.shape[1])
    fitted = resize(crop, max(1, round(crop.shape[0] * scale)),
                    max(1, round(crop.shape[1] * scale)))
    pixels = place_by_centre_of_mass(fitted, size)
    peak = float(pixels.max())
    if peak > 0:
        pixels /= peak
    return result(pixels, tuple(warnings), light_background, ink_box, source_size, thickened)


def box_reduce(grey: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """Mean over f x f blocks so that no side exceeds max_side; returns (reduced, f)."""
    factor = -(-max(grey.shape) // max_side)
    if factor <= 1:
        return grey, 1
    h, w = (-(-n // factor) * factor for n in grey.shape)
    padded = np.pad(grey, ((0, h - grey.shape[0]), (0, w - grey.shape[1])), mode="edge")
    return padded.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3)), factor


def ink_of(grey: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """(ink, light_background, noise): the background level is the median of the border; the
    ink lies on the side of it the picture reaches furthest (dark ink on light paper or light
    ink on a dark screen); noise is the border's median absolute deviation."""
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    background = float(np.median(border))
    spread = float(np.median(np.abs(border - background)))
    light_background = background - float(grey.min()) > float(grey.max()) - background
    ink = background - grey if light_background else grey - background
    return np.clip(ink, 0, None).astype(np.float32), bool(light_background), spread


def max_pool(ink: np.ndarray, max_side: int) -> np.ndarray:
    """Max over f x f blocks so that no side exceeds max_side: thin strokes keep full strength
    (a mean would fade them)."""
    factor = -(-max(ink.shape) // max_side)
    if factor <= 1:
        return ink
    h, w = (-(-n // factor) * factor for n in ink.shape)
    padded = np.pad(ink, ((0, h - ink.shape[0]), (0, w - ink.shape[1])))
    return padded.reshape(h // factor, factor, w // factor, factor).max(axis=(1, 3))


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: area / half the boundary length (a w x L stroke has area
    w*L and boundary ~2L)."""
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1)
    inner = padded[1:-1, 1:-1]
    boundary = sum(int((inner & ~np.roll(padded, shift, axis)[1:-1, 1:-1]).sum())
                   for axis in (0, 1) for shift in (1, -1))
    return 2 * area / boundary


def dilate(ink: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation by a (2r+1)-square, padded so that nothing is cut off."""
    out = np.pad(ink, radius)
    for axis in (0, 1):
        shifted = [np.roll(out, shift, axis) for shift in range(-radius, radius + 1)]
        out = np.maximum.reduce(shifted)
    return out


def resize(ink: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased resize (Lanczos, Pillow's float mode), clipped to [0, 1]."""
    from PIL import Image
    image = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32))
    resized = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def place_by_centre_of_mass(fitted: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``fitted`` pasted into a zero field of ``size`` with its centre of mass on pixel
    (H/2, W/2), shifted by whole pixels, as MNIST's digits (their mean is (14.0, 14.0))."""
    h, w = fitted.shape
    total = float(fitted.sum()) or 1.0
    cy = float(fitted.sum(axis=1) @ np.arange(h)) / total
    cx = float(fitted.sum(axis=0) @ np.arange(w)) / total
    top, left = round(size[0] / 2 - cy), round(size[1] / 2 - cx)
    out = np.zeros(size, np.float32)
    ys = slice(max(0, -top), min(h, size[0] - top))
    xs = slice(max(0, -left), min(w, size[1] - left))
    out[ys.start + top:ys.stop + top, xs.start + left:xs.stop + left] = fitted[ys, xs]
    return out
