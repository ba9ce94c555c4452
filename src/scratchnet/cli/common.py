"""What every subcommand shares: the user-error type, output, model loading, parser setup and
argument types (checked by argparse, so a bad value is refused before anything is created)."""
from __future__ import annotations

import argparse
import json
import math
from typing import Any, Callable

from ..errors import UsageError

# A user mistake on the command line: printed as one line, exit status 2.
CommandError = UsageError


def _typed(parse: Callable[[str], Any], wanted: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value
    convert.__name__ = wanted   # argparse names the type in some messages
    return convert


def _int_at_least(low: int, high: int | None = None) -> Callable[[str], int | None]:
    def parse(text: str) -> int | None:
        value = int(text)
        return value if value >= low and (high is None or value <= high) else None
    return parse


def _float_in(low: float, below: float | None = None) -> Callable[[str], float | None]:
    def parse(text: str) -> float | None:
        value = float(text)
        ok = math.isfinite(value) and value >= low and (below is None or value < below)
        return value if ok else None
    return parse


def _named(module: str) -> Callable[[str], str | None]:
    def parse(text: str) -> str | None:
        import importlib
        importlib.import_module(f"scratchnet.{module}").get(text)   # ValueError if unknown
        return text
    return parse


positive_int = _typed(_int_at_least(1), "an integer >= 1")
seed_int = _typed(_int_at_least(0, 2**63 - 1), "an integer in [0, 2**63 - 1]")
non_negative_float = _typed(_float_in(0.0), "a finite number >= 0")
fraction = _typed(_float_in(0.0, 1.0), "a number in [0, 1)")
optimizer_name = _typed(_named("optimizers"), "one of sgd, adam, rmsprop, adadelta")
loss_name = _typed(_named("losses"), "a loss name such as categorical_crossentropy, "
                   "sparse_categorical_crossentropy, mse")


def emit(args: argparse.Namespace, text: str, data: Any) -> None:
    if args.json:
        print(json.dumps(data, indent=1))
    elif not args.quiet:
        print(text)


def load_model_file(path: str) -> Any:
    from ..saving import load_model
    model = load_model(path)
    if model.loss is None:   # saved uncompiled: evaluate it as the Keras recipe would train it
        model.compile(optimizer=recipe_optimizer(), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    return model

def model_and_training_data(spec: str, samples: int) -> tuple[Any, Any, Any]:
    """A built-in model (compiled with the Keras recipe) or a model file, and its first
    ``samples`` MNIST training images with labels encoded for its loss."""
    from .. import runs, zoo
    if spec in zoo.MODELS:
        model = zoo.get(spec)
        model.compile(optimizer=recipe_optimizer(), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    else:
        model = load_model_file(spec)
    data = runs.mnist_arrays(model.input_shape, samples, split="train")
    return model, data["x_train"], runs.encode_labels(data["y_train"], model.loss.name)


def recipe_optimizer() -> Any:
    from .. import optimizers
    return optimizers.Adadelta(learning_rate=1.0)

def add_parser(sub: Any, name: str, description: str, example: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=description.split(":")[0].split(" (")[0],
                       description=description, epilog=f"example:\n  {example}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p
