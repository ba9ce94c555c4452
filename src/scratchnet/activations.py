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

import math
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


# --- the rest of Keras 3's element-wise activations, each with its derivative f'(x) ----------
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)   # exact; NumPy has no erf


def make_elu(alpha: float = 1.0) -> Activation:
    """x for x > 0, alpha * (exp(x) - 1) otherwise; f' = 1 or alpha * exp(x)."""
    alpha = float(alpha)
    name = "elu" if alpha == 1.0 else f"elu_{alpha:g}"
    return elementwise(name, lambda x: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
                       lambda x: np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))))


def selu(x: Array) -> Array:
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def selu_derivative(x: Array) -> Array:
    return SELU_SCALE * np.where(x > 0, 1, SELU_ALPHA * np.exp(np.minimum(x, 0)))


def make_gelu(approximate: bool = False) -> Activation:
    """x * Phi(x), Phi the standard normal CDF (Keras 3's default, approximate=False), or the
    tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate:
        def inner(x):
            return np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))

        def derivative(x):
            t = inner(x)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (
                1 + 3 * 0.044715 * x * x)
        return elementwise("gelu_approximate", lambda x: 0.5 * x * (1 + inner(x)), derivative)

    def cdf(x):
        return (0.5 * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype)

    def derivative(x):   # Phi(x) + x * phi(x)
        return cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return elementwise("gelu", lambda x: x * cdf(x), derivative)


def softplus(x: Array) -> Array:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def silu(x: Array) -> Array:
    return x * sigmoid(x)


def silu_derivative(x: Array) -> Array:
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


def hard_sigmoid(x: Array) -> Array:
    """Keras 3: 0 for x <= -3, 1 for x >= 3, x / 6 + 0.5 between (Keras 2 used 0.2 x + 0.5)."""
    return np.clip(x / 6 + 0.5, 0, 1)


def hard_sigmoid_derivative(x: Array) -> Array:
    return np.where((x > -3) & (x < 3), 1 / 6, 0).astype(x.dtype)


def mish(x: Array) -> Array:
    return x * np.tanh(softplus(x))


def mish_derivative(x: Array) -> Array:
    t = np.tanh(softplus(x))
    return t + x * (1 - t * t) * sigmoid(x)


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
             make_leaky_relu(0.2),
             make_elu(1.0),
             elementwise("selu", selu, selu_derivative),
             make_gelu(False), make_gelu(True),
             elementwise("softplus", softplus, sigmoid),
             elementwise("softsign", lambda x: x / (1 + np.abs(x)),
                         lambda x: 1 / (1 + np.abs(x)) ** 2),
             elementwise("silu", silu, silu_derivative),
             elementwise("hard_sigmoid", hard_sigmoid, hard_sigmoid_derivative),
             elementwise("hard_silu", lambda x: x * hard_sigmoid(x),
                         lambda x: hard_sigmoid(x) + x * hard_sigmoid_derivative(x)),
             elementwise("relu6", lambda x: np.clip(x, 0, 6),
                         lambda x: ((x > 0) & (x < 6)).astype(x.dtype)),
             elementwise("mish", mish, mish_derivative),
             Activation("exponential", np.exp, lambda x, y, grad_y: grad_y * y)):
    register(_act)
# Keras's other names for the same functions.
_REGISTRY["swish"] = _REGISTRY["silu"]
_REGISTRY["hard_swish"] = _REGISTRY["hard_silu"]
# Keras's function names (``keras.activations.gelu(x)``; also accepted as ``activation=``).
elu, gelu, softsign, hard_silu, relu6, exponential = (
    _REGISTRY[name].forward for name in ("elu", "gelu", "softsign", "hard_silu", "relu6",
                                          "exponential"))
swish, hard_swish = silu, hard_silu


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
        for known in _REGISTRY.values():   # activation=keras.activations.relu, as Keras allows
            if known.forward is identifier:
                return known
        raise TypeError(
            "A bare function has no derivative, so it cannot be back-propagated: wrap it with "
            "scratchnet.activations.elementwise(name, function, derivative).")
    raise TypeError(f"activation must be a name or an Activation, got {identifier!r}")


def serialize(activation: Activation) -> str:
    return activation.name
