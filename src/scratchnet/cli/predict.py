"""``scratchnet predict``: classify digit images with a model file."""
from __future__ import annotations

import argparse
from typing import Any

from .common import add_parser, emit, load_model_file


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from ..images import load_digit
    model = load_model_file(args.model)
    size = tuple(model.input_shape[:2])
    x = np.stack([load_digit(path, size) for path in args.images])
    probabilities = model.predict(x.reshape(len(x), *model.input_shape))
    results, lines = [], []
    for path, p in zip(args.images, probabilities):
        digit = int(p.argmax())
        results.append({"image": path, "digit": digit, "probabilities": p.tolist()})
        lines.append(f"{path}: {digit} ({p[digit]:.1%})  " +
                     " ".join(f"{k}:{v:.3f}" for k, v in enumerate(p)))
    emit(args, "\n".join(lines), results)
    return 0


def add_predict(sub: Any) -> None:
    p = add_parser(sub, "predict", "Classify digit images (PNG/JPEG): grayscale, resized to 28x28, "
                   "inverted if the background is light, scaled to [0, 1].",
                   "scratchnet predict runs/quick/model.snet seven.png three.jpg")
    p.add_argument("model", help="model file (.snet)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(run=run_predict)
