"""``scratchnet evaluate``: test loss, accuracy, per-class accuracy, confusion matrix."""
from __future__ import annotations

import argparse
from typing import Any

from .common import add_parser, emit, fraction, load_model_file, positive_int

# Below this many samples evaluation takes well under a second: no bar flickering past.
PROGRESS_FROM = 2000


def run_evaluate(args: argparse.Namespace) -> int:
    from .. import runs
    model = load_model_file(args.model)
    data = runs.mnist_arrays(model.input_shape, args.limit, split="test")
    quiet = args.quiet or args.json or len(data["x_test"]) < PROGRESS_FROM
    # "auto": a tqdm bar on stderr when it is a terminal, nothing in logs and pipes.
    report = runs.evaluate_report(model, data["x_test"], data["y_test"], args.batch_size,
                                  verbose=0 if quiet else "auto")
    report.pop("predicted")
    lines = [f"{args.model}: {report['samples']} test samples - loss: {report['loss']:.4f} - "
             f"accuracy: {report['accuracy']:.4f}", "", "class  accuracy"]
    lines += [f"{k:>5}  " + ("   n/a" if v is None else f"{v:.4f}")
              for k, v in enumerate(report["per_class_accuracy"])]
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              "      " + "".join(f"{k:>6}" for k in range(10))]
    lines += [f"{k:>5} " + "".join(f"{v:>6}" for v in row)
              for k, row in enumerate(report["confusion_matrix"])]
    passed = args.min_accuracy is None or report["accuracy"] >= args.min_accuracy
    if not passed:
        lines.append(f"\nFAILED: accuracy {report['accuracy']:.4f} is below --min-accuracy "
                     f"{args.min_accuracy}")
    report["passed"] = passed
    emit(args, "\n".join(lines), report)
    return 0 if passed else 1


def add_evaluate(sub: Any) -> None:
    p = add_parser(sub, "evaluate", "Test loss, accuracy, per-class accuracy and confusion matrix "
                   "of a model file on the MNIST test set.",
                   "scratchnet evaluate runs/quick/model.snet")
    p.add_argument("model", help="model file (.snet)")
    p.add_argument("--limit", type=positive_int, help="only the first N test samples")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="samples per forward pass (default 128)")
    p.add_argument("--min-accuracy", type=fraction, metavar="A",
                   help="exit with status 1 if the test accuracy is below A (for scripts/CI)")
    p.set_defaults(run=run_evaluate)
