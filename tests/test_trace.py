"""Reference traces: the bundle format, the recorded tensors, golden cases, and agreement with
an independent float64 implementation (the plain-NumPy example, which imports no scratchnet)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, optimizers
from scratchnet.cli import main
from scratchnet.tracing import cases
from scratchnet.tracing.compare import Tolerance

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "implement_it_yourself"


def load(directory, name):
    return np.load(Path(directory) / f"{name}.npy")


def numpy_example():
    spec = importlib.util.spec_from_file_location("numpy_net", EXAMPLES / "numpy_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cnn_trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "t"
    assert main(["trace", "mnist-cnn", "--out", str(out), "--batch-size", "4", "--quiet"]) == 0
    return out


def small_model(seed=3):
    sn.set_random_seed(seed)
    model = sn.Sequential([layers.Conv2D(3, 3, strides=2, padding="same", activation="relu",
                                         input_shape=(7, 7, 2)),
                           layers.MaxPooling2D(), layers.Dropout(0.3), layers.Flatten(),
                           layers.Dense(4, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="mean_squared_error")
    return model


def test_acceptance_trace_then_compare_with_itself_exits_0(cnn_trace, capsys):
    assert main(["compare", str(cnn_trace), str(cnn_trace)]) == 0
    assert "all 78 match" in capsys.readouterr().out


def test_manifest_bin_and_npy_agree_and_describe_every_tensor(cnn_trace):
    manifest = json.loads((cnn_trace / "manifest.json").read_text())
    assert (manifest["format"], manifest["version"]) == ("scratchnet-trace", 1)
    assert manifest["loss"]["name"] == "categorical_crossentropy"
    assert manifest["optimizer"]["name"] == "adadelta"
    assert manifest["model"]["layers"][0]["class_name"] == "Conv2D"
    assert set(manifest["order"]) == set(manifest["tensors"])
    for name in manifest["order"]:
        entry = manifest["tensors"][name]
        raw = np.fromfile(cnn_trace / entry["file"], dtype="<f4")
        assert raw.size == int(np.prod(entry["shape"])), name
        np.testing.assert_array_equal(raw.reshape(entry["shape"]), load(cnn_trace, name))
        assert entry["dtype"] == "float32" and entry["layout"] and entry["meaning"]
    t = manifest["tensors"]
    assert t["conv2d/kernel"]["layout"] == "HWIO" and t["conv2d/kernel"]["shape"] == [3, 3, 1, 32]
    assert t["dense/kernel"]["layout"] == "IO" and t["input/x"]["layout"] == "NHWC"
    order = manifest["order"]
    assert order[:2] == ["input/x", "input/y"]
    assert order.index("dense_1/output") < order.index("loss/value") < order.index("loss/grad") \
        < order.index("dense_1/grad_output") < order.index("conv2d/grad_input") \
        < order.index("conv2d/kernel_after_step")


def test_recorded_tensors_are_consistent_with_each_other(cnn_trace):
    t = lambda name: load(cnn_trace, name).astype(np.float64)   # noqa: E731
    np.testing.assert_allclose(t("conv2d/output"), np.maximum(t("conv2d/pre_activation"), 0))
    mask = t("dropout/mask")
    assert set(np.unique(mask)) <= {0.0, np.float32(1 / 0.75)}
    np.testing.assert_allclose(t("dropout/output"), t("max_pooling2d/output") * mask, rtol=1e-6)
    np.testing.assert_allclose(t("dropout_1/grad_input"), t("dropout_1/grad_output")
                               * t("dropout_1/mask"), rtol=1e-6)
    p, y = t("dense_1/output"), t("input/y")
    np.testing.assert_allclose(t("dense_1/grad_pre_activation"), (p - y) / 4, atol=1e-7)
    np.testing.assert_allclose(t("dense_1/grad_input"), t("dropout_1/grad_output"))


@pytest.mark.parametrize("loss,optimizer", [("mean_squared_error", "sgd"),
                                            ("categorical_crossentropy", "adadelta")])
def test_trace_matches_an_independent_float64_numpy_implementation(tmp_path, loss, optimizer):
    """The plain-NumPy example (no scratchnet code) in float64 reproduces every forward value,
    gradient and update of the trace within 1e-5 relative."""
    out = tmp_path / "t"
    assert main(["trace", "mnist-cnn", "--out", str(out), "--batch-size", "3", "--loss", loss,
                 "--optimizer", optimizer, "--learning-rate", "0.5", "--quiet"]) == 0
    mine = numpy_example().Net(str(out), "float64").step()
    assert len(mine) >= 40
    manifest = json.loads((out / "manifest.json").read_text())
    tolerance = Tolerance(rtol=1e-5, atol_scale=1e-7)
    for name, value in mine.items():
        ref = load(out, name).astype(np.float64)
        assert ref.shape == value.shape, name
        assert not tolerance.differs(ref, value).any(), name
    assert {"conv2d/grad_kernel", "dense_1/kernel_after_step"} <= set(mine)
    assert manifest["computed_in"] == "float64"


def test_sn_trace_leaves_the_model_alone_and_records_n_steps(tmp_path):
    model = small_model()
    before = model.get_weights()
    rng = np.random.default_rng(0)
    x = rng.random((6, 7, 7, 2)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    path = sn.trace(model, x, y, tmp_path / "t", steps=3, batch_size=2, seed=5)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert model.optimizer.iterations == 0
    manifest = json.loads((path / "manifest.json").read_text())
    order = manifest["order"]
    assert "step2/dense/kernel_after_step" in order and "step1/input/x" in order
    np.testing.assert_array_equal(load(path, "step1/input/x"), x[2:4])
    # step k starts from step k-1's updated weights: its forward uses them.
    z = (load(path, "step1/flatten/output").astype(np.float64)
         @ load(path, "dense/kernel_after_step") + load(path, "dense/bias_after_step"))
    np.testing.assert_allclose(load(path, "step1/dense/pre_activation"), z, rtol=1e-5,
                               atol=1e-7)
    assert not np.array_equal(load(path, "dropout/mask"), load(path, "step1/dropout/mask"))
    again = sn.trace(model, x, y, tmp_path / "t", steps=3, batch_size=2, seed=5)
    assert sn.compare(path, again).ok    # same seed, same trace (and the directory is replaced)


def test_sgd_update_recorded_is_the_rule(tmp_path):
    model = small_model()
    rng = np.random.default_rng(1)
    x = rng.random((2, 7, 7, 2)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[[0, 3]]
    path = sn.trace(model, x, y, tmp_path / "t")
    for key in ("conv2d/kernel", "dense/bias"):
        layer, param = key.split("/")
        expected = load(path, key).astype(np.float64) - 0.1 * load(path, f"{layer}/grad_{param}")
        np.testing.assert_allclose(load(path, f"{key}_after_step"), expected, rtol=1e-6,
                                   atol=1e-8)


def test_trace_refuses_to_overwrite_other_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["trace", "mnist-mlp", "--out", str(tmp_path)]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert main(["trace", "no-such-model", "--out", str(tmp_path / "x")]) == 2


def test_list_names_every_builtin_layer_loss_and_optimizer(capsys):
    assert main(["trace", "--list"]) == 0
    text = capsys.readouterr().out
    for name in ("conv2d", "dense", "max_pooling2d", "average_pooling2d", "relu", "leaky_relu",
                 "softmax", "activation", "dropout", "flatten", "input", "mean_squared_error",
                 "categorical_crossentropy", "sparse_categorical_crossentropy",
                 "binary_crossentropy", "sgd", "adam", "rmsprop", "adadelta",
                 "batch_normalization", "global_average_pooling2d", "global_max_pooling2d",
                 "rescaling", "reshape", "zero_padding2d", "cropping2d", "up_sampling2d",
                 "mean_absolute_error", "huber", "kl_divergence", "categorical_hinge", "adamw",
                 "nadam", "adagrad", "adamax"):
        assert f"--layer {name} " in text, name
    assert set(sn.layers.BUILTIN_LAYERS) <= {type(b()).__name__ for cs in
                                             cases.LAYER_CASES.values() for _, b, _, _ in
                                             cs.values()}


@pytest.mark.parametrize("kind,case", [(k, c) for k, c, _ in cases.listing()])
def test_every_golden_case_writes_a_valid_bundle(tmp_path, kind, case):
    path = cases.write_case(kind, case, tmp_path / "c")
    result = sn.compare(path, path)
    assert result.ok and len(result.matched) >= 3
    for name in result.matched:
        assert np.isfinite(load(path, name)).all(), name


def corr2d_same(x, k, stride):
    """Independent Keras 'same' cross-correlation (loops)."""
    n, h, w, _ = x.shape
    kh, kw, _, o = k.shape
    oh, ow = -(-h // stride), -(-w // stride)
    th, tw = max((oh - 1) * stride + kh - h, 0), max((ow - 1) * stride + kw - w, 0)
    xp = np.pad(x, ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)))
    y = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            y[:, i, j] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return y


def test_golden_conv_padding_same_stride_2_values(tmp_path):
    path = cases.write_case("conv2d", "padding-same-stride-2", tmp_path / "c")
    x, k, b = (load(path, n).astype(np.float64) for n in ("input/x", "conv2d/kernel",
                                                          "conv2d/bias"))
    np.testing.assert_allclose(load(path, "conv2d/output"), corr2d_same(x, k, 2) + b, rtol=1e-5,
                               atol=1e-6)
    # grad_kernel = d/dk sum(output * grad_output): by the adjoint identity, checked with a
    # central finite difference of the independent forward in one direction.
    g, gk = load(path, "conv2d/grad_output"), load(path, "conv2d/grad_kernel")
    direction = np.random.default_rng(0).standard_normal(k.shape)
    eps = 1e-6
    numeric = ((corr2d_same(x, k + eps * direction, 2) - corr2d_same(x, k - eps * direction, 2))
               * g).sum() / (2 * eps)
    assert numeric == pytest.approx((gk * direction).sum(), rel=1e-4)


def test_golden_max_pool_ties_route_to_the_first_maximum(tmp_path):
    path = cases.write_case("max_pooling2d", "ties", tmp_path / "c")
    x, g = load(path, "input/x"), load(path, "max_pooling2d/grad_output")
    grad = load(path, "max_pooling2d/grad_input")
    for n, i, j, c in np.ndindex(g.shape):
        window = x[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2, c].reshape(-1)
        expected = np.zeros(4)
        expected[int(np.argmax(window))] = g[n, i, j, c]     # first maximum, row-major
        np.testing.assert_array_equal(grad[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2, c].reshape(-1),
                                      expected)
    assert any(len(set(x[0, 0:2, 0:2, c].reshape(-1))) < 4 for c in range(3))


def test_golden_losses_and_first_optimizer_steps(tmp_path):
    path = cases.write_case("mean_squared_error", "softmax-mse", tmp_path / "m")
    z, y = load(path, "input/logits").astype(np.float64), load(path, "input/y")
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    g = 2 * (p - y) / p.size
    np.testing.assert_allclose(load(path, "softmax/grad_input"),
                               p * (g - (g * p).sum(-1, keepdims=True)), rtol=1e-5, atol=1e-9)
    path = cases.write_case("categorical_crossentropy", "clipped", tmp_path / "c")
    # Rows 0 and 2 are right with p = 1 (clipped to 1 - 1e-7), row 1 has p = 0 (clipped to 1e-7).
    np.testing.assert_allclose(load(path, "loss/value")[0], -(2 * np.log(1 - 1e-7)
                                                              + np.log(1e-7)) / 3, rtol=1e-6)
    assert load(path, "loss/grad")[1, 1] == 0       # outside the clip: no gradient
    path = cases.write_case("adam", "first-steps", tmp_path / "a")
    w, g = load(path, "param/value").astype(np.float64), load(path, "param/grad")
    # First Adam step: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1.
    step = 0.001 * np.sqrt(0.001) / 0.1 * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-7)
    np.testing.assert_allclose(load(path, "param/value_after_step"), w - step, rtol=1e-6)
    path = cases.write_case("sgd", "nesterov", tmp_path / "s")
    w, g0, g1 = (load(path, n).astype(np.float64) for n in ("param/value", "param/grad",
                                                            "step1/param/grad"))
    m0 = -0.01 * g0
    w0 = w + 0.9 * m0 - 0.01 * g0
    m1 = 0.9 * m0 - 0.01 * g1
    np.testing.assert_allclose(load(path, "step1/param/value_after_step"),
                               w0 + 0.9 * m1 - 0.01 * g1, rtol=1e-6)


def test_golden_case_errors_are_one_line(tmp_path, capsys):
    assert main(["trace", "--layer", "conv2d", "--case", "nope", "--out", str(tmp_path)]) == 2
    assert "expected one of" in capsys.readouterr().err
    assert main(["trace", "--layer", "conv2d", "--out", str(tmp_path)]) == 2
