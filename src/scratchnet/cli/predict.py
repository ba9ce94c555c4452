"""``scratchnet predict``: classify pictures of digits, prepared as MNIST's were made."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import CommandError, add_parser, emit, load_model_file

EXIT_RULE = ("exit status: 0 when every image was read, 1 when some could not be read (the\n"
             "others are still predicted), 2 when none could be read or the model is unusable")


def split_inputs(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """(model file or None for the bundled model, images). The first argument is the model
    exactly when it ends in .snet (or --model names one): nothing else is guessed."""
    inputs = list(args.inputs)
    if args.model is None and inputs[0].lower().endswith(".snet"):
        model, images = inputs[0], inputs[1:]
    else:
        model, images = args.model, inputs
    if not images:
        raise CommandError(f"no images given after the model {model}; expected "
                           f"scratchnet predict [MODEL.snet] IMAGE...")
    return model, images


def input_size(model: Any) -> tuple[tuple[int, int], tuple[int, ...]]:
    """(H, W) to prepare pictures at, and the shape of one model input."""
    shape = tuple(model.input_shape)
    if len(shape) == 3 and shape[-1] in (1, 3):
        return (shape[0], shape[1]), shape
    if len(shape) == 1 and round(shape[0] ** 0.5) ** 2 == shape[0]:
        side = round(shape[0] ** 0.5)
        return (side, side), shape
    raise CommandError(f"the model takes inputs of shape {shape}; predict prepares grey pictures "
                       f"for models taking (H, W, 1), (H, W, 3) or (H*W,) inputs")


def show_path(directory: Path, image: str, taken: set[Path]) -> Path:
    stem, number = Path(image).stem or "image", 1
    target = directory / f"{stem}.png"
    while target in taken:
        number += 1
        target = directory / f"{stem}-{number}.png"
    taken.add(target)
    return target


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from .. import images, pretrained
    model_path, paths = split_inputs(args)
    show = Path(args.show) if args.show else None
    if show is not None and show.exists() and not show.is_dir():
        raise CommandError(f"--show {show}: expected a directory, got an existing file")
    model = load_model_file(model_path or str(pretrained.path()))
    size, shape = input_size(model)
    prepared, failures = {}, {}
    for path in tqdm(paths, desc="preparing", unit="image", leave=False,
                     disable=True if len(paths) < 100 or args.quiet else None):
        try:
            grey, notes = images.read_grey(path)
            prepared[path] = (grey if show else None, images.prepare_grey(grey, size, notes))
        except (ValueError, TypeError, OSError) as err:
            failures[path] = str(err)
    if prepared:
        batch = np.stack([digit.pixels for _, digit in prepared.values()])
        batch = np.repeat(batch[..., None], shape[-1], axis=-1) if len(shape) == 3 \
            else batch.reshape(len(batch), -1)
        probabilities = dict(zip(prepared, model.predict(batch.reshape(len(batch), *shape))))
    if show is not None:
        show.mkdir(parents=True, exist_ok=True)
    results, lines, taken = [], [], set()
    for path in paths:
        if path in failures:
            results.append({"image": path, "error": failures[path]})
            warn(args, "error", failures[path])
            continue
        grey, digit = prepared[path]
        p = probabilities[path]
        best = int(p.argmax())
        entry = {"image": path, "digit": best, "probabilities": p.tolist(),
                 "warnings": list(digit.warnings)}
        for note in digit.warnings:
            warn(args, "warning", f"{path}: {note}")
        if show is not None:
            from ..plots import plot_prediction
            entry["shown"] = str(show_path(show, path, taken))
            plot_prediction(grey, digit, p, entry["shown"], title=Path(path).name)
        results.append(entry)
        flags = "".join(f"  [{note.split(':')[0]}]" for note in digit.warnings)
        lines.append(f"{path}: {best} ({p[best]:.1%})  " +
                     " ".join(f"{k}:{v:.3f}" for k, v in enumerate(p)) + flags)
    if show is not None and prepared:
        lines.append(f"The {len(prepared)} images as the model saw them: {show}/")
    if lines or args.json:
        emit(args, "\n".join(lines), results)
    return 0 if not failures else 1 if prepared else 2


def warn(args: argparse.Namespace, kind: str, message: str) -> None:
    import sys
    if kind == "error" or not args.quiet:
        print(f"scratchnet predict: {kind}: {message}", file=sys.stderr)


def add_predict(sub: Any) -> None:
    p = add_parser(sub, "predict", "Classify pictures of digits (any format Pillow reads: PNG, "
                   "JPEG, GIF, BMP,\nWebP, TIFF). Each is prepared as MNIST's digits were: grey, "
                   "light ink on black,\ncropped to the ink, fitted into 20x20 keeping its aspect "
                   "ratio, centred by\ncentre of mass in 28x28. Without a MODEL.snet the bundled "
                   "pretrained MNIST CNN\nis used. One unreadable file does not stop the others."
                   f"\n\n{EXIT_RULE}.",
                   "scratchnet predict seven.png three.jpg\n"
                   "  scratchnet predict runs/quick/model.snet seven.png --show seen/")
    p.usage = ("%(prog)s [-h] [--quiet] [--json] [--model FILE] [--show DIR]\n"
               "                          [MODEL.snet] IMAGE [IMAGE ...]")
    p.add_argument("inputs", nargs="+", metavar="IMAGE",
                   help="the images; a first argument ending in .snet is the model file "
                        "(default: the bundled pretrained MNIST CNN)")
    p.add_argument("--model", metavar="FILE", default=None,
                   help="the model file, whatever its name (then every argument is an image)")
    p.add_argument("--show", metavar="DIR", default=None,
                   help="write, per image, a PNG of the picture, the 28x28 image the model saw "
                        "and its probabilities into DIR")
    p.set_defaults(run=run_predict)
