"""Hostile or malformed bundles get one clear error (exit 2, no traceback), and compare reads
nothing outside the two directories."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from scratchnet.cli import main
from scratchnet.tracing import cases


@pytest.fixture
def bundle(tmp_path):
    return cases.write_case("dense", "relu", tmp_path / "ref")


def manifest(path):
    return json.loads((path / "manifest.json").read_text())


def write_manifest(path, data):
    (path / "manifest.json").write_text(json.dumps(data) if not isinstance(data, str) else data)


def run(capsys, *args):
    code = main(["compare", *map(str, args)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def self_copy(bundle, tmp_path):
    mine = tmp_path / "mine"
    (mine / "dense").mkdir(parents=True)
    np.save(mine / "dense/output.npy", np.load(bundle / "dense/output.npy"))
    return mine


@pytest.mark.parametrize("edit,expected", [
    (lambda m: "{not json", "could not parse"),
    (lambda m: [1, 2], "format"),
    (lambda m: {**m, "format": "other"}, "format"),
    (lambda m: {**m, "version": 99}, "version 99"),
    (lambda m: {**m, "order": "x"}, "order"),
    (lambda m: {**m, "order": m["order"] + ["ghost"]}, "no entry"),
    (lambda m: {**m, "order": ["../../etc/passwd"]}, "tensor name"),
    (lambda m: {**m, "tensors": {**m["tensors"], "input/x": {**m["tensors"]["input/x"],
                                                             "file": "/etc/passwd"}}},
     "relative path"),
    (lambda m: {**m, "tensors": {**m["tensors"], "input/x": {**m["tensors"]["input/x"],
                                                             "file": "../outside.bin"}}},
     "relative path"),
    (lambda m: {**m, "tensors": {**m["tensors"], "input/x": {**m["tensors"]["input/x"],
                                                             "shape": [1 << 20, 1 << 20]}}},
     "above the limit"),
    (lambda m: {**m, "tensors": {**m["tensors"], "input/x": {**m["tensors"]["input/x"],
                                                             "shape": [-1, 3]}}},
     "non-negative"),
    (lambda m: {**m, "tensors": {**m["tensors"], "input/x": {**m["tensors"]["input/x"],
                                                             "shape": "big"}}},
     "shape"),
    (lambda m: {**m, "tensors": {**m["tensors"], "input/x": {**m["tensors"]["input/x"],
                                                             "dtype": "int8"}}},
     "float32"),
])
def test_malformed_manifest_is_one_clear_error(bundle, tmp_path, capsys, edit, expected):
    write_manifest(bundle, edit(manifest(bundle)))
    code, err = run(capsys, bundle, self_copy(bundle, tmp_path))
    assert code == 2 and expected in err, err
    assert len(err.strip().splitlines()) == 1


def test_missing_and_wrong_sized_files(bundle, tmp_path, capsys):
    mine = self_copy(bundle, tmp_path)
    (bundle / "dense/output.bin").unlink()
    code, err = run(capsys, bundle, mine)
    assert code == 2 and "missing" in err
    cases.write_case("dense", "relu", bundle)
    with open(bundle / "dense/output.bin", "ab") as f:
        f.write(b"\0\0\0\0")
    code, err = run(capsys, bundle, mine)
    assert code == 2 and "expected" in err and "bytes" in err


def test_symlinks_out_of_either_directory_are_refused(bundle, tmp_path, capsys):
    secret = tmp_path / "secret.bin"
    np.zeros(15, "<f4").tofile(secret)
    mine = self_copy(bundle, tmp_path)
    os.symlink(secret, mine / "dense/pre_activation.bin")
    code, err = run(capsys, bundle, mine)
    assert code == 2 and "outside" in err
    os.unlink(mine / "dense/pre_activation.bin")
    target = bundle / "dense/output.bin"
    target.unlink()
    os.symlink(secret, target)
    code, err = run(capsys, bundle, mine)
    assert code == 2 and "outside" in err
    os.symlink(tmp_path, bundle / "escape")
    m = manifest(bundle)
    m["tensors"]["dense/output"]["file"] = "escape/secret.bin"
    write_manifest(bundle, m)
    code, err = run(capsys, bundle, mine)
    assert code == 2 and "outside" in err


def test_bad_user_files(bundle, tmp_path, capsys):
    mine = self_copy(bundle, tmp_path)
    (mine / "dense/output.npy").unlink()
    (mine / "dense/output.txt").write_text("1 2 three")
    assert run(capsys, bundle, mine)[0] == 2
    (mine / "dense/output.txt").write_text("1, 2, 3")
    code, err = run(capsys, bundle, mine)
    assert code == 2 and "holds 3 numbers" in err
    (mine / "dense/output.txt").unlink()
    (mine / "dense/output.npy").write_bytes(b"\x93NUMPY garbage")
    code, err = run(capsys, bundle, mine)
    assert code == 2 and "not a readable .npy" in err
    np.save(mine / "dense/output.npy", np.array(["a"] * 15))
    assert run(capsys, bundle, mine)[0] == 2
    np.save(mine / "dense/output.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    assert run(capsys, bundle, mine)[0] == 2          # never unpickled


def test_missing_directories_and_nothing_to_compare(bundle, tmp_path, capsys):
    assert run(capsys, tmp_path / "nope", bundle)[0] == 2
    assert run(capsys, bundle, tmp_path / "nope")[0] == 2
    (tmp_path / "empty").mkdir()
    code, err = run(capsys, bundle, tmp_path / "empty")
    assert code == 2 and "none of the reference" in err
    assert run(capsys, bundle, Path(bundle) / "manifest.json")[0] == 2
