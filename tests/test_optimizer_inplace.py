"""Optimizers' in-place updates give exactly the formulas' numbers (same operations, same
order), also when a large parameter is updated block by block across threads."""
import math

import numpy as np
import pytest

from scratchnet import optimizers


@pytest.fixture(params=["small", "blocked"])
def size(request, monkeypatch):
    if request.param == "small":
        return 257
    monkeypatch.setattr(optimizers, "BLOCK", 64)       # 1000 entries: 16 blocks, the last short
    return 1000


def adadelta_formula(lr=0.5, rho=0.95, eps=1e-7):
    def step(w, g, s, t):
        s["a"] = s.get("a", np.zeros_like(w)) * rho + (1 - rho) * g * g
        delta = -np.sqrt(s.get("d", np.zeros_like(w)) + eps) / np.sqrt(s["a"] + eps) * g
        s["d"] = s.get("d", np.zeros_like(w)) * rho + (1 - rho) * delta * delta
        return w + lr * delta
    return optimizers.Adadelta(learning_rate=lr, rho=rho, epsilon=eps), step


def adam_formula(lr=0.01, b1=0.9, b2=0.999, eps=1e-7):
    def step(w, g, s, t):
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m, v = s.get("m", np.zeros_like(w)), s.get("v", np.zeros_like(w))
        s["m"] = m + (g - m) * (1 - b1)
        s["v"] = v + (g * g - v) * (1 - b2)
        return w - alpha * s["m"] / (np.sqrt(s["v"]) + eps)
    return optimizers.Adam(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps), step


def rmsprop_formula(lr=0.01, rho=0.9, momentum=0.5, eps=1e-7):
    def step(w, g, s, t):
        s["v"] = s.get("v", np.zeros_like(w)) * rho + (1 - rho) * g * g
        s["m"] = s.get("m", np.zeros_like(w)) * momentum + lr * g / np.sqrt(s["v"] + eps)
        return w - s["m"]
    return optimizers.RMSprop(learning_rate=lr, rho=rho, momentum=momentum, epsilon=eps), step


def sgd_formula(lr=0.1, momentum=0.9, nesterov=True):
    def step(w, g, s, t):
        s["m"] = s.get("m", np.zeros_like(w)) * momentum - lr * g
        return w + (momentum * s["m"] - lr * g) if nesterov else w + s["m"]
    return optimizers.SGD(learning_rate=lr, momentum=momentum, nesterov=nesterov), step


@pytest.mark.parametrize("make", [adadelta_formula, adam_formula, rmsprop_formula, sgd_formula,
                                  lambda: sgd_formula(momentum=0.0, nesterov=False)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_matches_formula_bit_for_bit(make, dtype, size, threads):
    rng = np.random.default_rng(0)
    opt, step = make()
    param = rng.standard_normal((size // 4, 4) if size % 4 == 0 else size).astype(dtype)
    expected, state = param.copy(), {}
    for t in range(1, 5):
        grad = rng.standard_normal(param.shape).astype(dtype)
        opt.apply({"w": param}, {"w": grad})
        expected = step(expected, grad, state, t).astype(dtype)
    assert param.dtype == dtype
    np.testing.assert_array_equal(param, expected)


def test_custom_optimizers_are_not_split():
    seen = []

    class Whole(optimizers.SGD):
        elementwise = False

        def update(self, param, grad, slots):
            seen.append(param.size)
    Whole().apply({"w": np.zeros(10 * optimizers.BLOCK, np.float32)},
                  {"w": np.ones(10 * optimizers.BLOCK, np.float32)})
    assert seen == [10 * optimizers.BLOCK]
