"""The diagnosis of a divergent tensor: which classic bug its pattern points to, and the fix.

Each check is a function ``(case) -> Diagnosis | None``; CHECKS is tried in order and the first
that recognises the pattern wins, else a generic mismatch with statistics. A check may read any
reference tensor (the layer's forward input, the labels, the kernel) through ``case.ref``.
Case and Diagnosis live in ``diagnosis_case``; the softmax and loss checks in ``diagnose_loss``.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from .diagnose_loss import check_loss_mixup, check_softmax_axis
from .diagnosis_case import Case, Diagnosis, fit_factor

__all__ = ["CHECKS", "Case", "Diagnosis", "diagnose", "generic"]

def check_nonfinite(case: Case) -> Diagnosis | None:
    bad = ~np.isfinite(case.mine)
    if not bad.any() or not np.isfinite(case.expected).all():
        return None
    first = [int(i) for i in np.argwhere(bad)[0]]
    return Diagnosis("nan_inf", f"{int(bad.sum()):,} of your {bad.size:,} entries are NaN or "
                     f"Inf (the first at {first}); the reference is finite everywhere.",
                     "look at the step that produced them: exp() overflowing (subtract the "
                     "row maximum before exp in softmax), log(0) (clip probabilities to [1e-7, "
                     "1 - 1e-7]), a division by zero, or weights so large that activations "
                     "overflow (check the initialisation scale).")


def check_zeros(case: Case) -> Diagnosis | None:
    if np.any(case.mine != 0) or not np.any(case.expected != 0):
        return None
    if case.quantity.startswith("grad") or case.layer == "loss":
        fix = ("the gradient never reached this tensor: check that each layer's backward "
               "receives the gradient of the layer after it, and that the ReLU mask is taken "
               "from this layer's forward input (z > 0), not from a zeroed buffer.")
    else:
        fix = ("nothing was written here, or everything upstream is zero: dead ReLUs (all "
               "pre-activations <= 0, often from a huge learning rate or bias), zero-initialised "
               "weights, or a buffer that was never filled.")
    return Diagnosis("all_zeros", "all your values are 0; the reference's are not.", fix)


def _relu_input(case: Case) -> np.ndarray | None:
    entry = case.layer_entry()
    if case.quantity == "grad_pre_activation" and entry.get("activation") == "relu":
        return case.tensor(f"{case.layer}/pre_activation")
    if case.quantity == "grad_input" and (entry.get("class_name") == "ReLU" or (
            entry.get("class_name") == "Activation" and entry.get("activation") == "relu")):
        return case.tensor(str(entry.get("input")))
    return None


def check_relu_backward(case: Case) -> Diagnosis | None:
    z = _relu_input(case)
    if z is None or z.shape != case.mine.shape or np.any(case.differs & (z > 0)):
        return None
    where = case.differs
    values = case.mine[where]
    grad_y = case.tensor(f"{case.layer}/grad_output")
    fix = ("ReLU's derivative is 1 where its input z > 0 and 0 elsewhere, and it multiplies "
           "the upstream gradient: grad_z = grad_y * (z > 0). Nothing else belongs there.")
    if values.size and np.ptp(values) <= 1e-6 * max(1.0, abs(float(values[0]))):
        return Diagnosis("relu_constant_backward",
                         f"differs only where the ReLU's forward input was <= 0 "
                         f"({int(where.sum()):,} entries), and there yours is the constant "
                         f"{float(values[0]):.6g} instead of 0: the ReLU backward returns a "
                         f"constant for negative inputs (the '0.01' bug).", fix)
    if grad_y is not None and grad_y.shape == case.mine.shape:
        slope = fit_factor(grad_y[where], values)
        if np.allclose(values, slope * grad_y[where], rtol=1e-3, atol=1e-12):
            return Diagnosis("relu_leaky_backward",
                             f"differs only where the ReLU's forward input was <= 0, and there "
                             f"yours is {slope:.6g} * grad_output: a leaky slope in a plain "
                             f"ReLU's backward.", fix)
    return Diagnosis("relu_negative_side", "differs only where the ReLU's forward input was "
                     "<= 0: the derivative there must be 0.", fix)


def _layout_letters(case: Case) -> str:
    layout = str(case.ref.manifest["tensors"][case.name].get("layout", ""))
    if len(layout) == case.expected.ndim:
        return layout
    return "".join("ABCDEFGH"[: case.expected.ndim])


def check_layout(case: Case) -> Diagnosis | None:
    ref = case.expected
    if ref.ndim < 2 or ref.ndim > 5:
        return None
    letters = _layout_letters(case)
    flat = case.mine.reshape(-1)
    for perm in itertools.permutations(range(ref.ndim)):
        if perm == tuple(range(ref.ndim)):
            continue
        candidate = ref.transpose(perm)
        if flat.size and case.matches(candidate.reshape(-1)):
            yours_layout = "".join(letters[p] for p in perm)
            names = {"IO": "(in, out)", "OI": "(out, in)"}
            return Diagnosis(
                "layout", f"the right values in another layout: yours is "
                f"{names.get(yours_layout, yours_layout)} (shape {list(candidate.shape)}), the "
                f"trace's is {names.get(letters, letters)} (shape {list(ref.shape)}).",
                f"store (or read) it as {names.get(letters, letters)} in C order: e.g. "
                f"numpy's transpose{tuple(int(i) for i in np.argsort(perm))} of yours. "
                f"A transposed kernel gradient usually comes from x^T @ g written as g^T @ x.")
    return None


def _conv_config(case: Case) -> dict[str, Any] | None:
    model = case.ref.manifest.get("model") or {}
    for entry in model.get("layers", []) if isinstance(model, dict) else []:
        if isinstance(entry, dict) and entry.get("class_name") == "Conv2D" \
                and (entry.get("config") or {}).get("name") == case.layer:
            return entry["config"]
    return None


def check_rotated_kernel(case: Case) -> Diagnosis | None:
    fix = ("Keras (and every deep-learning library) computes cross-correlation: y[i, j] = sum "
           "x[i*s + a, j*s + b] * k[a, b]; do not flip the kernel (that is a mathematical "
           "convolution). If you read an OIHW or flipped kernel, index k[a][b] directly.")
    if case.expected.ndim == 4 and _layout_letters(case) == "HWIO":
        if case.matches(case.expected[::-1, ::-1]):
            return Diagnosis("rotated_kernel", "yours is the trace's kernel rotated by 180 "
                             "degrees (flipped in both height and width).", fix)
        return None
    config = _conv_config(case)
    if config is None or case.quantity not in ("pre_activation", "output"):
        return None
    x = case.tensor(str(case.layer_entry().get("input")))
    kernel, bias = case.tensor(f"{case.layer}/kernel"), case.tensor(f"{case.layer}/bias")
    if x is None or kernel is None or kernel.shape[0] * kernel.shape[1] == 1:
        return None
    from .. import backend
    from ..layers import Conv2D
    with backend.floatx_scope("float64"):
        layer = Conv2D.from_config({k: v for k, v in config.items() if k != "input_shape"})
        layer.build(x.shape[1:])
    layer.set_weights([kernel[::-1, ::-1]] + ([bias] if bias is not None else []))
    z = layer.forward_linear(x)[0]
    if case.quantity == "output":
        z = layer.activation(z)
    if case.matches(z):
        return Diagnosis("flipped_convolution", "yours is what the layer gives with its kernel "
                         "rotated by 180 degrees: you compute a convolution (flipped kernel) "
                         "instead of cross-correlation.", fix)
    return None


def check_shift(case: Case) -> Diagnosis | None:
    ref, mine = case.expected, case.mine
    if ref.ndim != 4:
        return None
    for axis, what in ((1, "row"), (2, "column")):
        if ref.shape[axis] < 3:
            continue
        for shift, direction in ((1, "down" if axis == 1 else "right"),
                                 (-1, "up" if axis == 1 else "left")):
            moved = np.take(mine, range(max(shift, 0), ref.shape[axis] + min(shift, 0)), axis)
            kept = np.take(ref, range(max(-shift, 0), ref.shape[axis] + min(-shift, 0)), axis)
            from .compare import Tolerance
            if not Tolerance(rtol=1e-3, atol=1e-4 * float(np.abs(ref).max())).differs(
                    kept, moved).any():
                return Diagnosis(
                    "shifted", f"yours is the reference shifted by one {what} ({direction}).",
                    "check the padding: Keras 'same' padding puts floor(total/2) rows/columns "
                    "at the top/left and the rest (the extra one) at the bottom/right; and "
                    "check for an off-by-one in the window's start index (i * stride - top).")
    return None


def check_sign(case: Case) -> Diagnosis | None:
    if case.matches(-case.expected):
        return Diagnosis("sign_flip", "yours is exactly the reference with the sign flipped.",
                         "a gradient of (y - p) instead of (p - y), or an update w += lr * g "
                         "instead of w -= lr * g.")
    return None


def check_factor(case: Case) -> Diagnosis | None:
    factor = fit_factor(case.expected, case.mine)
    if not np.isfinite(factor) or abs(factor - 1) < 1e-3 or abs(factor) < 1e-12 \
            or not case.matches(factor * case.expected):
        return None
    n = case.batch_size()
    classes = case.tensor("loss/grad")
    k = int(classes.shape[-1]) if classes is not None and classes.ndim else 1
    known = [(n, f"the batch size ({n}): you summed over the batch instead of averaging",
              "divide by the batch size once, in the loss gradient (d loss / d output); "
              "layers never divide again."),
             (1 / n, f"1 / batch size (1/{n}): you divided by the batch size twice",
              "divide only in the loss gradient, not again in the layers or the update."),
             (k, f"the number of outputs ({k}): mean squared error is also averaged over the "
              "last axis", "MSE's gradient is 2 * (p - y) / (N * outputs)."),
             (n * k, f"batch size x outputs ({n} x {k}): no averaging at all",
              "MSE's gradient is 2 * (p - y) / (N * outputs)."),
             (2, "2: the factor of the squared error's derivative counted twice or wrongly",
              "d/dp (p - y)^2 = 2 (p - y); check where the 2 goes."),
             (0.5, "1/2: the 2 of the squared error's derivative is missing",
              "d/dp (p - y)^2 = 2 (p - y).")]
    for value, why, fix in known:
        if value != 1 and abs(factor / value - 1) < 1e-3:
            return Diagnosis("scale_batch" if value == n else "scale_constant",
                             f"yours is the reference times {factor:.6g} = {why}.", fix)
    return Diagnosis("scale_constant", f"yours is the reference times a constant {factor:.6g}.",
                     "look for a missing or extra scale factor: a learning rate, a mean "
                     "(1/N), a dropout 1/(1 - rate), or the 2 of a squared error.")


def check_exploding(case: Case) -> Diagnosis | None:
    mine, ref = case.mine, case.expected
    rms_ref = float(np.sqrt(np.mean(ref * ref)))
    rms_mine = float(np.sqrt(np.mean(mine * mine)))
    if rms_ref == 0 or rms_mine < 10 * rms_ref:
        return None
    hint = _weight_hint(case)
    return Diagnosis("exploding_scale", f"yours is {rms_mine / rms_ref:.3g} times larger than "
                     f"the reference (rms {rms_mine:.4g} vs {rms_ref:.4g}).",
                     "first load the trace's initial weights instead of your own; if you "
                     "initialise them yourself, use Keras's glorot_uniform: uniform in "
                     "+-sqrt(6 / (fan_in + fan_out))" + hint + ". Weights in [-1, 1] or N(0, 1) "
                     "give first-pass outputs of 50-1000.")


def _weight_hint(case: Case) -> str:
    kernel = case.tensor(f"{case.layer}/kernel")
    if kernel is None or kernel.ndim < 2:
        return ""
    receptive = int(np.prod(kernel.shape[:-2])) if kernel.ndim > 2 else 1
    fan_in, fan_out = receptive * kernel.shape[-2], receptive * kernel.shape[-1]
    limit = float(np.sqrt(6 / (fan_in + fan_out)))
    return (f" ({case.layer}: fan_in {fan_in}, fan_out {fan_out}, limit {limit:.4g}; the trace's "
            f"kernel has std {float(kernel.std()):.4g})")


def check_initial_weights(case: Case) -> Diagnosis | None:
    entry = case.ref.manifest["tensors"][case.name]
    if "initial value" not in str(entry.get("meaning", "")):
        return None
    return Diagnosis("different_initial_weights",
                     f"your initial {case.quantity} differs from the trace's (std "
                     f"{float(case.mine.std()):.4g} vs {float(case.expected.std()):.4g})"
                     + _weight_hint(case).replace(" (", "; ").rstrip(")") + ".",
                     f"read the trace's initial weights ({entry.get('file')}) so that every "
                     f"later tensor is comparable.")


def generic(case: Case) -> Diagnosis:
    mine, ref, where = case.mine, case.expected, case.differs
    error = np.abs(mine - ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = float(np.corrcoef(ref.reshape(-1), mine.reshape(-1))[0, 1]) \
            if ref.size > 1 else float("nan")
        ratio = float(np.linalg.norm(mine) / np.linalg.norm(ref))
    return Diagnosis("mismatch", f"no known pattern. {100 * where.mean():.3g}% of entries "
                     f"differ; max |error| {float(error.max()):.4g}; ||yours|| / ||ref|| "
                     f"{ratio:.4g}; correlation {corr:.4g}; mean/std yours {float(mine.mean()):.4g}"
                     f"/{float(mine.std()):.4g}, reference {float(ref.mean()):.4g}/"
                     f"{float(ref.std()):.4g}.",
                     "the tensors before this one match, so the bug is in the computation of "
                     "this one from them; compare a few entries by hand with the formulas in "
                     "docs/implement-it-yourself.md.")


CHECKS: list[Callable[[Case], Diagnosis | None]] = [
    check_nonfinite, check_zeros, check_relu_backward, check_layout, check_initial_weights,
    check_rotated_kernel, check_sign, check_softmax_axis, check_loss_mixup, check_factor,
    check_shift, check_exploding]


def diagnose(ref: Any, name: str, expected: np.ndarray, mine: np.ndarray, differs: np.ndarray,
             own_shape: tuple[int, ...], tolerance: Any) -> Diagnosis:
    from .compare import split_name
    step, layer, quantity = split_name(name)
    case = Case(ref, name, step, layer, quantity, expected, mine, differs, own_shape, tolerance)
    finite = np.isfinite(mine).all()
    for check in CHECKS:
        if not finite and check is not check_nonfinite:
            break
        try:
            found = check(case)
        except Exception:   # a pattern check must never turn a report into a traceback
            found = None
        if found is not None:
            return found
    return generic(case) if finite else Diagnosis(
        "nan_inf", "yours holds NaN or Inf.", "find the first operation that makes them.")
