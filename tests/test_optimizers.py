"""Optimizer updates against Keras 3's rules, written out independently with scalars."""
import math

import numpy as np
import pytest

from scratchnet import optimizers

GRADS = [0.5, -1.5, 0.25, 2.0]


def run(optimizer, w0=1.0):
    w = np.array([w0])
    for g in GRADS:
        optimizer.apply({"w": w}, {"w": np.array([g])})
    return float(w[0])


def test_sgd_plain_and_momentum_and_nesterov():
    w = 1.0
    for g in GRADS:
        w -= 0.1 * g
    assert run(optimizers.SGD(0.1)) == pytest.approx(w)
    w, m = 1.0, 0.0
    for g in GRADS:
        m = 0.9 * m - 0.1 * g
        w += m
    assert run(optimizers.SGD(0.1, momentum=0.9)) == pytest.approx(w)
    w, m = 1.0, 0.0
    for g in GRADS:
        m = 0.9 * m - 0.1 * g
        w += 0.9 * m - 0.1 * g
    assert run(optimizers.SGD(0.1, momentum=0.9, nesterov=True)) == pytest.approx(w)


def test_adam():
    w, m, v = 1.0, 0.0, 0.0
    for t, g in enumerate(GRADS, start=1):
        m += (g - m) * (1 - 0.9)
        v += (g * g - v) * (1 - 0.999)
        alpha = 0.01 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        w -= alpha * m / (math.sqrt(v) + 1e-7)
    assert run(optimizers.Adam(0.01)) == pytest.approx(w)


def test_rmsprop():
    w, v = 1.0, 0.0
    for g in GRADS:
        v = 0.9 * v + 0.1 * g * g
        w -= 0.01 * g / math.sqrt(v + 1e-7)
    assert run(optimizers.RMSprop(0.01)) == pytest.approx(w)


def test_adadelta():
    w, a, d = 1.0, 0.0, 0.0
    for g in GRADS:
        a = 0.95 * a + 0.05 * g * g
        delta = -math.sqrt(d + 1e-7) / math.sqrt(a + 1e-7) * g
        d = 0.95 * d + 0.05 * delta * delta
        w += 1.0 * delta
    assert run(optimizers.Adadelta(learning_rate=1.0)) == pytest.approx(w)


def test_keras3_defaults():
    assert optimizers.SGD().learning_rate == 0.01
    assert optimizers.Adam().learning_rate == 0.001
    assert optimizers.RMSprop().learning_rate == 0.001
    adadelta = optimizers.Adadelta()
    assert (adadelta.learning_rate, adadelta.rho, adadelta.epsilon) == (0.001, 0.95, 1e-7)


def test_names_state_and_float32_kept():
    opt = optimizers.get("Adam")
    w = np.ones(3, dtype=np.float32)
    opt.apply({"dense/kernel": w}, {"dense/kernel": np.full(3, 0.1, dtype=np.float32)})
    assert w.dtype == np.float32 and opt.iterations == 1
    assert set(opt.slots["dense/kernel"]) == {"m", "v"}
    assert optimizers.from_config(opt.get_config()).get_config() == opt.get_config()


@pytest.mark.parametrize("bad", ["adamz", 3])
def test_unknown_optimizer(bad):
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get(bad)


def test_invalid_learning_rate():
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD(learning_rate=-1)
