"""PyTorch state dicts and Keras 3 .weights.h5 files: round trips, layouts, hostile files.

The torch tests that need torch skip without it (CI has none); the layout claims are also
checked here in NumPy: an (N, C, H, W) convolution with the exported kernel and nn.Flatten +
nn.Linear with the exported, reordered Dense kernel give scratchnet's outputs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import scratchnet as sn
from scratchnet import export, layers, zoo
from scratchnet.export import InteropError

h5py = pytest.importorskip("h5py")


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def small_cnn():
    return sn.Sequential([
        layers.Input((7, 6, 3)),
        layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(5, activation="tanh"),
        layers.Dense(3, use_bias=False),
        layers.Softmax(),
    ], name="small_cnn")


def keras_blocks():
    """Every new layer torch.nn can express, with two BatchNormalizations (image and vector)."""
    return sn.Sequential([
        layers.Input((8, 8, 1)), layers.Rescaling(1 / 255, offset=-0.5), layers.ZeroPadding2D(1),
        layers.Conv2D(3, 3), layers.BatchNormalization(), layers.UpSampling2D(),
        layers.Cropping2D(((1, 0), (0, 2))), layers.GlobalMaxPooling2D(),
        layers.BatchNormalization(center=False), layers.Dense(2),
    ], name="keras_blocks")


def conv_reshape_dense():
    return sn.Sequential([layers.Input((6, 5, 2)), layers.Conv2D(3, 3), layers.Reshape((-1,)),
                          layers.Dense(4), layers.Reshape((4,))], name="conv_reshape_dense")


def positive_variances(model):
    for layer in model.layers:
        if "moving_variance" in layer.params:
            layer.params["moving_variance"][...] = np.abs(layer.params["moving_variance"]) + 0.1
    return model


def images(model, n=4, seed=1):
    return np.random.default_rng(seed).normal(size=(n, *model.input_shape)).astype(np.float32)


# --- PyTorch -----------------------------------------------------------------------------------
ROUND_TRIPS = [small_cnn, zoo.mnist_cnn, zoo.mnist_mlp, keras_blocks, conv_reshape_dense]


@pytest.mark.parametrize("build", ROUND_TRIPS)
def test_torch_state_dict_round_trip_gives_identical_predictions(build, tmp_path):
    model, fresh = positive_variances(randomize(build())), build()
    x = images(model)
    assert not np.allclose(fresh.predict(x), model.predict(x))
    path = model.export(tmp_path / "m.safetensors", format="torch")
    sn.load_torch_state_dict(fresh, path)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def test_torch_names_shapes_and_module_list(tmp_path):
    model = randomize(small_cnn())
    path = export.save_torch_state_dict(model, tmp_path / "m.safetensors")
    state = load_file(path)
    assert {k: v.shape for k, v in state.items()} == {
        "1.weight": (4, 3, 3, 3), "1.bias": (4,), "7.weight": (5, 16), "7.bias": (5,),
        "9.weight": (3, 5)}
    # (7, 6) "same" with stride 2: rows padded (1, 1), columns (0, 1): Keras's extra at the end
    assert export.torch_modules(model) == [
        "nn.ZeroPad2d((0, 1, 1, 1))",
        "nn.Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), bias=True)",
        "nn.ReLU()",
        "nn.ConstantPad2d((0, 1, 0, 0), float('-inf'))",
        "nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))",
        "nn.Dropout(p=0.3)", "nn.Flatten()", "nn.Linear(16, 5, bias=True)", "nn.Tanh()",
        "nn.Linear(5, 3, bias=False)", "nn.Softmax(dim=1)"]
    from safetensors import safe_open
    with safe_open(str(path), "np") as f:
        assert json.loads(f.metadata()["torch_modules"]) == export.torch_modules(model)


def conv_nchw(x, weight, bias, stride):
    """Cross-correlation of (N, C, H, W) with (F, C, kh, kw), as torch's Conv2d (no padding)."""
    f, _, kh, kw = weight.shape
    oh, ow = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], f, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", patch, weight) + bias
    return out


def test_torch_layouts_compute_scratchnets_outputs_in_numpy(tmp_path):
    """Conv2d on NCHW with the exported kernel, then nn.Flatten (channels-first) and nn.Linear
    with the exported kernel: the same numbers as Conv2D -> Flatten -> Dense here."""
    model = randomize(sn.Sequential([layers.Input((6, 5, 3)), layers.Conv2D(4, 3),
                                     layers.Flatten(), layers.Dense(2)]))
    state = load_file(export.save_torch_state_dict(model, tmp_path / "m.safetensors"))
    x = images(model, n=2)
    conv = conv_nchw(x.transpose(0, 3, 1, 2), state["0.weight"], state["0.bias"], 1)
    np.testing.assert_allclose(conv.transpose(0, 2, 3, 1), model.layers[1](x), atol=1e-5)
    y = conv.reshape(2, -1) @ state["2.weight"].T + state["2.bias"]     # nn.Flatten, nn.Linear
    np.testing.assert_allclose(y, model.predict(x), atol=1e-5)


def test_torch_state_dict_from_ddp_module_prefix_loads(tmp_path):
    model, fresh = randomize(zoo.mnist_mlp()), zoo.mnist_mlp()
    state = load_file(export.save_torch_state_dict(model, tmp_path / "m.safetensors"))
    save_file({f"module.{k}": v for k, v in state.items()}, str(tmp_path / "ddp.safetensors"))
    sn.load_torch_state_dict(fresh, tmp_path / "ddp.safetensors")
    x = images(model)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def test_torch_state_dict_of_another_architecture_lists_names_and_shapes(tmp_path):
    path = export.save_torch_state_dict(randomize(zoo.mnist_mlp()), tmp_path / "m.safetensors")
    target = zoo.mnist_cnn()
    before = target.get_weights()
    with pytest.raises(InteropError) as err:
        sn.load_torch_state_dict(target, path)
    message = str(err.value)
    assert "does not fit model 'mnist_cnn'" in message
    assert "0.weight (32, 1, 3, 3)" in message and "1.weight (128, 784)" in message
    assert "7.weight expected (128, 9216)" not in message     # not a name the file has
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))


def test_torch_transposed_weight_is_reported_with_both_shapes(tmp_path):
    model = randomize(zoo.mnist_mlp())
    state = load_file(export.save_torch_state_dict(model, tmp_path / "m.safetensors"))
    state["1.weight"] = np.ascontiguousarray(state["1.weight"].T)   # a Keras-layout kernel
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises(InteropError, match=r"1.weight expected \(128, 784\) got \(784, 128\)"):
        sn.load_torch_state_dict(zoo.mnist_mlp(), tmp_path / "bad.safetensors")


def test_torch_truncated_and_directory_and_missing_files(tmp_path):
    path = export.save_torch_state_dict(randomize(zoo.mnist_mlp()), tmp_path / "m.safetensors")
    (tmp_path / "cut.safetensors").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(InteropError, match="not a readable safetensors state dict"):
        sn.load_torch_state_dict(zoo.mnist_mlp(), tmp_path / "cut.safetensors")
    with pytest.raises(InteropError, match="is a directory"):
        sn.load_torch_state_dict(zoo.mnist_mlp(), tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sn.load_torch_state_dict(zoo.mnist_mlp(), tmp_path / "none.safetensors")


def test_torch_export_refuses_what_plain_torch_nn_cannot_express(tmp_path):
    model = sn.Sequential([layers.Input((4, 4, 2)), layers.Flatten()])   # ends channels-last
    with pytest.raises(InteropError, match="output order would differ"):
        export.save_torch_state_dict(model, tmp_path / "m.safetensors")
    model = sn.Sequential([layers.Input((4, 4, 2)), layers.ReLU(threshold=0.5)])
    with pytest.raises(InteropError, match="no single torch.nn module"):
        export.save_torch_state_dict(model, tmp_path / "m.safetensors")
    model = sn.Sequential([layers.Input((12,)), layers.Reshape((2, 2, 3)), layers.Conv2D(2, 1)])
    with pytest.raises(InteropError, match=r"\(12,\) -> \(2, 2, 3\).*no permute module"):
        export.save_torch_state_dict(model, tmp_path / "m.safetensors")
    model = sn.Sequential([layers.Input((5, 3)), layers.BatchNormalization()])
    with pytest.raises(InteropError, match=r"got per-sample shape \(5, 3\)"):
        export.save_torch_state_dict(model, tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())


# --- Keras 3 .weights.h5 -----------------------------------------------------------------------
@pytest.mark.parametrize("build", ROUND_TRIPS)
def test_keras_weights_round_trip_gives_identical_predictions(build, tmp_path):
    model, fresh = positive_variances(randomize(build())), build()
    x = images(model)
    path = model.export(tmp_path / "m.weights.h5", format="keras")
    sn.load_keras_weights(fresh, path)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def test_keras_file_layout_is_keras_3s(tmp_path):
    model = randomize(zoo.mnist_cnn())
    path = export.save_keras_weights(model, tmp_path / "m.weights.h5")
    with h5py.File(path, "r") as f:
        groups = sorted(f["layers"].keys())
        assert groups == ["conv2d", "conv2d_1", "dense", "dense_1", "dropout", "dropout_1",
                          "flatten", "max_pooling2d"]
        assert f["layers/conv2d_1/vars/0"].shape == (3, 3, 32, 64)
        assert f["layers/dense/vars/0"].shape == (9216, 128)
        assert list(f["layers/flatten/vars"].keys()) == []
        assert f["layers/dense_1/vars"].attrs["name"] == "dense_1"
        assert f["vars"].attrs["name"] == "mnist_cnn"
        np.testing.assert_array_equal(f["layers/dense_1/vars/1"][()],
                                      model.layers[-1].params["bias"])
    assert export.keras_h5.keras_snake_case("LeakyReLU") == "leaky_re_lu"   # Keras's own rule


def test_keras_names_and_variables_of_the_new_layers_are_keras_3s(tmp_path):
    model = positive_variances(randomize(keras_blocks()))
    path = export.save_keras_weights(model, tmp_path / "m.weights.h5")
    with h5py.File(path, "r") as f:
        # Keras 3 names these classes so (naming.to_snake_case of the class name).
        assert sorted(f["layers"].keys()) == [
            "batch_normalization", "batch_normalization_1", "conv2d", "cropping2d", "dense",
            "global_max_pooling2d", "rescaling", "up_sampling2d", "zero_padding2d"]
        bn, bn_1 = [lyr for lyr in model.layers if isinstance(lyr, layers.BatchNormalization)]
        for i, name in enumerate(("gamma", "beta", "moving_mean", "moving_variance")):
            np.testing.assert_array_equal(f[f"layers/batch_normalization/vars/{i}"][()],
                                          bn.params[name])
        # center=False: no beta, so Keras's order is gamma, moving_mean, moving_variance.
        assert list(f["layers/batch_normalization_1/vars"].keys()) == ["0", "1", "2"]
        np.testing.assert_array_equal(f["layers/batch_normalization_1/vars/2"][()],
                                      bn_1.params["moving_variance"])
        assert list(f["layers/up_sampling2d/vars"].keys()) == []


KERAS_FILE = Path(__file__).parent / "data" / "keras3_small_cnn.weights.h5"


def test_a_file_written_by_keras_3_loads_and_predicts_what_keras_did(tmp_path):
    """tests/data/keras3_small_cnn.*: written by Keras 3.15.1 (torch backend) with its own
    predictions, by benchmarks/interop_roundtrip.py; 'same' padding with stride 2 is asymmetric."""
    expected = np.load(KERAS_FILE.with_suffix("").with_suffix(".npz"), allow_pickle=False)
    model = sn.load_keras_weights(small_cnn(), KERAS_FILE)
    np.testing.assert_allclose(model.predict(expected["x"]), expected["keras_predictions"],
                               atol=1e-5, rtol=0)

    def tree(path):
        with h5py.File(path, "r") as f:
            names = []
            f.visititems(lambda name, item: names.append(
                (name, getattr(item, "shape", None), "name" in item.attrs)))
            return sorted(names)
    ours = export.save_keras_weights(model, tmp_path / "ours.weights.h5")
    assert tree(ours) == tree(KERAS_FILE)       # the same groups, datasets, shapes and attrs


def test_keras_weights_of_another_architecture_list_names_and_shapes(tmp_path):
    path = export.save_keras_weights(randomize(zoo.mnist_mlp()), tmp_path / "m.weights.h5")
    with pytest.raises(InteropError) as err:
        sn.load_keras_weights(zoo.mnist_cnn(), path)
    message = str(err.value)
    assert "layers/dense/vars/0 expected (9216, 128) got (784, 128)" in message
    assert "missing: layers/conv2d/vars/0 (3, 3, 1, 32)" in message


def test_keras_hostile_files(tmp_path):
    good = export.save_keras_weights(randomize(zoo.mnist_mlp()), tmp_path / "m.weights.h5")
    (tmp_path / "cut.weights.h5").write_bytes(good.read_bytes()[:3000])
    (tmp_path / "text.weights.h5").write_text("not hdf5")
    for name in ("cut.weights.h5", "text.weights.h5"):
        with pytest.raises(InteropError, match="not a readable HDF5 file|could not be read"):
            sn.load_keras_weights(zoo.mnist_mlp(), tmp_path / name)
    with h5py.File(tmp_path / "other.weights.h5", "w") as f:
        f["model_weights/x"] = np.zeros(3)
    with pytest.raises(InteropError, match="no 'layers' group"):
        sn.load_keras_weights(zoo.mnist_mlp(), tmp_path / "other.weights.h5")
    (tmp_path / "dir.weights.h5").mkdir()
    with pytest.raises(InteropError, match="is a directory"):
        sn.load_keras_weights(zoo.mnist_mlp(), tmp_path / "dir.weights.h5")


# --- writing: directories, unwritable places, atomicity, missing extras ------------------------
@pytest.mark.parametrize("fmt,name", [("onnx", "m.onnx"), ("torch", "m.safetensors"),
                                      ("keras", "m.weights.h5")])
def test_export_to_a_directory_or_under_a_file_is_refused_cleanly(fmt, name, tmp_path):
    pytest.importorskip("onnx")
    model = zoo.mnist_mlp()
    (tmp_path / name).mkdir()
    with pytest.raises(InteropError, match="is a directory"):
        model.export(tmp_path / name, format=fmt)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InteropError, match="is a file, not a directory"):
        model.export(tmp_path / "afile" / name, format=fmt)
    with pytest.raises(InteropError, match="should end in"):
        model.export(tmp_path / "m.txt", format=fmt)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["afile", name])


@pytest.mark.parametrize("fmt,name", [("onnx", "m.onnx"), ("torch", "m.safetensors"),
                                      ("keras", "m.weights.h5")])
def test_export_is_atomic_a_failed_write_keeps_the_old_file(fmt, name, tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    target = tmp_path / name
    target.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("os.fsync", fail)
    with pytest.raises(OSError, match="the disk is full; the previous version"):
        zoo.mnist_mlp().export(target, format=fmt)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [name]


def test_unwritable_directory_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr("os.access", lambda path, mode: False)
    with pytest.raises(InteropError, match="is not writable"):
        zoo.mnist_mlp().export(tmp_path / "m.weights.h5", format="keras")


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install 'scratchnet\[keras\]'"):
        zoo.mnist_mlp().export(tmp_path / "m.weights.h5", format="keras")


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(InteropError, match="one of"):
        zoo.mnist_mlp().export(tmp_path / "m.onnx", format="tflite")
