"""Train the bundled pretrained MNIST CNN (zoo "mnist-cnn", the Keras recipe) with a fixed seed.

    python benchmarks/make_pretrained.py --epochs 12 --seed 1

Writes ``src/scratchnet/datasets/data/models/mnist_cnn.snet`` (weights and history, without the
optimizer slots, which would triple the file) and a README.md beside it with the command, commit,
date, machine, epochs and test accuracy. Both are rewritten after every epoch, so stopping the
script early still leaves a consistent, usable model of the epochs done so far.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import scratchnet as sn
from scratchnet import callbacks, optimizers, saving, zoo
from scratchnet.datasets import mnist
from scratchnet.files import atomic_write
from scratchnet.utils import to_categorical

OUT = Path(__file__).resolve().parents[1] / "src/scratchnet/datasets/data/models"


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).parent)
    return done.stdout.strip() or "unknown"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class WriteEveryEpoch(callbacks.Callback):
    """Saves the weights without optimizer state and rewrites the README after each epoch."""

    def __init__(self, command: str, revision: str, started: float, test_samples: int) -> None:
        super().__init__()
        self.command, self.revision, self.started = command, revision, started
        self.test_samples = test_samples

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        history = self.model.history.history
        optimizer, self.model.optimizer = self.model.optimizer, None
        try:   # compile settings and slots are left out: a loaded file is ready to predict
            saving.save_model(self.model, OUT / "mnist_cnn.snet", epoch=epoch + 1)
        finally:
            self.model.optimizer = optimizer
        rows = "\n".join(f"| {i + 1} | {history['loss'][i]:.4f} | {history['accuracy'][i]:.4f} "
                         f"| {history['val_loss'][i]:.4f} | {history['val_accuracy'][i]:.4f} |"
                         for i in range(len(history["loss"])))
        text = f"""# Pretrained models

`mnist_cnn.snet`: the Keras MNIST CNN (`scratchnet.zoo.mnist_cnn()`, 1,199,882 parameters),
trained with the Keras recipe (Adadelta(learning_rate=1.0), batch 128, categorical
cross-entropy, inputs / 255) on the bundled MNIST training set (60,000 images). Weights only: the
optimizer slots are left out, so the file is a third of a training checkpoint's size. Load it with
`scratchnet.pretrained.load("mnist-cnn")`; `scratchnet predict IMAGE...` uses it by default.

- command: `{self.command}`
- commit: {self.revision}; written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()},
  NumPy {np.__version__}; training wall time so far {time.perf_counter() - self.started:.0f} s
- epochs: {epoch + 1} of the {self.params.get('epochs')} asked for (the file is rewritten after
  each epoch; the first N epochs of a longer run are bit-identical to an N-epoch run)
- **test accuracy {logs.get('val_accuracy', float('nan')):.4f}** on {self.test_samples:,} MNIST
  test images, test loss {logs.get('val_loss', float('nan')):.4f}

| epoch | loss | accuracy | test loss | test accuracy |
|---|---|---|---|---|
{rows}
"""
        atomic_write(OUT / "README.md", text.encode())
        print(f"wrote {OUT / 'mnist_cnn.snet'} after epoch {epoch + 1}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None,
                        help="first N training/test images only (a smoke test of this script)")
    args = parser.parse_args()
    command = " ".join(["python", "benchmarks/make_pretrained.py", *sys.argv[1:]])
    revision = commit()   # read at the start: the code that runs is the code checked out now
    OUT.mkdir(parents=True, exist_ok=True)
    sn.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, y_train, x_test, y_test = (a[:args.limit] for a in (x_train, y_train, x_test,
                                                                 y_test))
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    model = zoo.mnist_cnn()
    model.compile(loss="categorical_crossentropy",
                  optimizer=optimizers.Adadelta(learning_rate=1.0), metrics=["accuracy"])
    writer = WriteEveryEpoch(command, revision, time.perf_counter(), len(x_test))
    model.fit(x_train, to_categorical(y_train, 10), batch_size=128, epochs=args.epochs,
              validation_data=(x_test, to_categorical(y_test, 10)), seed=args.seed,
              verbose=2, callbacks=[writer])
    return 0


if __name__ == "__main__":
    sys.exit(main())
