"""The layer contract every layer follows (Keras lifecycle, thinc-style backward closures).

- ``__init__`` keeps settings only; ``build(input_shape)`` makes the weights once the per-sample
  input shape is known (no batch axis).
- ``forward(x, training)`` returns ``(y, backward)``. ``backward(grad_y)`` returns ``grad_x`` and
  stores each parameter's gradient in ``self.grads`` under the same key as in ``self.params``.
  Because backward is a closure made by forward, it always uses that forward's saved values.
- Gradients are those of the (already batch-averaged) loss: layers never divide by the batch.
- ``self.params`` is ordered as Keras orders ``get_weights()`` (kernel, then bias).
- Optional: a layer that sets ``can_skip_input_gradient = True`` also accepts
  ``forward(x, training, input_gradient=False)``, whose backward then fills ``self.grads`` but
  returns None instead of grad_x. The model asks for this only of its first layer in training,
  whose input gradient nothing reads. Layers without the flag (every custom layer, by default)
  are always called as ``forward(x, training)`` and keep returning grad_x.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from .. import activations, backend, initializers, regularizers, validation
from ..ops.elementwise import relu_backward_from_output, relu_inplace

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


class Layer:
    """Base class. Subclasses implement ``forward`` (and ``build`` when they own weights)."""
    can_skip_input_gradient = False   # see the module docstring

    def __init__(self, name: str | None = None, input_shape: tuple[int, ...] | None = None,
                 trainable: bool = True):
        self.name = name
        self.input_shape_arg = (validation.as_shape(input_shape, "input_shape")
                                if input_shape is not None else None)
        self.trainable = trainable
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.non_trainable: set[str] = set()   # params that are state, never trained
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
        """A weight in ``params`` (saved, in get_weights). ``trainable=False``: state such as
        BatchNormalization's moving mean, saved but never handed to the optimizer (its grad
        stays zero)."""
        value = initializers.get(initializer)(tuple(shape), dtype=backend.floatx())
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        if not trainable:
            self.non_trainable.add(name)
        return value

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

    Subclasses implement ``forward_linear(x, training) -> (z, backward_linear)``; those that set
    ``can_skip_input_gradient`` also accept ``input_gradient=False`` there, and those that list
    ``fused_activations`` also accept ``activation=`` one of them. Keeping the
    pre-activation step separate lets a model fuse a final softmax with cross-entropy *explicitly*
    (see ``losses.fused_loss``) instead of a softmax that silently assumes what follows it.
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

    # Set by subclasses whose forward_linear returns a fresh array that its backward does not
    # read: a ReLU may then overwrite it in place (one pass, no extra buffer).
    linear_output_is_scratch = False

    # Built-in activations this layer's forward_linear can apply itself, while its output is
    # still in cache: ``forward_linear(x, training, activation=a)`` then returns ``a(z)`` and a
    # backward taking the gradient w.r.t. ``a(z)``. Only ``forward`` below passes it, and only
    # for these; anything calling forward_linear alone (probes, fused losses) gets z as always.
    fused_activations: tuple[activations.Activation, ...] = ()

    def forward(self, x: Array, training: bool = False,
                input_gradient: bool = True) -> tuple[Array, Backward]:
        activation = self.activation
        options: dict[str, Any] = {} if input_gradient else {"input_gradient": False}
        if any(activation is fused for fused in self.fused_activations):
            return self.forward_linear(x, training, activation=activation, **options)
        z, backward_linear = self.forward_linear(x, training, **options)
        if activation is activations.RELU and self.linear_output_is_scratch:
            y = relu_inplace(z)     # y > 0 exactly where z > 0, so the mask comes from y

            def relu_backward(grad_y: Array) -> Array:
                return backward_linear(relu_backward_from_output(y, grad_y))
            return y, relu_backward
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
