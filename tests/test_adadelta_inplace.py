"""Adadelta's in-place update gives exactly the formula's numbers (same operations, same order)."""
import numpy as np
import pytest

from scratchnet import optimizers


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adadelta_matches_formula_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    param = rng.standard_normal(257).astype(dtype)
    expected, acc_g, acc_d = param.copy(), np.zeros_like(param), np.zeros_like(param)
    opt, rho, eps, lr = optimizers.Adadelta(learning_rate=0.5), 0.95, 1e-7, 0.5
    for _ in range(4):
        grad = rng.standard_normal(257).astype(dtype)
        opt.apply({"w": param}, {"w": grad})
        acc_g = acc_g * rho + (1 - rho) * grad * grad
        delta = -np.sqrt(acc_d + eps) / np.sqrt(acc_g + eps) * grad
        acc_d = acc_d * rho + (1 - rho) * delta * delta
        expected = expected + lr * delta
    assert param.dtype == dtype
    np.testing.assert_array_equal(param, expected)
    np.testing.assert_array_equal(opt.slots["w"]["accumulated_delta"], acc_d)
