"""What the exporters share: optional imports, output paths, and a layer's weights by name.

A layer's weights are read and written through ``get_weights`` / ``set_weights`` (Keras's order,
which also covers saved-but-not-trained state such as BatchNormalization's moving statistics),
named by ``weight_names`` so every format can say which array is which.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np


class InteropError(ValueError):
    """A model or file that cannot be converted: the message says what was expected and got."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{purpose} needs the {module!r} package, which is not installed: "
                          f"pip install 'scratchnet[{extra}]'") from err


def weight_names(layer: Any) -> list[str]:
    """Names of ``layer.get_weights()``, in that order (``params`` is kept in Keras's order,
    saved-but-not-trained state such as moving statistics included)."""
    return list(layer.params)


def named_weights(layer: Any) -> dict[str, np.ndarray]:
    values = layer.get_weights()
    names = weight_names(layer)
    if len(values) != len(names):
        raise InteropError(f"layer {layer.name!r} ({type(layer).__name__}) has {len(values)} "
                           f"weight arrays, expected {len(names)} named {names}")
    return dict(zip(names, values))


def set_named_weights(layer: Any, weights: dict[str, np.ndarray]) -> None:
    layer.set_weights([np.asarray(weights[name]) for name in weight_names(layer)])


def built_layers(model: Any) -> list[Any]:
    if not model.built:
        raise InteropError(f"model {model.name!r} is not built: give its first layer an "
                           f"input_shape (or an Input layer) or call it on data before exporting")
    return list(model.layers)


def output_path(path: Any, suffixes: tuple[str, ...], what: str) -> Path:
    """Check ``path`` can take a new file before any work is done: not a directory, with a
    directory above it that exists (or can be made) and is writable."""
    try:
        target = Path(os.fspath(path))
    except TypeError:
        raise InteropError(f"{what} path must be a file path, got {path!r}") from None
    if target.is_dir():
        raise InteropError(f"{what} path {str(target)!r} is a directory, expected a file path "
                           f"ending in {' or '.join(suffixes)}")
    if not target.name.endswith(suffixes):
        raise InteropError(f"{what} path {str(target)!r} should end in {' or '.join(suffixes)}")
    parent = target.parent if str(target.parent) else Path(".")
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InteropError(f"cannot write {what} to {str(target)!r}: {str(existing)!r} is a "
                           f"file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InteropError(f"cannot write {what} to {str(target)!r}: directory "
                           f"{str(existing)!r} is not writable")
    return target


def input_path(path: Any, what: str) -> Path:
    target = Path(os.fspath(path))
    if target.is_dir():
        raise InteropError(f"{what} path {str(target)!r} is a directory, expected a file")
    if not target.exists():
        raise FileNotFoundError(f"{what} file {str(target)!r} does not exist")
    return target


def shape_mismatch_report(expected: dict[str, tuple[int, ...]],
                          found: dict[str, tuple[int, ...]], source: str, model: str) -> str:
    """One message listing names missing, unexpected and of another shape (or '' if none)."""
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    wrong = [k for k in expected if k in found and tuple(found[k]) != tuple(expected[k])]
    if not (missing or extra or wrong):
        return ""
    lines = [f"{source} does not fit model {model!r}:"]
    if wrong:
        lines.append("  other shapes: " + ", ".join(
            f"{k} expected {tuple(expected[k])} got {tuple(found[k])}" for k in wrong))
    if missing:
        lines.append("  missing: " + ", ".join(f"{k} {tuple(expected[k])}" for k in missing))
    if extra:
        lines.append("  not in the model: " + ", ".join(f"{k} {tuple(found[k])}" for k in extra))
    lines.append("  the model expects: " + ", ".join(
        f"{k} {tuple(v)}" for k, v in expected.items()))
    return "\n".join(lines)
