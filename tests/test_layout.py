"""Gradients stay right whatever the memory layout of the arrays flowing between layers.

A user layer may return transposed views (forward and backward); the fast kernels below it must
not assume C-contiguous inputs or upstream gradients.
"""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers


class SwapLastAxes(layers.Layer):
    """Transposes the last two axes; forward and backward return views, not copies.
    Input shape: (N, A, B). Output shape: (N, B, A)."""

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-2], input_shape[-1], input_shape[-2])

    def forward(self, x, training=False):
        return x.swapaxes(-1, -2), lambda grad_y: grad_y.swapaxes(-1, -2)


@pytest.mark.parametrize("stack,in_shape", [
    (lambda: [layers.Dense(4, activation="relu"), SwapLastAxes(), layers.Flatten(),
              layers.Dense(3, activation="softmax")], (3, 5)),
    (lambda: [layers.Conv2D(3, 3, activation="relu"), layers.Flatten(), layers.Dense(12),
              layers.Activation("tanh"), layers.Dense(2, activation="softmax")], (6, 6, 2)),
    (lambda: [layers.Dense(4, activation="relu"), SwapLastAxes(),
              layers.Dense(2, activation="relu"), layers.Flatten(),
              layers.Dense(3, activation="softmax")], (3, 5)),
])
def test_model_gradients_with_transposed_views_between_layers(stack, in_shape, rng, float64):
    model = sn.Sequential(stack())
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.build(in_shape)
    x = rng.standard_normal((4, *in_shape))
    y = np.eye(3)[[0, 1, 2, 0]] if model.output_shape == (3,) else np.eye(2)[[0, 1, 1, 0]]
    result = sn.gradcheck(model, x, y, max_entries=60)
    assert result.max_error < 1e-6, result


def test_relu_kernels_accept_non_contiguous_arrays(rng):
    from scratchnet.ops.elementwise import relu_backward_from_output, relu_inplace
    y = np.maximum(rng.standard_normal((8, 6, 5)), 0).astype(np.float32)
    grad = rng.standard_normal((8, 5, 6)).astype(np.float32).swapaxes(1, 2)   # a view
    np.testing.assert_array_equal(relu_backward_from_output(y, grad), grad * (y > 0))
    z = rng.standard_normal((8, 5, 6)).astype(np.float32).swapaxes(1, 2)
    expected = np.maximum(z, 0)
    assert relu_inplace(z) is z
    np.testing.assert_array_equal(z, expected)
