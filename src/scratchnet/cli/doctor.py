"""``scratchnet doctor``: diagnose why a model does not train."""
from __future__ import annotations

import argparse
from typing import Any

from .common import CommandError, add_parser, emit, model_and_training_data


def run_doctor(args: argparse.Namespace) -> int:
    from ..diagnostics.doctor import doctor
    from ..diagnostics.gallery import GALLERY, HEALTHY
    cases = {**GALLERY, **HEALTHY}
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
    elif args.model:
        model, x, y = model_and_training_data(args.model, args.samples)
    else:
        raise CommandError("give a MODEL (a .snet file or a built-in name such as mnist-cnn) "
                           "or --example NAME (see --list).")
    report = doctor(model, x, y, max_samples=args.samples,
                    training_checks=not args.no_training_checks)
    emit(args, report.to_text(), report.to_dict())
    return 0 if report.healthy else 1


def add_doctor(sub: Any) -> None:
    p = add_parser(sub, "doctor", "Diagnose why a model does not train: gradient checks, dead "
                   "ReLUs, exploding or vanishing signals, bad init, saturation, loss/activation "
                   "mismatch, bad data, NaNs, learning rate. Exit status 1 if anything is found.",
                   "scratchnet doctor mnist-cnn\n  scratchnet doctor runs/quick/model.snet --json"
                   "\n  scratchnet doctor --example user-story")
    p.add_argument("model", nargs="?", help="model file (.snet) or built-in model name; "
                   "checked on MNIST training samples")
    p.add_argument("--example", help="diagnose a setup from the gallery instead (see --list)")
    p.add_argument("--list", action="store_true", help="list the gallery's setups")
    p.add_argument("--samples", type=int, default=256, help="samples to probe (default 256)")
    p.add_argument("--no-training-checks", action="store_true",
                   help="skip the short training runs (learning rate, cannot_overfit)")
    p.set_defaults(run=run_doctor)
