"""``scratchnet export``: each format from a model file or a built-in name; bad paths."""
from __future__ import annotations

import json

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import zoo
from scratchnet.cli import main

ort = pytest.importorskip("onnxruntime")


@pytest.fixture
def model_file(tmp_path):
    model = zoo.mnist_mlp()
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()])
    path = tmp_path / "mlp.snet"
    model.save(path)
    return path


def test_export_model_file_to_onnx_predicts_like_the_file(model_file, tmp_path, capsys):
    out = tmp_path / "mlp.onnx"
    assert main(["export", str(model_file), "--format", "onnx", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    x = np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    np.testing.assert_allclose(got, sn.load_model(model_file).predict(x), atol=1e-5, rtol=0)


def test_export_torch_prints_the_module_list_and_json_lists_it(model_file, tmp_path, capsys):
    out = tmp_path / "mlp.safetensors"
    assert main(["export", str(model_file), "--format", "torch", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "nn.Sequential(" in text and "nn.Linear(784, 128, bias=True)," in text
    fresh = zoo.mnist_mlp()
    sn.load_torch_state_dict(fresh, out)
    assert all(np.array_equal(a, b) for a, b in
               zip(fresh.get_weights(), sn.load_model(model_file).get_weights()))
    assert main(["export", str(model_file), "--format", "torch", "--out", str(out),
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["torch_modules"][0] == "nn.Flatten()" and data["path"] == str(out)


def test_export_builtin_name_to_keras_with_default_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "mnist-cnn", "--format", "keras", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    sn.load_keras_weights(zoo.mnist_cnn(), tmp_path / "mnist_cnn.weights.h5")


@pytest.mark.parametrize("fmt", ["onnx", "torch", "keras"])
def test_export_to_bad_places_is_one_clear_line(fmt, tmp_path, capsys):
    (tmp_path / "d.onnx").mkdir()
    (tmp_path / "file").write_text("")
    names = {"onnx": "d.onnx", "torch": "d.safetensors", "keras": "d.weights.h5"}
    (tmp_path / names[fmt]).mkdir(exist_ok=True)
    for out, message in ((tmp_path / names[fmt], "is a directory"),
                         (tmp_path / "file" / names[fmt], "is a file, not a directory")):
        assert main(["export", "mnist-mlp", "--format", fmt, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("scratchnet export: error:") and message in err
        assert len(err.splitlines()) == 1


def test_export_of_a_missing_or_unknown_model_is_one_clear_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.snet"), "--out", str(tmp_path / "a.onnx")]) == 2
    assert "scratchnet export: error:" in capsys.readouterr().err
    assert not (tmp_path / "a.onnx").exists()
