"""NestedModel: a model used as a layer, ``Sequential([model, layers.Softmax()])``.

Input shape: the inner model's. Output shape: the inner model's. The inner model's layers keep
their own weights (shared, not copied), so training the outer model trains the inner one.
"""
from __future__ import annotations

from typing import Any

from .base import Array, Backward, Layer


class NestedModel(Layer):
    """Wraps a built Sequential; ``params``/``grads`` are views onto its layers' own."""

    def __init__(self, model: Any, **kwargs: Any):
        super().__init__(name=kwargs.pop("name", model.name), **kwargs)
        self.model = model
        if model.built:
            Layer.build(self, model.input_shape)

    def build(self, input_shape: tuple[int, ...]) -> None:
        if not self.model.built:
            self.model.build(input_shape)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.model.output_shape)

    def _named(self, attribute: str) -> dict[str, Array]:
        return {f"{layer.name}/{key}": value for layer in self.model.layers
                for key, value in getattr(layer, attribute).items()}

    # Views, rebuilt on each access so they always hold the inner layers' current arrays.
    params = property(lambda self: self._named("params"), lambda self, value: None)
    grads = property(lambda self: self._named("grads"), lambda self, value: None)
    non_trainable_names = property(
        lambda self: {f"{layer.name}/{key}" for layer in self.model.layers
                      for key in (layer.params if not layer.trainable
                                  else layer.non_trainable_names)},
        lambda self, value: None)

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        return self.model.forward(x, training=training)

    def set_weights(self, weights: list[Array]) -> None:
        self.model.set_weights(weights)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError("Saving a model that contains another model is not supported "
                                  "yet: save the inner model on its own")
