"""Interleaved A/B of two scratchnet source trees: MNIST CNN training step and predict,
alternating rounds, medians and ratios (the machine is shared and noisy: only interleaved
ratios mean anything).

    python benchmarks/ab_trees.py --a /tmp/before/src --b src [--rounds 15] [--batch 128]

Each tree runs in its own long-lived worker process (PYTHONPATH=<tree>), which builds the
Keras MNIST CNN (Adadelta), warms up, then waits for commands; this process alternates the
trees round by round (A then B, then B then A, ...). A round times ``--steps`` training steps
(``train_on_batch`` on real MNIST batches of ``--batch``) and one ``predict`` of
``--predict-samples`` images. Separate processes keep the trees' thread pools, caches and
heaps apart (one process holding both trees showed a load-order bias of up to 30%).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, sys, time
import numpy as np
import scratchnet as sn
from scratchnet import layers
from scratchnet.datasets import mnist
batch, steps, samples = (int(a) for a in sys.argv[1:4])
sn.set_random_seed(1)
model = sn.Sequential([
    layers.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
    layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Dropout(0.25), layers.Flatten(), layers.Dense(128, activation="relu"),
    layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer=sn.optimizers.Adadelta(learning_rate=1.0))
(x, y), _ = mnist.load_data()
x = x[:4096].reshape(-1, 28, 28, 1).astype("float32") / 255
y = np.eye(10, dtype="float32")[y[:4096]]
model.train_on_batch(x[:batch], y[:batch])
model.predict(x[:2 * batch], batch_size=batch)
print(json.dumps({"ready": sn.__file__}), flush=True)
at = 0
for line in sys.stdin:
    start = time.perf_counter()
    for _ in range(steps):
        at = (at + batch) % (len(x) - batch)
        model.train_on_batch(x[at:at + batch], y[at:at + batch])
    train = (time.perf_counter() - start) / steps
    start = time.perf_counter()
    model.predict(x[:samples], batch_size=batch)
    print(json.dumps({"train": train, "predict": time.perf_counter() - start}), flush=True)
"""


def start(src: Path, args: argparse.Namespace) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(src)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(args.batch), str(args.steps),
                               str(args.predict_samples)], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    ready = json.loads(worker.stdout.readline())["ready"]
    assert Path(ready).resolve().is_relative_to(src.resolve()), ready
    return worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="src/ of tree A (before)")
    parser.add_argument("--b", type=Path, required=True, help="src/ of tree B (after)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--predict-samples", type=int, default=1024)
    args = parser.parse_args()
    workers = {"A": start(args.a, args), "B": start(args.b, args)}
    times: dict[tuple[str, str], list[float]] = {
        (key, what): [] for key in workers for what in ("train", "predict")}
    try:
        for round_ in range(args.rounds):
            for key in (("A", "B") if round_ % 2 == 0 else ("B", "A")):
                workers[key].stdin.write("go\n")
                workers[key].stdin.flush()
                result = json.loads(workers[key].stdout.readline())
                for what in ("train", "predict"):
                    times[key, what].append(result[what])
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    for what in ("train", "predict"):
        a, b = (statistics.median(times[k, what]) for k in ("A", "B"))
        ratios = [tb / ta for ta, tb in zip(times["A", what], times["B", what])]
        unit = f"per step of {args.batch}" if what == "train" else \
            f"for {args.predict_samples} images"
        print(f"{what:8s} A {a * 1e3:8.1f} ms  B {b * 1e3:8.1f} ms  {unit}; B/A: ratio of "
              f"medians {b / a:.3f}, median per-round ratio {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
