"""Keras 3's other optimizers and options, step by step against the update rules written out in
plain Python floats (Keras 3 source: keras/src/optimizers/*.py)."""
import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import optimizers

W0 = [0.5, -1.5, 2.0]
GRADS = [[0.1, -0.3, 0.02], [-0.2, 0.25, 0.4], [0.05, 0.0, -0.6]]


def run(opt, steps=3):
    w = np.array(W0)
    for g in GRADS[:steps]:
        opt.apply({"w": w}, {"w": np.array(g)})
    return w


def reference(step_fn, state):
    """Apply ``step_fn(w, g, t, state) -> w`` to each entry independently, in floats."""
    out = []
    for i, w in enumerate(W0):
        s = {key: value for key, value in state.items()}
        for t, g in enumerate(GRADS, start=1):
            w = step_fn(w, g[i], t, s)
        out.append(w)
    return out


def test_adamw_decays_then_steps_like_adam():
    lr, wd, b1, b2, eps = 0.01, 0.1, 0.9, 0.999, 1e-7

    def step(w, g, t, s):
        w = w - w * wd * lr
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - alpha * s["m"] / (math.sqrt(s["v"]) + eps)
    got = run(optimizers.AdamW(learning_rate=lr, weight_decay=wd))
    np.testing.assert_allclose(got, reference(step, {"m": 0.0, "v": 0.0}), rtol=1e-12)
    assert optimizers.AdamW().weight_decay == 0.004


def test_nadam():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    u = [b1 * (1 - 0.5 * 0.96 ** t) for t in range(1, 6)]   # u[t - 1] = u_t

    def step(w, g, t, s):
        product = math.prod(u[:t])
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        m_hat = u[t] * s["m"] / (1 - product * u[t]) + (1 - u[t - 1]) * g / (1 - product)
        v_hat = s["v"] / (1 - b2 ** t)
        return w - lr * m_hat / (math.sqrt(v_hat) + eps)
    got = run(optimizers.Nadam(learning_rate=lr))
    np.testing.assert_allclose(got, reference(step, {"m": 0.0, "v": 0.0}), rtol=1e-12)


def test_adagrad_starts_its_accumulator_at_0_1():
    lr, eps = 0.05, 1e-7

    def step(w, g, t, s):
        s["a"] += g * g
        return w - lr * g / math.sqrt(s["a"] + eps)
    np.testing.assert_allclose(run(optimizers.Adagrad(lr)), reference(step, {"a": 0.1}),
                               rtol=1e-12)
    np.testing.assert_allclose(run(optimizers.Adagrad(lr, initial_accumulator_value=0.5)),
                               reference(step, {"a": 0.5}), rtol=1e-12)


def test_adamax():
    lr, b1, b2, eps = 0.02, 0.9, 0.999, 1e-7

    def step(w, g, t, s):
        s["m"] += (g - s["m"]) * (1 - b1)
        s["u"] = max(b2 * s["u"], abs(g))
        return w - lr * s["m"] / ((1 - b1 ** t) * (s["u"] + eps))
    np.testing.assert_allclose(run(optimizers.Adamax(lr)), reference(step, {"m": 0.0, "u": 0.0}),
                               rtol=1e-12)


def test_adam_amsgrad_uses_the_largest_second_moment():
    lr, b1, b2, eps = 0.01, 0.9, 0.5, 1e-7

    def step(w, g, t, s):
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        s["vhat"] = max(s["vhat"], s["v"])
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - alpha * s["m"] / (math.sqrt(s["vhat"]) + eps)
    got = run(optimizers.Adam(lr, beta_2=b2, amsgrad=True))
    np.testing.assert_allclose(got, reference(step, {"m": 0.0, "v": 0.0, "vhat": 0.0}),
                               rtol=1e-12)


def test_weight_decay_on_any_optimizer_and_keras2_lr_and_decay():
    def step(w, g, t, s):
        lr_t = 0.1 / (1 + 0.5 * (t - 1))
        w = w - w * 0.01 * lr_t
        return w - lr_t * g
    got = run(optimizers.SGD(lr=0.1, decay=0.5, weight_decay=0.01))
    np.testing.assert_allclose(got, reference(step, {}), rtol=1e-12)
    opt = optimizers.Adam(lr=0.02)
    assert opt.learning_rate == opt.lr == 0.02
    opt.lr = 0.005
    assert opt.learning_rate == 0.005
    with pytest.raises(ValueError, match="learning_rate"):
        opt.lr = -1


def test_gradient_clipping():
    g = {"a": np.array([3.0, 4.0]), "b": np.array([0.0, 12.0])}
    for kwargs, expected_a, expected_b in [
            ({"clipnorm": 1.0}, [0.6, 0.8], [0, 1.0]),
            ({"global_clipnorm": 6.5}, [1.5, 2.0], [0, 6.0]),
            ({"clipvalue": 3.5}, [3.0, 3.5], [0, 3.5])]:
        params = {"a": np.zeros(2), "b": np.zeros(2)}
        before = {k: v.copy() for k, v in g.items()}
        optimizers.SGD(1.0, **kwargs).apply(params, g)
        np.testing.assert_allclose(params["a"], np.negative(expected_a))
        np.testing.assert_allclose(params["b"], np.negative(expected_b))
        for key in g:   # the layers' gradient arrays are left as they were
            np.testing.assert_array_equal(g[key], before[key])


@pytest.mark.parametrize("kwargs,message", [
    ({"clipnorm": 1, "global_clipnorm": 1}, "not both"), ({"clipvalue": -1}, "clipvalue"),
    ({"weight_decay": "a"}, "weight_decay"), ({"momentun": 0.9}, "unknown argument"),
    ({"lr": float("nan")}, "learning_rate"), ({"decay": -1}, "decay")])
def test_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        optimizers.SGD(**kwargs)


@pytest.mark.parametrize("name", ["adamw", "nadam", "adagrad", "adamax", "Adamax"])
def test_names_configs_and_exact_resume(name, tmp_path, rng):
    assert optimizers.get(name).name == name.lower()
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]

    def model():
        sn.set_random_seed(3)
        m = sn.Sequential([sn.layers.Dense(5, activation="relu", input_shape=(4,)),
                           sn.layers.Dense(3, activation="softmax")])
        m.compile(optimizer=optimizers.get(name), loss="categorical_crossentropy")
        return m
    straight = model()
    straight.fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    first = model()
    first.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    first.save(tmp_path / "m.safetensors")
    resumed = sn.load_model(tmp_path / "m.safetensors")
    assert resumed.optimizer.get_config() == first.optimizer.get_config()
    resumed.fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0, initial_epoch=1)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
