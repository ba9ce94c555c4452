"""Diagnoses of the softmax and the loss: a softmax over the wrong axis or unnormalised, and a
loss gradient that belongs to another loss (softmax + MSE with the cross-entropy shortcut, ...).
"""
from __future__ import annotations

import numpy as np

from .diagnosis_case import Case, Diagnosis, fit_factor, proportional


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_vjp(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


def _softmax_logits(case: Case) -> np.ndarray | None:
    entry = case.layer_entry()
    if case.quantity == "output" and entry.get("activation") == "softmax":
        return case.tensor(f"{case.layer}/pre_activation")
    if case.quantity == "output" and entry.get("class_name") == "Softmax":
        return case.tensor(str(entry.get("input")))
    return None


def check_softmax_axis(case: Case) -> Diagnosis | None:
    z = _softmax_logits(case)
    if z is None or z.ndim < 2:
        return None
    for axis in range(z.ndim - 1):
        if case.matches(_softmax(z, axis)):
            return Diagnosis("softmax_axis", f"yours is a softmax over axis {axis} (the "
                             f"batch axis for 2-D) instead of the last axis.",
                             "normalise each sample over its classes: p[n, i] = exp(z[n, i] - "
                             "max_j z[n, j]) / sum_j exp(z[n, j] - max_j z[n, j]).")
    if case.matches(np.exp(z)):
        return Diagnosis("softmax_unnormalised", "yours is exp(z): the softmax is not divided "
                         "by its sum.", "divide by sum_j exp(z[n, j]) of each sample.")
    return None


def _loss_context(case: Case) -> tuple[str, np.ndarray, np.ndarray] | None:
    loss = str((case.ref.manifest.get("loss") or {}).get("name", ""))
    y = case.tensor("input/y")
    grad = case.tensor("loss/grad")
    layers = case.ref.manifest.get("layers") or []
    if y is None or grad is None or not layers:
        return None
    p = case.tensor(str(layers[-1].get("output")))
    if p is None or p.shape != grad.shape:
        return None
    if y.shape != p.shape:                        # sparse labels -> one-hot
        labels = y.reshape(-1).astype(int)
        if labels.size != p.shape[0] or labels.min() < 0 or labels.max() >= p.shape[-1]:
            return None
        y = np.eye(p.shape[-1])[labels]
    return loss, p, y


def check_loss_mixup(case: Case) -> Diagnosis | None:
    context = _loss_context(case)
    if context is None:
        return None
    loss, p, y = context
    n, k = p.shape[0], p.shape[-1]
    last = (case.ref.manifest.get("layers") or [{}])[-1]
    at_logits = (case.layer == last.get("name") and last.get("activation") == "softmax"
                 and case.quantity == "grad_pre_activation")
    at_output = case.name.endswith("loss/grad") or (case.layer == last.get("name")
                                                    and case.quantity == "grad_output")
    if not (at_logits or at_output):
        return None
    shortcut = (p - y) / n
    mse = 2 * (p - y) / (n * k)
    with np.errstate(divide="ignore", invalid="ignore"):
        naive_ce = -y / np.clip(p, 1e-7, 1) / n
    ce = naive_ce + y.sum(-1, keepdims=True) / n      # through Keras's renormalisation
    mse_fix = ("with mean squared error, d loss / d p = 2 (p - y) / (N * outputs), and the "
               "gradient w.r.t. the logits goes through the softmax Jacobian: g_z = p * (g - "
               "sum(g * p)). The shortcut p - y is exact only for softmax + cross-entropy.")
    ce_fix = ("with Keras's cross-entropy, d loss / d p = (-y / p + sum(y)) / N where p is "
              "inside the clip [1e-7, 1 - 1e-7] (the sum(y) term comes from renormalising p), "
              "or, fused with the softmax, d loss / d z = (p - y) / N.")
    if "squared" in loss:
        candidates = [(shortcut, "ce_shortcut_with_mse", "the softmax + cross-entropy shortcut "
                       "(p - y) / N, but the loss is mean squared error"),
                      (ce if at_output else _softmax_vjp(p, ce), "ce_gradient_with_mse",
                       "the cross-entropy gradient, but the loss is mean squared error")]
        if at_logits:
            candidates.append((mse, "softmax_jacobian_skipped", "MSE's gradient passed to the "
                               "logits without the softmax Jacobian"))
        fix = mse_fix
    elif "crossentropy" in loss:
        candidates = [(mse if at_output else _softmax_vjp(p, mse), "mse_gradient_with_ce",
                       "the mean-squared-error gradient, but the loss is cross-entropy")]
        if at_output:
            candidates.append((naive_ce, "ce_without_renormalisation", "-y / (N p): "
                               "cross-entropy without Keras's renormalisation p / sum(p), "
                               "which adds sum(y) / N = 1/N to every entry (the same gradient "
                               "after a softmax, so only this tensor differs)"))
            candidates.append((shortcut, "logit_gradient_as_output_gradient",
                               "(p - y) / N, the gradient w.r.t. the logits, saved as the "
                               "gradient w.r.t. the softmax output"))
        fix = ce_fix
    else:
        return None
    for candidate, code, what in candidates:
        if case.matches(candidate):
            return Diagnosis(code, f"yours is {what}.", fix)
    for candidate, code, what in candidates:
        # Up to a constant only where that cannot be the right gradient mis-scaled.
        factor = fit_factor(candidate, case.mine)
        if np.isfinite(factor) and not proportional(candidate, case.expected) \
                and case.matches(factor * candidate):
            return Diagnosis(code, f"yours is {what} (times {factor:.6g}).", fix)
    return None
