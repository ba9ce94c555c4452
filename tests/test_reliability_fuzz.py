"""Property tests (hypothesis): hostile model-file headers and metadata, run.json files and
command-line combinations. The property everywhere: a clear scratchnet error (a ValueError or
OSError subclass naming the problem), or a result that is fully usable. Never another exception,
never a file created by arguments that are then refused."""
from __future__ import annotations

import copy
import json
import struct
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scratchnet as sn
from scratchnet import cli, layers
from scratchnet.cli import train as cli_train
from scratchnet.errors import ModelFileError, ScratchnetError

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@lru_cache(maxsize=1)
def saved_model() -> bytes:
    """A trained model file with every kind of metadata: optimizer slots, history with
    validation, the fit generator and a seeded dropout's generator."""
    import tempfile
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
                           layers.MaxPooling2D(2), layers.Dropout(0.25, seed=4),
                           layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(0)
    x, y = r.random((16, 6, 6, 1), dtype=np.float32), np.eye(3, dtype=np.float32)[r.integers(
        0, 3, 16)]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "m.snet")
        return (Path(tmp) / "m.snet").read_bytes()


def split(data: bytes) -> tuple[dict, dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    return header, json.loads(header["__metadata__"]["scratchnet"]), data[8 + n:]


def join(header: dict, meta: dict, body: bytes) -> bytes:
    header = {**header, "__metadata__": {**header["__metadata__"],
                                         "scratchnet": json.dumps(meta)}}
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def leaf_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))


META_PATHS = None


def meta_paths() -> list[tuple]:
    global META_PATHS
    if META_PATHS is None:
        META_PATHS = [p for p in leaf_paths(split(saved_model())[1]) if p]
    return META_PATHS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.sampled_from(
        [0, -1, 1, 2**31, 2**63, 10**12]) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20) | st.sampled_from(["relu", "leaky_relu_inf", "leaky_relu_-1", "x",
                                              "PCG64", "adam", "softmax", "dense", ""]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=8), children, max_size=4), max_leaves=8)


def assert_usable(path: Path) -> None:
    """What 'passes load' promises: predict, one more epoch of training, save, load again."""
    model = sn.load_model(path)
    x = np.zeros((2, *model.input_shape), np.float32)
    out = model.predict(x, verbose=0)
    assert out.shape == (2, *model.output_shape)
    if model.loss is not None:
        y = np.zeros((2, *model.output_shape), np.float32)
        y[:, 0] = 1
        start = model.initial_epoch
        with np.errstate(all="ignore"):
            model.fit(x, y, epochs=start + 1, initial_epoch=start, verbose=0)
        if all(np.isfinite(w).all() for w in model.get_weights()):
            model.save(path.with_name("again.snet"))
            sn.load_model(path.with_name("again.snet"))


def check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        assert_usable(path)
    except ModelFileError as err:
        assert str(path) in str(err) and "\n" not in str(err)


@FUZZ
@given(where=st.data(), value=json_values, delete=st.booleans())
def test_any_metadata_field_replaced_gives_a_named_error_or_a_usable_model(tmp_path, where,
                                                                           value, delete):
    header, meta, body = split(saved_model())
    path_ = where.draw(st.sampled_from(meta_paths()))
    meta = copy.deepcopy(meta)
    parent = meta
    for key in path_[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path_[-1]]
    else:
        parent[path_[-1]] = value
    check(tmp_path / "m.snet", join(header, meta, body))


@FUZZ
@given(offset=st.integers(0, 4000), garbage=st.binary(min_size=1, max_size=16))
def test_bytes_overwritten_anywhere_give_a_clear_error_or_a_usable_model(tmp_path, offset,
                                                                          garbage):
    data = bytearray(saved_model())
    offset %= len(data)
    data[offset:offset + len(garbage)] = garbage
    check(tmp_path / "m.snet", bytes(data))


@FUZZ
@given(cut=st.integers(0, 10**6), length=st.integers(0, 2**64 - 1))
def test_truncations_and_declared_lengths(tmp_path, cut, length):
    data = saved_model()
    check(tmp_path / "cut.snet", data[:cut % len(data)])
    check(tmp_path / "len.snet", struct.pack("<Q", length) + data[8:])


@FUZZ
@given(prefix=st.binary(max_size=64))
def test_files_of_other_kinds_say_so_without_alarming_numbers(tmp_path, prefix):
    path = tmp_path / "other.snet"
    path.write_bytes(prefix)
    with pytest.raises(ModelFileError) as info:
        sn.load_model(path)
    assert "-byte header" not in str(info.value) or len(prefix) < 8


# --- run.json ----------------------------------------------------------------------------------
GOOD_RUN = {"model": "mnist-mlp", "epochs": 3, "batch_size": 32, "optimizer": "adam",
            "learning_rate": 0.001, "loss": "categorical_crossentropy", "seed": 1,
            "validation_split": 0.0, "limit": 64}


@FUZZ
@given(key=st.sampled_from([*GOOD_RUN, "extra"]), value=json_values)
def test_run_json_fields_are_checked_by_the_schema(tmp_path, key, value):
    (tmp_path / "run.json").write_text(json.dumps({**GOOD_RUN, key: value}))
    try:
        settings_ = cli_train._saved_settings(tmp_path)
    except ScratchnetError as err:
        assert "run.json" in str(err)
        return
    for name in ("epochs", "batch_size"):
        assert isinstance(settings_[name], int) and settings_[name] >= 1
    assert 0 <= settings_["validation_split"] < 1


# --- command-line combinations ----------------------------------------------------------------
OPTION_VALUES = {
    "--epochs": ["1", "0", "-2", "1.5", "x", "3"], "--batch-size": ["32", "0", "-1", "abc"],
    "--limit": ["64", "-1", "0", "1e3"], "--learning-rate": ["0.5", "nan", "inf", "-1", "1e-3"],
    "--optimizer": ["adam", "sgd", "adamw", ""],
    "--loss": ["mse", "hinge", "categorical_crossentropy"],
    "--seed": ["0", "-1", "2.5", "99999999999999999999"],
    "--validation-split": ["0.1", "1", "-0.1"],
    "--model": ["mnist-mlp", "resnet", "nofile.snet"], "--limt": ["3"], "--out": ["OUT"],
    "--resume": ["RUN", "MISSING"],
}


@FUZZ
@given(options=st.lists(st.sampled_from(sorted(OPTION_VALUES)), max_size=4, unique=True),
       data=st.data())
def test_train_argument_combinations_are_refused_cleanly_before_creating_anything(
        tmp_path, options, data):
    run_dir = tmp_path / "run"
    if not run_dir.exists():
        assert cli.main(["train", "--model", "mnist-mlp", "--limit", "64", "--epochs", "1",
                         "--no-plots", "--quiet", "--out", str(run_dir)]) == 0
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    argv = ["train"]
    for option in options:
        value = data.draw(st.sampled_from(OPTION_VALUES[option]))
        value = {"OUT": str(tmp_path / "new"), "RUN": str(run_dir),
                 "MISSING": str(tmp_path / "missing")}.get(value, value)
        argv += [option, value]
    parser = cli.build_parser()
    try:
        args = cli.parse(parser, argv)
        cli_train._plan(args)
    except SystemExit as exit_:
        assert exit_.code == 2
    except (ScratchnetError, ValueError, OSError) as err:   # what the CLI reports as one line
        assert "\n" not in str(err) and not isinstance(err, (KeyError, IndexError))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
