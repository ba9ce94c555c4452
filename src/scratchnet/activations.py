"""Activation functions, each beside its derivative.

An :class:`Activation` holds a forward function ``y = f(x)`` and its vector-Jacobian product
``backward(x, y, grad_y) -> grad_x``. Element-wise activations are made from a function and its
derivative with :func:`elementwise`; softmax is not element-wise and back-propagates through its
full Jacobian, so it is correct whatever loss follows it.

A user-written activation is a first-class citizen::

    def swish(x):            return x / (1 + np.exp(-x))
    def swish_derivative(x): s = 1 / (1 + np.exp(-x)); return s + x * s * (1 - s)
    act = activations.elementwise("swish", swish, swish_derivative)
    activations.register(act)            # optional: lets configs refer to it by name
    layers.Dense(64, activation=act)     # or activation="swish" once registered
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Array = np.ndarray


class Activation:
    """A differentiable function applied to a layer's output.

    ``forward(x)`` returns y; ``backward(x, y, grad_y)`` returns dL/dx given dL/dy = grad_y.
    Shapes: any; y and grad_x have the shape and dtype of x.
    """

    def __init__(self, name: str, forward: Callable[[Array], Array],
                 backward: Callable[[Array, Array, Array], Array]):
        self.name = name
        self.forward = forward
        self.backward = backward

    def __call__(self, x: Array) -> Array:
        return self.forward(x)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def elementwise(name: str, function: Callable[[Array], Array],
                derivative: Callable[[Array], Array]) -> Activation:
    """Build an element-wise activation from f and f' (both take x and return an array like x)."""
    def backward(x: Array, y: Array, grad_y: Array) -> Array:
        return grad_y * derivative(x)
    return Activation(name, function, backward)


# --- linear ------------------------------------------------------------------------------------
def linear(x: Array) -> Array:
    return x


def linear_backward(x: Array, y: Array, grad_y: Array) -> Array:
    return grad_y


# --- relu: derivative is 1 where x > 0 and 0 elsewhere (0 at the kink, like Keras/TF) ---------
def relu(x: Array) -> Array:
    return np.maximum(x, 0)


def relu_backward(x: Array, y: Array, grad_y: Array) -> Array:
    # The derivative multiplies the upstream gradient; it is never a constant on its own.
    return grad_y * (x > 0)


# --- leaky relu ------------------------------------------------------------------------------
def make_leaky_relu(negative_slope: float) -> Activation:
    slope = float(negative_slope)

    def forward(x: Array) -> Array:
        return np.where(x > 0, x, x * np.asarray(slope, dtype=x.dtype))

    def backward(x: Array, y: Array, grad_y: Array) -> Array:
        return np.where(x > 0, grad_y, grad_y * np.asarray(slope, dtype=grad_y.dtype))

    name = "leaky_relu" if slope == 0.2 else f"leaky_relu_{slope:g}"
    return Activation(name, forward, backward)


def _leaky_relu_by_name(name: str) -> Activation | None:
    """"leaky_relu_0.1" (what a saved config holds for slope 0.1) -> that activation."""
    prefix = "leaky_relu_"
    if not name.startswith(prefix):
        return None
    try:
        slope = float(name[len(prefix):])
    except ValueError:
        return None
    return register(make_leaky_relu(slope)) if slope >= 0 else None


# --- sigmoid: computed without overflow for large |x| ----------------------------------------
def sigmoid(x: Array) -> Array:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(x: Array, y: Array, grad_y: Array) -> Array:
    return grad_y * y * (1 - y)


# --- tanh -------------------------------------------------------------------------------------
def tanh(x: Array) -> Array:
    return np.tanh(x)


def tanh_backward(x: Array, y: Array, grad_y: Array) -> Array:
    return grad_y * (1 - y * y)


# --- softmax over the last axis ----------------------------------------------------------------
def softmax(x: Array) -> Array:
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(x: Array, y: Array, grad_y: Array) -> Array:
    # Full Jacobian-vector product: J = diag(y) - y y^T, so J^T g = y * (g - <g, y>).
    return y * (grad_y - (grad_y * y).sum(axis=-1, keepdims=True))


_REGISTRY: dict[str, Activation] = {}


def register(activation: Activation) -> Activation:
    """Make an activation available by name (in layers, configs and saved models)."""
    if not isinstance(activation, Activation):
        raise TypeError(f"register expects an Activation, got {type(activation).__name__}")
    _REGISTRY[activation.name] = activation
    return activation


RELU = Activation("relu", relu, relu_backward)   # layers recognise it for a fused fast path
for _act in (Activation("linear", linear, linear_backward),
             RELU,
             Activation("sigmoid", sigmoid, sigmoid_backward),
             Activation("tanh", tanh, tanh_backward),
             Activation("softmax", softmax, softmax_backward),
             make_leaky_relu(0.2)):
    register(_act)


def get(identifier: str | Activation | None) -> Activation:
    """Resolve a name (``"relu"``), an Activation, or None (linear)."""
    if identifier is None:
        return _REGISTRY["linear"]
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _REGISTRY and _leaky_relu_by_name(identifier) is None:
            raise ValueError(f"Unknown activation {identifier!r}; expected one of "
                             f"{sorted(_REGISTRY)} or an Activation object.")
        return _REGISTRY[identifier]
    if callable(identifier):
        raise TypeError(
            "A bare function has no derivative, so it cannot be back-propagated: wrap it with "
            "scratchnet.activations.elementwise(name, function, derivative).")
    raise TypeError(f"activation must be a name or an Activation, got {identifier!r}")


def serialize(activation: Activation) -> str:
    return activation.name
