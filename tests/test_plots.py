"""Plots carry the right content (read from the Figure objects) and training records what they
need; pixels are not compared."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import scratchnet as sn
from scratchnet import layers, optimizers, plots, runs, zoo


def legend_labels(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_batch_curve_recovers_each_batch_from_running_means():
    curve = plots.BatchCurve()
    curve.set_params({"steps": 3})
    losses, sizes = [2.0, 1.0, 0.4], [4, 4, 2]
    curve.on_epoch_begin(0)
    seen, total = 0, 0.0
    for step, (loss, size) in enumerate(zip(losses, sizes)):
        seen, total = seen + size, total + loss * size
        curve.on_train_batch_end(step, {"loss": total / seen, "size": size})
    positions, values = zip(*curve.points["loss"])
    np.testing.assert_allclose(values, losses)
    np.testing.assert_allclose(positions, [1 / 3, 2 / 3, 1])


def tiny_cnn() -> sn.Sequential:
    model = sn.Sequential([layers.Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)),
                           layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_batch_curve_during_fit_matches_the_epoch_means():
    rng = np.random.default_rng(0)
    x = rng.random((50, 8, 8, 1), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 50)]
    model, curve = tiny_cnn(), plots.BatchCurve()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[curve], seed=1)
    assert len(curve.points["loss"]) == 8   # 4 batches (16, 16, 16, 2) per epoch
    sizes = np.array([16, 16, 16, 2])
    for epoch in range(2):
        batch = np.array([v for _, v in curve.points["loss"][4 * epoch:4 * epoch + 4]])
        assert np.dot(batch, sizes) / 50 == pytest.approx(history.history["loss"][epoch])


def test_curves_make_sense_after_one_epoch(tmp_path):
    history = {"loss": [0.9], "accuracy": [0.71], "val_loss": [0.5], "val_accuracy": [0.84]}
    batches = {"loss": [((i + 1) / 10, 2.3 - 0.2 * i) for i in range(10)],
               "accuracy": [((i + 1) / 10, 0.1 + 0.08 * i) for i in range(10)]}
    fig = plots.plot_history(history, tmp_path / "curves.png", batches, "test")
    loss_ax, accuracy_ax = fig.axes
    assert legend_labels(loss_ax) == ["train, per batch", "train, epoch mean",
                                      "test, end of epoch"]
    assert len(loss_ax.lines[0].get_xdata()) == 10
    left, right = loss_ax.get_xlim()
    assert -0.05 < left <= 0 and 1 <= right < 1.05 and loss_ax.get_xlabel() == "epoch"
    low, high = accuracy_ax.get_ylim()
    assert low <= 0.1 and 0.84 < high <= 1.01     # spans the data, not 0.96-1.04 around a dot
    assert accuracy_ax.get_title() == "accuracy: last test 0.84"
    with Image.open(tmp_path / "curves.png") as image:
        assert image.size == (1000, 400)
    split = plots.plot_history(history, tmp_path / "c2.png", None, "validation")
    assert legend_labels(split.axes[0])[-1] == "validation, end of epoch"


def test_long_runs_get_a_moving_average_and_a_log_loss_axis(tmp_path):
    steps = 469 * 3
    t = np.arange(1, steps + 1) / 469
    batches = {"loss": list(zip(t, 0.04 + 2.2 * np.exp(-6 * t)))}
    fig = plots.plot_history({"loss": [0.3, 0.08, 0.05]}, tmp_path / "c.png", batches)
    ax = fig.axes[0]
    assert "train, mean of 25 batches" in legend_labels(ax) and ax.get_yscale() == "log"


def test_confusion_matrix_is_normalised_with_counts_and_accuracy(tmp_path):
    matrix = np.array([[50, 0, 0], [5, 40, 5], [0, 1, 9]])
    fig = plots.plot_confusion_matrix(matrix, tmp_path / "cm.png")
    ax, colorbar = fig.axes
    assert ax.get_title() == "confusion matrix on test: accuracy 90.00% (99 of 110)"
    np.testing.assert_allclose(ax.images[0].get_array(), matrix / matrix.sum(1, keepdims=True))
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(v) for v in matrix.ravel() if v)
    assert "fraction of the true class" in colorbar.get_ylabel()
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"


def test_misclassified_shows_the_most_confident_mistakes_first(tmp_path):
    y_true = np.array([0, 1, 2, 0, 1])
    probabilities = np.array([[0.9, 0.1, 0.0],    # right
                              [0.6, 0.3, 0.1],    # 1 -> 0 at 0.6
                              [0.05, 0.9, 0.05],  # 2 -> 1 at 0.9
                              [0.2, 0.0, 0.8],    # 0 -> 2 at 0.8
                              [0.0, 1.0, 0.0]])   # right
    x = np.random.default_rng(0).random((5, 6, 6, 1))
    fig = plots.plot_misclassified(x, y_true, probabilities, tmp_path / "m.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["2 -> 1  p=0.90", "0 -> 2  p=0.80", "1 -> 0  p=0.60"]
    assert fig.axes[0].get_xlabel() == "p(true 2)=0.05" and fig.mistakes == 3
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), x[2, :, :, 0])
    assert "3 most confident of 3 mistakes in 5" in fig._suptitle.get_text()


def test_filters_share_one_diverging_scale_with_a_colour_bar(tmp_path):
    model = zoo.mnist_cnn()
    fig = plots.plot_filters(model, tmp_path / "f.png")
    tiles, colorbar = fig.axes[:-1], fig.axes[-1]
    kernel = model.layers[0].params["kernel"]
    limit = np.abs(kernel[:, :, 0, :]).max()
    assert len(tiles) == 32 and colorbar.get_ylabel() == "weight"
    for index, ax in enumerate(tiles):
        assert ax.images[0].get_clim() == pytest.approx((-limit, limit))
        np.testing.assert_array_equal(ax.images[0].get_array(), kernel[:, :, 0, index])
    assert plots.plot_filters(zoo.mnist_mlp(), tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_activation_map_is_the_first_layer_output(tmp_path):
    model = tiny_cnn()
    digit = np.random.default_rng(3).random((8, 8, 1), dtype=np.float32)
    fig = plots.plot_activation_map(model, digit, tmp_path / "a.png", label=4)
    kernel, bias = model.layers[0].params["kernel"], model.layers[0].params["bias"]
    # Independent cross-correlation, then ReLU.
    expected = np.zeros((6, 6, 4))
    for i in range(6):
        for j in range(6):
            expected[i, j] = np.tensordot(digit[i:i + 3, j:j + 3], kernel, axes=3) + bias
    expected = np.maximum(expected, 0)
    maps = [ax for ax in fig.axes if ax.images and ax.images[0].get_array().shape == (6, 6)]
    assert len(maps) == 4
    for index, ax in enumerate(maps):
        np.testing.assert_allclose(ax.images[0].get_array(), expected[:, :, index], atol=1e-5)
    assert fig.axes[0].get_title() == "input (label 4)"
    assert fig.axes[-1].get_ylabel() == "activation"


def test_prediction_panel(tmp_path):
    from scratchnet import images
    grey = np.ones((60, 90), np.float32)
    grey[10:50, 40:50] = 0
    digit = images.prepare_grey(grey)
    p = np.full(10, 0.02)
    p[1] = 0.82
    fig = plots.plot_prediction(grey, digit, p, tmp_path / "p.png", title="one.png")
    assert fig._suptitle.get_text() == "one.png: 1 (82.0%)"
    assert [ax.get_title() for ax in fig.axes] == ["picture, 90x60", "seen by the model, 28x28",
                                                   "probabilities"]
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), digit.pixels)


def test_a_training_run_makes_every_plot_with_honest_names(tmp_path, monkeypatch):
    seen = {}
    original = plots.plot_history
    monkeypatch.setattr(plots, "plot_history", lambda *args: seen.setdefault(
        "fig", original(*args)))
    model = sn.Sequential([layers.Conv2D(4, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                           layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.Adadelta(1.0), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    result = runs.train(model, tmp_path / "run", epochs=1, batch_size=32, limit=128,
                        validation_split=0.25, seed=0, verbose=0)
    assert result["plots"] == ["curves.png", "confusion_matrix.png", "misclassified.png",
                               "filters.png", "activations.png"]
    labels = legend_labels(seen["fig"].axes[0])
    assert labels[0] == "train, per batch" and labels[-1] == "validation, end of epoch"
    assert len(seen["fig"].axes[0].lines[0].get_xdata()) == 3   # 96 training samples / 32
    for name in result["plots"]:
        with Image.open(tmp_path / "run" / name) as image:
            assert image.format == "PNG" and min(image.size) >= 150
