"""compare: the first divergence, its diagnosis, and the classic bugs injected into the C and
plain-NumPy example programs."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_trace import EXAMPLES
from test_trace import numpy_example as numpy_net

import scratchnet as sn
from scratchnet import layers, optimizers
from scratchnet.cli import main
from scratchnet.tracing import cases


@pytest.fixture(scope="module")
def mlp_trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlp") / "t"
    assert main(["trace", "mnist-mlp", "--loss", "mean_squared_error", "--optimizer", "sgd",
                 "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def cnn_trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "t"
    assert main(["trace", "mnist-cnn", "--loss", "mean_squared_error", "--optimizer", "sgd",
                 "--batch-size", "4", "--out", str(out), "--quiet"]) == 0
    return out


BUGS = {  # bug -> (first divergent tensor, diagnosis code)
    "relu-0.01": ("dense/grad_pre_activation", "relu_constant_backward"),
    "sum-batch": ("loss/grad", "scale_batch"),
    "transposed-grad": ("dense_1/grad_kernel", "layout"),
    "flipped-kernel": ("conv2d/pre_activation", "flipped_convolution"),
    "ce-shortcut": ("dense_1/grad_pre_activation", "ce_shortcut_with_mse"),
}


@pytest.mark.parametrize("bug", [None, *BUGS])
def test_numpy_example_is_silent_when_right_and_diagnosed_for_each_bug(cnn_trace, tmp_path,
                                                                        bug):
    mine = tmp_path / "mine"
    numpy_net().write(numpy_net().Net(str(cnn_trace), bug=bug).step(), str(mine))
    result = sn.compare(cnn_trace, mine)
    if bug is None:
        assert result.ok and result.exit_code == 0 and len(result.matched) >= 40
        return
    assert result.exit_code == 1
    name, code = BUGS[bug]
    assert (result.first.name, result.first.diagnosis.code) == (name, code), result.report()


C_BUGS = {"": None, "BUG_RELU_001": "relu-0.01", "BUG_SUM_BATCH": "sum-batch",
          "BUG_TRANSPOSED_GRAD": "transposed-grad", "BUG_CE_SHORTCUT": "ce-shortcut"}


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
@pytest.mark.parametrize("macro", list(C_BUGS))
def test_c_example_is_silent_when_right_and_diagnosed_for_each_bug(mlp_trace, tmp_path, macro,
                                                                   capsys):
    binary = tmp_path / "mlp"
    flags = [f"-D{macro}"] if macro else []
    subprocess.run(["cc", "-O1", "-std=c99", "-Wall", "-Werror", *flags, "-o", str(binary),
                    str(EXAMPLES / "mlp.c"), "-lm"], check=True)
    subprocess.run([str(binary), str(mlp_trace), str(tmp_path / "mine"), "0.01"], check=True)
    code = main(["compare", str(mlp_trace), str(tmp_path / "mine"), "--json"])
    report = json.loads(capsys.readouterr().out)
    if not macro:
        assert code == 0 and report["ok"] and len(report["matched"]) >= 19
        return
    assert code == 1
    first = report["divergences"][0]
    name, diagnosis = BUGS[C_BUGS[macro]]
    assert (first["name"], first["diagnosis"]["code"]) == (name, diagnosis)
    assert first["differing"] > 0 and len(first["worst_index"]) == 2


# --- the diagnoses, one by one, on tensors altered the way each bug alters them ---------------
@pytest.fixture(scope="module")
def conv_trace(tmp_path_factory):
    sn.set_random_seed(11)
    model = sn.Sequential([layers.Conv2D(3, (3, 3), padding="same", activation="relu",
                                         input_shape=(6, 6, 2)),
                           layers.Flatten(), layers.Dense(5, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 6, 2)).astype(np.float32)
    y = np.eye(5, dtype=np.float32)[[0, 1, 4, 2]]
    return sn.trace(model, x, y, tmp_path_factory.mktemp("conv") / "t")


def ref(path, name):
    return np.load(Path(path) / f"{name}.npy").astype(np.float64)


def diagnosis_of(trace, tmp_path, name, value, ext=".npy"):
    mine = tmp_path / "mine"
    file = mine / f"{name}{ext}"
    file.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".npy":
        np.save(file, value)
    elif ext == ".bin":
        np.asarray(value, "<f4").tofile(file)
    else:
        file.write_text(" ".join(repr(float(v)) for v in np.ravel(value)))
    result = sn.compare(trace, mine)
    assert result.first is not None and result.first.name == name
    return result.first.diagnosis


@pytest.mark.parametrize("name,change,code", [
    ("conv2d/grad_kernel", lambda r: -r, "sign_flip"),
    ("conv2d/grad_kernel", lambda r: r.transpose(3, 2, 0, 1), "layout"),       # OIHW
    ("conv2d/grad_kernel", lambda r: r[::-1, ::-1], "rotated_kernel"),
    ("conv2d/output", lambda r: r.transpose(0, 3, 1, 2), "layout"),            # NCHW
    ("dense/grad_kernel", lambda r: 4 * r, "scale_batch"),
    ("dense/grad_kernel", lambda r: 3.7 * r, "scale_constant"),
    ("dense/grad_kernel", lambda r: np.zeros_like(r), "all_zeros"),
    ("conv2d/pre_activation", lambda r: np.roll(r, 1, axis=1), "shifted"),
    ("conv2d/pre_activation", lambda r: np.roll(r, -1, axis=2), "shifted"),
    ("dense/output", lambda r: np.where(r > 0.5, np.nan, r), "nan_inf"),
])
def test_each_pattern_is_named(conv_trace, tmp_path, name, change, code):
    diagnosis = diagnosis_of(conv_trace, tmp_path, name, change(ref(conv_trace, name)))
    assert diagnosis.code == code, diagnosis
    assert diagnosis.message and diagnosis.fix


def test_softmax_over_the_wrong_axis(conv_trace, tmp_path):
    z = ref(conv_trace, "dense/pre_activation")
    wrong = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)
    assert diagnosis_of(conv_trace, tmp_path, "dense/output", wrong).code == "softmax_axis"


def test_mse_gradient_where_the_loss_is_cross_entropy(conv_trace, tmp_path):
    p, y = ref(conv_trace, "dense/output"), ref(conv_trace, "input/y")
    d = diagnosis_of(conv_trace, tmp_path, "loss/grad", 2 * (p - y) / p.size)
    assert d.code == "mse_gradient_with_ce"
    d = diagnosis_of(conv_trace, tmp_path, "loss/grad", -y / p / len(p))
    assert d.code == "ce_without_renormalisation"


def test_relu_leaky_backward_and_a_generic_mismatch(conv_trace, tmp_path):
    z = ref(conv_trace, "conv2d/pre_activation")
    g = ref(conv_trace, "conv2d/grad_output")
    d = diagnosis_of(conv_trace, tmp_path, "conv2d/grad_pre_activation",
                     np.where(z > 0, g, 0.01 * g))
    assert d.code == "relu_leaky_backward"
    noisy = ref(conv_trace, "dense/bias") + np.random.default_rng(0).normal(0, 1e-2, 5)
    d = diagnosis_of(conv_trace, tmp_path, "dense/bias", noisy, ext=".txt")
    assert d.code in ("mismatch", "different_initial_weights")


def test_exploding_scale_points_at_the_weight_initialisation(conv_trace, tmp_path):
    out = ref(conv_trace, "dense/pre_activation")
    exploded = 300 * out + np.random.default_rng(0).normal(0, 50, out.shape)
    d = diagnosis_of(conv_trace, tmp_path, "dense/pre_activation", exploded)
    assert d.code == "exploding_scale" and "glorot_uniform" in d.fix and "fan_in 108" in d.fix


def test_all_lists_every_divergence_and_skips_what_you_did_not_save(conv_trace, tmp_path,
                                                                    capsys):
    mine = tmp_path / "mine"
    for name, factor in (("conv2d/output", 1.0), ("dense/grad_kernel", -1.0),
                         ("dense/grad_bias", 2.0)):
        (mine / name).parent.mkdir(parents=True, exist_ok=True)
        (factor * ref(conv_trace, name)).astype("<f8").tofile(mine / f"{name}.bin")
    assert main(["compare", str(conv_trace), str(mine), "--dtype", "float64", "--all"]) == 1
    text = capsys.readouterr().out
    assert "FIRST DIVERGENCE: dense/grad_kernel" in text and "ALSO DIVERGES: dense/grad_bias" \
        in text and "sign_flip" in text and "scale_constant" in text
    assert main(["compare", str(conv_trace), str(mine)]) == 2      # float64 files, float32 read
    assert "--dtype float64" in capsys.readouterr().err


def test_tolerances_are_settable(conv_trace, tmp_path):
    mine = tmp_path / "mine"
    (mine / "dense").mkdir(parents=True)
    np.save(mine / "dense/grad_kernel.npy", ref(conv_trace, "dense/grad_kernel") * (1 + 3e-4))
    assert not sn.compare(conv_trace, mine).ok
    assert main(["compare", str(conv_trace), str(mine), "--rtol", "1e-3", "--quiet"]) == 0
    assert main(["compare", str(conv_trace), str(mine), "--rtol", "-1"]) == 2


def test_golden_case_checks_a_hand_written_layer(tmp_path):
    """A golden case is checked like a model trace: a flipped-kernel conv is named."""
    path = cases.write_case("conv2d", "valid", tmp_path / "c")
    x, k, b = (ref(path, n) for n in ("input/x", "conv2d/kernel", "conv2d/bias"))
    flipped = k[::-1, ::-1]
    out = np.zeros((2, 3, 3, 4)) + b
    for i in range(3):
        for j in range(3):
            out[:, i, j] = np.tensordot(x[:, i:i + 3, j:j + 3], flipped, axes=([1, 2, 3],
                                                                              [0, 1, 2]))
    d = diagnosis_of(path, tmp_path, "conv2d/output", out)
    assert d.code == "flipped_convolution"
