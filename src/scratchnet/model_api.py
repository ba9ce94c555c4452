"""Model-level Keras surface shared by Sequential and Model: ``pop``, ``weights``,
``get_layer``, ``inputs``/``outputs``, ``predict_on_batch``, ``save_weights``/``load_weights``,
and Keras 3's input-rank adjustment.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

WEIGHTS_FORMAT = "scratchnet-weights"


def adjust_rank(x: np.ndarray, input_shape: tuple[int, ...] | None) -> np.ndarray:
    """Keras 3 feeds (N, 28, 28) to a model expecting (N, 28, 28, 1) by adding the trailing
    axis of size 1 (and drops a trailing 1 the model does not expect); anything else is
    left for the shape check to report."""
    if input_shape is None or not isinstance(x, np.ndarray):
        return x
    if x.ndim == len(input_shape) and input_shape[-1:] == (1,) \
            and tuple(x.shape[1:]) == tuple(input_shape[:-1]):
        return x[..., None]
    if x.ndim == len(input_shape) + 2 and x.shape[-1] == 1 \
            and tuple(x.shape[1:-1]) == tuple(input_shape):
        return x[..., 0]
    return x


class ModelAPI:
    """Mixed into Sequential; needs ``layers``, ``input_shape``, ``predict`` and weights."""

    def pop(self) -> Any:
        """Remove and return the last layer (Keras's ``Sequential.pop``)."""
        if not self.layers:
            raise ValueError("pop: the model has no layers to remove")
        layer = self.layers.pop()
        self._update_fused_loss()
        return layer

    @property
    def weights(self) -> list[np.ndarray]:
        """Every weight array, live (not copies), in get_weights order."""
        return [value for layer in self.layers for value in layer.params.values()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [value for layer in self.layers if layer.trainable
                for key, value in layer.params.items() if key not in layer.non_trainable_names]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [value for layer in self.layers for key, value in layer.params.items()
                if not layer.trainable or key in layer.non_trainable_names]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """The layer called ``name``, or at position ``index`` (Keras)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer expects exactly one of name= or index=")
        if index is not None:
            if not isinstance(index, int) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index must be an int in "
                                 f"[{-len(self.layers)}, {len(self.layers)}), got {index!r}")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}; the layers are "
                         f"{[layer.name for layer in self.layers]}")

    @property
    def inputs(self) -> list[Any]:
        from .functional import symbolic
        from .layers.input_layer import Input
        if self.input_shape is None:
            raise ValueError(f"Model {self.name!r} has no defined input yet: give the first "
                             f"layer input_shape=, start with keras.Input, or call it on data")
        first = self.layers[0] if self.layers and isinstance(self.layers[0], Input) else None
        if first is None:
            first = Input(shape=self.input_shape)
            first.build(self.input_shape)
        tensor = symbolic(first)
        for layer in self.layers[1 if first is self.layers[0] else 0:]:
            tensor = tensor.apply(layer)   # sets layer.output along the way
        return [symbolic(first)]

    @property
    def outputs(self) -> list[Any]:
        self.inputs   # noqa: B018  (sets each layer's output)
        return [self.layers[-1].output]

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Outputs for one batch, in inference mode."""
        return self.predict(x, batch_size=max(len(x), 1))

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Every weight (trainable or not) to one safetensors file, atomically, whatever the
        file name (Keras's ``.weights.h5`` included: the content is safetensors, never HDF5)."""
        from safetensors.numpy import save

        from .files import atomic_write
        from .keras_files import warn_if_keras_name
        warn_if_keras_name(filepath, "save_weights")
        path = Path(filepath)
        if path.exists() and not overwrite:
            raise FileExistsError(f"save_weights: {path} exists and overwrite=False")
        tensors = {f"{i:04d}/{layer.name}/{key}": np.ascontiguousarray(value)
                   for i, layer in enumerate(self.layers) for key, value in layer.params.items()}
        atomic_write(path, save(tensors, metadata={"format": WEIGHTS_FORMAT}))

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Weights written by ``save_weights`` (or a ``model.save`` file) into this model,
        which must have the same layers in the same order."""
        from safetensors import safe_open
        path = Path(filepath)
        if not path.is_file():
            raise FileNotFoundError(f"load_weights: no such file {str(path)!r}")
        from .keras_files import refuse_foreign
        refuse_foreign(path, "load_weights")
        try:
            with safe_open(str(path), framework="np") as handle:
                stored = {key: handle.get_tensor(key) for key in handle.keys()}
        except Exception as error:
            raise ValueError(f"load_weights: {path} is not a scratchnet weights file "
                             f"(safetensors): {error}") from None
        if any(key.startswith("weights/") for key in stored):   # a model.save file
            arrays = [stored.get(f"weights/{layer.name}/{key}") for layer in self.layers
                      for key in layer.params]
        else:
            arrays = [stored.get(f"{i:04d}/{layer.name}/{key}")
                      for i, layer in enumerate(self.layers) for key in layer.params]
        missing = sum(a is None for a in arrays)
        if missing or len(arrays) != len(stored):
            raise ValueError(f"load_weights: {path} holds {len(stored)} weight arrays that do "
                             f"not match this model's {len(arrays)} ({missing} missing by "
                             f"layer name); build the same architecture first")
        self.set_weights(arrays)
