"""The layer contract every layer follows (Keras lifecycle, thinc-style backward closures).

- ``__init__`` keeps settings only; ``build(input_shape)`` makes the weights once the per-sample
  input shape is known (no batch axis).
- ``forward(x, training)`` returns ``(y, backward)``. ``backward(grad_y)`` returns ``grad_x`` and
  stores each parameter's gradient in ``self.grads`` under the same key as in ``self.params``.
  Because backward is a closure made by forward, it always uses that forward's saved values.
- Gradients are those of the (already batch-averaged) loss: layers never divide by the batch.
- ``self.params`` is ordered as Keras orders ``get_weights()`` (kernel, then bias).
- ``add_weight(name, shape, initializer, trainable=True)`` makes a weight: trainable weights
  get a gradient buffer in ``self.grads`` and are updated by the optimizer; ``trainable=False``
  makes state that is saved and loaded but never trained (a moving mean, say): it has no
  gradient, no optimizer slot, and counts as "Non-trainable params" in the summary.
- Built-in layer classes register with ``@builtin_layer`` (``layers.register`` is the user's
  twin); configs are only ever rebuilt into registered classes.

A layer knows nothing of its neighbours or of speed tricks: the runner (``scratchnet.runner``)
runs the stack and applies the explicit fusions of ``scratchnet.fusion``.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from .. import activations, backend, initializers, regularizers, validation

Array = np.ndarray
Backward = Callable[[Array], Array]


def snake_case(name: str) -> str:
    """``MaxPooling2D`` -> ``max_pooling2d``, ``Conv2D`` -> ``conv2d`` (Keras's rule)."""
    intermediate = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", intermediate).lower()


def _positive_int_pair(value: Any, what: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        pair: tuple[Any, ...] = (value, value)
    elif isinstance(value, (tuple, list)):
        pair = tuple(value)
    else:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and v > 0 for v in pair):
        raise ValueError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")
    return int(pair[0]), int(pair[1])


BUILTIN_LAYERS: dict[str, type["Layer"]] = {}


def builtin_layer(cls: type["Layer"]) -> type["Layer"]:
    """Class decorator of scratchnet's own layers: known by name to configs and model files,
    and each one must have a row in the layer contract test."""
    BUILTIN_LAYERS[cls.__name__] = cls
    return cls


class Layer:
    """Base class. Subclasses implement ``forward`` (and ``build`` when they own weights)."""

    def __init__(self, name: str | None = None, input_shape: tuple[int, ...] | None = None,
                 trainable: bool = True):
        self.name = name
        self.input_shape_arg = (validation.as_shape(input_shape, "input_shape")
                                if input_shape is not None else None)
        self.trainable = trainable
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.non_trainable_names: set[str] = set()   # weights saved but never trained
        self.built = False
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Record the per-sample input shape and create weights (subclasses extend this)."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    def add_weight(self, name: str, shape: tuple[int, ...], initializer: Any,
                   trainable: bool = True) -> Array:
        """Make weight ``name`` of ``shape`` from ``initializer``; ``trainable=False`` for state
        that is saved but not trained (no gradient, no optimizer update)."""
        value = initializers.get(initializer)(tuple(shape), dtype=backend.floatx())
        return self.attach_weight(name, value, trainable)

    def attach_weight(self, name: str, value: Array, trainable: bool = True) -> Array:
        """Register ``value`` as weight ``name`` (add_weight once the array exists; model
        loading passes the array read from the file)."""
        self.params[name] = value
        if trainable:
            self.grads[name] = np.zeros_like(value)
        else:
            self.non_trainable_names.add(name)
        return value

    @property
    def trainable_params(self) -> dict[str, Array]:
        """The weights the optimizer updates: none when ``self.trainable`` is False."""
        if not self.trainable:
            return {}
        return {k: v for k, v in self.params.items() if k not in self.non_trainable_names}

    # --- computation -------------------------------------------------------------------------
    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def __call__(self, x: Array, training: bool = False) -> Array:
        from ..functional import symbolic  # layer(keras.Input(...)): the functional API
        if symbolic(x) is not None:
            return symbolic(x).apply(self)
        if not self.built:
            self.build(x.shape[1:])
        return self.forward(x, training)[0]

    # --- weights -----------------------------------------------------------------------------
    def get_weights(self) -> list[Array]:
        return [value.copy() for value in self.params.values()]

    def set_weights(self, weights: list[Array]) -> None:
        if len(weights) != len(self.params):
            raise ValueError(f"Layer {self.name!r} expects {len(self.params)} weight arrays "
                             f"({', '.join(self.params)}), got {len(weights)}.")
        for (key, current), new in zip(self.params.items(), weights):
            new = np.asarray(new)
            if new.shape != current.shape:
                raise ValueError(f"Layer {self.name!r} weight {key!r} has shape {current.shape}, "
                                 f"got an array of shape {new.shape}.")
            current[...] = new  # in place: optimizer state stays attached to this array

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def count_trainable_params(self) -> int:
        return int(sum(value.size for value in self.trainable_params.values()))

    # --- config ------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class ActivatedLayer(Layer):
    """A layer computing ``activation(linear(x))`` (Dense, Conv2D).

    Subclasses implement ``forward_linear(x, training) -> (z, backward_linear)``, the
    pre-activation alone. Keeping it separate lets a model fuse a final softmax with
    cross-entropy *explicitly* (see ``losses.fused_loss``) instead of a softmax that silently
    assumes what follows it.
    """

    def __init__(self, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)   # see regularizers.py
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def forward_linear(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        raise NotImplementedError

    def forward(self, x: Array, training: bool = False) -> tuple[Array, Backward]:
        z, backward_linear = self.forward_linear(x, training)
        activation = self.activation
        y = activation(z)

        def backward(grad_y: Array) -> Array:
            return backward_linear(activation.backward(z, y, grad_y))
        return y, backward

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                **{f"{key}_regularizer": regularizers.serialize(reg) for key, reg in (
                    ("kernel", self.kernel_regularizer), ("bias", self.bias_regularizer))
                   if reg is not None}}
