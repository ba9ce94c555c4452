"""Checks on what a layer's units do over the probe batch: ``dead_relu`` (never firing),
``saturation`` (pinned at a limit of sigmoid/tanh/softmax; the output layer only on an
untrained model) and ``symmetric_weights`` (every unit identical, in weights, outputs and
gradients). Thresholds: :mod:`scratchnet.diagnostics.thresholds`.
"""
from __future__ import annotations

import numpy as np

from .checks_forward import _finite
from .probes import Trace, rms
from .report import Finding
from .thresholds import (
    DEAD_ERROR,
    DEAD_WARN,
    SATURATION_LIMIT,
    SATURATION_SHARE,
    SYMMETRY_TOLERANCE,
)

Array = np.ndarray


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
