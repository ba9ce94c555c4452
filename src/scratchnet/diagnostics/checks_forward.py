"""Checks on one forward/backward pass (a :class:`~.probes.Trace`): ``nonfinite``,
``exploding_activations``, ``dead_relu``, ``saturation``, ``initial_loss``,
``vanishing_gradients``, ``exploding_gradients``, ``symmetric_weights``.

Init-time rules (the gain of a layer, huge logits, the initial loss, a saturated output) judge
the initialiser; they do not apply to a *trained* model (:func:`is_trained`), whose large
logits are confidence, not a bad init. Thresholds: :mod:`scratchnet.diagnostics.thresholds`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..initializers import compute_fans
from .probes import LayerTrace, Trace, rms
from .report import Finding
from .thresholds import (
    ACTIVATION_RMS_MIN,
    DEAD_ERROR,
    DEAD_WARN,
    EXPLODING_RATIO,
    EXPLODING_RELATIVE,
    GAIN_MAX,
    INITIAL_LOSS_FACTOR,
    INPUT_RMS_MAX,
    LOGIT_RMS_MAX,
    SATURATION_LIMIT,
    SATURATION_SHARE,
    SYMMETRY_TOLERANCE,
    TRAINED_ACTIVATION_RMS_MAX,
    TRAINED_LOSS_FRACTION,
    VANISHING_RATIO,
    VANISHING_RELATIVE_MIN,
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


def _units(a: Array) -> Array:
    return a.reshape(-1, a.shape[-1]) if a.ndim > 1 else a.reshape(-1, 1)


def check_dead_relu(tr: Trace) -> list[Finding]:
    found = []
    for rec in tr.layers:
        name = rec.activation or ""
        if "relu" not in name or "leaky" in name or not _finite(rec.y):
            continue
        alive = (_units(rec.y) > 0).any(axis=0)
        share = 1.0 - float(alive.mean())
        if share > DEAD_WARN:
            found.append(Finding(
                "dead_relu", "error" if share > DEAD_ERROR else "warning", rec.name,
                {"dead_units": int((~alive).sum()), "units": int(alive.size),
                 "dead_share": share, "samples": int(rec.y.shape[0]),
                 "threshold": DEAD_WARN},
                "Most ReLU units output 0 for every sample, so no gradient flows through them "
                "(a large negative bias, too large weights or a too high learning rate pushed "
                "their pre-activations below 0).",
                "Use he_normal/glorot_uniform weights with zero biases, a lower learning rate, "
                "or LeakyReLU."))
    return found


def _saturated_share(name: str, y: Array) -> float | None:
    if "sigmoid" in name:
        return float(((y < SATURATION_LIMIT) | (y > 1 - SATURATION_LIMIT)).mean())
    if "tanh" in name:
        return float((np.abs(y) > 1 - SATURATION_LIMIT).mean())
    if "softmax" in name and y.ndim >= 2 and y.shape[-1] > 1:
        return float((y.max(axis=-1) > 1 - SATURATION_LIMIT).mean())
    return None


def check_saturation(tr: Trace, trained: bool) -> list[Finding]:
    found = []
    for index, rec in enumerate(tr.layers):
        if rec.activation is None or (index == len(tr.layers) - 1 and trained):
            continue
        share = _saturated_share(rec.activation, rec.y)
        if share is not None and share > SATURATION_SHARE:
            found.append(Finding(
                "saturation", "warning", rec.name,
                {"activation": rec.activation, "saturated_share": share,
                 "pre_activation_rms": rms(rec.pre), "threshold": SATURATION_SHARE},
                f"{rec.activation} outputs are pinned at their limits, where the derivative is "
                f"~0: gradients through this layer vanish.",
                "Shrink the pre-activations: normalised inputs, glorot_uniform weights, lower "
                "learning rate; prefer ReLU in hidden layers."))
    return found


def _uniform_prediction(model: Any, tr: Trace) -> Array | None:
    activation = model._final_activation()[0]
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


def _relative_gradients(tr: Trace) -> list[tuple[LayerTrace, float, float]]:
    out = []
    for rec in tr.layers:
        kernel, grad = rec.layer.params.get("kernel"), rec.grads.get("kernel")
        if kernel is None or grad is None or not _finite(grad):
            continue
        g, w = float(np.linalg.norm(grad)), float(np.linalg.norm(kernel))
        out.append((rec, g / max(w, 1e-12), g))
    return out


def check_gradient_flow(tr: Trace, chance: float | None = None) -> list[Finding]:
    """``chance``: the chance-level loss; gradients that vanish *everywhere* are only a fault
    while the loss is still far from 0 (a model that fits its batch has small gradients)."""
    with np.errstate(all="ignore"):
        rel = _relative_gradients(tr)
    if not rel:
        return []
    largest = max(r for _, r, _ in rel)
    unlearned = chance is not None and tr.loss > 0.5 * chance
    if largest < VANISHING_RELATIVE_MIN and unlearned:
        return [Finding(
            "vanishing_gradients", "warning", rel[0][0].name,
            {"relative_gradient_per_layer": {rec.name: r for rec, r, _ in rel},
             "largest_relative_gradient": largest, "loss": tr.loss, "chance_loss": chance,
             "threshold": VANISHING_RELATIVE_MIN},
            f"Every layer's gradient is tiny relative to its weights (at most {largest:.1e}; "
            "healthy: ~1e-3..1e-1) while the loss is still near chance: the signal has died "
            "out in the forward and backward passes (weights far too small for this depth, "
            "saturated or zero activations).",
            "Initialise with glorot_uniform / he_normal (not tiny weights), use ReLU in deep "
            "stacks, fewer layers or residual connections. Raising the learning rate does not "
            "help: the gradient carries no signal.")]
    if len(rel) < 2 or any(not np.any(rec.layer.params["kernel"]) for rec, _, _ in rel[1:]):
        return []  # a zero kernel downstream blocks the gradient for one step only
    (first, r_first, _), (last, r_last, _) = rel[0], rel[-1]
    evidence = {"relative_gradient_per_layer": {rec.name: r for rec, r, _ in rel},
                "first_over_last": r_first / max(r_last, 1e-30)}
    ratio = evidence["first_over_last"]
    if r_last > 0 and ratio < VANISHING_RATIO:
        return [Finding(
            "vanishing_gradients", "warning", first.name, {**evidence,
                                                           "threshold": VANISHING_RATIO},
            f"The gradient shrinks on its way back: relative to its weights, {first.name} gets "
            f"{ratio:.1e} of the gradient of {last.name}, so the early layers barely learn "
            "(saturating sigmoid/tanh, too small weights, a backward that drops gradient).",
            "Use ReLU in hidden layers with he_normal/glorot_uniform weights; fewer layers or "
            "residual connections; check custom backward code with scratchnet.gradcheck.")]
    worst = max(rel, key=lambda t: t[1])
    if ratio > EXPLODING_RATIO or worst[1] > EXPLODING_RELATIVE:
        layer = first if ratio > EXPLODING_RATIO else worst[0]
        return [Finding(
            "exploding_gradients", "error", layer.name,
            {**evidence, "threshold_ratio": EXPLODING_RATIO,
             "threshold_relative": EXPLODING_RELATIVE},
            "The gradient grows on its way back (or dwarfs the weights): one update would "
            "change the weights by many times their size (too large weights, a backward that "
            "adds gradient instead of multiplying it, a loss summed instead of averaged).",
            "Use glorot_uniform/he_normal weights, check custom backward code with "
            "scratchnet.gradcheck, average the loss over the batch, or clip gradients.")]
    return []


def _spread(columns: Array) -> float:
    """Largest difference between any column and the first, relative to the largest entry."""
    scale = float(np.abs(columns).max()) if columns.size else 0.0
    return float(np.abs(columns - columns[:, :1]).max()) / scale if scale > 0 else 0.0


def check_symmetric_weights(tr: Trace) -> list[Finding]:
    """Hidden layers whose units have identical weights *and* identical weight gradients: every
    update keeps them identical, so the layer acts as a single unit."""
    found = []
    weighted = [rec for rec in tr.layers if "kernel" in rec.layer.params]
    for rec in weighted[:-1]:
        kernel, grad = rec.layer.params["kernel"], rec.grads.get("kernel")
        units = kernel.shape[-1]
        if units < 2 or grad is None or not _finite(grad):
            continue
        columns = kernel.reshape(-1, units)
        bias = rec.layer.params.get("bias")
        same_bias = bias is None or _spread(bias.reshape(1, -1)) <= SYMMETRY_TOLERANCE
        weight_spread = _spread(columns)
        grad_spread = _spread(grad.reshape(-1, units))
        if weight_spread <= SYMMETRY_TOLERANCE and same_bias and grad_spread <= SYMMETRY_TOLERANCE:
            value = float(columns.flat[0]) if columns.size else 0.0
            found.append(Finding(
                "symmetric_weights", "error", rec.name,
                {"units": units, "weight_spread": weight_spread, "gradient_spread": grad_spread,
                 "kernel_value": value, "kernel_all_equal": bool(np.all(columns == value)),
                 "threshold": SYMMETRY_TOLERANCE},
                f"All {units} units of {rec.name} have the same incoming weights"
                + (f" (every kernel entry is {value:g})" if np.all(columns == value) else "")
                + " and receive the same gradient, so every update keeps them identical: the "
                "layer computes one feature, however many units it has.",
                "Initialise kernels randomly (kernel_initializer='glorot_uniform' or "
                "'he_normal'); constant or zero initialisers are only for biases."))
    return found
