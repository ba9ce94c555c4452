"""Activation functions and their derivatives."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import activations


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"])
def test_builtin_derivatives_match_finite_differences(name, rng, float64):
    x = rng.standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5  # away from the ReLU kink
    assert sn.gradcheck(activations.get(name), x).max_error < 1e-6


def test_values_against_formulas():
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_allclose(activations.relu(x), [0, 0, 0, 1.5])
    np.testing.assert_allclose(activations.sigmoid(x), 1 / (1 + np.exp(-x)))
    e = np.exp(x)
    np.testing.assert_allclose(activations.softmax(x), e / e.sum())


def test_relu_backward_multiplies_the_upstream_gradient():
    x = np.array([-3.0, -0.1, 0.2, 4.0])
    grad = np.array([5.0, 6.0, 7.0, 8.0])
    np.testing.assert_array_equal(activations.relu_backward(x, activations.relu(x), grad),
                                  [0, 0, 7, 8])


def test_sigmoid_and_softmax_do_not_overflow():
    x = np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32)
    with np.errstate(over="raise"):
        s = activations.sigmoid(x)
        p = activations.softmax(x)
    np.testing.assert_allclose(s, [[0, 0.5, 1]])
    np.testing.assert_allclose(p, [[0, 0, 1]])
    assert s.dtype == p.dtype == np.float32


def test_bare_function_without_derivative_is_refused_with_advice():
    with pytest.raises(TypeError, match="elementwise"):
        activations.get(np.tanh)


def test_user_activation_registers_by_name():
    def softsign(x):
        return x / (1 + np.abs(x))

    def softsign_derivative(x):
        return 1 / (1 + np.abs(x)) ** 2
    act = activations.register(activations.elementwise("softsign_test", softsign,
                                                       softsign_derivative))
    assert activations.get("softsign_test") is act
    with sn.backend.floatx_scope("float64"):
        assert sn.gradcheck(act, np.linspace(-3, 3, 12).reshape(3, 4)).max_error < 1e-6
