"""ModelCheckpoint, EarlyStopping, CSVLogger, TerminateOnNaN on a tiny model."""
from __future__ import annotations

import csv

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import callbacks, layers


def tiny(lr: float = 0.1) -> sn.Sequential:
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Dense(8, activation="relu", input_shape=(5,)),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=sn.optimizers.SGD(lr), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data(n: int = 48):
    r = np.random.default_rng(3)
    x = r.normal(size=(n, 5)).astype(np.float32)
    return x, np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1)]


class Scripted(sn.Callback):
    """Replaces the epoch's logged values with a script, to drive monitors exactly."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_model_checkpoint_every_epoch_with_epoch_in_name(tmp_path):
    x, y = data()
    model = tiny()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}.snet"))])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ckpt-01.snet", "ckpt-02.snet", "ckpt-03.snet"]
    last = sn.load_model(tmp_path / "ckpt-03.snet")
    assert last.initial_epoch == 3
    for a, b in zip(last.get_weights(), model.get_weights()):
        assert np.array_equal(a, b)


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = data()
    model = tiny()
    losses = [0.9, 0.5, 0.7, 0.4, 0.6]
    path = tmp_path / "best.snet"
    model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[
        Scripted("val_loss", losses), callbacks.ModelCheckpoint(str(path), save_best_only=True)])
    assert sn.load_model(path).initial_epoch == 4  # epoch 4 (index 3) had the lowest val_loss


def test_early_stopping_patience_min_delta_and_restore(tmp_path):
    x, y = data()
    model = tiny()
    weights = []

    class Keep(sn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(model.get_weights())
    # improvements: 1.0 -> 0.8 (yes), 0.79 (< min_delta 0.05: no), 0.795, 0.9 -> stop at epoch 4
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=3, min_delta=0.05,
                                   restore_best_weights=True)
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0, callbacks=[
        Scripted("val_loss", [1.0, 0.8, 0.79, 0.795, 0.9] + [0.1] * 15), Keep(), stop])
    assert history.epoch == [0, 1, 2, 3, 4]
    assert stop.stopped_epoch == 4 and stop.best_epoch == 1
    for a, b in zip(model.get_weights(), weights[1]):
        assert np.array_equal(a, b)


def test_early_stopping_auto_mode_maximises_accuracy():
    x, y = data()
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    history = tiny().fit(x, y, epochs=10, batch_size=16, verbose=0, callbacks=[
        Scripted("val_accuracy", [0.5, 0.6, 0.7, 0.6, 0.9, 1, 1, 1, 1, 1]), stop])
    assert history.epoch == [0, 1, 2, 3]


def test_early_stopping_unknown_monitor_is_a_clear_error():
    x, y = data()
    with pytest.raises(KeyError, match="'val_los'.*available"):
        tiny().fit(x, y, epochs=1, verbose=0,
                   callbacks=[callbacks.EarlyStopping(monitor="val_los")])


def test_csv_logger_rows_match_history_and_append(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    model = tiny()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25,
                        callbacks=[callbacks.CSVLogger(str(path))])
    model.fit(x, y, epochs=3, initial_epoch=2, batch_size=16, verbose=0, validation_split=0.25,
              callbacks=[callbacks.CSVLogger(str(path), append=True)])
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert [float(r["val_loss"]) for r in rows[:2]] == history.history["val_loss"]


def test_terminate_on_nan_names_step_and_layer_and_keeps_last_good_checkpoint(tmp_path):
    x, y = data()
    model = tiny(lr=1e30)  # diverges within a few steps
    path = tmp_path / "ckpt.snet"
    stop = callbacks.TerminateOnNaN()
    good = tiny(lr=0.1)
    good.fit(x, y, epochs=1, batch_size=16, verbose=0)
    good.save(path)
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=5, batch_size=16, verbose=0,
                            callbacks=[stop, callbacks.ModelCheckpoint(str(path))])
    assert len(history.epoch) == 1  # stopped during the first epoch
    assert stop.message is not None
    assert "Epoch 1, batch" in stop.message and "(step " in stop.message
    # The diverging step was not applied: the weights are the last finite ones, and the message
    # names the first layer whose output overflows with them (weights ~1e30 after one step).
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert "First non-finite output: layer 'dense_1'" in stop.message
    largest = max(float(np.abs(w).max()) for w in model.layers[1].get_weights())
    assert f"its weights reach {largest:.3g}" in stop.message and largest > 1e20
    reloaded = sn.load_model(path)  # the earlier good checkpoint was not overwritten
    for a, b in zip(reloaded.get_weights(), good.get_weights()):
        assert np.array_equal(a, b)


def test_first_nonfinite_forward_probe():
    model = tiny()
    model.build((5,))
    model.layers[1].params["bias"][0] = np.inf  # weights of the 2nd layer are bad
    assert "layer 'dense_1' (bias)" in callbacks.first_nonfinite(model)
    model.layers[1].params["bias"][0] = 0.0
    x = np.full((2, 5), 1e38, dtype=np.float32)  # overflows in the first Dense
    model.layers[0].params["kernel"][...] = 1e3
    with np.errstate(all="ignore"):
        assert "output: layer 'dense'" in callbacks.first_nonfinite(model, x)


def test_progress_bar_ends_on_the_epoch_figures_not_the_last_batch(capsys):
    import numpy as np

    import scratchnet as sn
    from scratchnet import layers
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 4)).astype("float32"), np.eye(2, dtype="float32")[rng.integers(0, 2, 64)]
    model = sn.Sequential([layers.Dense(2, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=1, seed=0)
    err = capsys.readouterr().err
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert f"loss={history.history['loss'][0]:.4f}" in final
