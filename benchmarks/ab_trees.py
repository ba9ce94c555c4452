"""Interleaved in-process A/B of two scratchnet source trees: MNIST CNN training step and
predict, alternating rounds, medians and ratios (the machine is shared and noisy: only
interleaved ratios mean anything).

    python benchmarks/ab_trees.py --a /tmp/before/src --b src [--rounds 15] [--batch 128]

Both trees are imported into this process under the one name ``scratchnet``: each tree's
modules are kept apart and put back into ``sys.modules`` for its own rounds (lazy imports
inside a call then resolve to the right tree). Each round times, per tree, ``steps``
training steps (``train_on_batch`` on real MNIST, the Keras MNIST CNN, Adadelta) and one
``predict`` of ``predict_samples`` images; the tree order alternates every round.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def load_tree(src: Path) -> dict[str, object]:
    """Import scratchnet from ``src``; return its modules (and remove them from sys.modules)."""
    for name in [n for n in sys.modules if n == "scratchnet" or n.startswith("scratchnet.")]:
        del sys.modules[name]
    sys.path.insert(0, str(src))
    try:
        package = importlib.import_module("scratchnet")
        for sub in ("model", "training", "callbacks", "saving", "datasets.mnist", "layers",
                    "optimizers"):
            importlib.import_module(f"scratchnet.{sub}")
        assert Path(package.__file__).resolve().is_relative_to(src.resolve()), package.__file__
    finally:
        sys.path.remove(str(src))
    modules = {n: m for n, m in sys.modules.items()
               if n == "scratchnet" or n.startswith("scratchnet.")}
    for name in modules:
        del sys.modules[name]
    return modules


def activate(modules: dict[str, object]) -> object:
    for name in [n for n in sys.modules if n == "scratchnet" or n.startswith("scratchnet.")]:
        del sys.modules[name]
    sys.modules.update(modules)
    return modules["scratchnet"]


def build(sn, x, y):
    sn.set_random_seed(1)
    layers = sn.layers
    model = sn.Sequential([
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25), layers.Flatten(), layers.Dense(128, activation="relu"),
        layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy",
                  optimizer=sn.optimizers.Adadelta(learning_rate=1.0))
    model.train_on_batch(x[:128], y[:128])     # warm up: buffers, threads, malloc settings
    model.predict(x[:256], batch_size=128)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="src/ of tree A (before)")
    parser.add_argument("--b", type=Path, required=True, help="src/ of tree B (after)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--predict-samples", type=int, default=1024)
    args = parser.parse_args()
    trees = {"A": load_tree(args.a), "B": load_tree(args.b)}
    sn = activate(trees["A"])
    (x, y), _ = sn.datasets.mnist.load_data()
    x = x[:4096].reshape(-1, 28, 28, 1).astype("float32") / 255
    y = np.eye(10, dtype="float32")[y[:4096]]
    models = {}
    for key, modules in trees.items():
        models[key] = build(activate(modules), x, y)
    times = {(key, what): [] for key in trees for what in ("train", "predict")}
    for round_ in range(args.rounds):
        for key in (("A", "B") if round_ % 2 == 0 else ("B", "A")):
            activate(trees[key])
            model = models[key]
            start = time.perf_counter()
            for step in range(args.steps):
                at = (round_ * args.steps + step) * args.batch % (len(x) - args.batch)
                model.train_on_batch(x[at:at + args.batch], y[at:at + args.batch])
            times[key, "train"].append((time.perf_counter() - start) / args.steps)
            start = time.perf_counter()
            model.predict(x[:args.predict_samples], batch_size=args.batch)
            times[key, "predict"].append(time.perf_counter() - start)
    for what in ("train", "predict"):
        a, b = (statistics.median(times[k, what]) for k in ("A", "B"))
        ratios = [tb / ta for ta, tb in zip(times["A", what], times["B", what])]
        unit = f"per step of {args.batch}" if what == "train" else \
            f"for {args.predict_samples} images"
        print(f"{what:8s} A {a * 1e3:8.1f} ms  B {b * 1e3:8.1f} ms  {unit}; B/A median of "
              f"medians {b / a:.3f}, median of per-round ratios {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
