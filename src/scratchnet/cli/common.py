"""What every subcommand shares: the user-error type, output, model loading, parser setup."""
from __future__ import annotations

import argparse
import json
from typing import Any


class CommandError(Exception):
    """A user mistake: printed as one line, exit status 2."""


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
