"""``scratchnet evaluate``: test loss, accuracy, per-class accuracy, confusion matrix."""
from __future__ import annotations

import argparse
from typing import Any

from .common import add_parser, emit, load_model_file


def run_evaluate(args: argparse.Namespace) -> int:
    from .. import runs
    model = load_model_file(args.model)
    data = runs.mnist_arrays(model.input_shape, args.limit, split="test")
    report = runs.evaluate_report(model, data["x_test"], data["y_test"], args.batch_size)
    report.pop("predicted")
    lines = [f"{args.model}: {report['samples']} test samples - loss: {report['loss']:.4f} - "
             f"accuracy: {report['accuracy']:.4f}", "", "class  accuracy"]
    lines += [f"{k:>5}  " + ("   n/a" if v is None else f"{v:.4f}")
              for k, v in enumerate(report["per_class_accuracy"])]
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              "      " + "".join(f"{k:>6}" for k in range(10))]
    lines += [f"{k:>5} " + "".join(f"{v:>6}" for v in row)
              for k, row in enumerate(report["confusion_matrix"])]
    emit(args, "\n".join(lines), report)
    return 0


def add_evaluate(sub: Any) -> None:
    p = add_parser(sub, "evaluate", "Test loss, accuracy, per-class accuracy and confusion matrix "
                   "of a model file on the MNIST test set.",
                   "scratchnet evaluate runs/quick/model.snet")
    p.add_argument("model", help="model file (.snet)")
    p.add_argument("--limit", type=int, help="only the first N test samples")
    p.add_argument("--batch-size", type=int, default=128)
    p.set_defaults(run=run_evaluate)
