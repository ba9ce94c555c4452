"""Metric names and Keras's metric objects, against values counted by hand."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import metrics

Y_SPARSE = np.array([2, 0, 1, 1])
P = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
# argmax = [2, 0, 0, 1]: 3 of 4 right. The true class's rank: 1st, 1st, 2nd, 1st.


def test_accuracy_objects_count_like_keras():
    assert metrics.SparseCategoricalAccuracy()(Y_SPARSE, P) == 0.75
    assert metrics.CategoricalAccuracy()(np.eye(3)[Y_SPARSE], P) == 0.75
    assert metrics.SparseTopKCategoricalAccuracy(k=1)(Y_SPARSE, P) == 0.75
    assert metrics.TopKCategoricalAccuracy(k=2)(np.eye(3)[Y_SPARSE], P) == 1.0
    assert metrics.BinaryAccuracy(threshold=0.25)([[1], [0], [1]], [[0.3], [0.2], [0.1]]) \
        == pytest.approx(2 / 3)
    # Accuracy compares values exactly; it is not "accuracy" the string.
    assert metrics.Accuracy()([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75


def test_objects_accumulate_sample_weighted_over_batches_and_reset():
    m = metrics.SparseCategoricalAccuracy(name="acc")
    m.update_state(Y_SPARSE[:1], P[:1])        # 1 of 1
    m.update_state(Y_SPARSE[1:], P[1:])        # 2 of 3
    assert m.result() == 0.75 and m.name == "acc"
    m.reset_state()
    assert m.result() == 0.0
    mae = metrics.MeanAbsoluteError()
    mae.update_state([[1.0], [2.0]], [[1.5], [2.0]])
    mae.update_state([[0.0]], [[-3.0]])
    assert mae.result() == pytest.approx((0.5 + 0 + 3) / 3)
    mse = metrics.MeanSquaredError()
    assert mse([[1.0, 2.0]], [[3.0, 2.0]]) == 2.0


def test_names_resolve_and_log_keys():
    for name in ("mae", "mean_absolute_error", "mse", "mean_squared_error",
                 "sparse_categorical_accuracy", "top_k_categorical_accuracy"):
        assert name in metrics.KNOWN and metrics.name_of(name) == name
    assert metrics.name_of("acc") == "accuracy"
    assert metrics.name_of(metrics.SparseCategoricalAccuracy()) == "sparse_categorical_accuracy"
    assert metrics.name_of(metrics.mae) == "mean_absolute_error"
    fn = metrics.get("accuracy", (4,), (4, 3), "sparse_categorical_crossentropy")
    assert fn(Y_SPARSE, P) == 0.75
    assert metrics.get("mae", (2, 1), (2, 1), "mse")(np.array([[1.0], [0.0]]),
                                                     np.array([[0.0], [0.0]])) == 0.5


def test_bad_metrics_say_what_is_expected():
    with pytest.raises(ValueError, match="Unknown metric 'accurcy'"):
        metrics.name_of("accurcy")
    with pytest.raises(ValueError, match="k"):
        metrics.TopKCategoricalAccuracy(k=0)
    with pytest.raises(ValueError, match="samples"):
        metrics.Accuracy().update_state([1, 2], [1])


def test_model_reports_mae_by_name(rng):
    model = sn.Sequential([sn.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = rng.standard_normal((10, 2)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    loss, mae = model.evaluate(x, y, batch_size=3, verbose=0)
    p = model.predict(x)
    assert mae == pytest.approx(np.abs(p - y).mean(), rel=1e-5)
    assert loss == pytest.approx(((p - y) ** 2).mean(), rel=1e-5)
