"""Training runs on MNIST with a run directory: checkpoints, history, report and plots.

Run directory layout::

    run.json          the settings (so --resume reuses them)
    model.snet        checkpoint after every completed epoch (the resume point)
    interrupted.snet  the weights at Ctrl-C, mid-epoch (for inspection; resume uses model.snet);
                      removed once a later run in the directory completes
    history.csv/json  per-epoch loss/accuracy (train and validation)
    evaluation.json   test loss, accuracy, per-class accuracy, confusion matrix
    *.png             curves (per batch and per epoch), confusion matrix, the most confident
                      mistakes, first-layer filters and activations for one test digit
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import callbacks, evaluation, saving, validation
from .files import remove_stale_temps

NUM_CLASSES = 10


class TrainingInterrupted(Exception):
    """Ctrl-C during training; the checkpoint of the last completed epoch is kept."""


def encode_labels(labels: np.ndarray, loss_name: str) -> np.ndarray:
    """Integer labels for sparse losses, one-hot rows (float) otherwise."""
    from .utils import to_categorical
    if loss_name == "sparse_categorical_crossentropy":
        return labels.astype(np.int64)
    return to_categorical(labels, NUM_CLASSES)


def mnist_arrays(input_shape: tuple[int, ...], limit: int | None = None,
                 split: str = "both") -> dict[str, np.ndarray]:
    """MNIST as float32 in [0, 1] shaped (N, *input_shape), labels as integers; the first
    ``limit`` samples of each split."""
    from .datasets import mnist
    if limit is not None:
        limit = validation.check_positive_int(limit, "limit")
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    out = {}
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if split in (name, "both"):
            x, y = x[:limit], y[:limit]
            out[f"x_{name}"] = x.reshape(len(x), *input_shape).astype(np.float32) / 255
            out[f"y_{name}"] = y
    return out


def evaluate_report(model: Any, x: np.ndarray, labels: np.ndarray, batch_size: int = 128,
                    keep_probabilities: bool = False, verbose: int | str = 0) -> dict[str, Any]:
    """Loss, accuracy, per-class accuracy and confusion matrix of ``model`` on (x, labels), in
    one pass over the data; the predicted classes (and, if asked, the probabilities) as arrays.
    ``verbose``: as ``model.evaluate``, a progress bar for 1."""
    from .training import evaluate_loop
    y = encode_labels(labels, model.loss.name)
    results, probabilities = evaluate_loop(model, x, y, batch_size, verbose=verbose,
                                           return_predictions=True)
    predicted = probabilities.argmax(axis=1)
    matrix = evaluation.confusion_matrix(labels, predicted, NUM_CLASSES)
    return {"samples": int(len(x)), "loss": float(results["loss"]),
            "accuracy": float(np.mean(predicted == labels)),
            "per_class_accuracy": [None if np.isnan(v) else float(v)
                                   for v in evaluation.per_class_accuracy(matrix)],
            "confusion_matrix": matrix.tolist(), "predicted": predicted,
            **({"probabilities": probabilities} if keep_probabilities else {})}


def write_plots(run_dir: Path, model: Any, history: dict[str, list[float]], x: np.ndarray,
                labels: np.ndarray, report: dict[str, Any], batches: Any = None,
                validation_label: str = "validation") -> list[str]:
    from . import plots
    plots.plot_history(history, run_dir / "curves.png", batches, validation_label)
    plots.plot_confusion_matrix(np.asarray(report["confusion_matrix"]),
                                run_dir / "confusion_matrix.png")
    plots.plot_misclassified(x, labels, report["probabilities"], run_dir / "misclassified.png")
    made = ["curves.png", "confusion_matrix.png", "misclassified.png"]
    if plots.plot_filters(model, run_dir / "filters.png") is not None:
        made.append("filters.png")
    if plots.plot_activation_map(model, x[0], run_dir / "activations.png",
                                 int(labels[0])) is not None:
        made.append("activations.png")
    return made


def _write_history(run_dir: Path, history: dict[str, Any]) -> None:
    keys = sorted(history["history"])
    rows = [",".join(["epoch", *keys])]
    for i, epoch in enumerate(history["epoch"]):
        values = [history["history"][k][i] if i < len(history["history"][k]) else None
                  for k in keys]   # a metric an epoch did not log (no validation then): NA
        rows.append(",".join([str(epoch), *("NA" if v is None else repr(v) for v in values)]))
    saving.atomic_write(run_dir / "history.csv", ("\n".join(rows) + "\n").encode())
    saving.atomic_write(run_dir / "history.json", json.dumps(history, indent=1).encode())


def train(model: Any, run_dir: str | os.PathLike[str], *, epochs: int, batch_size: int,
          validation_split: float = 0.0, limit: int | None = None, seed: int | None = None,
          verbose: int = 1, plots: bool = True) -> dict[str, Any]:
    """Fit a compiled ``model`` on MNIST, checkpointing every epoch to ``run_dir/model.snet``.

    A model from ``load_model`` continues at ``model.initial_epoch`` with its optimizer and
    random state, so an interrupted and resumed run ends with the same weights as one that ran
    straight through. Validation: the last ``validation_split`` of the training data, or the test
    set when 0 (as the Keras MNIST example). Returns the history, test report and files made.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(run_dir)   # left by a process killed mid-save
    data = mnist_arrays(model.input_shape, limit)
    loss = model.loss.name
    y_train = encode_labels(data["y_train"], loss)
    validation = {"validation_split": validation_split} if validation_split else {
        "validation_data": (data["x_test"], encode_labels(data["y_test"], loss))}
    initial_epoch = getattr(model, "initial_epoch", 0)
    checkpoint = run_dir / "model.snet"
    # The run directory is the user's path, used as it is: never a format template.
    from .plots import BatchCurve
    batches = BatchCurve()   # per-batch loss/accuracy for curves.png
    hooks = [callbacks.ModelCheckpoint(str(checkpoint), literal=True), callbacks.TerminateOnNaN(),
             callbacks.CSVLogger(str(run_dir / "history.csv"), append=initial_epoch > 0),
             batches]
    try:
        model.fit(data["x_train"], y_train, batch_size=batch_size, epochs=epochs,
                  initial_epoch=initial_epoch, seed=seed, verbose=verbose, callbacks=hooks,
                  **validation)
    except KeyboardInterrupt:
        saving.save_model(model, run_dir / "interrupted.snet")
        done = saving.read_metadata(checkpoint)["training"]["epoch"] \
            if checkpoint.exists() else 0
        raise TrainingInterrupted(
            f"Interrupted. {checkpoint} holds the end of epoch {done}; the mid-epoch weights are "
            f"in {run_dir / 'interrupted.snet'}. Continue with: scratchnet train --resume "
            f"{run_dir}") from None
    interrupted = run_dir / "interrupted.snet"
    if interrupted.exists():   # an earlier Ctrl-C's weights: this run has gone past them
        interrupted.unlink()
    history = saving.history_of(model)
    _write_history(run_dir, history)
    report = evaluate_report(model, data["x_test"], data["y_test"], batch_size, plots)
    files = write_plots(run_dir, model, history["history"], data["x_test"], data["y_test"],
                        report, batches.points,
                        "validation" if validation_split else "test") if plots else []
    report.pop("predicted")
    report.pop("probabilities", None)
    saving.atomic_write(run_dir / "evaluation.json", json.dumps(report, indent=1).encode())
    nan = hooks[1].message
    return {"run_dir": str(run_dir), "epochs": history["epoch"][-1] + 1 if history["epoch"]
            else 0, "history": history["history"], "test": report, "plots": files,
            "terminated": nan}
