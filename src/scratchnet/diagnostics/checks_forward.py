"""Checks on one forward pass (a :class:`~.probes.Trace`) about scale: ``nonfinite``,
``exploding_activations``, ``initial_loss``; and whether a model counts as trained.

Init-time rules (the gain of a layer, huge logits, the initial loss) judge the initialiser;
they do not apply to a *trained* model (:func:`is_trained`), whose large logits are
confidence, not a bad init. Dead, saturated and identical units: :mod:`.checks_units`;
gradient flow: :mod:`.checks_gradient_flow`. Thresholds: :mod:`scratchnet.diagnostics.thresholds`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..initializers import compute_fans
from .probes import Trace, rms
from .report import Finding
from .thresholds import (
    ACTIVATION_RMS_MIN,
    GAIN_MAX,
    INITIAL_LOSS_FACTOR,
    INPUT_RMS_MAX,
    LOGIT_RMS_MAX,
    TRAINED_ACTIVATION_RMS_MAX,
    TRAINED_LOSS_FRACTION,
)

Array = np.ndarray


def _finite(a: Array | None) -> bool:
    return a is None or bool(np.all(np.isfinite(a)))


def check_nonfinite(model: Any, tr: Trace) -> list[Finding]:
    """NaN/Inf in weights, then the first layer whose forward output, then the first layer (from
    the output back) whose backward, turns finite values into non-finite ones."""
    found = []
    for layer in model.layers:
        bad = [k for k, v in layer.params.items() if not _finite(v)]
        if bad:
            found.append(Finding("nonfinite", "error", layer.name, {"where": "weights",
                                 "tensors": bad}, "The weights contain NaN or Inf (a diverged "
                                 "update, or a bad initializer / set_weights).",
                                 "Re-initialise the model; lower the learning rate; check "
                                 "set_weights inputs."))
    for rec in tr.layers:
        if _finite(rec.x) and not _finite(rec.y):
            found.append(Finding("nonfinite", "error", rec.name,
                                 {"where": "forward", "nonfinite_outputs": int(
                                     (~np.isfinite(rec.y)).sum()), "input_max_abs": float(
                                     np.abs(rec.x).max())},
                                 "This layer's forward produces NaN/Inf from finite inputs "
                                 "(overflow in exp, log of <= 0, division by 0).",
                                 "Make the computation stable (subtract the max before exp, "
                                 "clip before log) or lower the activation scale."))
            break
    if _finite(tr.output) and not math.isfinite(tr.loss):
        found.append(Finding("nonfinite", "error", "loss", {"where": "loss", "loss": tr.loss},
                             "The loss is NaN/Inf for finite outputs (log(0)?).",
                             "Use a clipped or from_logits cross-entropy."))
    for rec in reversed(tr.layers):
        if _finite(rec.grad_y) and _finite(rec.x) and not (_finite(rec.grad_x) and all(
                _finite(g) for g in rec.grads.values())):
            found.append(Finding("nonfinite", "error", rec.name, {"where": "backward"},
                                 "This layer's backward produces NaN/Inf from a finite gradient.",
                                 "Check its backward for divisions by ~0 and overflow."))
            break
    return found


def _suggested_std(kernel: Array, relu_like: bool) -> tuple[str, float]:
    fan_in, fan_out = compute_fans(kernel.shape)
    if relu_like:
        return "he_normal", math.sqrt(2.0 / fan_in)
    return "glorot_uniform", math.sqrt(2.0 / (fan_in + fan_out))


def chance_loss(model: Any, tr: Trace, y: Array) -> float | None:
    """The loss of a uniform prediction (ln C for C-class cross-entropy), if defined."""
    uniform = _uniform_prediction(model, tr)
    if uniform is None:
        return None
    value = float(model.loss.forward(y, uniform.astype(tr.output.dtype))[0])
    return value if value > 0 and math.isfinite(value) else None


def is_trained(model: Any, tr: Trace, chance: float | None) -> bool:
    """The optimizer has stepped, or the loss is far below chance: these weights were learned."""
    if getattr(model.optimizer, "iterations", 0) > 0:
        return True
    return chance is not None and math.isfinite(tr.loss) and \
        tr.loss < TRAINED_LOSS_FRACTION * chance


def _trained_scale(tr: Trace) -> list[Finding]:
    """On learned weights only extreme activations are reported, without blaming the init."""
    found = []
    for rec in tr.layers:
        if "kernel" not in rec.layer.params:
            continue
        pre = rec.z if rec.z is not None else rec.y
        pre_rms = rms(pre)
        if pre_rms > TRAINED_ACTIVATION_RMS_MAX:
            found.append(Finding(
                "exploding_activations", "warning", rec.name,
                {"pre_activation_rms": pre_rms, "trained": True,
                 "threshold": TRAINED_ACTIVATION_RMS_MAX},
                f"In this trained model {rec.name}'s pre-activations reach RMS {pre_rms:.3g}: "
                "the weights grew during training.",
                "Lower the learning rate or add weight decay / gradient clipping; re-check from "
                "a fresh initialisation."))
    return found


def check_activation_scale(tr: Trace, trained: bool) -> list[Finding]:
    if trained:
        return _trained_scale(tr)
    found = []
    for rec in tr.layers:
        kernel = rec.layer.params.get("kernel")
        if kernel is None:
            continue
        pre = rec.z if rec.z is not None else rec.y
        bias = rec.layer.params.get("bias")
        # The gain of the weights alone: a bias shifts activations but does not scale them.
        weighted = pre - bias if bias is not None and bias.shape == pre.shape[-1:] else pre
        x_rms, pre_rms = rms(rec.x), rms(pre)
        gain = rms(weighted) / max(x_rms, 1e-12)
        if gain > GAIN_MAX and pre_rms > ACTIVATION_RMS_MIN:
            relu_like = bool(rec.activation and "relu" in rec.activation)
            init, std = _suggested_std(kernel, relu_like)
            found.append(Finding(
                "exploding_activations", "error" if pre_rms > LOGIT_RMS_MAX else "warning",
                rec.name, {"gain": gain, "input_rms": x_rms, "pre_activation_rms": pre_rms,
                           "pre_activation_max_abs": float(np.abs(pre).max()),
                           "kernel_std": float(kernel.std()), f"{init}_std": std,
                           "threshold_gain": GAIN_MAX},
                f"The weights are too large for their fan-in: kernel std "
                f"{kernel.std():.3g} vs {std:.3g} for a variance-preserving init, so this layer "
                f"multiplies the activation scale by {gain:.1f} (outputs grow layer after layer).",
                f"Initialise with kernel_initializer='{init}'"
                + (" (or 'glorot_uniform', the Keras default)" if init != "glorot_uniform"
                   else " (the Keras default)") + "; never draw weights with std 1."))
    last = tr.layers[-1]
    # With unscaled inputs huge logits are expected: unnormalized_input says so.
    flagged = any(f.layer == last.name for f in found)
    if last.z is not None and rms(tr.layers[0].x) <= INPUT_RMS_MAX and not flagged:
        z_rms = rms(last.z)
        if z_rms > LOGIT_RMS_MAX and last.activation in ("softmax", "sigmoid"):
            found.append(Finding(
                "exploding_activations", "warning", last.name,
                {"logit_rms": z_rms, "threshold": LOGIT_RMS_MAX},
                "The logits are huge at initialisation, so the output starts saturated.",
                "Use a variance-preserving initializer (glorot_uniform / he_normal) and "
                "normalised inputs."))
    return found


def _uniform_prediction(model: Any, tr: Trace) -> Array | None:
    activation = model.final_activation
    shape = tr.output.shape
    if activation is not None and activation.name == "softmax":
        return np.full(shape, 1.0 / shape[-1])
    if activation is not None and activation.name == "sigmoid":
        return np.full(shape, 0.5)
    if model.loss.from_logits:
        return np.zeros(shape)
    return None


def check_initial_loss(tr: Trace, expected: float | None) -> list[Finding]:
    if expected is None or not math.isfinite(tr.loss):
        return []
    ratio = tr.loss / expected
    if 1 / INITIAL_LOSS_FACTOR <= ratio <= INITIAL_LOSS_FACTOR:
        return []
    return [Finding(
        "initial_loss", "error" if ratio > 2 * INITIAL_LOSS_FACTOR else "warning", "loss",
        {"initial_loss": tr.loss, "expected": expected, "ratio": ratio,
         "classes": int(tr.output.shape[-1]), "threshold_factor": INITIAL_LOSS_FACTOR},
        "At initialisation the network should be unsure (uniform outputs give "
        f"{expected:.4g}); a loss {ratio:.1f}x that means confident wrong outputs from the start "
        "(too large weights or unscaled inputs)." if ratio > 1 else
        "The loss at initialisation is far below chance level: labels may leak into the "
        "inputs or the loss is computed on the wrong quantity.",
        "Use glorot_uniform/he_normal weights, zero biases and normalised inputs; the final "
        "layer's bias can be set to the log class frequencies."
        )]
