"""Model files: round trip, fresh-process predictions, atomic saves, hostile files rejected."""
from __future__ import annotations

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, saving
from scratchnet.saving import ModelFileError


def small_model(seed: int = 0, optimizer: str | sn.optimizers.Optimizer = "adam") -> sn.Sequential:
    sn.set_random_seed(seed)
    model = sn.Sequential([
        layers.Conv2D(3, 3, activation="relu", input_shape=(6, 6, 1)),
        layers.MaxPooling2D(2), layers.Dropout(0.25), layers.Flatten(),
        layers.Dense(4, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n: int = 32):
    r = np.random.default_rng(7)
    x = r.random((n, 6, 6, 1), dtype=np.float32)
    return x, np.eye(4, dtype=np.float32)[r.integers(0, 4, n)]


def test_round_trip_weights_config_optimizer_state(tmp_path):
    x, y = data()
    model = small_model()
    model.fit(x, y, batch_size=8, epochs=2, seed=3, verbose=0)
    model.save(tmp_path / "m.snet")
    loaded = sn.load_model(tmp_path / "m.snet")
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 8
    assert loaded.optimizer.slots.keys() == model.optimizer.slots.keys()
    for key, slots in model.optimizer.slots.items():
        for name, value in slots.items():
            assert np.array_equal(loaded.optimizer.slots[key][name], value)
    assert loaded.initial_epoch == 2
    assert loaded.loss.name == "categorical_crossentropy" and loaded.metric_names == ["accuracy"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    x, y = data(40)
    straight = small_model(optimizer=sn.optimizers.Adadelta(1.0))
    straight.fit(x, y, batch_size=8, epochs=3, seed=11, verbose=0)
    first = small_model(optimizer=sn.optimizers.Adadelta(1.0))
    first.fit(x, y, batch_size=8, epochs=1, seed=11, verbose=0)
    first.save(tmp_path / "ckpt.snet")
    resumed = sn.load_model(tmp_path / "ckpt.snet")
    history = resumed.fit(x, y, batch_size=8, epochs=3, initial_epoch=resumed.initial_epoch,
                          seed=11, verbose=0)
    assert history.epoch == [1, 2]
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        assert np.array_equal(a, b)
    resumed.save(tmp_path / "final.snet")
    saved = saving.read_metadata(tmp_path / "final.snet")["training"]["history"]
    assert saved["epoch"] == [0, 1, 2]
    assert saved["history"]["loss"] == straight.history.history["loss"]


def test_identical_predictions_in_a_fresh_process(tmp_path):
    x, y = data()
    model = small_model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.snet")
    np.save(tmp_path / "x.npy", x)
    script = ("import sys, numpy as np, scratchnet as sn; m = sn.load_model(sys.argv[1]); "
              "np.save(sys.argv[3], m.predict(np.load(sys.argv[2])))")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.snet"),
                    str(tmp_path / "x.npy"), str(tmp_path / "p.npy")], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict(x))


def test_save_failure_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.snet"
    model = small_model()
    model.save(path)
    before, kernel = path.read_bytes(), model.get_weights()[0]
    model.layers[0].params["kernel"] += 1.0

    def failing_fsync(fd):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.snet"]  # the temp file was removed
    monkeypatch.undo()
    np.testing.assert_array_equal(sn.load_model(path).get_weights()[0], kernel)


def test_sigkill_during_saves_leaves_a_loadable_file(tmp_path):
    """A process saving a ~5 MB model in a loop is killed at arbitrary moments."""
    path = tmp_path / "m.snet"
    script = (
        "import sys, scratchnet as sn\n"
        "from scratchnet import layers\n"
        "m = sn.Sequential([layers.Dense(1200, input_shape=(1000,))])\n"
        "m.save(sys.argv[1]); print('ready', flush=True)\n"
        "while True:\n"
        "    m.layers[0].params['bias'] += 1\n"
        "    m.save(sys.argv[1])\n")
    for delay in (0.05, 0.17, 0.31):
        proc = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        model = sn.load_model(path)  # complete and valid, whatever the moment of the kill
        bias = model.layers[0].params["bias"]
        assert np.all(bias == bias[0])


# --- hostile and broken files --------------------------------------------------------------------
def saved_bytes(tmp_path) -> bytes:
    small_model().save(tmp_path / "good.snet")
    return (tmp_path / "good.snet").read_bytes()


def rewrite(data: bytes, edit) -> bytes:
    """Apply ``edit`` to the parsed header and re-frame the file (data section unchanged)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data[8 + n:]


def edit_meta(edit):
    def apply(header):
        meta = json.loads(header["__metadata__"]["scratchnet"])
        edit(meta)
        header["__metadata__"]["scratchnet"] = json.dumps(meta)
    return apply


def load_bytes(tmp_path, content: bytes, name: str = "bad.snet"):
    path = tmp_path / name
    path.write_bytes(content)
    return sn.load_model(path)


def test_truncated_file_is_rejected(tmp_path):
    data = saved_bytes(tmp_path)
    for cut in (0, 5, 12, len(data) // 2, len(data) - 1):
        with pytest.raises(ModelFileError, match=r"bad\.snet.*(short|truncated)"):
            load_bytes(tmp_path, data[:cut])


def test_corrupted_header_is_rejected(tmp_path):
    data = bytearray(saved_bytes(tmp_path))
    data[20:30] = b"\xff" * 10
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_bytes(tmp_path, bytes(data))


def test_pickle_file_is_rejected_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))
    with pytest.raises(ModelFileError, match="pickle.*never unpickles"):
        load_bytes(tmp_path, pickle.dumps(Boom(), protocol=4), "model.pkl")
    assert not (tmp_path / "pwned").exists()


def test_other_formats_are_rejected(tmp_path):
    with pytest.raises(ModelFileError, match="zip archive"):
        load_bytes(tmp_path, b"PK\x03\x04" + b"\x00" * 100)
    from safetensors.numpy import save
    with pytest.raises(ModelFileError, match="without scratchnet metadata"):
        load_bytes(tmp_path, save({"w": np.zeros(3, np.float32)}))
    with pytest.raises(ModelFileError, match="no such model file"):
        sn.load_model(tmp_path / "missing.snet")


def test_huge_declared_header_is_rejected_before_reading_it(tmp_path):
    with pytest.raises(ModelFileError, match="not a scratchnet model file"):
        load_bytes(tmp_path, struct.pack("<Q", 2**60) + b"{}")


def test_huge_declared_shape_is_rejected_before_allocation(tmp_path):
    def grow(header):
        header["weights/dense/kernel"]["shape"] = [10**6, 10**6]
    data = rewrite(saved_bytes(tmp_path), grow)
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="declares shape .*1000000"):
        load_bytes(tmp_path, data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


def test_config_asking_for_huge_layer_is_rejected_before_allocation(tmp_path):
    """The config says Dense(10**7): the layer would build a (27, 10**7) kernel."""
    def grow(meta):
        meta["model"]["layers"][-1]["config"]["units"] = 10**7
    tracemalloc.start()
    with pytest.raises(ModelFileError, match=r"weight 'weights/dense/kernel' has shape \(12, 4\)"
                                             r" but the config's layer builds \(12, 10000000\)"):
        load_bytes(tmp_path, rewrite(saved_bytes(tmp_path), edit_meta(grow)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


def test_file_size_limit(tmp_path):
    data = saved_bytes(tmp_path)
    (tmp_path / "m.snet").write_bytes(data)
    with pytest.raises(ModelFileError, match="exceeds the model file limit"):
        sn.load_model(tmp_path / "m.snet", max_bytes=len(data) - 1)


def test_unknown_layer_type_is_not_constructed(tmp_path):
    def hostile(meta):
        meta["model"]["layers"][0]["class_name"] = "os.system"
    with pytest.raises(ModelFileError, match="Unknown layer type 'os.system'"):
        load_bytes(tmp_path, rewrite(saved_bytes(tmp_path), edit_meta(hostile)))


def test_missing_and_extra_tensors_are_rejected(tmp_path):
    data = saved_bytes(tmp_path)

    def rename(header):
        header["weights/dense/other"] = header.pop("weights/dense/bias")
    with pytest.raises(ModelFileError, match="needs weight 'bias' of shape \\(4,\\)"):
        load_bytes(tmp_path, rewrite(data, rename))


def test_overlapping_offsets_and_bad_dtype_are_rejected(tmp_path):
    data = saved_bytes(tmp_path)

    def overlap(header):
        header["weights/dense/bias"]["data_offsets"] = header["weights/dense/kernel"][
            "data_offsets"][:]
        header["weights/dense/bias"]["shape"] = header["weights/dense/kernel"]["shape"]
    with pytest.raises(ModelFileError, match="overlapping or gapped|cover"):
        load_bytes(tmp_path, rewrite(data, overlap))

    def dtype(header):
        header["weights/dense/bias"]["dtype"] = "PICKLE"
    with pytest.raises(ModelFileError, match="malformed entry"):
        load_bytes(tmp_path, rewrite(data, dtype))


def test_invalid_layer_arguments_in_config_give_a_clear_error(tmp_path):
    def bad(meta):
        meta["model"]["layers"][2]["config"]["rate"] = 1.5
    with pytest.raises(ModelFileError,
                       match=r"field model.layers\[2\].config.rate: expected .* < 1, got 1.5"):
        load_bytes(tmp_path, rewrite(saved_bytes(tmp_path), edit_meta(bad)))


def test_saved_file_is_plain_safetensors(tmp_path):
    from safetensors.numpy import load_file
    model = small_model()
    model.save(tmp_path / "m.snet")
    tensors = load_file(tmp_path / "m.snet")
    np.testing.assert_array_equal(tensors["weights/conv2d/kernel"], model.get_weights()[0])


def test_models_that_could_not_be_loaded_back_are_not_saved(tmp_path, rng):
    from scratchnet import activations, layers
    swish = activations.elementwise("swish_unregistered", lambda x: x, lambda x: np.ones_like(x))
    model = sn.Sequential([layers.Dense(3, activation=swish, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="not registered"):
        model.save(tmp_path / "m.snet")
    assert not (tmp_path / "m.snet").exists()
    leaky = sn.Sequential([layers.Dense(3, activation=activations.make_leaky_relu(0.1),
                                        input_shape=(4,))])
    leaky.compile(optimizer="sgd", loss="mse")
    leaky.save(tmp_path / "leaky.snet")
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(sn.load_model(tmp_path / "leaky.snet").predict(x),
                                  leaky.predict(x))
