"""compile(metrics=[...]) with Metric objects, loss names, functions; saved and restored."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, metrics


def sparse_model(metric_list) -> sn.Sequential:
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Dense(5, activation="relu", input_shape=(4,)),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=metric_list)
    return model


def data(n: int = 20):
    x = np.random.default_rng(4).normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)


def test_metric_objects_names_and_values():
    x, labels = data()

    def mean_top_probability(y_true, y_pred):   # a user's own metric: per-sample values
        return y_pred.max(axis=-1)

    model = sparse_model([metrics.SparseCategoricalAccuracy(),
                          metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"),
                          "sparse_categorical_crossentropy", mean_top_probability])
    result = model.evaluate(x, labels, batch_size=7, verbose=0, return_dict=True)
    assert list(result) == ["loss", "sparse_categorical_accuracy", "top2",
                            "sparse_categorical_crossentropy", "mean_top_probability"]
    p = model.predict(x, verbose=0).astype(np.float64)
    rank = (p > p[np.arange(len(p)), labels][:, None]).sum(axis=1)
    assert result["sparse_categorical_accuracy"] == pytest.approx(np.mean(p.argmax(1) == labels))
    assert result["top2"] == pytest.approx(np.mean(rank < 2))
    ce = -np.log(np.clip(p[np.arange(len(p)), labels], 1e-7, 1))
    assert result["sparse_categorical_crossentropy"] == pytest.approx(ce.mean(), rel=1e-5)
    assert result["loss"] == pytest.approx(ce.mean(), rel=1e-5)
    assert result["mean_top_probability"] == pytest.approx(p.max(1).mean(), rel=1e-5)
    history = model.fit(x, labels, epochs=1, verbose=0)
    assert set(history.history) == {"loss", *list(result)[1:]}


def test_mae_and_mse_names_and_functions():
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse", metrics=[
        "mae", metrics.mse, metrics.MeanAbsoluteError(name="m"), sn.losses.Huber(delta=0.5)])
    x, labels = data()
    y = labels.astype(np.float32)
    loss, mae, mse, m, huber = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)[:, 0]
    assert mae == pytest.approx(np.abs(p - y).mean(), rel=1e-5) and m == pytest.approx(mae)
    e = np.abs(p - y)
    assert huber == pytest.approx(np.where(e <= 0.5, e * e / 2, 0.5 * (e - 0.25)).mean(),
                                  rel=1e-5)
    assert model.metric_names == ["mae", "mean_squared_error", "m", "huber"]
    assert mse == pytest.approx(((p - y) ** 2).mean(), rel=1e-5) == pytest.approx(loss)


def test_metric_objects_survive_save_and_load(tmp_path):
    x, labels = data()
    model = sparse_model([metrics.SparseTopKCategoricalAccuracy(k=1, name="top1"), "acc"])
    model.save(tmp_path / "m.snet")
    loaded = sn.load_model(tmp_path / "m.snet")
    assert loaded.metric_names == ["top1", "accuracy"]
    assert loaded.compiled_metrics[0].k == 1
    assert loaded.evaluate(x, labels, verbose=0) == pytest.approx(model.evaluate(x, labels,
                                                                                 verbose=0))


def test_a_users_function_metric_is_left_out_of_the_file_with_a_warning(tmp_path):
    def f1ish(y_true, y_pred):
        return 0.0
    model = sparse_model(["accuracy", f1ish])
    with pytest.warns(UserWarning, match="'f1ish' is not saved"):
        model.save(tmp_path / "m.snet")
    assert sn.load_model(tmp_path / "m.snet").metric_names == ["accuracy"]


@pytest.mark.parametrize("bad,error,message", [
    (["accurcy"], ValueError, "Unknown metric 'accurcy'; expected one of"),
    ([metrics.SparseCategoricalAccuracy], TypeError, "Metric \\*objects\\*"),
    (["mae", "mae"], ValueError, r"\['mae'\] appear more than once"),
    ({"out": ["accuracy"]}, TypeError, "several outputs"),
    (3, TypeError, "metrics must be a list.*got int"),
    ([lambda y, p: 0.0], ValueError, "a named function"),
])
def test_bad_metrics_in_compile(bad, error, message):
    with pytest.raises(error, match=message):
        sparse_model(bad)
