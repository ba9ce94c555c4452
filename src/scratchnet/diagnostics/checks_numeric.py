"""Numerical checks of the backward code: ``gradient_mismatch`` (layers, their activations and
the loss, by :func:`scratchnet.gradcheck` on a few probe samples), ``batch_dependence`` (a layer
treats a sample differently alone than inside a batch) and ``loss_not_averaged`` (the loss or its
gradient is a sum over the batch, not a mean).

Thresholds (see :mod:`scratchnet.diagnostics.thresholds`): MISMATCH_WARN / MISMATCH_ERROR,
BATCH_TOLERANCE, AVERAGE_TOLERANCE.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import floatx_scope
from ..layers import ActivatedLayer
from ..layers.activation import Activation as ActivationLayer
from .gradcheck import GradcheckResult, _float64_params, gradcheck
from .probes import Trace
from .report import Finding
from .thresholds import AVERAGE_TOLERANCE, BATCH_TOLERANCE, MISMATCH_ERROR, MISMATCH_WARN

Array = np.ndarray
_GRADCHECK_SAMPLES = 2
_GRADCHECK_ENTRIES = 16
_BATCH_SAMPLES = 4
_LOSS_SAMPLES = 8


def _evidence(result: GradcheckResult) -> dict[str, Any]:
    bad = [c for c in result.checks if c.checked and not c.relative_error <= MISMATCH_WARN]
    worst = max(bad, key=lambda c: np.nan_to_num(c.relative_error, nan=np.inf))
    index, analytic, numeric = worst.worst[0] if worst.worst else ((), 0.0, 0.0)
    return {"relative_error": {c.name: c.relative_error for c in result.checks if c.checked},
            "worst_tensor": worst.name, "worst_entry": list(index),
            "analytic": analytic, "numeric": numeric, "threshold": MISMATCH_WARN}


def _confirmed(target: Any, x: Array, seed: int) -> tuple[GradcheckResult | None,
                                                          GradcheckResult]:
    """A failing gradcheck, repeated with another seed (other entries, other projection): a
    wrong backward fails both; a single unlucky entry at an undetected kink (a ReLU input that
    is exactly 0) does not. Returns (the milder of the two failing results or None, the first
    result)."""
    results = []
    for attempt in (seed, seed + 1):
        with np.errstate(all="ignore"):
            result = gradcheck(target, x, max_entries=_GRADCHECK_ENTRIES, seed=attempt)
        if result.max_error <= MISMATCH_WARN:
            return None, results[0] if results else result
        results.append(result)
    return min(results, key=lambda r: np.nan_to_num(r.max_error, nan=np.inf)), results[0]


def _unreliable(name: str, result: GradcheckResult, x: Array) -> Finding:
    checks = result.unreliable
    return Finding(
        "gradcheck_unreliable", "info", name,
        {"tensors": [c.name for c in checks], "noise": [c.noise for c in checks],
         "input_max_abs": float(np.abs(x).max()) if x.size else 0.0},
        f"The finite-difference check of {', '.join(c.name for c in checks)} is lost in the "
        "float64 rounding noise of the values (inputs up to "
        f"{float(np.abs(x).max()) if x.size else 0.0:.2g}): no verdict on this backward.",
        "Nothing to fix in the layer for this; bring the activations to a normal scale (see "
        "the other findings) and check again.")


def _severity(error: float) -> str:
    return "error" if error > MISMATCH_ERROR else "warning"


def check_gradients(model: Any, tr: Trace, y: Array, seed: int = 0) -> list[Finding]:
    found = []
    for rec in tr.layers:
        x = np.asarray(rec.x[:_GRADCHECK_SAMPLES], dtype=np.float64)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(rec.y))):
            continue  # nonfinite reports it; differences of NaN say nothing
        result, first = _confirmed(rec.layer, x, seed)
        if result is None:
            if first.unreliable:
                found.append(_unreliable(rec.name, first, x))
            continue
        evidence, culprit = _evidence(result), f"layer {type(rec.layer).__name__}"
        if isinstance(rec.layer, (ActivatedLayer, ActivationLayer)):
            pre = rec.z if rec.z is not None else rec.x
            act = gradcheck(rec.layer.activation, np.asarray(pre[:_GRADCHECK_SAMPLES],
                                                             dtype=np.float64),
                            max_entries=4 * _GRADCHECK_ENTRIES, seed=seed)
            evidence["activation_relative_error"] = act.max_error
            if act.max_error > MISMATCH_WARN:
                culprit = f"activation {rec.layer.activation.name!r}"
                evidence["activation_worst"] = (act.checks[0].worst[0] if act.checks[0].worst
                                                else None)
        found.append(Finding(
            "gradient_mismatch", _severity(result.max_error), rec.name, evidence,
            f"The backward of {culprit} disagrees with central differences of its forward "
            f"(relative error {result.max_error:.2e}): training follows a wrong gradient.",
            "Fix the backward: a derivative must multiply the upstream gradient (ReLU: "
            "grad_y * (x > 0), never a constant on its own). Check with "
            "scratchnet.gradcheck(layer_or_activation, x)."))
    found.extend(_check_loss_gradient(model, tr, y, seed))
    return found


def _check_loss_gradient(model: Any, tr: Trace, y: Array, seed: int) -> list[Finding]:
    pred = np.asarray(tr.output[:_LOSS_SAMPLES], dtype=np.float64)
    if not np.all(np.isfinite(pred)):
        return []
    result = gradcheck(model.loss, pred, np.asarray(y[:_LOSS_SAMPLES]), seed=seed,
                       max_entries=4 * _GRADCHECK_ENTRIES)
    if result.max_error <= MISMATCH_WARN:
        return []
    evidence = _evidence(result)
    if evidence["numeric"]:
        evidence["analytic_over_numeric"] = evidence["analytic"] / evidence["numeric"]
    evidence["samples"] = int(len(pred))
    return [Finding(
        "gradient_mismatch", _severity(result.max_error), "loss", evidence,
        f"The backward of the loss {type(model.loss).__name__} disagrees with central "
        f"differences of its value (relative error {result.max_error:.2e}"
        + (f"; analytic/numeric = {evidence['analytic_over_numeric']:.3g}, with "
           f"{len(pred)} samples" if "analytic_over_numeric" in evidence else "") + ").",
        "Make backward() the exact derivative of forward(): if the value is a mean over the "
        "batch, the gradient must be divided by the batch size too.")]


def check_loss_average(model: Any, tr: Trace, y: Array) -> list[Finding]:
    """Duplicate the batch: a mean loss keeps its value and halves each sample's gradient."""
    n = min(_LOSS_SAMPLES, len(tr.output))
    pred, target = tr.output[:n], np.asarray(y[:n])
    if not np.all(np.isfinite(pred)):
        return []
    loss = model.loss
    value, backward = loss.forward(target, pred)
    grad = backward()
    value2, backward2 = loss.forward(np.concatenate([target, target]),
                                     np.concatenate([pred, pred]))
    grad2 = backward2()[:n]
    g1, g2 = float(np.linalg.norm(grad)), float(np.linalg.norm(grad2))
    if g1 == 0 or value == 0:
        return []
    value_ratio, grad_ratio = value2 / value, g2 / g1
    evidence = {"batch_size": n, "value_ratio_doubled_batch": value_ratio,
                "gradient_ratio_doubled_batch": grad_ratio, "expected": [1.0, 0.5]}
    summed_value = abs(value_ratio - 1) > AVERAGE_TOLERANCE
    summed_grad = abs(grad_ratio - 0.5) > AVERAGE_TOLERANCE * 0.5
    if not (summed_value or summed_grad):
        return []
    what = ("its value and its gradient are" if summed_value and summed_grad else
            "its value is" if summed_value else "its gradient is")
    return [Finding(
        "loss_not_averaged", "error", "loss", evidence,
        f"Doubling the batch (same samples twice) should leave a mean loss unchanged and halve "
        f"each sample's gradient; here {what} a sum over the batch, so the step size grows with "
        "the batch size (and a sum value with a mean gradient, or the reverse, is inconsistent).",
        "Average over the batch: value = per_sample.mean(), gradient = d(per_sample)/N, with N "
        "the batch size, divided exactly once (layers never divide by N).")]


def _rel(a: Array, b: Array) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


def check_batch_dependence(tr: Trace, seed: int = 0) -> list[Finding]:
    """Each layer, in inference mode: sample i alone vs inside a batch of a few samples, in
    float64 (float32 rounding, amplified by a saturated softmax, is not batch dependence)."""
    found = []
    rng = np.random.default_rng(seed)
    for rec in tr.layers:
        layer, k = rec.layer, min(_BATCH_SAMPLES, len(rec.x))
        xb = np.asarray(rec.x[:k], dtype=np.float64)
        if k < 2 or not np.all(np.isfinite(xb)):
            continue
        with np.errstate(all="ignore"), floatx_scope("float64"), _float64_params([layer]):
            yb, back = layer.forward(xb, False)
            upstream = rng.standard_normal(yb.shape).astype(yb.dtype)
            gxb = back(upstream)
            grads_batch = {key: v.copy() for key, v in layer.grads.items()}
            summed = {key: np.zeros_like(v) for key, v in grads_batch.items()}
            out_diff = grad_diff = 0.0
            for i in range(k):
                yi, back_i = layer.forward(xb[i:i + 1], False)
                gxi = back_i(upstream[i:i + 1])
                out_diff = max(out_diff, _rel(yi[0], yb[i]))
                grad_diff = max(grad_diff, _rel(gxi[0], gxb[i]))
                for key in summed:
                    summed[key] += layer.grads[key]
        param_diff = max((_rel(summed[key], grads_batch[key]) for key in summed), default=0.0)
        if max(out_diff, grad_diff, param_diff) <= BATCH_TOLERANCE:
            continue
        evidence = {"samples": k, "output_difference": out_diff,
                    "input_gradient_difference": grad_diff,
                    "parameter_gradient_difference": param_diff, "threshold": BATCH_TOLERANCE}
        scale = [float(np.linalg.norm(grads_batch[key]) / max(np.linalg.norm(summed[key]),
                                                              1e-30)) for key in summed]
        divides = any(abs(s * k - 1) < 0.05 for s in scale)
        if divides:
            evidence["batch_over_sum_of_samples"] = scale
        found.append(Finding(
            "batch_dependence", "error", rec.name, evidence,
            "This layer divides its parameter gradients by the batch size: the loss already "
            "averages, so the gradient is divided twice." if divides else
            "A sample's output or gradient from this layer depends on the other samples in the "
            "batch (it mixes across the batch axis, e.g. statistics over axis 0).",
            "Compute each sample independently (reduce over feature axes, never axis 0), and "
            "leave the division by the batch size to the loss."))
    return found
