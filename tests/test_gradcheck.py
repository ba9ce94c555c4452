"""gradcheck itself: it must catch wrong backwards, skip kinks, replay dropout."""
import numpy as np

import scratchnet as sn
from scratchnet import activations, layers, losses


class ConstantLeakReLU(layers.Layer):
    """The user's bug: ReLU whose backward returns the constant 0.01 for negative inputs."""

    def forward(self, x, training=False):
        def backward(grad_y):
            return np.where(x > 0, grad_y, 0.01)
        return np.maximum(x, 0), backward


def test_wrong_backward_is_reported_with_worst_entries(rng, float64):
    result = sn.gradcheck(ConstantLeakReLU(), rng.standard_normal((4, 6)))
    check = result["input"]
    assert check.status == "wrong" and check.relative_error > 1e-2
    assert not result.passed()
    assert len(check.worst) == 3 and "analytic" in str(result)


def test_correct_backward_passes(rng, float64):
    result = sn.gradcheck(layers.ReLU(), rng.standard_normal((4, 6)) + 0.01)
    assert result.passed() and result["input"].status == "ok"


def test_points_on_a_kink_are_skipped_not_reported(float64):
    x = np.array([[-1.0, 0.0, 2.0, 0.0, 3.0]])  # ReLU is not differentiable at 0
    result = sn.gradcheck(layers.ReLU(), x)
    assert result["input"].skipped_kinks == 2
    assert result["input"].checked == 3
    assert result.passed()


def test_max_pool_ties_are_skipped(float64):
    x = np.zeros((1, 2, 2, 1))  # one window, four tied maxima
    result = sn.gradcheck(layers.MaxPooling2D(), x)
    assert result["input"].skipped_kinks == 4 and result["input"].checked == 0
    assert not result.passed()  # nothing was checked, so nothing was shown


def test_dropout_mask_is_replayed(rng, float64):
    result = sn.gradcheck(layers.Dropout(0.5), rng.standard_normal((6, 8)))
    assert result.passed() and result["input"].checked == 48


def test_large_tensors_are_sampled(rng, float64):
    layer = layers.Dense(50)
    result = sn.gradcheck(layer, rng.standard_normal((2, 40)), max_entries=30)
    assert result["kernel"].checked == 30
    assert result.passed()


def test_loss_and_activation_targets(rng, float64):
    y = np.eye(4)[[0, 2, 3]]
    p = activations.softmax(rng.standard_normal((3, 4)))
    for loss in (losses.CategoricalCrossentropy(), losses.MeanSquaredError()):
        assert sn.gradcheck(loss, p, y).max_error < 1e-6
    assert sn.gradcheck(activations.get("softmax"), rng.standard_normal((3, 5))).passed()


def test_user_activation_with_wrong_derivative_is_caught(rng, float64):
    bad = activations.elementwise("bad_tanh", np.tanh, lambda x: 1 - x ** 2)  # f' uses x, not y
    assert not sn.gradcheck(bad, rng.standard_normal((3, 4))).passed()


def test_exact_zero_gradient_is_not_a_mismatch(float64):
    """d/dx of sum(w * relu(x)) is exactly 0 where x < 0; numerically ~1e-16, never an error."""
    x = -np.abs(np.random.default_rng(0).standard_normal((3, 5))) - 0.5
    result = sn.gradcheck(layers.ReLU(), x)
    assert result["input"].relative_error < 1e-7 and result.passed()


def test_huge_values_are_checked_with_steps_scaled_to_them(rng, float64):
    """Pre-activations ~1e11 (std-3 deep ReLU nets): a fixed step of 1e-6 is below the float64
    spacing there (~1.5e-5), so it used to report a mismatch on the correct ReLU."""
    x = rng.standard_normal((2, 8)) * 1e11
    assert np.spacing(1e11) > 1e-6
    result = sn.gradcheck(layers.ReLU(), x)
    assert result["input"].status in ("ok", "unreliable") and result.max_error < 1e-4
    assert sn.gradcheck(ConstantLeakReLU(), x)["input"].status == "wrong"  # still caught


def test_gradient_lost_in_the_noise_is_unreliable_not_wrong(float64):
    """A tiny gradient next to a huge output: no step resolves it, so no verdict."""
    class HugeOffset(layers.Layer):
        def forward(self, x, training=False):
            return x * 1e-12 + 1e12, lambda grad_y: grad_y * 1e-12
    result = sn.gradcheck(HugeOffset(), np.ones((2, 3)))
    assert result["input"].status == "unreliable" and not result.passed()
    assert "no verdict" in str(result)
