"""The functional API where a linear-chain program touches it: ``Input``, ``Model(inputs,
outputs)``, ``layer(x)`` on a symbolic input, ``layer.output``.

A symbolic tensor records the chain of layers that produced it; ``Model(inputs, outputs)``
turns a chain that starts at ``inputs`` into a model that is a Sequential underneath. Branches,
merges and several inputs or outputs (a general graph) are not supported and say so.
"""
from __future__ import annotations

from typing import Any

from .layers.base import Layer
from .layers.input_layer import Input as InputLayer
from .model import Sequential


class SymbolicTensor:
    """What ``layer(symbolic)`` returns: a shape (batch axis None) and the layers behind it."""

    def __init__(self, chain: tuple[Layer, ...]):
        self.chain = chain
        self.shape = (None, *chain[-1].output_shape)

    def apply(self, layer: Layer) -> "SymbolicTensor":
        if not layer.built:
            layer.build(self.shape[1:])
        elif tuple(layer.input_shape) != tuple(self.shape[1:]):
            raise ValueError(f"Layer {layer.name or type(layer).__name__!r} was built for inputs "
                             f"{layer.input_shape}, got a symbolic input of shape {self.shape[1:]}")
        out = SymbolicTensor(self.chain + (layer,))
        layer.output = out
        return out

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}>"


def symbolic(x: Any) -> SymbolicTensor | None:
    """x as a symbolic tensor when it is one (or an Input layer), else None."""
    if isinstance(x, SymbolicTensor):
        return x
    if isinstance(x, InputLayer):
        if not x.built:
            x.build(x.input_shape_arg)
        return SymbolicTensor((x,))
    return None


def Input(shape: Any = None, batch_size: int | None = None, name: str | None = None,
          dtype: Any = None, **kwargs: Any) -> InputLayer:
    """``keras.Input(shape=(28, 28, 1))``: usable as the first entry of a Sequential list and as
    the start of a functional chain (``layers.Dense(10)(inputs)``). Shape excludes the batch."""
    if shape is None:
        raise ValueError("Input needs a shape without the batch axis, e.g. Input(shape=(784,)); "
                         "got shape=None")
    layer = InputLayer(shape=shape, name=name, **kwargs)
    layer.build(layer.input_shape_arg)
    layer.output = SymbolicTensor((layer,))
    return layer


def _single(value: Any, what: str) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise NotImplementedError(
                f"Model({what}=...) with {len(value)} tensors: scratchnet's functional API "
                f"supports one input and one output in a linear chain (a general graph is "
                f"not supported)")
        return value[0]
    return value


class Model(Sequential):
    """``Model(inputs, outputs)`` for a linear chain of layers from ``inputs`` to ``outputs``.
    It trains, evaluates, saves and loads like the Sequential it is underneath."""

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str = "functional",
                 **kwargs: Any):
        if inputs is None and outputs is None and not kwargs:
            super().__init__(name=name)   # as Sequential (used by from_config)
            return
        if kwargs:
            raise TypeError(f"Model got unexpected arguments {sorted(kwargs)}")
        start = symbolic(_single(inputs, "inputs"))
        end = symbolic(_single(outputs, "outputs"))
        if start is None or end is None:
            raise TypeError(f"Model(inputs, outputs) expects symbolic tensors from keras.Input "
                            f"and layer calls, got {type(inputs).__name__} and "
                            f"{type(outputs).__name__} (subclassing Model is not supported)")
        if end.chain[:len(start.chain)] != start.chain:
            raise ValueError("Model outputs are not computed from its inputs by a chain of "
                             "layers (only linear chains are supported)")
        chain = end.chain[len(start.chain) - 1:]
        if not isinstance(chain[0], InputLayer):
            chain = (InputLayer(shape=start.shape[1:]),) + chain
        super().__init__(list(chain), name=name)
