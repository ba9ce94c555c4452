"""Loss values against explicit formulas; gradients against finite differences; the fused
softmax+cross-entropy path against the unfused one."""
import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import activations, losses


def test_mse_value_is_mean_over_last_axis_then_batch():
    y = np.array([[0.0, 1.0], [1.0, 1.0]])
    p = np.array([[0.5, 0.5], [1.0, 3.0]])
    per_sample = [((0.5 ** 2) + (0.5 ** 2)) / 2, (0 + 4) / 2]
    assert losses.MeanSquaredError()(y, p) == pytest.approx(sum(per_sample) / 2)


def test_categorical_crossentropy_value():
    y = np.array([[0, 1, 0], [1, 0, 0]], dtype=float)
    p = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    expected = (-math.log(0.7) - math.log(0.5)) / 2
    assert losses.CategoricalCrossentropy()(y, p) == pytest.approx(expected)


def test_categorical_crossentropy_renormalises_and_clips_like_keras():
    y = np.array([[0.0, 1.0]])
    assert losses.CategoricalCrossentropy()(y, np.array([[2.0, 2.0]])) == pytest.approx(
        math.log(2))
    assert losses.CategoricalCrossentropy()(y, np.array([[1.0, 0.0]])) == pytest.approx(
        -math.log(1e-7))


def test_sparse_equals_categorical_with_one_hot(rng):
    p = activations.softmax(rng.standard_normal((5, 4)))
    labels = np.array([0, 3, 1, 1, 2])
    dense = losses.CategoricalCrossentropy()(np.eye(4)[labels], p)
    assert losses.SparseCategoricalCrossentropy()(labels, p) == pytest.approx(dense)
    assert losses.SparseCategoricalCrossentropy()(labels[:, None], p) == pytest.approx(dense)


def test_binary_crossentropy_value():
    y = np.array([[1.0, 0.0]])
    p = np.array([[0.8, 0.4]])
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert losses.BinaryCrossentropy()(y, p) == pytest.approx(expected)


@pytest.mark.parametrize("loss,kind", [
    (losses.MeanSquaredError(), "any"),
    (losses.CategoricalCrossentropy(), "prob"),
    (losses.CategoricalCrossentropy(from_logits=True), "logits"),
    (losses.SparseCategoricalCrossentropy(), "prob_sparse"),
    (losses.SparseCategoricalCrossentropy(from_logits=True), "logits_sparse"),
    (losses.BinaryCrossentropy(), "sigmoid"),
    (losses.BinaryCrossentropy(from_logits=True), "logits"),
])
def test_loss_gradients_match_finite_differences(loss, kind, rng, float64):
    z = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    y = labels if kind.endswith("sparse") else np.eye(4)[labels]
    if kind.startswith("prob"):
        p = activations.softmax(z)
    elif kind == "sigmoid":
        p = activations.sigmoid(z)
    else:
        p = z
    assert sn.gradcheck(loss, p, y).max_error < 1e-6


@pytest.mark.parametrize("loss_cls,activation,sparse", [
    (losses.CategoricalCrossentropy, "softmax", False),
    (losses.SparseCategoricalCrossentropy, "softmax", True),
    (losses.BinaryCrossentropy, "sigmoid", False),
])
def test_fused_path_gives_the_same_numbers(loss_cls, activation, sparse, rng, float64):
    z = rng.standard_normal((8, 5))
    labels = rng.integers(0, 5, 8)
    y = labels if sparse else (np.eye(5)[labels] if activation == "softmax"
                               else rng.integers(0, 2, (8, 5)).astype(float))
    act = activations.get(activation)
    fused = losses.fused_loss(act, loss_cls())
    assert fused is not None and fused.from_logits
    p = act(z)
    plain_value, plain_backward = loss_cls().forward(y, p)
    fused_value, fused_backward = fused.forward(y, z)
    assert fused_value == pytest.approx(plain_value, rel=1e-12)
    # Unfused: dL/dp pulled back through the activation's own Jacobian.
    unfused_grad = act.backward(z, p, plain_backward())
    np.testing.assert_allclose(fused_backward(), unfused_grad, rtol=1e-9, atol=1e-12)


def test_fused_path_is_stable_for_extreme_logits():
    z = np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32)
    y = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    value, backward = losses.CategoricalCrossentropy(from_logits=True).forward(y, z)
    assert value == pytest.approx(2000.0)
    grad = backward()
    assert np.isfinite(grad).all() and grad.dtype == np.float32
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0]], atol=1e-6)


def test_softmax_then_mse_is_not_fused():
    assert losses.fused_loss(activations.get("softmax"), losses.MeanSquaredError()) is None
    assert losses.fused_loss(activations.get("relu"), losses.CategoricalCrossentropy()) is None
    already = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.fused_loss(activations.get("softmax"), already) is None


def test_softmax_then_mse_backpropagates_through_the_full_jacobian(rng, float64):
    z = rng.standard_normal((4, 3))
    y = np.eye(3)[[0, 1, 2, 0]]
    p = activations.softmax(z)
    _, backward = losses.MeanSquaredError().forward(y, p)
    grad_z = activations.softmax_backward(z, p, backward())
    jacobians = [np.diag(row) - np.outer(row, row) for row in p]
    explicit = np.stack([jac.T @ g for jac, g in zip(jacobians, backward())])
    np.testing.assert_allclose(grad_z, explicit, rtol=1e-12)
    shortcut = (p - y) / len(y)  # what a cross-entropy shortcut would wrongly give
    assert not np.allclose(grad_z, shortcut)


def test_loss_divides_by_batch_size_once():
    y = np.array([[1.0, 0.0]] * 4)
    p = np.array([[0.0, 0.0]] * 4)
    grad = losses.MeanSquaredError().forward(y, p)[1]()
    np.testing.assert_allclose(grad, np.full((4, 2), 2 * (0 - y[0]) / 8))


@pytest.mark.parametrize("loss,y,message", [
    (losses.CategoricalCrossentropy(), np.zeros(5), "to_categorical"),
    (losses.CategoricalCrossentropy(), np.zeros((5, 3)), r"\(N, 10\)"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 10, 2]), r"\[0, 9\]"),
    (losses.SparseCategoricalCrossentropy(), np.array([0.5, 1, 2]), "integer"),
    (losses.BinaryCrossentropy(), np.full((3, 10), 2.0), r"\[0, 1\]"),
])
def test_targets_that_do_not_fit_the_output_are_rejected(loss, y, message):
    with pytest.raises(ValueError, match=message):
        loss.check_targets(y, (10,))


def test_unknown_loss_name():
    with pytest.raises(ValueError, match="Unknown loss 'hinge_of_doom'"):
        losses.get("hinge_of_doom")
