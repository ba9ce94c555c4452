"""A test set of drawn digits 0-9, rendered with Pillow: what users feed ``predict``.

Each digit is a handwriting-like pen path (lines and arcs in a unit box) drawn with round
caps and joints, in many variants: stroke widths, sizes and positions on the canvas, canvas
aspect ratios, digit aspect ratios and slants, light and dark backgrounds, coloured ink on grey
paper, JPEG/GIF/BMP/WebP/TIFF files, a black digit on a transparent background, 16-bit PNGs.

    python tests/drawn_digits.py OUT_DIR     # write them, to look at
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float,
        steps: int = 36) -> list[Point]:
    """Points on an ellipse, angles in degrees, 0 = right, 90 = down (image coordinates)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, stop, steps)]


# Pen paths per digit: lists of polylines in a unit box (x right, y down).
STROKES: dict[int, list[list[Point]]] = {
    0: [arc(0.5, 0.5, 0.3, 0.44, 0, 360, 60)],
    1: [[(0.55, 0.05), (0.47, 0.95)]],
    2: [arc(0.5, 0.3, 0.28, 0.25, 180, 400) + [(0.15, 0.95), (0.88, 0.95)]],
    3: [arc(0.5, 0.28, 0.25, 0.22, 200, 450), arc(0.5, 0.72, 0.28, 0.24, 270, 520)],
    4: [[(0.68, 0.95), (0.68, 0.05), (0.12, 0.66), (0.9, 0.66)]],
    5: [[(0.8, 0.06), (0.32, 0.06), (0.28, 0.47)] + arc(0.5, 0.68, 0.28, 0.26, 220, 520)],
    6: [[(0.72, 0.06), (0.5, 0.18), (0.33, 0.38)] + arc(0.5, 0.7, 0.24, 0.24, 180, 540)],
    7: [[(0.12, 0.07), (0.88, 0.07), (0.42, 0.95)]],
    8: [arc(0.5, 0.27, 0.2, 0.2, 0, 360), arc(0.5, 0.72, 0.26, 0.24, 0, 360)],
    9: [arc(0.5, 0.3, 0.24, 0.22, 0, 360) + [(0.66, 0.95)]],
}


@dataclass(frozen=True)
class Variant:
    """How one copy of each digit is drawn. Sizes are fractions of the canvas height."""
    name: str
    canvas: tuple[int, int] = (200, 200)      # width, height
    height: float = 0.7                       # digit height
    centre: tuple[float, float] = (0.5, 0.5)  # of the digit, as fractions of width, height
    width_ratio: float = 0.7                  # digit width / height
    pen: float = 0.1                          # stroke width / digit height
    slant: float = 0.0                        # x shift per unit of height (italic)
    ink: tuple[int, ...] = (0, 0, 0)
    paper: tuple[int, ...] = (255, 255, 255)
    suffix: str = "png"
    mode: str = "RGB"                         # RGB, L, RGBA (transparent paper), I;16
    wobble: float = 0.015                     # hand tremor: random shift of each pen point
    noise: float = 0.0                        # paper grain: std of added noise, grey levels
    shade: float = 0.0                        # uneven light: darkening towards one side


VARIANTS = [
    Variant("black-on-white"),
    Variant("white-on-black", ink=(255, 255, 255), paper=(0, 0, 0)),
    *(Variant(f"pen-{pen}", pen=pen) for pen in (0.04, 0.07, 0.15, 0.2)),
    # The case: a thick black digit on a white 200x200 canvas (8-30 px strokes).
    *(Variant(f"thick-{px}px", height=0.8, pen=px / 160) for px in (8, 16, 30)),
    Variant("small-top-left", height=0.3, centre=(0.25, 0.25), pen=0.12),
    Variant("small-bottom-right", height=0.25, centre=(0.8, 0.78), pen=0.12),
    Variant("large", height=0.95, pen=0.09),
    Variant("landscape-300x200", canvas=(300, 200), centre=(0.6, 0.5)),
    Variant("portrait-200x300", canvas=(200, 300), height=0.5, centre=(0.4, 0.45)),
    Variant("wide-digit", width_ratio=1.0, height=0.6),
    Variant("narrow-digit", width_ratio=0.45),
    Variant("slanted", slant=0.25),
    Variant("back-slanted", slant=-0.15),
    Variant("blue-ink-grey-paper", ink=(20, 40, 140), paper=(215, 210, 200)),
    Variant("grey-levels", mode="L", ink=(60,), paper=(230,)),
    Variant("grainy-paper", mode="L", noise=12),
    Variant("uneven-light", mode="L", shade=60),
    Variant("shaky-hand", wobble=0.04),
    Variant("big-canvas-thin-pen", canvas=(1200, 900), pen=0.03),
    Variant("tiny-canvas", canvas=(40, 40), height=0.8, pen=0.12),
    Variant("jpeg", suffix="jpg"),
    Variant("jpeg-dark", suffix="jpg", ink=(250, 250, 250), paper=(10, 10, 10)),
    Variant("gif", suffix="gif"),
    Variant("bmp", suffix="bmp", ink=(255, 255, 255), paper=(0, 0, 0)),
    Variant("webp", suffix="webp"),
    Variant("tiff", suffix="tif"),
    Variant("transparent-black-ink", mode="RGBA"),
    Variant("16-bit", mode="I;16"),
    Variant("16-bit-mid-tones", mode="I;16", ink=(50,), paper=(160,)),
]


def draw(digit: int, variant: Variant) -> Image.Image:
    """The digit drawn as ``variant`` says, as a Pillow image in the variant's mode."""
    width, height = variant.canvas
    box_h = variant.height * height
    box_w = box_h * variant.width_ratio
    cx, cy = variant.centre[0] * width, variant.centre[1] * height
    pen = max(1, round(variant.pen * box_h))
    grey = variant.mode in ("L", "I;16")
    canvas = Image.new("L" if grey else "RGBA" if variant.mode == "RGBA" else "RGB",
                       (width, height), variant.paper[0] if grey else
                       (0, 0, 0, 0) if variant.mode == "RGBA" else variant.paper)
    colour = variant.ink[0] if grey else (*variant.ink, 255) if variant.mode == "RGBA" \
        else variant.ink
    pen_draw = ImageDraw.Draw(canvas)
    rng = np.random.default_rng([digit, *variant.name.encode()])
    for line in STROKES[digit]:
        shake = rng.normal(0, variant.wobble, (len(line), 2))
        # neighbouring points move together, as a hand does
        shake = np.cumsum(shake, axis=0) / np.sqrt(np.arange(1, len(line) + 1))[:, None]
        points = [(cx + (x + dx - 0.5) * box_w + variant.slant * (0.5 - y) * box_h,
                   cy + (y + dy - 0.5) * box_h) for (x, y), (dx, dy) in zip(line, shake)]
        pen_draw.line(points, fill=colour, width=pen, joint="curve")
        for x, y in points:  # round caps and joints
            pen_draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=colour)
    if variant.noise or variant.shade:
        values = np.asarray(canvas, dtype=np.float64)
        values -= variant.shade * np.linspace(0, 1, width)[None, :]
        values += rng.normal(0, variant.noise, values.shape) if variant.noise else 0
        canvas = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))
    if variant.mode == "I;16":
        return Image.fromarray((np.asarray(canvas, dtype=np.uint16) * 257))
    return canvas


def write_drawn_digits(out_dir: str | Path) -> list[tuple[Path, int, str]]:
    """Writes every variant of every digit to out_dir; returns (path, digit, variant name)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for variant in VARIANTS:
        for digit in range(10):
            path = out_dir / f"{variant.name}-{digit}.{variant.suffix}"
            image = draw(digit, variant)
            options = {"quality": 80} if variant.suffix in ("jpg", "webp") else {}
            image.save(path, **options)
            written.append((path, digit, variant.name))
    return written


if __name__ == "__main__":
    print(f"{len(write_drawn_digits(sys.argv[1]))} images in {sys.argv[1]}")
