"""The mnist-cnn trace recomputed in float64 by NumPy code written here (no scratchnet code, no
example program): convolution as shifted einsums, max pooling with the first maximum of each
window, dense layers, softmax + Keras's cross-entropy, every gradient by hand, one Adadelta
step. Every recorded tensor must agree within 1e-5 relative."""
import json

import numpy as np
import pytest

from scratchnet.cli import main
from scratchnet.tracing.compare import Tolerance

RHO, EPS, LR = 0.95, 1e-7, 1.0      # Adadelta(learning_rate=1.0), the Keras MNIST recipe


def conv_valid(x, k, b):
    """Cross-correlation, stride 1, no padding: y[n,i,j,o] = b[o] + sum x[n,i+a,j+c,:] k[a,c]."""
    kh, kw = k.shape[:2]
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    y = np.zeros((x.shape[0], oh, ow, k.shape[3])) + b
    for a in range(kh):
        for c in range(kw):
            y += np.einsum("nijc,co->nijo", x[:, a:a + oh, c:c + ow, :], k[a, c])
    return y


def conv_valid_backward(x, k, g):
    kh, kw = k.shape[:2]
    oh, ow = g.shape[1:3]
    dk, dx = np.zeros_like(k), np.zeros_like(x)
    for a in range(kh):
        for c in range(kw):
            dk[a, c] = np.einsum("nijc,nijo->co", x[:, a:a + oh, c:c + ow, :], g)
            dx[:, a:a + oh, c:c + ow, :] += np.einsum("nijo,co->nijc", g, k[a, c])
    return dk, g.sum(axis=(0, 1, 2)), dx


def max_pool_2x2(x):
    """2x2 windows, stride 2; the gradient goes to the first maximum in row-major order."""
    n, h, w, c = x.shape
    oh, ow = h // 2, w // 2
    windows = np.zeros((n, oh, ow, c, 4))
    for a in range(2):
        for b in range(2):
            windows[..., 2 * a + b] = x[:, a:2 * oh:2, b:2 * ow:2, :]
    first = windows.argmax(axis=-1)                 # argmax returns the first maximum

    def backward(g):
        dx = np.zeros_like(x)
        for a in range(2):
            for b in range(2):
                dx[:, a:2 * oh:2, b:2 * ow:2, :] = g * (first == 2 * a + b)
        return dx
    return windows.max(axis=-1), backward


def adadelta(w, g):
    accumulated_grad = (1 - RHO) * g * g                       # slots start at 0
    delta = -np.sqrt(EPS) / np.sqrt(accumulated_grad + EPS) * g
    accumulated_delta = (1 - RHO) * delta * delta
    return w + LR * delta, accumulated_grad, accumulated_delta


def recompute(t):
    """Every tensor of one mnist-cnn training step, from the batch, weights and masks."""
    out = {}
    x, y = t("input/x"), t("input/y")
    n = x.shape[0]
    z1 = out["conv2d/pre_activation"] = conv_valid(x, t("conv2d/kernel"), t("conv2d/bias"))
    a1 = out["conv2d/output"] = np.maximum(z1, 0)
    z2 = out["conv2d_1/pre_activation"] = conv_valid(a1, t("conv2d_1/kernel"),
                                                     t("conv2d_1/bias"))
    a2 = out["conv2d_1/output"] = np.maximum(z2, 0)
    pooled, pool_back = max_pool_2x2(a2)
    out["max_pooling2d/output"] = pooled
    m1, m2 = t("dropout/mask"), t("dropout_1/mask")
    d1 = out["dropout/output"] = pooled * m1
    flat = out["flatten/output"] = d1.reshape(n, -1)          # (h, w, c) order
    z3 = out["dense/pre_activation"] = flat @ t("dense/kernel") + t("dense/bias")
    a3 = out["dense/output"] = np.maximum(z3, 0)
    d2 = out["dropout_1/output"] = a3 * m2
    z4 = out["dense_1/pre_activation"] = d2 @ t("dense_1/kernel") + t("dense_1/bias")
    e = np.exp(z4 - z4.max(axis=1, keepdims=True))
    p = out["dense_1/output"] = e / e.sum(axis=1, keepdims=True)
    q = np.clip(p / p.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    out["loss/value"] = np.array([-(y * np.log(q)).sum() / n])
    # d/dp of -1/N sum y log(p / sum p) = (-y / p + sum(y)) / N (p inside the clip here).
    g = out["loss/grad"] = out["dense_1/grad_output"] = (-y / p + y.sum(1, keepdims=True)) / n
    g = out["dense_1/grad_pre_activation"] = p * (g - (g * p).sum(axis=1, keepdims=True))
    grads = {"dense_1/kernel": d2.T @ g, "dense_1/bias": g.sum(0)}
    g = out["dense_1/grad_input"] = out["dropout_1/grad_output"] = g @ t("dense_1/kernel").T
    g = out["dropout_1/grad_input"] = out["dense/grad_output"] = g * m2
    g = out["dense/grad_pre_activation"] = g * (z3 > 0)
    grads.update({"dense/kernel": flat.T @ g, "dense/bias": g.sum(0)})
    g = out["dense/grad_input"] = out["flatten/grad_output"] = g @ t("dense/kernel").T
    g = out["flatten/grad_input"] = out["dropout/grad_output"] = g.reshape(d1.shape)
    g = out["dropout/grad_input"] = out["max_pooling2d/grad_output"] = g * m1
    g = out["max_pooling2d/grad_input"] = out["conv2d_1/grad_output"] = pool_back(g)
    g = out["conv2d_1/grad_pre_activation"] = g * (z2 > 0)
    dk, db, g = conv_valid_backward(a1, t("conv2d_1/kernel"), g)
    grads.update({"conv2d_1/kernel": dk, "conv2d_1/bias": db})
    out["conv2d_1/grad_input"] = out["conv2d/grad_output"] = g
    g = out["conv2d/grad_pre_activation"] = g * (z1 > 0)
    dk, db, out["conv2d/grad_input"] = conv_valid_backward(x, t("conv2d/kernel"), g)
    grads.update({"conv2d/kernel": dk, "conv2d/bias": db})
    for name, grad in grads.items():
        layer, param = name.split("/")
        out[f"{layer}/grad_{param}"] = grad
        (out[f"{name}_after_step"], out[f"optimizer/{name}/accumulated_grad"],
         out[f"optimizer/{name}/accumulated_delta"]) = adadelta(t(name), grad)
    return out


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("independent") / "t"
    assert main(["trace", "mnist-cnn", "--out", str(out), "--batch-size", "3", "--seed", "4",
                 "--quiet"]) == 0
    return out


def test_every_recorded_tensor_matches_a_float64_recomputation(trace):
    manifest = json.loads((trace / "manifest.json").read_text())
    assert (manifest["loss"]["name"], manifest["optimizer"]["name"]) == (
        "categorical_crossentropy", "adadelta")
    assert manifest["optimizer"]["learning_rate"] == LR and manifest["optimizer"]["rho"] == RHO

    def t(name):
        return np.load(trace / f"{name}.npy").astype(np.float64)
    for name, rate in (("dropout/mask", 0.25), ("dropout_1/mask", 0.5)):
        assert set(np.unique(t(name))) <= {0.0, float(np.float32(1 / (1 - rate)))}, name
    mine = recompute(t)
    given = {"input/x", "input/y", "dropout/mask", "dropout_1/mask"} | {
        name for name in manifest["order"] if name.endswith(("/kernel", "/bias"))}
    assert set(manifest["order"]) - given == set(mine)        # every recorded tensor, no other
    tolerance = Tolerance(rtol=1e-5, atol_scale=1e-7)
    for name, value in mine.items():
        ref = t(name)
        assert ref.shape == value.shape, name
        differs = tolerance.differs(ref, value)
        assert not differs.any(), (name, float(np.abs(ref - value).max()))
    assert (t("conv2d_1/pre_activation") <= 0).any()           # the ReLU masks matter
    assert np.abs(t("conv2d/grad_kernel")).max() > 0


def test_the_recomputation_notices_a_wrong_tensor(trace):
    """The comparison above can fail: the classic ReLU bug in one gradient is caught."""
    def t(name):
        return np.load(trace / f"{name}.npy").astype(np.float64)
    mine = recompute(t)
    z = t("dense/pre_activation")
    buggy = t("dense/grad_output") * np.where(z > 0, 1.0, 0.01)
    tolerance = Tolerance(rtol=1e-5, atol_scale=1e-7)
    assert tolerance.differs(t("dense/grad_pre_activation"), buggy).any()
    assert not tolerance.differs(t("dense/grad_pre_activation"),
                                 mine["dense/grad_pre_activation"]).any()
