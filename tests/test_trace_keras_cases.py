"""Golden cases of the Keras building blocks (layers, losses, optimizers), each checked against
formulas and loops written here, not against scratchnet's code."""
import numpy as np
import pytest

from scratchnet.tracing import cases

EPS = 1e-7


def case(tmp_path, kind, name):
    path = cases.write_case(kind, name, tmp_path / f"{kind}-{name}")
    return lambda tensor: np.load(path / f"{tensor}.npy").astype(np.float64)


def exists(tmp_path, kind, name, tensor):
    return (tmp_path / f"{kind}-{name}" / f"{tensor}.npy").exists()


def close(actual, expected, rtol=1e-5):
    scale = max(np.abs(expected).max(), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def directional_derivative(f, x, direction, g, eps=1e-6):
    """d/dt sum(f(x + t d) * g) at t = 0, by a central difference in float64."""
    return ((f(x + eps * direction) - f(x - eps * direction)) * g).sum() / (2 * eps)


# --- BatchNormalization ------------------------------------------------------------------------
def batch_norm(x, gamma, beta, mean, var, eps):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


@pytest.mark.parametrize("name,momentum,eps", [("training", 0.99, 1e-3),
                                               ("training-image", 0.99, 1e-3),
                                               ("momentum-epsilon", 0.5, 0.1)])
def test_batch_normalization_training_uses_batch_statistics(tmp_path, name, momentum, eps):
    t = case(tmp_path, "batch_normalization", name)
    x, g = t("input/x"), t("batch_normalization/grad_output")
    gamma, beta = t("batch_normalization/gamma"), t("batch_normalization/beta")
    axes = tuple(range(x.ndim - 1))
    count = np.prod([x.shape[a] for a in axes])
    mean = x.sum(axis=axes) / count
    var = ((x - mean) ** 2).sum(axis=axes) / count            # biased, as Keras
    close(t("batch_normalization/output"), batch_norm(x, gamma, beta, mean, var, eps))
    for key, batch in (("moving_mean", mean), ("moving_variance", var)):
        close(t(f"batch_normalization/{key}_after_forward"),
              t(f"batch_normalization/{key}") * momentum + batch * (1 - momentum))
    x_hat = (x - mean) / np.sqrt(var + eps)
    close(t("batch_normalization/grad_gamma"), (g * x_hat).sum(axis=axes))
    close(t("batch_normalization/grad_beta"), g.sum(axis=axes))

    def forward(z):    # the statistics depend on the input: the gradient goes through them
        m = z.mean(axis=axes)
        return batch_norm(z, gamma, beta, m, ((z - m) ** 2).mean(axis=axes), eps)
    direction = np.random.default_rng(0).standard_normal(x.shape)
    assert directional_derivative(forward, x, direction, g) == pytest.approx(
        (t("batch_normalization/grad_input") * direction).sum(), rel=1e-4)


@pytest.mark.parametrize("name", ["inference", "inference-image", "not-trainable"])
def test_batch_normalization_inference_uses_moving_statistics(tmp_path, name):
    t = case(tmp_path, "batch_normalization", name)
    x, g = t("input/x"), t("batch_normalization/grad_output")
    gamma, beta = t("batch_normalization/gamma"), t("batch_normalization/beta")
    mean, var = t("batch_normalization/moving_mean"), t("batch_normalization/moving_variance")
    assert not np.allclose(var, 1) and not np.allclose(mean, 0)
    close(t("batch_normalization/output"), batch_norm(x, gamma, beta, mean, var, 1e-3))
    close(t("batch_normalization/grad_input"), g * gamma / np.sqrt(var + 1e-3))
    for key in ("moving_mean", "moving_variance"):      # inference never moves them
        close(t(f"batch_normalization/{key}_after_forward"), t(f"batch_normalization/{key}"))


def test_batch_normalization_without_center_and_scale_has_no_gamma_beta(tmp_path):
    t = case(tmp_path, "batch_normalization", "no-center-no-scale")
    x = t("input/x")
    mean, var = x.mean(0), x.var(0)
    close(t("batch_normalization/output"), (x - mean) / np.sqrt(var + 1e-3))
    for tensor in ("gamma", "beta", "grad_gamma", "grad_beta"):
        assert not exists(tmp_path, "batch_normalization", "no-center-no-scale",
                          f"batch_normalization/{tensor}")


# --- global pooling ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["default", "keepdims"])
def test_global_average_pooling(tmp_path, name):
    t = case(tmp_path, "global_average_pooling2d", name)
    x, g = t("input/x"), t("global_average_pooling2d/grad_output")
    n, h, w, c = x.shape
    expected = np.array([[sum(x[i, a, b, k] for a in range(h) for b in range(w)) / (h * w)
                          for k in range(c)] for i in range(n)])
    out = t("global_average_pooling2d/output")
    assert out.shape == ((n, 1, 1, c) if name == "keepdims" else (n, c))
    close(out.reshape(n, c), expected)
    grad = t("global_average_pooling2d/grad_input")
    for i, a, b, k in np.ndindex(x.shape):
        assert grad[i, a, b, k] == pytest.approx(g.reshape(n, c)[i, k] / (h * w), rel=1e-6)


@pytest.mark.parametrize("name", ["default", "ties", "keepdims"])
def test_global_max_pooling_routes_to_the_first_maximum(tmp_path, name):
    t = case(tmp_path, "global_max_pooling2d", name)
    x, g = t("input/x"), t("global_max_pooling2d/grad_output")
    n, h, w, c = x.shape
    g = g.reshape(n, c)
    expected_out, expected_grad = np.zeros((n, c)), np.zeros_like(x)
    for i in range(n):
        for k in range(c):
            best = None
            for a in range(h):          # row-major: the first strictly larger value wins
                for b in range(w):
                    if best is None or x[i, a, b, k] > x[i, best[0], best[1], k]:
                        best = (a, b)
            expected_out[i, k] = x[i, best[0], best[1], k]
            expected_grad[i, best[0], best[1], k] = g[i, k]
    close(t("global_max_pooling2d/output").reshape(n, c), expected_out)
    np.testing.assert_array_equal(t("global_max_pooling2d/grad_input"), expected_grad)
    if name == "ties":
        assert sum((x[i, :, :, k] == expected_out[i, k]).sum() > 1
                   for i in range(n) for k in range(c)) >= 2


# --- element-wise and shape layers -------------------------------------------------------------
@pytest.mark.parametrize("name,scale,offset", [("default", 1 / 255, 0.0), ("offset", 2.0, -1.0)])
def test_rescaling(tmp_path, name, scale, offset):
    t = case(tmp_path, "rescaling", name)
    close(t("rescaling/output"), t("input/x") * scale + offset)
    close(t("rescaling/grad_input"), t("rescaling/grad_output") * scale)


@pytest.mark.parametrize("name,target", [("default", (3, 4)), ("image-to-rows", (6, 2)),
                                         ("vector-to-image", (2, 3, 2))])
def test_reshape_keeps_c_order(tmp_path, name, target):
    t = case(tmp_path, "reshape", name)
    x, y = t("input/x"), t("reshape/output")
    assert y.shape == (x.shape[0], *target)
    flat_x, flat_y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    for i in range(x.shape[0]):             # entry by entry in C order
        for j in range(flat_x.shape[1]):
            assert flat_y[i, j] == flat_x[i, j]
    np.testing.assert_array_equal(t("reshape/grad_input"),
                                  t("reshape/grad_output").reshape(x.shape))


def zero_pad_loops(x, top, bottom, left, right):
    n, h, w, c = x.shape
    y = np.zeros((n, h + top + bottom, w + left + right, c))
    for a in range(h):
        for b in range(w):
            y[:, top + a, left + b] = x[:, a, b]
    return y


@pytest.mark.parametrize("name,pads", [("default", (1, 1, 1, 1)), ("rows-cols", (2, 2, 0, 0)),
                                       ("asymmetric", (0, 2, 1, 3))])
def test_zero_padding(tmp_path, name, pads):
    t = case(tmp_path, "zero_padding2d", name)
    x, g = t("input/x"), t("zero_padding2d/grad_output")
    np.testing.assert_array_equal(t("zero_padding2d/output"), zero_pad_loops(x, *pads))
    top, _, left, _ = pads
    grad = t("zero_padding2d/grad_input")
    for a, b in np.ndindex(x.shape[1:3]):
        np.testing.assert_array_equal(grad[:, a, b], g[:, top + a, left + b])


@pytest.mark.parametrize("name,crops", [("default", (0, 0, 0, 0)), ("symmetric", (1, 1, 1, 1)),
                                        ("asymmetric", (0, 2, 1, 3))])
def test_cropping(tmp_path, name, crops):
    t = case(tmp_path, "cropping2d", name)
    x, g, y = t("input/x"), t("cropping2d/grad_output"), t("cropping2d/output")
    top, bottom, left, right = crops
    assert y.shape[1:3] == (x.shape[1] - top - bottom, x.shape[2] - left - right)
    for a, b in np.ndindex(y.shape[1:3]):
        np.testing.assert_array_equal(y[:, a, b], x[:, top + a, left + b])
    # The adjoint of cropping is padding the gradient back with zeros.
    np.testing.assert_array_equal(t("cropping2d/grad_input"), zero_pad_loops(g, *crops))


@pytest.mark.parametrize("name,size", [("default", (2, 2)), ("size-3x1", (3, 1))])
def test_up_sampling_repeats_and_sums_blocks(tmp_path, name, size):
    t = case(tmp_path, "up_sampling2d", name)
    x, g, y = t("input/x"), t("up_sampling2d/grad_output"), t("up_sampling2d/output")
    sh, sw = size
    assert y.shape[1:3] == (x.shape[1] * sh, x.shape[2] * sw)
    expected_grad = np.zeros_like(x)
    for a, b in np.ndindex(y.shape[1:3]):
        np.testing.assert_array_equal(y[:, a, b], x[:, a // sh, b // sw])
        expected_grad[:, a // sh, b // sw] += g[:, a, b]
    close(t("up_sampling2d/grad_input"), expected_grad)


# --- losses ------------------------------------------------------------------------------------
def hinge_labels(y):
    return np.where(y == 0, -1.0, y) if y.min() >= 0 else y


LOSS_FORMULAS = {   # per-element (mean over all entries) or per-sample (mean over samples)
    "mean_absolute_error": lambda y, p: np.mean(np.abs(p - y)),
    "mean_absolute_percentage_error": lambda y, p: np.mean(
        100 * np.abs(y - p) / np.maximum(np.abs(y), EPS)),
    "mean_squared_logarithmic_error": lambda y, p: np.mean(
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2),
    "huber": lambda y, p: np.mean(np.where(np.abs(p - y) <= 1, 0.5 * (p - y) ** 2,
                                           np.abs(p - y) - 0.5)),
    "log_cosh": lambda y, p: np.mean(np.log(np.cosh(p - y))),
    "poisson": lambda y, p: np.mean(p - y * np.log(p + EPS)),
    "hinge": lambda y, p: np.mean(np.maximum(1 - hinge_labels(y) * p, 0)),
    "squared_hinge": lambda y, p: np.mean(np.maximum(1 - hinge_labels(y) * p, 0) ** 2),
    "categorical_hinge": lambda y, p: np.mean(np.maximum(
        ((1 - y) * p).max(-1) - (y * p).sum(-1) + 1, 0)),
    "kl_divergence": lambda y, p: np.mean((np.clip(y, EPS, 1) * np.log(
        np.clip(y, EPS, 1) / np.clip(p, EPS, 1))).sum(-1)),
}


@pytest.mark.parametrize("kind,name", [(k, c) for k in LOSS_FORMULAS for c in cases.LOSS_CASES[k]])
def test_new_losses_value_and_gradient(tmp_path, kind, name):
    t = case(tmp_path, kind, name)
    y, p = t("input/y"), t("input/y_pred")
    loss = LOSS_FORMULAS[kind]
    assert t("loss/value")[0] == pytest.approx(loss(y, p), rel=1e-6)
    numeric = np.zeros_like(p)       # central differences of the formula, entry by entry
    h = 1e-6 * np.maximum(np.abs(p), 1)
    for index in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[index] += h[index]
        down[index] -= h[index]
        numeric[index] = (loss(y, up) - loss(y, down)) / (2 * h[index])
    close(t("loss/grad"), numeric, rtol=1e-4)
    if name == "ties":
        assert (t("loss/grad")[0, :2] == 0).all()
    if name == "negative-predictions":
        assert (t("loss/grad")[2] == 0).all()


# --- optimizers: the first two steps, by the rules -------------------------------------------
def adam_like(w, grads, rule):
    state = {}
    for t, g in enumerate(grads, start=1):
        w = rule(w, g, t, state)
    return w


def adamw(lr, wd, b1=0.9, b2=0.999, eps=1e-7):
    def rule(w, g, t, s):
        w = w - w * wd * lr
        s["m"] = s.get("m", 0) * b1 + (1 - b1) * g
        s["v"] = s.get("v", 0) * b2 + (1 - b2) * g * g
        return w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * s["m"] / (np.sqrt(s["v"]) + eps)
    return rule


def nadam(lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    def u(t):
        return b1 * (1 - 0.5 * 0.96 ** t)

    def rule(w, g, t, s):
        product = np.prod([u(i) for i in range(1, t + 1)])
        s["m"] = s.get("m", 0) * b1 + (1 - b1) * g
        s["v"] = s.get("v", 0) * b2 + (1 - b2) * g * g
        m_hat = u(t + 1) * s["m"] / (1 - product * u(t + 1)) + (1 - u(t)) * g / (1 - product)
        return w - lr * m_hat / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    return rule


def adagrad(lr=0.001, initial=0.1, eps=1e-7):
    def rule(w, g, t, s):
        s["a"] = s.get("a", initial) + g * g
        return w - lr * g / np.sqrt(s["a"] + eps)
    return rule


def adamax(lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    def rule(w, g, t, s):
        s["m"] = s.get("m", 0) * b1 + (1 - b1) * g
        s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g))
        return w - lr / (1 - b1 ** t) * s["m"] / (s["u"] + eps)
    return rule


@pytest.mark.parametrize("kind,name,rule", [
    ("adamw", "first-steps", adamw(0.001, 0.004)), ("adamw", "large-decay", adamw(0.01, 0.5)),
    ("nadam", "first-steps", nadam()), ("adagrad", "first-steps", adagrad()),
    ("adamax", "first-steps", adamax())])
def test_new_optimizers_first_two_steps(tmp_path, kind, name, rule):
    t = case(tmp_path, kind, name)
    w, g0, g1 = t("param/value"), t("param/grad"), t("step1/param/grad")
    close(t("param/value_after_step"), adam_like(w, [g0], rule), rtol=1e-6)
    close(t("step1/param/value_after_step"), adam_like(w, [g0, g1], rule), rtol=1e-6)
    assert not np.allclose(t("step1/param/value_after_step"), w)


def test_every_loss_and_optimizer_of_the_library_has_golden_cases():
    from scratchnet import losses, optimizers
    assert {factory().name for factory in losses._ALIASES.values()} <= set(cases.LOSS_CASES)
    classes = [v for v in vars(optimizers).values() if isinstance(v, type)
               and issubclass(v, optimizers.Optimizer) and v is not optimizers.Optimizer]
    assert {cls.name for cls in classes} <= set(cases.OPTIMIZER_CASES)
