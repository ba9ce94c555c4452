"""Pretrained models shipped with the package (weights only; see data/models/README.md).

    import scratchnet.pretrained
    model = scratchnet.pretrained.load("mnist-cnn")   # the Keras MNIST CNN, trained on MNIST
    model.predict(x)                                  # x: (N, 28, 28, 1) in [0, 1]

Made by ``benchmarks/make_pretrained.py``; its README records the command, commit, date,
epochs and test accuracy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parent / "datasets" / "data" / "models"
FILES = {"mnist-cnn": "mnist_cnn.snet"}
DEFAULT = "mnist-cnn"

__all__ = ["load", "path", "available", "DEFAULT"]


def available() -> list[str]:
    """Names of the pretrained models present in this installation."""
    return sorted(name for name, file in FILES.items() if (MODELS_DIR / file).is_file())


def path(name: str = DEFAULT) -> Path:
    """The model file of a pretrained model."""
    if name not in FILES:
        raise ValueError(f"Unknown pretrained model {name!r}; expected one of {sorted(FILES)}.")
    file = MODELS_DIR / FILES[name]
    if not file.is_file():
        raise FileNotFoundError(f"The pretrained model {name!r} is missing from this "
                                f"installation ({file}); make it with: python "
                                f"benchmarks/make_pretrained.py")
    return file


def load(name: str = DEFAULT, compile: bool = True) -> Any:
    """The pretrained model ``name``, ready to predict; with ``compile`` it is also compiled
    with its training recipe (Adadelta(1.0), categorical cross-entropy, accuracy), so
    ``evaluate`` and further ``fit`` work too."""
    from .saving import load_model
    model = load_model(path(name))
    if compile and model.loss is None:
        from .optimizers import Adadelta
        model.compile(optimizer=Adadelta(learning_rate=1.0), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    return model
