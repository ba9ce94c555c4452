"""``scratchnet train``: train a model on the bundled MNIST, in a run directory.

``--epochs N`` always means *N epochs now*: a new run trains epochs 1..N; ``--model f.snet``
(a file with k epochs) trains k+1..k+N; ``--resume DIR`` trains N more after the last
checkpoint, or, without ``--epochs``, up to the total the run was started for. The plan is
printed before training. Everything is checked before the run directory is created.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import RunDirectoryError
from .common import (
    CommandError,
    add_parser,
    emit,
    fraction,
    loss_name,
    non_negative_float,
    optimizer_name,
    positive_int,
    seed_int,
)

TRAIN_DEFAULTS = {"model": "mnist-cnn", "epochs": 12, "batch_size": 128, "optimizer": "adadelta",
                  "learning_rate": 1.0, "loss": "categorical_crossentropy", "seed": None,
                  "validation_split": 0.0, "limit": None}
MNIST_TRAIN = 60_000
# On --resume: settings that the saved optimizer state and random streams fix, so a different
# value cannot apply (refused), and settings a resumed run can take (applied and reported).
FIXED_ON_RESUME = ("model", "optimizer", "loss", "seed")


def _saved_settings(run_dir: Path) -> dict[str, Any]:
    from ..errors import MetadataError
    from ..schema import check_run_settings
    saved = run_dir / "run.json"
    if not saved.is_file():
        raise RunDirectoryError(f"--resume {run_dir}: no run.json there; expected a run "
                                f"directory made by 'scratchnet train --out DIR'.")
    try:
        return {**TRAIN_DEFAULTS, **check_run_settings(json.loads(saved.read_text()))}
    except (ValueError, UnicodeDecodeError) as err:
        field = f" ({err})" if isinstance(err, MetadataError) else f": not valid JSON ({err})"
        raise RunDirectoryError(f"{saved}: cannot resume{field}.") from None


def _plan(args: argparse.Namespace) -> dict[str, Any]:
    """Settings, run directory, the model to train and what will happen: all checked, nothing
    written yet."""
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k) is not None}
    notes: list[str] = []
    if args.resume:
        run_dir = Path(args.resume)
        if args.out and Path(args.out) != run_dir:
            raise CommandError(f"--resume {run_dir} continues that run in place; --out "
                               f"{args.out} would name another. Give one of them.")
        saved = _saved_settings(run_dir)
        for key, value in given.items():
            if key == "epochs" or value == saved[key]:
                continue
            option = "--" + key.replace("_", "-")
            if key in FIXED_ON_RESUME:
                raise CommandError(
                    f"--resume {run_dir}: the run was trained with {option} {saved[key]}; its "
                    f"saved state continues with that, so {option} {value} cannot apply. To "
                    f"change it, start a new run from its weights: scratchnet train --model "
                    f"{run_dir / 'model.snet'} {option} {value} --out NEW_DIR")
            notes.append(f"{option}: {saved[key]} -> {value} (from the resumed epoch on)")
        settings = {**saved, **given}
    else:
        from datetime import datetime
        run_dir = Path(args.out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S"))
        if run_dir.exists() and not run_dir.is_dir():
            raise CommandError(f"--out {run_dir}: a file of that name exists; expected a "
                               f"directory to create or an empty one.")
        if (run_dir / "model.snet").exists():
            raise CommandError(f"{run_dir} already holds a run; use --resume {run_dir} to "
                               f"continue it or choose another --out.")
        settings = {**TRAIN_DEFAULTS, **given}
    _check_split(settings)
    model = _build_model(settings, run_dir, bool(args.resume))
    done = getattr(model, "initial_epoch", 0)
    if args.resume and args.epochs is None:
        total = saved["epochs"]
        if done >= total:
            raise CommandError(f"--resume {run_dir}: the run is complete ({done} of {total} "
                               f"epochs); give --epochs N to train N more.")
    else:
        total = done + settings["epochs"] if (args.resume or done) else settings["epochs"]
    if args.resume and "learning_rate" in given:
        model.optimizer.learning_rate = float(given["learning_rate"])
    settings["epochs"] = total   # run.json records the epoch the run ends at
    return {"settings": settings, "run_dir": run_dir, "model": model, "done": done,
            "total": total, "notes": notes, "resume": bool(args.resume)}


def _check_split(settings: dict[str, Any]) -> None:
    samples = min(settings["limit"] or MNIST_TRAIN, MNIST_TRAIN)
    cut = int(samples * (1 - settings["validation_split"]))
    if settings["validation_split"] and not 0 < cut < samples:
        raise CommandError(f"--validation-split {settings['validation_split']} of {samples} "
                           f"training samples leaves {cut} for training and {samples - cut} for "
                           f"validation; both need at least one.")


def _build_model(settings: dict[str, Any], run_dir: Path, resume: bool) -> Any:
    from .. import backend, optimizers, zoo
    from ..saving import load_model
    if resume and (run_dir / "model.snet").exists():
        return load_model(run_dir / "model.snet")
    if settings["seed"] is not None:
        backend.set_random_seed(settings["seed"])
    name = settings["model"]
    if name in zoo.MODELS or not Path(name).suffix:
        model = zoo.get(name)
    else:
        model = load_model(name, compile=False)
        if settings["seed"] is not None:   # a new run: its seed, not the file's stream
            model.resume_rng = None
    # The CLI's learning rate replaces the optimizer's default; other arguments keep theirs.
    optimizer = optimizers.from_config({**optimizers.get(settings["optimizer"]).get_config(),
                                        "learning_rate": settings["learning_rate"]})
    model.compile(optimizer=optimizer, loss=settings["loss"], metrics=["accuracy"])
    return model


def _announce(plan: dict[str, Any]) -> str:
    done, total = plan["done"], plan["total"]
    count = total - done
    more = f"{count} more epoch{'s' if count != 1 else ''}"
    span = f"epoch {total}" if count == 1 else f"epochs {done + 1}-{total}"
    if plan["resume"]:
        line = f"Resuming after epoch {done}: training {more}, {span}."
    elif done:
        line = (f"Starting from {plan['settings']['model']} ({done} epoch"
                f"{'s' if done != 1 else ''} trained): training {more}, {span}.")
    else:
        line = f"Training {count} epoch{'s' if count != 1 else ''}."
    return "\n".join([f"Run directory: {plan['run_dir']}", line, *plan["notes"]])


def _saved_line(run_dir: Path, result: dict[str, Any]) -> str:
    from ..saving import read_metadata
    checkpoint = run_dir / "model.snet"
    others = ", ".join(["history.csv/json", "evaluation.json", *result["plots"]])
    if not checkpoint.exists():
        return f"No checkpoint saved: no epoch ended with finite weights. Wrote {others}."
    epoch = read_metadata(checkpoint)["training"]["epoch"]
    return f"Saved {checkpoint} (after epoch {epoch}), {others}"


def run_train(args: argparse.Namespace) -> int:
    from .. import runs
    from ..files import atomic_write
    plan = _plan(args)
    settings, run_dir, model = plan["settings"], plan["run_dir"], plan["model"]
    atomic_write(run_dir / "run.json", json.dumps(settings, indent=1).encode())
    talk = not args.quiet and not args.json
    if talk:
        print(_announce(plan), flush=True)
    try:
        result = runs.train(model, run_dir, epochs=plan["total"],
                            batch_size=settings["batch_size"],
                            validation_split=settings["validation_split"],
                            limit=settings["limit"], seed=settings["seed"],
                            verbose=1 if talk else 0, plots=not args.no_plots)
    except runs.TrainingInterrupted as err:
        # On its own line: a progress bar may have left the cursor mid-line.
        print(f"\n{err}", file=sys.stderr)
        return 130
    test = result["test"]
    text = (f"Test loss: {test['loss']:.4f} - test accuracy: {test['accuracy']:.4f} "
            f"({test['samples']} samples)\n{_saved_line(run_dir, result)}")
    if result["terminated"]:
        text = result["terminated"] + "\n" + text
    emit(args, text, result)
    return 1 if result["terminated"] else 0


def add_train(sub: Any) -> None:
    p = add_parser(sub, "train", "Train a model on the bundled MNIST (Keras recipe by default). "
                   "--epochs N trains N epochs now: after a --model file's epochs or a --resume'd "
                   "run's last checkpoint.",
                   "scratchnet train --epochs 1 --limit 2000 --out runs/quick\n"
                   "  scratchnet train --resume runs/quick --epochs 2   # 2 more epochs")
    p.add_argument("--model", help="built-in name (mnist-cnn, mnist-mlp) or a model file "
                   "whose architecture and weights to start from (default mnist-cnn)")
    p.add_argument("--epochs", type=positive_int, help="epochs to train now (default 12; with "
                   "--resume, default: up to the run's planned total)")
    p.add_argument("--batch-size", type=positive_int, help="samples per step (default 128)")
    p.add_argument("--optimizer", type=optimizer_name,
                   help="sgd, adam, rmsprop, adadelta (default adadelta)")
    p.add_argument("--learning-rate", type=non_negative_float,
                   help="default 1.0 (the Keras MNIST recipe); with --resume, applied to the "
                        "saved optimizer")
    p.add_argument("--loss", type=loss_name, help="default categorical_crossentropy")
    p.add_argument("--seed", type=seed_int, help="fixes initial weights, shuffling and dropout")
    p.add_argument("--validation-split", type=fraction,
                   help="hold out this fraction of the training data (default 0: validate on "
                        "the test set, as the Keras example)")
    p.add_argument("--limit", type=positive_int,
                   help="use only the first N training and test samples")
    p.add_argument("--out", help="run directory, used as given (default runs/<date-time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last "
                   "checkpoint with its saved settings; --batch-size, --learning-rate, --limit "
                   "and --validation-split may change, --model/--optimizer/--loss/--seed not")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(run=run_train)
