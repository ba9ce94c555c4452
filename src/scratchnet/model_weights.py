"""What Sequential shares with saving and the summary: weights, parameter counts, config.

A mixin of ``model.Sequential`` (kept apart so model.py stays about running the network);
it needs ``self.layers``, ``self.name`` and ``self.input_shape``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import saving
from .layers import get_class
from .summary import summary_table

Array = np.ndarray


class WeightsAndConfig:
    layers: list[Any]
    name: str
    input_shape: tuple[int, ...] | None

    def get_weights(self) -> list[Array]:
        """All weights, layer by layer, each in Keras order (kernel, bias)."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[Array]) -> None:
        expected = sum(len(layer.params) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"set_weights expects {expected} arrays (as get_weights returns), "
                             f"got {len(weights)}.")
        position = 0
        for layer in self.layers:
            count = len(layer.params)
            layer.set_weights(list(weights[position:position + count]))
            position += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def count_trainable_params(self) -> int:
        return sum(layer.count_trainable_params() for layer in self.layers)

    def summary(self, print_fn: Callable[[str], None] = print) -> None:
        print_fn(summary_table(self))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        model = cls(name=config.get("name", "sequential"))
        for entry in config["layers"]:
            model.add(get_class(entry["class_name"]).from_config(entry["config"]))
        if not model.built and config.get("input_shape"):
            model.build(tuple(config["input_shape"]))
        return model

    def save(self, filepath: Any) -> None:
        """Write architecture, weights, optimizer and training state to one safetensors file,
        atomically. Reload with ``scratchnet.load_model(filepath)``. A Keras name (``.keras``,
        ``.h5``) is honoured, with a one-time warning that the content is scratchnet's."""
        from .keras_files import warn_if_keras_name
        warn_if_keras_name(filepath, "model.save")
        saving.save_model(self, filepath)
