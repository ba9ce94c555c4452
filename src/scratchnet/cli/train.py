"""``scratchnet train``: train a model on the bundled MNIST, in a run directory."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import CommandError, add_parser, emit

TRAIN_DEFAULTS = {"model": "mnist-cnn", "epochs": 12, "batch_size": 128, "optimizer": "adadelta",
                  "learning_rate": 1.0, "loss": "categorical_crossentropy", "seed": None,
                  "validation_split": 0.0, "limit": None}


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
    from .. import backend, optimizers, zoo
    from ..saving import load_model
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
    from .. import runs
    from ..saving import atomic_write
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
    emit(args, text, result)
    return 1 if result["terminated"] else 0


def add_train(sub: Any) -> None:
    p = add_parser(sub, "train", "Train a model on the bundled MNIST (Keras recipe by default).",
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
