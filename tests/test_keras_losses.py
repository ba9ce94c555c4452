"""Keras 3's other losses: values against formulas written per sample, gradients against finite
differences, names, configs and errors."""
import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import losses

EPS = 1e-7


def per_sample_mean(fn, y, p):
    """Keras's reduction, spelled out: mean over the last axis of fn(y, p), then over samples."""
    return sum(sum(fn(a, b) for a, b in zip(ys, ps)) / len(ys) for ys, ps in zip(y, p)) / len(y)


def huber(a, b, delta=1.0):
    e = abs(b - a)
    return 0.5 * e * e if e <= delta else delta * (e - 0.5 * delta)


def hinge_label(a):
    return -1.0 if a == 0 else a


ELEMENTWISE = {
    "mae": lambda a, b: abs(a - b),
    "mape": lambda a, b: 100 * abs((a - b) / max(abs(a), EPS)),
    "msle": lambda a, b: (math.log(max(b, EPS) + 1) - math.log(max(a, EPS) + 1)) ** 2,
    "huber": huber,
    "log_cosh": lambda a, b: math.log(math.cosh(b - a)),
    "poisson": lambda a, b: b - a * math.log(b + EPS),
    "hinge": lambda a, b: max(1 - hinge_label(a) * b, 0),
    "squared_hinge": lambda a, b: max(1 - hinge_label(a) * b, 0) ** 2,
}
Y_REG = np.array([[0.5, 2.0, -1.0], [3.0, 0.0, 1.5]])
P_REG = np.array([[0.7, 0.1, 2.5], [2.0, 0.3, 1.5]])
Y_CLS = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
P_CLS = np.array([[0.2, 0.5, 0.3], [0.1, 0.6, 0.3]])


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_values(name):
    y, p = (Y_CLS, P_CLS * 3 - 1) if "hinge" in name else (np.abs(Y_REG), P_REG)
    assert losses.get(name)(y, p) == pytest.approx(per_sample_mean(ELEMENTWISE[name], y, p),
                                                   rel=1e-12)


def test_per_sample_values():
    kld = sum(sum(max(a, EPS) * math.log(max(a, EPS) / max(b, EPS)) for a, b in zip(ys, ps))
              for ys, ps in zip(Y_CLS, P_CLS)) / 2
    assert losses.get("kld")(Y_CLS, P_CLS) == pytest.approx(kld, rel=1e-12)
    hinge = sum(max(max((1 - a) * b for a, b in zip(ys, ps)) - sum(a * b for a, b in zip(ys, ps))
                    + 1, 0) for ys, ps in zip(Y_CLS, P_CLS)) / 2
    assert losses.get("categorical_hinge")(Y_CLS, P_CLS) == pytest.approx(hinge, rel=1e-12)


def test_huber_delta_and_config_round_trip():
    loss = losses.Huber(delta=0.5)
    y, p = np.zeros((1, 3)), np.array([[0.2, 1.0, -3.0]])
    assert loss(y, p) == pytest.approx((0.02 + 0.5 * 0.75 + 0.5 * 2.75) / 3)
    assert losses.from_config(loss.get_config()).delta == 0.5
    with pytest.raises(ValueError, match="delta"):
        losses.Huber(delta=-1)


@pytest.mark.parametrize("name", [*sorted(ELEMENTWISE), "kld", "categorical_hinge"])
def test_gradients_match_finite_differences(name, rng):
    y = np.eye(4)[rng.integers(0, 4, 5)] if "hinge" in name or name == "kld" else \
        rng.random((5, 4)) + 0.1
    p = rng.random((5, 4)) * 1.5 + 0.05
    if name == "kld":
        p /= p.sum(axis=-1, keepdims=True)
    assert sn.gradcheck(losses.get(name), p, y).max_error < 1e-6


def test_keras_names_resolve_to_one_class_each():
    for names, cls in [(("mae", "mean_absolute_error", "MAE"), losses.MeanAbsoluteError),
                       (("huber", "huber_loss"), losses.Huber),
                       (("kld", "kl_divergence", "kullback_leibler_divergence"),
                        losses.KLDivergence),
                       (("msle", "mean_squared_logarithmic_error"),
                        losses.MeanSquaredLogarithmicError),
                       (("logcosh", "log_cosh"), losses.LogCosh)]:
        assert all(type(losses.get(n)) is cls for n in names)
    assert losses.mae is losses.mean_absolute_error


def test_a_model_trains_and_saves_with_mae(tmp_path, rng):
    model = sn.Sequential([sn.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=sn.optimizers.Adam(0.05), loss="mae")
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before / 2
    model.save(tmp_path / "m.safetensors")
    assert sn.load_model(tmp_path / "m.safetensors").loss.name == "mean_absolute_error"
