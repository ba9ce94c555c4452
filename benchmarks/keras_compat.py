"""Real Keras programs on scratchnet and on Keras 3 itself: the same data, the same budget.

Three programs of the corpus (tests/keras_corpus/) run unchanged apart from the mechanical import
rename (for scratchnet only), each on the first TRAIN samples of MNIST for one epoch, evaluated
on the first EVAL test samples, once per seed. Keras 3 runs the original program text. The
figure that counts is whether scratchnet's test accuracy and loss fall within the spread of
Keras's own over the seeds (different seeds draw different initial weights and batches).

    python benchmarks/keras_compat.py --keras-python /path/to/venv-with-keras/bin/python

The Keras venv needs `keras` and a backend (`pip install keras torch==2.13.0`; KERAS_BACKEND=torch
is set here). Results: benchmarks/results/keras_compat.md.
"""
from __future__ import annotations

import argparse
import datetime
import functools
import inspect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "keras_corpus"
# Keras 3 runs these as published (the Keras 2 examples need np_utils, which Keras 3 dropped).
PROGRAMS = ["kerasio_mnist_convnet", "dlwp_first_look_at_a_neural_network",
            "dlwp_introduction_to_convnets"]


def shrink(cls, train: int, test: int, results: list) -> None:
    """fit/evaluate see the first ``train``/``test`` samples, fit at most one epoch; every
    evaluate's result is kept (the program's own evaluation of the test set)."""
    for name, samples in (("fit", train), ("evaluate", test)):
        method = getattr(cls, name)
        signature = inspect.signature(method)

        def wrapper(self, *args, _method=method, _signature=signature, _name=name,
                    _samples=samples, **kwargs):
            bound = _signature.bind(self, *args, **kwargs)
            for key in ("x", "y"):
                if bound.arguments.get(key) is not None:
                    bound.arguments[key] = bound.arguments[key][:_samples]
            if bound.arguments.get("validation_data") is not None:
                bound.arguments["validation_data"] = tuple(
                    part[:test] for part in bound.arguments["validation_data"])
            if _name == "fit":
                bound.arguments["epochs"] = 1
            out = _method(*bound.args, **bound.kwargs)
            if _name == "evaluate":
                values = out.values() if isinstance(out, dict) else (
                    out if isinstance(out, list) else [out])
                results.append([float(v) for v in values])
            return out
        setattr(cls, name, functools.wraps(method)(wrapper))


def worker(framework: str, program: str, seed: int, train: int, test: int) -> None:
    sys.path.insert(0, str(CORPUS))
    source = (CORPUS / f"{program}.py").read_text(encoding="utf-8")
    results: list = []
    if framework == "scratchnet":
        import run as corpus  # the corpus harness: its import rename, nothing else

        import scratchnet
        scratchnet.set_random_seed(seed)
        shrink(scratchnet.Sequential, train, test, results)   # Model inherits it
        source = corpus.rename_imports(source)
    else:
        import keras
        import keras.datasets.mnist

        import scratchnet.datasets.mnist
        # Offline: Keras's loader would download mnist.npz; the same data, bundled here.
        keras.datasets.mnist.load_data = scratchnet.datasets.mnist.load_data
        keras.utils.set_random_seed(seed)
        shrink(keras.Model, train, test, results)
        # Keras 3 without TensorFlow: `from tensorflow import keras` becomes `import keras`, the
        # rename a Keras 3 user makes (and nothing else).
        source = re.sub(r"^from tensorflow import keras\b", "import keras", source, flags=re.M)
        source = re.sub(r"^from tensorflow\.keras", "from keras", source, flags=re.M)
    exec(compile(source, program, "exec"), {"__name__": "__main__"})
    print("RESULT " + json.dumps({"evaluate": results[-1] if results else None}))


def run(python: str, framework: str, program: str, seed: int, args) -> dict | str:
    env = {**os.environ, "KERAS_BACKEND": "torch", "MPLBACKEND": "Agg",
           "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([python, __file__, "--worker", framework, program, str(seed),
                               str(args.train), str(args.test)], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=1800)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return (done.stderr.strip().splitlines() or ["no output"])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras-python")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--programs", default=",".join(PROGRAMS))
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        framework, program, seed, train, test = args.worker
        return worker(framework, program, int(seed), int(train), int(test))
    if not args.keras_python:
        parser.error("--keras-python is required: the Python of a venv with keras and torch")
    rows = []
    for program in args.programs.split(","):
        got = {}
        for framework, python in (("scratchnet", sys.executable), ("keras", args.keras_python)):
            got[framework] = [run(python, framework, program, seed, args)
                              for seed in range(args.seeds)]
            print(program, framework, got[framework], file=sys.stderr, flush=True)
        rows.append((program, got))
    keras_version = subprocess.run([args.keras_python, "-c", "import keras, torch; "
                                    "print(keras.__version__, torch.__version__)"],
                                   capture_output=True, text=True,
                                   env={**os.environ, "KERAS_BACKEND": "torch"}).stdout.split()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    lines = ["# Real Keras programs: scratchnet against Keras 3 on the same data", "",
             f"- command: `python benchmarks/keras_compat.py --keras-python ... --seeds "
             f"{args.seeds} --train {args.train} --test {args.test}`",
             f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
             f"- git commit: {commit}; Keras {' + torch '.join(keras_version)} "
             "(KERAS_BACKEND=torch)",
             f"- each program: the first {args.train} MNIST training images, 1 epoch, evaluated "
             f"on the first {args.test} test images; seeds 0..{args.seeds - 1} "
             "(initial weights, shuffling, dropout)", "",
             "| program | framework | test loss per seed | test accuracy per seed | "
             "accuracy, mean ± sd |", "|---|---|---|---|---:|"]
    for program, got in rows:
        for framework, results in got.items():
            good = [r["evaluate"] for r in results if isinstance(r, dict) and r["evaluate"]]
            if not good:
                lines.append(f"| {program} | {framework} | failed: {results[0]} | | |")
                continue
            losses = ", ".join(f"{g[0]:.4f}" for g in good)
            accs = ", ".join(f"{g[-1]:.4f}" for g in good)
            lines.append(f"| {program} | {framework} | {losses} | {accs} | "
                         f"{statistics.mean(g[-1] for g in good):.4f} ± "
                         f"{statistics.pstdev(g[-1] for g in good):.4f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "benchmarks" / "results" / "keras_compat.md"
    out.write_text(text)


if __name__ == "__main__":
    main()
