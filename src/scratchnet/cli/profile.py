"""``scratchnet profile``: forward/backward time per layer on one batch."""
from __future__ import annotations

import argparse
from typing import Any

from .common import add_parser, emit, model_and_training_data, positive_int


def run_profile(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..profiling import profile
    model, x, y = model_and_training_data(args.model, args.batch_size)
    report = profile(model, x, None if args.inference else y, repeat=args.repeat)
    emit(args, report.table(), {"batch_size": report.batch_size, "training": report.training,
                                 "total_ms": report.total_ms, "loss_ms": report.loss_ms,
                                 "optimizer_ms": report.optimizer_ms,
                                 "samples_per_second": report.samples_per_second,
                                 "layers": [asdict(row) for row in report.rows]})
    return 0


def add_profile(sub: Any) -> None:
    p = add_parser(sub, "profile", "Time each layer's forward and backward pass on one batch of "
                   "MNIST: where does a training step spend its time?",
                   "scratchnet profile mnist-cnn --batch-size 128\n  scratchnet profile "
                   "runs/quick/model.snet --inference --json")
    p.add_argument("model", nargs="?", default="mnist-cnn",
                   help="model file (.snet) or built-in model name (default mnist-cnn)")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="samples in the timed batch (default 128)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs; medians are reported")
    p.add_argument("--inference", action="store_true", help="time predict-mode forward only")
    p.set_defaults(run=run_profile)
