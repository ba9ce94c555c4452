"""The classic Keras MNIST CNN (run by `make run`); the model is ``scratchnet.zoo.mnist_cnn``,
the Keras example's layers exactly (see src/scratchnet/zoo.py).

Trains the Keras recipe (Adadelta(learning_rate=1.0), batch 128, 12 epochs, inputs / 255,
validation on the test set) on the bundled MNIST and prints the test accuracy.
Environment: EPOCHS (default 12), SEED (default 1), RESULTS (a markdown file to append the run to).
"""
import os
import platform
import subprocess
import sys
import time

import numpy as np

import scratchnet as sn
from scratchnet import optimizers, zoo
from scratchnet.datasets import mnist
from scratchnet.utils import to_categorical

# The commit is read at the start: the code that runs is the code that was checked out then.
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                        text=True).stdout.strip() or "unknown"
epochs = int(os.environ.get("EPOCHS", 12))
seed = int(os.environ.get("SEED", 1))
sn.set_random_seed(seed)

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)

model = zoo.mnist_cnn()
model.compile(loss="categorical_crossentropy", optimizer=optimizers.Adadelta(learning_rate=1.0),
              metrics=["accuracy"])
model.summary()

start = time.perf_counter()
history = model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=1,
                    validation_data=(x_test, y_test), seed=seed)
wall = time.perf_counter() - start
score = model.evaluate(x_test, y_test, verbose=0)
print(f"Test loss: {score[0]:.4f}")
print(f"Test accuracy: {score[1]:.4f}")
print(f"Training wall time: {wall:.0f} s")

def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


results = os.environ.get("RESULTS")
if results:
    with open(results, "a") as out:
        out.write(f"## `EPOCHS={epochs} SEED={seed} make run`\n\n"
                  f"- commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
                  f"- machine: {cpu_name()}, {os.cpu_count()} "
                  f"cores, Python {platform.python_version()}, NumPy {np.__version__}\n"
                  f"- training wall time: {wall:.0f} s; test accuracy {score[1]:.4f}, "
                  f"test loss {score[0]:.4f}\n\n| epoch | loss | accuracy | val_loss | "
                  f"val_accuracy |\n|---|---|---|---|---|\n")
        h = history.history
        for i in range(len(h["loss"])):
            out.write(f"| {i + 1} | {h['loss'][i]:.4f} | {h['accuracy'][i]:.4f} | "
                      f"{h['val_loss'][i]:.4f} | {h['val_accuracy'][i]:.4f} |\n")
        out.write("\n")
sys.exit(0 if score[1] > 0 else 1)
