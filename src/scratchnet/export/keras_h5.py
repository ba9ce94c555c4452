"""Keras 3 ``.weights.h5`` files both ways (``model.save_weights`` / ``model.load_weights``).

Keras 3's layout (keras/src/saving/saving_lib.py, checked against a file written by Keras 3.15):
each layer of ``Sequential.layers`` (InputLayer excluded) is the group
``layers/<snake_case class name>[_<k>]/vars``, numbered per class in model order (``conv2d``,
``conv2d_1``, ...; never the layer's own name), holding its variables as datasets ``"0"``,
``"1"``, ... in ``get_weights()`` order (trainable first: kernel, bias; BatchNormalization's
gamma, beta, moving_mean, moving_variance); layers without weights have an empty ``vars``.
Each ``vars`` group has the attribute ``name`` (the layer's name); the model's own is ``/vars``.
scratchnet's weights already use Keras's layouts, so no array is transposed.

KERAS_SKIPPED lists layer classes that are not in Keras's ``Sequential.layers``; KERAS_NAMES maps
a class whose Keras class name differs to that name. A new layer type with Keras's name and
weight order needs neither.
"""
from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from .. import layers
from ..files import atomic_write
from .common import (
    InteropError,
    built_layers,
    input_path,
    named_weights,
    output_path,
    require,
    set_named_weights,
    shape_mismatch_report,
)

KERAS_SKIPPED: tuple[type, ...] = (layers.Input,)
KERAS_NAMES: dict[type, str] = {}


def keras_snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``Conv2D`` -> ``conv2d``, ``LeakyReLU`` ->
    ``leaky_re_lu`` (its rule, which differs from scratchnet's layer-name rule on digits)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def keras_paths(model: Any) -> list[tuple[str, Any]]:
    """``(group path, layer)`` for every layer Keras would list, in order."""
    used: dict[str, int] = {}
    paths = []
    for layer in built_layers(model):
        if isinstance(layer, KERAS_SKIPPED):
            continue
        stem = KERAS_NAMES.get(type(layer)) or keras_snake_case(type(layer).__name__)
        count = used.get(stem, -1) + 1
        used[stem] = count
        paths.append((f"layers/{stem}" + (f"_{count}" if count else ""), layer))
    return paths


def keras_weights(model: Any) -> dict[str, np.ndarray]:
    """Dataset path -> array, as Keras lays them out."""
    return {f"{path}/vars/{i}": value for path, layer in keras_paths(model)
            for i, value in enumerate(named_weights(layer).values())}


def save_keras_weights(model: Any, path: Any) -> Any:
    """Write ``model``'s weights as a Keras 3 ``.weights.h5`` file (atomically)."""
    h5py = require("h5py", "keras", "Keras .weights.h5 files")
    target = output_path(path, (".weights.h5",), "Keras weights")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        file.create_group("layers")
        for group_path, layer in keras_paths(model):
            group = file.create_group(f"{group_path}/vars")
            group.attrs["name"] = layer.name
            for i, value in enumerate(named_weights(layer).values()):
                group.create_dataset(str(i), data=np.asarray(value, dtype=np.float32))
        file.create_group("vars").attrs["name"] = model.name
    atomic_write(target, buffer.getvalue())
    return target


def _read(path: Any) -> dict[str, np.ndarray]:
    h5py = require("h5py", "keras", "Keras .weights.h5 files")
    source = input_path(path, "Keras weights")
    try:
        file = h5py.File(source, "r")
    except OSError as err:
        raise InteropError(f"{str(source)!r} is not a readable HDF5 file (truncated or another "
                           f"format?): {err}") from None
    found: dict[str, np.ndarray] = {}
    with file:
        if "layers" not in file:
            raise InteropError(f"{str(source)!r} is not a Keras 3 .weights.h5 file: it has no "
                               f"'layers' group (top-level keys: {sorted(file.keys())})")

        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset):
                found[f"layers/{name}"] = item
        file["layers"].visititems(visit)
        try:
            return {name: np.asarray(item[()]) for name, item in found.items()}
        except OSError as err:
            raise InteropError(f"{str(source)!r} could not be read to the end (truncated?): "
                               f"{err}") from None


def load_keras_weights(model: Any, path: Any) -> Any:
    """Set ``model``'s weights from a Keras 3 ``.weights.h5`` file of the same architecture.
    Every variable must be there with its shape; the error lists every difference."""
    found = _read(path)
    paths = keras_paths(model)
    expected = {f"{p}/vars/{i}": tuple(np.shape(v)) for p, layer in paths
                for i, v in enumerate(named_weights(layer).values())}
    report = shape_mismatch_report(expected, {k: v.shape for k, v in found.items()},
                                   f"Keras weights {str(path)!r}", model.name)
    if report:
        raise InteropError(report)
    for group_path, layer in paths:
        weights = named_weights(layer)
        for i, name in enumerate(weights):
            weights[name] = found[f"{group_path}/vars/{i}"].astype(weights[name].dtype)
        set_named_weights(layer, weights)
    return model
