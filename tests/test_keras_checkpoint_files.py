"""ModelCheckpoint(save_weights_only=, save_freq=) and Keras file names with our format."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import callbacks, keras_files, layers


def tiny() -> sn.Sequential:
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                           layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n: int = 10):
    x = np.random.default_rng(5).normal(size=(n, 3)).astype(np.float32)
    return x, np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]


@pytest.fixture
def warn_again(monkeypatch):
    """The Keras-name warning is once per process; each test sees it afresh."""
    monkeypatch.setattr(keras_files, "_warned", False)


def test_save_weights_only_writes_weights_that_load_back(tmp_path, warn_again):
    x, y = data()
    model = tiny()
    with pytest.warns(keras_files.KerasFormatWarning, match="once"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(
            str(tmp_path / "w-{epoch}.weights.h5"), save_weights_only=True)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-1.weights.h5", "w-2.weights.h5"]
    fresh = tiny()
    fresh.load_weights(tmp_path / "w-2.weights.h5")
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="expected a file written by model.save"):
        sn.load_model(tmp_path / "w-2.weights.h5")   # weights only: no architecture in it


def test_save_freq_counts_batches_across_epochs(tmp_path):
    x, y = data(10)   # 5 batches of 2 per epoch
    saved_weights = {}

    class Snapshot(sn.Callback):
        def on_train_batch_end(self, batch, logs=None):
            saved_weights[(self.model.history.epoch[-1] + 2 if self.model.history.epoch
                           else 1, batch + 1)] = self.model.get_weights()[0].copy()

    tiny().fit(x, y, batch_size=2, epochs=2, verbose=0, shuffle=False, callbacks=[
        Snapshot(), callbacks.ModelCheckpoint(str(tmp_path / "c-{epoch}-{batch}.snet"),
                                              save_freq=2)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["c-1-2.snet", "c-1-4.snet", "c-2-1.snet", "c-2-3.snet",
                            "c-2-5.snet"])
    loaded = sn.load_model(tmp_path / "c-2-1.snet")
    np.testing.assert_array_equal(loaded.get_weights()[0], saved_weights[(2, 1)])
    assert loaded.initial_epoch == 1   # saved inside epoch 2: one epoch completed


@pytest.mark.parametrize("kwargs,message", [
    ({"save_freq": 0}, "save_freq must be 'epoch' or an integer >= 1.*got 0"),
    ({"save_freq": "batch"}, "save_freq must be 'epoch' or an integer.*'batch'"),
    ({"save_weights_only": "yes"}, "save_weights_only must be True or False, got 'yes'"),
])
def test_bad_checkpoint_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        callbacks.ModelCheckpoint("x.snet", **kwargs)


def test_keras_names_hold_our_format_with_one_warning(tmp_path, warn_again):
    model = tiny()
    with pytest.warns(keras_files.KerasFormatWarning, match="'.*m.keras' has a Keras file "
                                                            "name but holds scratchnet"):
        model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # once per process: no second warning
        model.save(tmp_path / "m.h5")
        model.save_weights(tmp_path / "m.weights.h5")
    for name in ("m.keras", "m.h5"):
        assert keras_files.foreign_format(tmp_path / name) is None   # not zip, not HDF5
        loaded = sn.load_model(tmp_path / name)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_no_warning_for_our_own_suffix(tmp_path, warn_again):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny().save(tmp_path / "m.snet")


@pytest.mark.parametrize("signature,kind", [(keras_files.HDF5_SIGNATURE, "HDF5"),
                                            (keras_files.ZIP_SIGNATURE, "zip")])
def test_files_keras_wrote_are_refused_by_load_weights(tmp_path, signature, kind):
    path = tmp_path / "real.weights.h5"
    path.write_bytes(signature + b"\0" * 64)
    with pytest.raises(ValueError, match=f"is a Keras {kind}.*file, written by Keras itself"):
        tiny().load_weights(path)
