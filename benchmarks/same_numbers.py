"""Same numbers before and after a refactor: weights of the MNIST CNN after a few seeded
training steps, compared bit for bit between two source trees.

    python benchmarks/same_numbers.py --before /tmp/before/src [--steps 3] [--batch 128]

Each tree runs in its own subprocess (PYTHONPATH=<tree>/src), trains the Keras MNIST CNN
(seeded weights, seeded dropout) for ``--steps`` Adadelta steps on the first real MNIST batches
and writes its weights to a .npz; the script then compares every array with array_equal and
prints the largest difference if any. Exit status 0 only when every weight is identical.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]

TRAIN = r"""
import sys
import numpy as np
import scratchnet as sn
from scratchnet import layers, optimizers
from scratchnet.datasets import mnist
steps, batch, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sn.set_random_seed(1)
# The Keras example's stack, written out (older trees lack zoo.mnist_cnn's exact form).
model = sn.Sequential([
    layers.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
    layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Dropout(0.25), layers.Flatten(), layers.Dense(128, activation="relu"),
    layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer=optimizers.Adadelta(learning_rate=1.0))
(x, y), _ = mnist.load_data()
x = x[:steps * batch].reshape(-1, 28, 28, 1).astype("float32") / 255
y = np.eye(10, dtype="float32")[y[:steps * batch]]
model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False, seed=1)
np.savez(out, *model.get_weights())
"""


def weights_of(src: Path, steps: int, batch: int, out: Path) -> list[np.ndarray]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", TRAIN, str(steps), str(batch), str(out)], env=env,
                   check=True)
    with np.load(out) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="src/ of the old tree")
    parser.add_argument("--after", type=Path, default=HERE / "src", help="src/ of the new tree")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = weights_of(args.before, args.steps, args.batch, Path(tmp) / "before.npz")
        after = weights_of(args.after, args.steps, args.batch, Path(tmp) / "after.npz")
    same = len(before) == len(after) and all(
        a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
        for a, b in zip(before, after))
    worst = max((float(np.abs(a.astype(np.float64) - b).max()) for a, b in zip(before, after)
                 if a.shape == b.shape), default=float("nan"))
    print(f"{len(after)} weight arrays after {args.steps} steps of batch {args.batch}: "
          f"{'bit-identical' if same else f'DIFFERENT (max |diff| {worst:.3g})'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
