"""The ``scratchnet`` command: a thin shell over the library (argparse).

Subcommands register themselves in COMMANDS: ``doctor`` and ``profile`` plug in the same way
(a function adding the parser, a function running it).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

TRAIN_DEFAULTS = {"model": "mnist-cnn", "epochs": 12, "batch_size": 128, "optimizer": "adadelta",
                  "learning_rate": 1.0, "loss": "categorical_crossentropy", "seed": None,
                  "validation_split": 0.0, "limit": None}


class CommandError(Exception):
    """A user mistake: printed as one line, exit status 2."""


def _emit(args: argparse.Namespace, text: str, data: Any) -> None:
    if args.json:
        print(json.dumps(data, indent=1))
    elif not args.quiet:
        print(text)


def _load(path: str) -> Any:
    from .saving import load_model
    model = load_model(path)
    if model.loss is None:   # saved uncompiled: evaluate it as the Keras recipe would train it
        model.compile(optimizer=_recipe_optimizer(), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    return model


# --- train -----------------------------------------------------------------------------------
def _train_settings(args: argparse.Namespace) -> tuple[dict[str, Any], Path, bool]:
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k) is not None}
    if args.resume:
        run_dir = Path(args.resume)
        saved = run_dir / "run.json"
        if not saved.is_file():
            raise CommandError(f"--resume {run_dir}: no run.json there; expected a run directory "
                               f"made by 'scratchnet train --out DIR'.")
        settings = {**TRAIN_DEFAULTS, **json.loads(saved.read_text()), **given}
        return settings, run_dir, True
    from datetime import datetime
    run_dir = Path(args.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S"))
    if (run_dir / "model.snet").exists():
        raise CommandError(f"{run_dir} already holds a run; use --resume {run_dir} to continue "
                           f"it or choose another --out.")
    return {**TRAIN_DEFAULTS, **given}, run_dir, False


def _build_model(settings: dict[str, Any], run_dir: Path, resume: bool) -> Any:
    from . import backend, optimizers, zoo
    from .saving import load_model
    if resume and (run_dir / "model.snet").exists():
        return load_model(run_dir / "model.snet")
    if settings["seed"] is not None:
        backend.set_random_seed(settings["seed"])
    name = settings["model"]
    model = zoo.get(name) if name in zoo.MODELS or not Path(name).suffix else load_model(
        name, compile=False)
    # The CLI's learning rate replaces the optimizer's default; other arguments keep theirs.
    optimizer = optimizers.from_config({**optimizers.get(settings["optimizer"]).get_config(),
                                        "learning_rate": settings["learning_rate"]})
    model.compile(optimizer=optimizer, loss=settings["loss"], metrics=["accuracy"])
    return model


def run_train(args: argparse.Namespace) -> int:
    from . import runs
    from .saving import atomic_write
    settings, run_dir, resume = _train_settings(args)
    model = _build_model(settings, run_dir, resume)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(run_dir / "run.json", json.dumps(settings, indent=1).encode())
    if not args.quiet and not args.json:
        start = getattr(model, "initial_epoch", 0)
        print(f"Run directory: {run_dir}" + (f" (resuming after epoch {start})" if start else ""))
    verbose = 0 if (args.quiet or args.json) else 1
    try:
        result = runs.train(model, run_dir, epochs=settings["epochs"],
                            batch_size=settings["batch_size"],
                            validation_split=settings["validation_split"],
                            limit=settings["limit"], seed=settings["seed"], verbose=verbose,
                            plots=not args.no_plots)
    except runs.TrainingInterrupted as err:
        print(err, file=sys.stderr)
        return 130
    test = result["test"]
    text = (f"Test loss: {test['loss']:.4f} - test accuracy: {test['accuracy']:.4f} "
            f"({test['samples']} samples)\nSaved {run_dir / 'model.snet'}, history.csv/json, "
            + ", ".join(result["plots"]))
    if result["terminated"]:
        text = result["terminated"] + "\n" + text
    _emit(args, text, result)
    return 1 if result["terminated"] else 0


def add_train(sub: Any) -> None:
    p = _parser(sub, "train", "Train a model on the bundled MNIST (Keras recipe by default).",
                "scratchnet train --epochs 1 --limit 2000 --out runs/quick\n"
                "  scratchnet train --resume runs/quick --epochs 3")
    p.add_argument("--model", help="built-in name (mnist-cnn, mnist-mlp) or a model file "
                   "whose architecture and weights to start from (default mnist-cnn)")
    p.add_argument("--epochs", type=int, help="total epochs (default 12)")
    p.add_argument("--batch-size", type=int, help="default 128")
    p.add_argument("--optimizer", help="sgd, adam, rmsprop, adadelta (default adadelta)")
    p.add_argument("--learning-rate", type=float, help="default 1.0 (the Keras MNIST recipe)")
    p.add_argument("--loss", help="default categorical_crossentropy")
    p.add_argument("--seed", type=int, help="fixes initial weights, shuffling and dropout")
    p.add_argument("--validation-split", type=float,
                   help="hold out this fraction of the training data (default 0: validate on "
                        "the test set, as the Keras example)")
    p.add_argument("--limit", type=int, help="use only the first N training and test samples")
    p.add_argument("--out", help="run directory (default runs/<date-time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last "
                   "checkpoint with its saved settings (options given override them)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(run=run_train)


# --- evaluate / predict / summary ------------------------------------------------------------
def run_evaluate(args: argparse.Namespace) -> int:
    from . import runs
    model = _load(args.model)
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
    _emit(args, "\n".join(lines), report)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from .images import load_digit
    model = _load(args.model)
    size = tuple(model.input_shape[:2])
    x = np.stack([load_digit(path, size) for path in args.images])
    probabilities = model.predict(x.reshape(len(x), *model.input_shape))
    results, lines = [], []
    for path, p in zip(args.images, probabilities):
        digit = int(p.argmax())
        results.append({"image": path, "digit": digit, "probabilities": p.tolist()})
        lines.append(f"{path}: {digit} ({p[digit]:.1%})  " +
                     " ".join(f"{k}:{v:.3f}" for k, v in enumerate(p)))
    _emit(args, "\n".join(lines), results)
    return 0


def run_summary(args: argparse.Namespace) -> int:
    from .saving import read_metadata
    model = _load(args.model)
    meta = read_metadata(args.model)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    compiled, training = meta.get("compile") or {}, meta.get("training") or {}
    lines.append(f"Optimizer: {compiled.get('optimizer')}  Loss: {compiled.get('loss')}")
    lines.append(f"Epochs trained: {training.get('epoch', 0)}  Optimizer steps: "
                 f"{training.get('iterations', 0)}")
    _emit(args, "\n".join(lines), {"config": meta["model"], "params": model.count_params(),
                                   "compile": compiled, "epochs": training.get("epoch", 0)})
    return 0


def add_evaluate(sub: Any) -> None:
    p = _parser(sub, "evaluate", "Test loss, accuracy, per-class accuracy and confusion matrix "
                "of a model file on the MNIST test set.",
                "scratchnet evaluate runs/quick/model.snet")
    p.add_argument("model", help="model file (.snet)")
    p.add_argument("--limit", type=int, help="only the first N test samples")
    p.add_argument("--batch-size", type=int, default=128)
    p.set_defaults(run=run_evaluate)


def add_predict(sub: Any) -> None:
    p = _parser(sub, "predict", "Classify digit images (PNG/JPEG): grayscale, resized to 28x28, "
                "inverted if the background is light, scaled to [0, 1].",
                "scratchnet predict runs/quick/model.snet seven.png three.jpg")
    p.add_argument("model", help="model file (.snet)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(run=run_predict)


def add_summary(sub: Any) -> None:
    p = _parser(sub, "summary", "Layers, output shapes, parameter counts and training state of "
                "a model file.", "scratchnet summary runs/quick/model.snet")
    p.add_argument("model", help="model file (.snet)")
    p.set_defaults(run=run_summary)


# --- doctor ----------------------------------------------------------------------------------
def run_doctor(args: argparse.Namespace) -> int:
    from .diagnostics.doctor import doctor
    from .diagnostics.gallery import GALLERY, HEALTHY
    cases = {**GALLERY, **HEALTHY}
    if args.list:
        _emit(args, "\n".join(f"{name:28} {'healthy' if name in HEALTHY else 'faulty'}"
                              for name in cases), {"faulty": list(GALLERY),
                                                    "healthy": list(HEALTHY)})
        return 0
    if args.example:
        if args.example not in cases:
            raise CommandError(f"unknown example {args.example!r}; expected one of "
                               f"{sorted(cases)} (see --list).")
        model, x, y = cases[args.example](samples=args.samples)
    elif args.model:
        model, x, y = _model_and_training_data(args.model, args.samples)
    else:
        raise CommandError("give a MODEL (a .snet file or a built-in name such as mnist-cnn) "
                           "or --example NAME (see --list).")
    report = doctor(model, x, y, max_samples=args.samples,
                    training_checks=not args.no_training_checks)
    _emit(args, report.to_text(), report.to_dict())
    return 0 if report.healthy else 1


def _model_and_training_data(spec: str, samples: int) -> tuple[Any, Any, Any]:
    """A built-in model (compiled with the Keras recipe) or a model file, and its first
    ``samples`` MNIST training images with labels encoded for its loss."""
    from . import runs, zoo
    if spec in zoo.MODELS:
        model = zoo.get(spec)
        model.compile(optimizer=_recipe_optimizer(), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    else:
        model = _load(spec)
    data = runs.mnist_arrays(model.input_shape, samples, split="train")
    return model, data["x_train"], runs.encode_labels(data["y_train"], model.loss.name)


def _recipe_optimizer() -> Any:
    from . import optimizers
    return optimizers.Adadelta(learning_rate=1.0)


def add_doctor(sub: Any) -> None:
    p = _parser(sub, "doctor", "Diagnose why a model does not train: gradient checks, dead "
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


# --- profile ---------------------------------------------------------------------------------
def run_profile(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .profiling import profile
    model, x, y = _model_and_training_data(args.model, args.batch_size)
    report = profile(model, x, None if args.inference else y, repeat=args.repeat)
    _emit(args, report.table(), {"batch_size": report.batch_size, "training": report.training,
                                 "total_ms": report.total_ms, "loss_ms": report.loss_ms,
                                 "optimizer_ms": report.optimizer_ms,
                                 "samples_per_second": report.samples_per_second,
                                 "layers": [asdict(row) for row in report.rows]})
    return 0


def add_profile(sub: Any) -> None:
    p = _parser(sub, "profile", "Time each layer's forward and backward pass on one batch of "
                "MNIST: where does a training step spend its time?",
                "scratchnet profile mnist-cnn --batch-size 128\n  scratchnet profile "
                "runs/quick/model.snet --inference --json")
    p.add_argument("model", nargs="?", default="mnist-cnn",
                   help="model file (.snet) or built-in model name (default mnist-cnn)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeat", type=int, default=5, help="timed runs; medians are reported")
    p.add_argument("--inference", action="store_true", help="time predict-mode forward only")
    p.set_defaults(run=run_profile)


# --- plumbing --------------------------------------------------------------------------------
def _parser(sub: Any, name: str, description: str, example: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=description.split(":")[0].split(" (")[0],
                       description=description, epilog=f"example:\n  {example}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


# Each entry adds one subcommand. doctor/profile: append add_doctor / add_profile here.
COMMANDS: list[Callable[[Any], None]] = [add_train, add_evaluate, add_predict, add_summary,
                                         add_doctor, add_profile]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchnet", description="Train, evaluate and use scratchnet models on MNIST.",
        epilog="example:\n  scratchnet train --epochs 1 --limit 2000 --out runs/quick\n"
               "  scratchnet evaluate runs/quick/model.snet",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CommandError, ValueError, FileNotFoundError, KeyError) as err:
        if os.environ.get("SCRATCHNET_DEBUG"):  # the full traceback, for bug reports
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"scratchnet {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
