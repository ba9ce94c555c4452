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


class UserDense(layers.Layer):
    """A hand-written Dense + ReLU with a selectable backward bug, for checks at huge scales."""

    def __init__(self, kernel, bug="none"):
        super().__init__()
        self.params = {"kernel": kernel, "bias": np.zeros(kernel.shape[1])}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.bug = bug

    def forward(self, x, training=False):
        kernel = self.params["kernel"]
        z = x @ kernel + self.params["bias"]

        def backward(grad_y):
            grad_z = grad_y * (z > 0) + (0.01 * (z <= 0) if self.bug == "leak" else 0)
            grad_z = grad_z * (0.5 if self.bug == "half" else 1.0)
            self.grads["kernel"][...] = x.T @ grad_z
            self.grads["bias"][...] = grad_z.sum(axis=0)
            return grad_z @ (kernel if self.bug == "transposed" else kernel.T)
        return np.maximum(z, 0), backward


def _huge_relu_input(rng, units=64):
    """What the sixth layer of a std-3 deep ReLU net sees: ~1e6, ~40% exact zeros."""
    return np.maximum(rng.standard_normal((2, units)) * 2e6, 0)


def test_zeros_among_huge_values_get_steps_of_their_neighbours_size(rng, float64):
    """The std-3 deep ReLU net's false mismatch: a zero input among values of ~1e6 was stepped
    by 1e-6 while the objective is ~1e8 (spacing 1.5e-8), so its central difference was off by
    ~1e-3. The step floor is now the tensor's RMS: the correct layer passes."""
    kernel = rng.standard_normal((64, 64)) * 3.0
    x = _huge_relu_input(rng)
    assert (x == 0).mean() > 0.3
    result = sn.gradcheck(UserDense(kernel), x)
    assert result.passed(), str(result)
    assert all(c.status == "ok" for c in result.checks), str(result)


def test_wrong_backwards_are_still_caught_at_huge_scales(rng, float64):
    kernel = rng.standard_normal((64, 64)) * 3.0
    x = _huge_relu_input(rng)
    for bug, tensor in (("leak", "input"), ("transposed", "input"), ("half", "kernel"),
                        ("half", "input")):
        check = sn.gradcheck(UserDense(kernel, bug), x)[tensor]
        assert check.status == "wrong" and check.reliable, f"{bug}: {check}"


def test_a_forward_that_loses_precision_is_measured_with_a_larger_step(rng, float64):
    """(x + 1e8) - 1e8 rounds x to 1.5e-8: at a step of 1e-6 the difference is only good to
    ~1e-2, and the one-sided differences (and those at h and h/2) disagree like noise, not like a
    kink. Such a probe is retried with a larger step instead of accusing the identity."""
    class LossyIdentity(layers.Layer):
        def forward(self, x, training=False):
            return (x + 1e8) - 1e8, lambda grad_y: grad_y
    result = sn.gradcheck(LossyIdentity(), rng.standard_normal((2, 6)))
    # (was 2e-3, "wrong"); below the mismatch threshold, some rounding may stay visible
    assert result["input"].relative_error < 1e-4 and result.passed(), str(result)
    class LossyDouble(LossyIdentity):  # and a wrong factor is still seen through the noise
        def forward(self, x, training=False):
            return (x + 1e8) - 1e8, lambda grad_y: 2 * grad_y
    assert sn.gradcheck(LossyDouble(), rng.standard_normal((2, 6)))["input"].status == "wrong"


def test_a_kink_between_half_a_step_and_a_step_is_skipped(float64):
    x = np.array([[-0.7e-6, 0.7e-6, 1.0]])  # ReLU's kink lies within h (1e-6), beyond h/2
    result = sn.gradcheck(layers.ReLU(), x)
    assert result["input"].skipped_kinks == 2 and result.passed()


def test_saturated_tanh_and_sigmoid_at_huge_inputs_pass(rng, float64):
    x = rng.standard_normal((2, 8)) * 1e11
    for name in ("tanh", "sigmoid"):
        result = sn.gradcheck(activations.get(name), x)
        assert result["input"].status == "ok", str(result)
        bad = activations.elementwise(f"bad_{name}", getattr(activations, name),
                                      lambda v: np.ones_like(v))  # derivative forgotten
        assert sn.gradcheck(bad, x)["input"].status == "wrong"
