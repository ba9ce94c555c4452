"""``scratchnet doctor``: diagnose why a model does not train, or what went wrong in a run."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import CommandError, add_parser, emit, model_and_training_data


def run_doctor(args: argparse.Namespace) -> int:
    from ..diagnostics.doctor import doctor
    from ..diagnostics.gallery import GALLERY, HEALTHY
    cases = {**GALLERY, **HEALTHY}
    history = None
    if args.list:
        emit(args, "\n".join(f"{name:28} {'healthy' if name in HEALTHY else 'faulty'}"
                              for name in cases), {"faulty": list(GALLERY),
                                                    "healthy": list(HEALTHY)})
        return 0
    if args.example:
        if args.example not in cases:
            raise CommandError(f"unknown example {args.example!r}; expected one of "
                               f"{sorted(cases)} (see --list).")
        model, x, y = cases[args.example](samples=args.samples)
    elif args.model and Path(args.model).is_dir():
        model, x, y, history = run_directory(Path(args.model), args.samples)
    elif args.model:
        model, x, y = model_and_training_data(args.model, args.samples)
    else:
        raise CommandError("give a MODEL (a .snet file or a built-in name such as mnist-cnn) "
                           "or --example NAME (see --list).")
    report = doctor(model, x, y, history=history, max_samples=args.samples,
                    training_checks=not args.no_training_checks)
    emit(args, report.to_text(), report.to_dict())
    return 0 if report.healthy else 1


def run_directory(run_dir: Path, samples: int) -> tuple[Any, Any, Any, Any]:
    """The model, MNIST training samples and history of a ``scratchnet train --out DIR`` run."""
    checkpoint = run_dir / "model.snet"
    if not checkpoint.is_file():
        raise CommandError(f"{run_dir}: expected a run directory made by 'scratchnet train "
                           f"--out DIR' (with model.snet), found no model.snet there.")
    model, x, y = model_and_training_data(str(checkpoint), samples)
    history: Any = None   # the history saved inside model.snet
    saved = run_dir / "history.json"
    if saved.is_file():
        try:
            history = json.loads(saved.read_text())
        except ValueError as error:
            raise CommandError(f"{saved}: expected the JSON history written by scratchnet "
                               f"train, got unreadable JSON ({error}).") from None
    if (run_dir / "run.json").is_file():
        model.name = f"{model.name} (run {run_dir})"
    return model, x, y, history


def add_doctor(sub: Any) -> None:
    p = add_parser(sub, "doctor", "Diagnose why a model does not train: gradient checks, dead "
                   "ReLUs, exploding or vanishing signals, bad init, saturation, loss/activation "
                   "mismatch, bad data, NaNs, learning rate. Exit status 1 if anything is found.",
                   "scratchnet doctor mnist-cnn\n  scratchnet doctor runs/quick      # a run "
                   "directory: also its history\n  scratchnet doctor runs/quick/model.snet --json"
                   "\n  scratchnet doctor --example user-story")
    p.add_argument("model", nargs="?", help="run directory (scratchnet train --out DIR), "
                   "model file (.snet) or built-in model name; checked on MNIST training samples")
    p.add_argument("--example", help="diagnose a setup from the gallery instead (see --list)")
    p.add_argument("--list", action="store_true", help="list the gallery's setups")
    p.add_argument("--samples", type=int, default=256, help="samples to probe (default 256)")
    p.add_argument("--no-training-checks", action="store_true",
                   help="skip the short training runs (learning rate, cannot_overfit)")
    p.set_defaults(run=run_doctor)
