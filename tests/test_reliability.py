"""Reliability of the library API: error types, bad numbers, Keras conventions, leftovers,
literal paths, history alignment (docs/reliability.md lists which guarantee each test checks)."""
from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import callbacks, errors, files, layers, runs, saving, zoo
from scratchnet.errors import ModelFileError


def mlp(seed: int = 0) -> sn.Sequential:
    sn.set_random_seed(seed)
    model = sn.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def xy(n: int = 24):
    r = np.random.default_rng(3)
    return r.random((n, 4), dtype=np.float32), np.eye(3, dtype=np.float32)[r.integers(0, 3, n)]


# --- the error hierarchy ---------------------------------------------------------------------
@pytest.mark.parametrize("cls, builtin", [
    (errors.InvalidArgumentError, ValueError), (errors.InvalidTypeError, TypeError),
    (errors.ModelFileError, ValueError), (errors.MetadataError, ValueError),
    (errors.RunDirectoryError, ValueError), (errors.FileWriteError, OSError),
    (errors.NotCompiledError, ValueError), (errors.NotCompiledError, RuntimeError),
    (errors.UsageError, ValueError), (errors.NonFiniteInputError, ValueError)])
def test_every_error_is_also_the_builtin_keras_code_catches(cls, builtin):
    assert issubclass(cls, builtin) and issubclass(cls, errors.ScratchnetError)
    assert saving.ModelFileError is errors.ModelFileError


# --- Keras conventions -----------------------------------------------------------------------
@pytest.mark.parametrize("call", ["fit", "evaluate", "train_on_batch"])
def test_use_before_compile_is_a_value_error(call):
    model = sn.Sequential([layers.Dense(3, input_shape=(4,))])
    x, y = xy()
    with pytest.raises(ValueError, match="compile"):
        getattr(model, call)(x, y)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, 2**64])
def test_bad_seeds_name_the_argument(seed):
    with pytest.raises(ValueError, match=r"set_random_seed: seed must be None or an integer"):
        sn.set_random_seed(seed)
    model, (x, y) = mlp(), xy()
    with pytest.raises(ValueError, match=r"fit: seed must be None or an integer .* got"):
        model.fit(x, y, seed=seed, verbose=0)


@pytest.mark.parametrize("rate", [np.float32(0.01), np.float64(0.01), np.int64(1), 0.01])
def test_numpy_scalars_as_learning_rate(rate):
    for name in ("SGD", "Adam", "RMSprop", "Adadelta"):
        optimizer = getattr(sn.optimizers, name)(learning_rate=rate)
        assert optimizer.learning_rate == pytest.approx(float(rate))
        assert isinstance(optimizer.learning_rate, float)   # JSON-serialisable when saved


# --- bad numbers -----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_predict_refuses_non_finite_input_like_evaluate(value):
    model, (x, y) = mlp(), xy()
    x[2, 1] = value
    for call in (lambda: model.predict(x, verbose=0), lambda: model.evaluate(x, y, verbose=0)):
        with pytest.raises(errors.NonFiniteInputError, match="1 NaN or Inf"):
            call()


def test_float64_beyond_float32_range_is_refused_not_cast_to_inf():
    model, (x, y) = mlp(), xy()
    big = x.astype(np.float64)
    big[0, 0] = 1e300
    for call in (lambda: model.predict(big, verbose=0), lambda: model.fit(big, y, verbose=0),
                 lambda: model.evaluate(big, y, verbose=0)):
        with pytest.raises(ValueError, match=r"up to 1e\+300, beyond the range of float32"):
            call()
    with sn.backend.floatx_scope("float64"):   # a float64 model takes it
        wide = mlp()
        assert np.isfinite(wide.predict(big, verbose=0)).all()


def test_nan_weights_are_refused_on_load_unless_asked(tmp_path):
    model = mlp()
    model.layers[0].params["kernel"][0, 0] = np.nan
    model.save(tmp_path / "nan.snet")
    with pytest.raises(ModelFileError, match=r"weights/dense/kernel.*NaN or Inf.*allow_nonfinite"):
        sn.load_model(tmp_path / "nan.snet")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = sn.load_model(tmp_path / "nan.snet", allow_nonfinite=True)
    assert np.isnan(loaded.layers[0].params["kernel"][0, 0])
    assert any("NaN or Inf" in str(w.message) for w in caught)


# --- verbose defaults (Keras: "auto") --------------------------------------------------------
def test_evaluate_and_predict_show_a_bar_at_verbose_1_and_stay_quiet_off_a_terminal(capsys):
    model, (x, y) = mlp(), xy()
    model.evaluate(x, y)
    model.predict(x)
    assert capsys.readouterr().err == ""       # "auto" and stderr is not a terminal here
    model.evaluate(x, y, verbose=1)
    assert "evaluate" in capsys.readouterr().err
    model.predict(x, verbose=1)
    assert "predict" in capsys.readouterr().err
    with pytest.raises(ValueError, match="verbose must be"):
        model.predict(x, verbose=5)


def test_auto_shows_a_bar_on_a_terminal(monkeypatch, capsys):
    import sys
    model, (x, y) = mlp(), xy()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    model.evaluate(x, y)
    assert "evaluate" in capsys.readouterr().err


# --- user paths are literal, templates only on request ---------------------------------------
def test_model_checkpoint_literal_path_keeps_its_braces(tmp_path):
    model, (x, y) = mlp(), xy()
    target = tmp_path / "r{epoch}" / "run{b}" / "model.snet"
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(target), literal=True)])
    assert sn.load_model(target).initial_epoch == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r{epoch}"]


def test_model_checkpoint_template_is_a_keras_template(tmp_path):
    model, (x, y) = mlp(), xy()
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "w{epoch:02d}.snet"))])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w01.snet", "w02.snet"]


@pytest.mark.parametrize("template", ["runs/{}", "r{0}", "a{", "b}"])
def test_model_checkpoint_refuses_unnamed_fields_at_construction(template):
    with pytest.raises(ValueError, match="ModelCheckpoint filepath"):
        callbacks.ModelCheckpoint(template)


def test_model_checkpoint_unknown_field_is_a_clear_error_not_a_key_error(tmp_path):
    model, (x, y) = mlp(), xy()
    with pytest.raises(ValueError, match=r"names \['b'\], which the logs lack.*'accuracy'"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "run{b}.snet"))])


# --- leftovers -------------------------------------------------------------------------------
def _dead_pid() -> int:
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_are_removed_by_the_next_save(tmp_path):
    model = mlp()
    dead = _dead_pid()
    stale = tmp_path / f".model.snet.{dead}.abc123.tmp"
    stale.write_bytes(b"half a file")
    live = tmp_path / f".model.snet.{os.getpid()}.xyz789.tmp"   # maybe another thread's
    live.write_bytes(b"in progress")
    other = tmp_path / f".other.snet.{dead}.def456.tmp"
    other.write_bytes(b"another file's")
    model.save(tmp_path / "model.snet")
    assert not stale.exists() and live.exists() and other.exists()
    assert files.remove_stale_temps(tmp_path) == [other]


def test_training_run_start_removes_stale_temps_and_a_finished_run_its_interrupted_file(
        tmp_path):
    model = zoo.get("mnist-mlp")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    stale = tmp_path / f".history.json.{_dead_pid()}.q1w2e3.tmp"
    stale.write_bytes(b"")
    (tmp_path / "interrupted.snet").write_bytes(b"old mid-epoch weights")
    runs.train(model, tmp_path, epochs=1, batch_size=32, limit=64, verbose=0, plots=False)
    assert not stale.exists() and not (tmp_path / "interrupted.snet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- history alignment -----------------------------------------------------------------------
def test_model_fitted_without_validation_then_with_it_writes_aligned_history(tmp_path):
    model = zoo.get("mnist-mlp")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.zeros((8, 28, 28, 1), np.float32)
    model.fit(x, np.eye(10, dtype=np.float32)[np.arange(8) % 10], epochs=1, verbose=0)
    model.save(tmp_path / "api.snet")   # no val_loss in its history
    loaded = sn.load_model(tmp_path / "api.snet")
    runs.train(loaded, tmp_path / "run", epochs=2, batch_size=32, limit=64, verbose=0,
               plots=False)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["epoch"] == [0, 1]
    assert history["history"]["val_loss"][0] is None and history["history"]["val_loss"][1] > 0
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert rows[1].split(",")[3:] == ["NA", "NA"]
    sn.load_model(tmp_path / "run" / "model.snet")   # the merged history passes the schema
