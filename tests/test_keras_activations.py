"""Keras 3's other activations: values against per-element formulas, derivatives against finite
differences, Keras's names and aliases."""
import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import activations, layers

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def softplus(v):
    return math.log(1 + math.exp(v))


# name -> the formula for one number, written independently of the library.
FORMULAS = {
    "elu": lambda v: v if v > 0 else math.exp(v) - 1,
    "selu": lambda v: SELU_SCALE * (v if v > 0 else SELU_ALPHA * (math.exp(v) - 1)),
    "gelu": lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
    "gelu_approximate": lambda v: 0.5 * v * (
        1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))),
    "softplus": softplus,
    "softsign": lambda v: v / (1 + abs(v)),
    "silu": lambda v: v * sigmoid(v),
    "swish": lambda v: v * sigmoid(v),
    "hard_sigmoid": lambda v: min(1.0, max(0.0, v / 6 + 0.5)),
    "hard_silu": lambda v: v * min(1.0, max(0.0, v / 6 + 0.5)),
    "relu6": lambda v: min(6.0, max(0.0, v)),
    "mish": lambda v: v * math.tanh(softplus(v)),
    "exponential": math.exp,
}
X = np.array([-7.0, -3.5, -1.2, -0.3, 0.4, 1.1, 2.9, 4.0, 6.5])


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_values_against_formulas(name):
    np.testing.assert_allclose(activations.get(name)(X), [FORMULAS[name](v) for v in X],
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_derivatives_match_finite_differences(name, rng, float64):
    x = rng.standard_normal((4, 30)) * 3
    for kink in (-3.0, 0.0, 3.0, 6.0):   # hard_sigmoid, relu6, elu kinks
        x[np.abs(x - kink) < 1e-3] += 1e-2
    assert sn.gradcheck(activations.get(name), x).max_error < 1e-6


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_float32_kept_and_usable_in_a_layer_and_config(name, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    layer = layers.Dense(2, activation=name)
    layer.build((4,))
    y, backward = layer.forward(x, training=True)
    assert y.dtype == np.float32 and backward(np.ones_like(y)).dtype == np.float32
    clone = layers.Dense.from_config(layer.get_config())
    assert activations.get(name).name == clone.activation.name


def test_keras_names_and_functions():
    assert activations.get("swish") is activations.get("silu")
    assert activations.get("hard_swish") is activations.get("hard_silu")
    # keras.activations.gelu(x) and activation=keras.activations.gelu
    np.testing.assert_allclose(activations.gelu(np.array([1.0])), [0.8413447460685429],
                               rtol=1e-12)
    assert layers.Dense(2, activation=activations.swish).activation is activations.get("silu")
    assert layers.Dense(2, activation=activations.relu).activation is activations.get("relu")
    with pytest.raises(TypeError, match="no derivative"):
        layers.Dense(2, activation=lambda x: x)


def test_stable_for_large_inputs():
    x = np.array([-1000.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise"):
        for name in ("elu", "selu", "softplus", "silu", "mish"):
            y = activations.get(name)(x)
            assert np.isfinite(y).all(), name
