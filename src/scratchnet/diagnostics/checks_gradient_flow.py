"""How the gradient flows back through the weighted layers: ``vanishing_gradients`` (the first
layer's relative gradient |dW|/|W| far below the last's, or every layer's tiny while the loss
is still high) and ``exploding_gradients``. Thresholds: :mod:`scratchnet.diagnostics.thresholds`.
"""
from __future__ import annotations

import numpy as np

from .checks_forward import _finite
from .probes import LayerTrace, Trace
from .report import Finding
from .thresholds import (
    EXPLODING_RATIO,
    EXPLODING_RELATIVE,
    VANISHING_RATIO,
    VANISHING_RELATIVE_MIN,
)

Array = np.ndarray


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
