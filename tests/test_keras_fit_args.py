"""fit(sample_weight=, class_weight=, steps_per_epoch=, validation_freq=), evaluate(sample_weight=)
and the weighted loss they share, against values computed independently."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, losses


def model_of(lr: float = 0.1, loss: str = "categorical_crossentropy") -> sn.Sequential:
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=sn.optimizers.SGD(lr), loss=loss, metrics=["accuracy"])
    return model


def data(n: int = 12):
    x = np.random.default_rng(2).normal(size=(n, 3)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    return x, np.eye(3, dtype=np.float32)[labels], labels


# --- the weighted loss: one place, checked per loss --------------------------------------------
LOSS_CASES = [
    ("mean_squared_error", "dense"), ("categorical_crossentropy", "prob"),
    ("binary_crossentropy", "unit"), ("mean_absolute_error", "dense"), ("huber", "dense"),
    ("kl_divergence", "prob"), ("categorical_hinge", "onehot_pred"), ("log_cosh", "dense"),
    ("sparse_categorical_crossentropy", "sparse"),
]


def loss_inputs(kind: str, rng):
    p = rng.uniform(0.05, 0.95, size=(5, 3))
    if kind == "prob":
        return rng.dirichlet(np.ones(3), size=5), p / p.sum(1, keepdims=True)
    if kind == "unit":
        return (rng.uniform(size=(5, 3)) > 0.5).astype(float), p
    if kind == "onehot_pred":
        return np.eye(3)[rng.integers(0, 3, 5)], rng.normal(size=(5, 3))
    if kind == "sparse":
        return rng.integers(0, 3, 5).astype(float), p / p.sum(1, keepdims=True)
    return rng.normal(size=(5, 3)), rng.normal(size=(5, 3))


@pytest.mark.parametrize("name,kind", LOSS_CASES)
def test_weighted_loss_value_and_gradient(name, kind, rng):
    loss = losses.get(name)
    y, p = loss_inputs(kind, rng)
    w = np.array([0.0, 1.0, 2.5, 0.5, 1.0])
    per_sample = np.array([loss(y[i:i + 1], p[i:i + 1]) for i in range(5)])   # one at a time
    # The vectorised per-sample losses agree with one-at-a-time forward, their mean with forward.
    np.testing.assert_allclose(loss.per_sample(y, p), per_sample, rtol=1e-10)
    assert loss(y, p) == pytest.approx(per_sample.mean(), rel=1e-10)
    # Keras's sum_over_batch_size: divided by the batch size, not by sum(w).
    value, backward = loss.weighted_forward(y, p, w)
    assert value == pytest.approx((w * per_sample).sum() / 5, rel=1e-10)
    assert loss(y, p, sample_weight=w) == pytest.approx(value)
    grad, numeric, h = backward(), np.zeros_like(p), 1e-6
    for index in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss.weighted_forward(y, up, w)[0]
                          - loss.weighted_forward(y, down, w)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_weighted_forward_refuses_a_wrong_length():
    with pytest.raises(ValueError, match="3 entries for a batch of 2 samples"):
        losses.MeanSquaredError().weighted_forward(np.zeros((2, 1)), np.zeros((2, 1)),
                                                   np.ones(3))


# --- evaluate / fit ---------------------------------------------------------------------------
def test_evaluate_sample_weight_matches_numpy():
    x, y, _ = data()
    model = model_of()
    w = np.linspace(0, 2, len(x))
    p = model.predict(x, verbose=0).astype(np.float64)
    per_sample = -(y * np.log(np.clip(p, 1e-7, 1 - 1e-7))).sum(axis=1)
    result = model.evaluate(x, y, batch_size=len(x), sample_weight=w, verbose=0,
                            return_dict=True)
    assert result["loss"] == pytest.approx((w * per_sample).mean(), rel=1e-5)
    # Metrics stay unweighted (Keras weights only weighted_metrics).
    assert result["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y.argmax(1)))
    # Over batches of 5: batch means weighted by batch size give the same whole-set mean.
    by_batches = model.evaluate(x, y, batch_size=5, sample_weight=w, verbose=0)[0]
    assert by_batches == pytest.approx(result["loss"], rel=1e-5)


def test_zero_weights_scale_the_step_by_the_batch_fraction():
    """sum_over_batch_size: with weights 1 on k of N samples and 0 on the rest, one full-batch
    SGD step equals a step on the k samples alone at lr * k / N."""
    x, y, _ = data(12)
    weighted = model_of(0.3)
    weighted.fit(x, y, batch_size=12, epochs=1, verbose=0, shuffle=False,
                 sample_weight=np.r_[np.ones(4), np.zeros(8)])
    alone = model_of(0.3 * 4 / 12)
    alone.fit(x[:4], y[:4], batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(weighted.get_weights(), alone.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_class_weight_is_sample_weight_by_class():
    x, y, labels = data(12)
    table = {0: 0.5, 1: 2.0}   # class 2 missing: weight 1, as Keras
    by_class = model_of()
    by_class.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False, class_weight=table)
    by_sample = model_of()
    by_sample.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False,
                  sample_weight=np.array([table.get(c, 1.0) for c in labels]))
    for a, b in zip(by_class.get_weights(), by_sample.get_weights()):
        np.testing.assert_array_equal(a, b)
    sparse = model_of(loss="sparse_categorical_crossentropy")   # integer labels too
    sparse.fit(x, labels, batch_size=4, epochs=2, verbose=0, shuffle=False, class_weight=table)
    for a, b in zip(sparse.get_weights(), by_sample.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kwargs,message", [
    ({"class_weight": {0: 1.0}, "sample_weight": np.ones(12)}, "not both"),
    ({"sample_weight": np.ones(11)}, r"shape \(12,\), one weight per sample, got shape \(11,\)"),
    ({"sample_weight": -np.ones(12)}, "finite and >= 0"),
    ({"class_weight": [1.0, 2.0]}, "class_weight must be a dict.*got list"),
    ({"class_weight": {"cat": 1.0}}, "keys must be class indices.*'cat'"),
    ({"class_weight": {0: -1.0}}, r"class_weight\[0\] must be in \[0"),
    ({"steps_per_epoch": 0}, "steps_per_epoch must be an integer >= 1, got 0"),
    ({"validation_freq": 0}, "validation_freq must be an integer >= 1.*got 0"),
    ({"validation_freq": "2"}, "validation_freq must be an integer"),
    ({"validation_data": (np.zeros((2, 3)),)}, "validation_data must be a tuple.*length 1"),
])
def test_bad_fit_arguments_say_what_was_expected(kwargs, message):
    x, y, _ = data(12)
    with pytest.raises((ValueError, TypeError), match=message):
        model_of().fit(x, y, verbose=0, **kwargs)


def test_validation_freq_int_and_list():
    x, y, _ = data()
    val = data(6)[:2]
    history = model_of().fit(x, y, epochs=4, verbose=0, validation_data=val, validation_freq=2)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    model = model_of()
    history = model.fit(x, y, epochs=3, verbose=0, validation_data=val, validation_freq=[1, 3])
    assert len(history.history["val_loss"]) == 2
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(*val, verbose=0)[0])


def test_validation_data_with_weights_and_split_with_weights():
    x, y, _ = data()
    xv, yv, _ = data(6)
    wv = np.array([0.0, 1.0, 2.0, 0.0, 1.0, 3.0])
    model = model_of()
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(xv, yv, wv))
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(xv, yv, sample_weight=wv, verbose=0)[0], rel=1e-6)
    model = model_of()
    w = np.r_[np.ones(9), [0.0, 2.0, 1.0]]
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, sample_weight=w)
    assert history.history["val_loss"][0] == pytest.approx(   # the last quarter, its weights
        model.evaluate(x[9:], y[9:], sample_weight=w[9:], verbose=0)[0], rel=1e-6)


def test_steps_per_epoch_continues_across_epochs_and_warns_when_data_runs_out():
    x, y, _ = data(10)   # 5 batches of 2
    model = model_of()
    seen = []
    train_step = model.train_step
    model.train_step = lambda xb, yb, w=None: (seen.append(xb.copy()), train_step(xb, yb, w))[1]
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(x, y, batch_size=2, epochs=4, steps_per_epoch=2, verbose=0,
                            shuffle=False)
    starts = [int(np.flatnonzero((x == b[0]).all(1))[0]) for b in seen]
    # epoch 1: batches 0, 1; epoch 2: 2, 3; epoch 3: batch 4, then the pass ends (warning);
    # epoch 4 starts a new pass.
    assert starts == [0, 2, 4, 6, 8, 0, 2]
    assert len(history.history["loss"]) == 4
