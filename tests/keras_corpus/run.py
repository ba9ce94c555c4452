"""Run real Keras programs on scratchnet with only their imports changed.

Each program in this folder is kept as its authors published it (a header says where from and
under which licence). Running one applies exactly two mechanical changes, nothing else:

1. ``rename_imports``: ``import keras``, ``from tensorflow import keras``, ``from keras.x import
   y``, ``from tensorflow.keras.x import y``, ``import tensorflow as tf`` (with ``tf.keras.`` ->
   ``tf.``) become the same imports of scratchnet. This is what a user does by hand.
2. Data shrinking, from outside the program text (``install_shrinking``): fit/evaluate/predict
   see only the first ``TRAIN_SAMPLES`` / ``EVAL_SAMPLES`` samples and at most one epoch, so the
   whole corpus runs in about a minute. Programs still load the full bundled MNIST (several
   hard-code ``reshape(60000, 784)``). Fashion-MNIST and CIFAR-10 are downloads, so offline the
   loaders are replaced by synthetic stand-ins of Keras's shapes and dtypes (uint8 images,
   uint8 labels; CIFAR-10 with 5000/1000 images rather than 50000/10000, its labels (N, 1)).

``python tests/keras_corpus/run.py`` runs them all and prints the table; ``python
tests/keras_corpus/run.py NAME WORKDIR [ARGS...]`` runs one (what the test does, in a subprocess).
"""
from __future__ import annotations

import functools
import inspect
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TRAIN_SAMPLES = 1000
EVAL_SAMPLES = 500
MAX_EPOCHS = 1

# name -> options. "after": run in the same folder right after that program (it reads its
# files); "args": its command-line arguments; "expected": why it does not run yet (the test
# marks it xfail, strictly: it fails loudly once it starts running).
PROGRAMS: dict[str, dict] = {
    "keras2_mnist_cnn": {},
    "keras2_mnist_mlp": {},
    "keras2_mnist_transfer_cnn": {},
    "keras2_cifar10_cnn": {"expected": "keras.preprocessing.image.ImageDataGenerator and "
                                       "fit_generator (Keras 2; not in scratchnet)"},
    "kerasio_mnist_convnet": {},
    "keras3_demo_mnist_convnet": {},
    "tf_quickstart_beginner": {"expected": "TensorFlow, not Keras: tensor.numpy() and "
                                           "tf.nn.softmax"},
    "tf_keras_classification": {},
    "tf_images_cnn": {},
    "dlwp_first_look_at_a_neural_network": {},
    "dlwp_introduction_to_convnets": {},
    "packt_mlp_mnist": {},
    "packt_cnn_mnist": {},
    "student_lindbuechl_model": {},
    "student_lindbuechl_test_sparse": {"after": "student_lindbuechl_model",
                                       "args": ["NN_model.keras"]},
    "student_lindbuechl_model_01": {},
    "student_lindbuechl_model_02": {},
    "student_lindbuechl_model_03": {},
    "guildai_fashion_mnist_mlp": {},
}


# --- 1. the import rename ---------------------------------------------------------------------
_LINE_RULES = [
    (re.compile(r"^(\s*)from tensorflow\.keras((?:\.\w+)*) import "),
     r"\1from scratchnet\2 import "),
    (re.compile(r"^(\s*)from keras((?:\.\w+)*) import "), r"\1from scratchnet\2 import "),
    (re.compile(r"^(\s*)from tensorflow import keras\b"), r"\1import scratchnet as keras"),
    (re.compile(r"^(\s*)import tensorflow\.keras as (\w+)"), r"\1import scratchnet as \2"),
    (re.compile(r"^(\s*)import keras(?=[ \t]*(?:#.*)?$)"), r"\1import scratchnet as keras"),
]
_IMPORT_TF = re.compile(r"^([ \t]*)import tensorflow as (\w+)(?=[ \t]*$)", re.M)


def rename_imports(source: str) -> str:
    """The program with its Keras/TensorFlow imports pointing at scratchnet, nothing else."""
    lines = []
    for line in source.splitlines(keepends=True):
        for pattern, replacement in _LINE_RULES:
            line = pattern.sub(replacement, line)
        lines.append(line)
    source = "".join(lines)
    for match in _IMPORT_TF.finditer(source):
        alias = match.group(2)
        source = re.sub(rf"\b{alias}\.keras\.", f"{alias}.", source)
    return _IMPORT_TF.sub(r"\1import scratchnet as \2", source)


# --- 2. data shrinking and offline stand-ins --------------------------------------------------
def _synthetic_images(shape: tuple[int, ...], labels: np.ndarray, seed: int) -> np.ndarray:
    """uint8 images whose mean depends on the class, so a model can learn something."""
    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 256, size=(10, *shape[1:]))
    noise = rng.integers(-40, 41, size=shape)
    return np.clip(patterns[labels.reshape(-1)] * 0.7 + noise, 0, 255).astype(np.uint8)


def _stand_in(train: int, test: int, image_shape: tuple[int, ...], label_shape: tuple[int, ...]):
    def load_data(*args, **kwargs):
        rng = np.random.default_rng(0)
        y_train = rng.integers(0, 10, size=(train, *label_shape)).astype(np.uint8)
        y_test = rng.integers(0, 10, size=(test, *label_shape)).astype(np.uint8)
        return ((_synthetic_images((train, *image_shape), y_train, 1), y_train),
                (_synthetic_images((test, *image_shape), y_test, 2), y_test))
    return load_data


def _shrunk(method, samples: int, clamp_epochs: bool):
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        arguments = bound.arguments
        for key in ("x", "y", "sample_weight"):
            if arguments.get(key) is not None and hasattr(arguments[key], "__len__") \
                    and not isinstance(arguments[key], (dict, str)):
                arguments[key] = arguments[key][:samples]
        if arguments.get("validation_data") is not None:
            arguments["validation_data"] = tuple(
                part[:EVAL_SAMPLES] for part in arguments["validation_data"])
        if clamp_epochs and arguments.get("epochs") is not None:
            arguments["epochs"] = min(int(arguments["epochs"]), MAX_EPOCHS)
        return method(*bound.args, **bound.kwargs)
    return wrapper


def install_shrinking() -> None:
    import scratchnet
    from scratchnet.datasets import cifar10, fashion_mnist
    fashion_mnist.load_data = _stand_in(60000, 10000, (28, 28), ())
    cifar10.load_data = _stand_in(5000, 1000, (32, 32, 3), (1,))
    classes = {scratchnet.Sequential, getattr(scratchnet, "Model", scratchnet.Sequential)}
    for cls in classes:
        for name, samples, clamp in (("fit", TRAIN_SAMPLES, True),
                                     ("evaluate", EVAL_SAMPLES, False),
                                     ("predict", EVAL_SAMPLES, False)):
            if name in cls.__dict__:
                setattr(cls, name, _shrunk(cls.__dict__[name], samples, clamp))


def run_one(name: str, args: list[str]) -> None:
    """Run program ``name`` in the current directory (called inside the subprocess)."""
    install_shrinking()
    path = HERE / f"{name}.py"
    code = compile(rename_imports(path.read_text(encoding="utf-8")), str(path), "exec")
    sys.argv = [str(path), *args]
    exec(code, {"__name__": "__main__", "__file__": str(path)})


# --- the driver -------------------------------------------------------------------------------
def run_in_subprocess(name: str, workdir: Path, timeout: float = 120) -> tuple[int, str, float]:
    """(exit code, output tail, seconds) of one program run in ``workdir``."""
    options = PROGRAMS[name]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    command = [sys.executable, str(Path(__file__).resolve()), name, str(workdir),
               *options.get("args", [])]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=timeout)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as error:
        code, output = -1, f"timed out after {timeout} s\n{error.stdout or ''}{error.stderr or ''}"
    return code, output[-4000:], time.perf_counter() - start


def run_with_prerequisites(name: str, workdir: Path) -> tuple[int, str, float]:
    before = PROGRAMS[name].get("after")
    if before is not None:
        code, output, _ = run_in_subprocess(before, workdir)
        if code != 0:
            return code, f"prerequisite {before} failed:\n{output}", 0.0
    return run_in_subprocess(name, workdir)


def main() -> int:
    if len(sys.argv) >= 3:
        os.chdir(sys.argv[2])
        run_one(sys.argv[1], sys.argv[3:])
        return 0
    results = []
    for name in PROGRAMS:
        with tempfile.TemporaryDirectory() as folder:
            code, output, seconds = run_with_prerequisites(name, Path(folder))
        last = output.strip().splitlines()[-1] if output.strip() else ""
        results.append((name, code == 0, seconds, last))
        print(f"{name:40s} {'runs' if code == 0 else 'FAILS':6s} {seconds:5.1f} s  "
              f"{'' if code == 0 else last[:120]}", flush=True)
    print(f"{sum(ok for _, ok, _, _ in results)} of {len(results)} run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
