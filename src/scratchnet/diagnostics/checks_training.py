"""Checks that train a copy of the model for a few steps (the model itself is not touched):
``learning_rate_too_high``, ``learning_rate_too_low`` (loss trend plus the update-to-weight
ratio ||dW|| / ||W|| per step, cs231n's ~1e-3 rule) and ``cannot_overfit`` (Karpathy's "overfit
one batch").

Thresholds (see :mod:`scratchnet.diagnostics.thresholds`): LR_STEPS, DIVERGENCE_FACTOR,
UPDATE_RATIO_HIGH, STALL_CHANGE, UPDATE_RATIO_LOW, OVERFIT_SAMPLES, OVERFIT_STEPS,
OVERFIT_LOSS_FRACTION.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import metrics
from ..layers import Dropout
from .report import Finding
from .thresholds import (
    DIVERGENCE_FACTOR,
    LR_STEPS,
    OVERFIT_LOSS_FRACTION,
    OVERFIT_SAMPLES,
    OVERFIT_STEPS,
    SLOW_PROGRESS,
    SLOW_UPDATE_RATIO,
    STALL_CHANGE,
    UPDATE_RATIO_HIGH,
    UPDATE_RATIO_LOW,
    USUAL_LEARNING_RATE,
)

Array = np.ndarray


@dataclass
class Run:
    losses: list[float] = field(default_factory=list)   # inference-mode loss; [0] before training
    steps: list[int] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)   # update/weight ratios, first LR_STEPS
    accuracy: float | None = None
    memorised: bool = False


def _evaluate(model: Any, x: Array, y: Array) -> tuple[float, Array]:
    with np.errstate(all="ignore"):
        value, probs, _ = model.forward_loss(x, y, training=False)
    return float(value), probs


def _update_ratios(before: dict[str, Array], params: dict[str, Array]) -> list[float]:
    """||W_after - W_before|| / ||W_before|| for every kernel."""
    with np.errstate(all="ignore"):
        return [float(np.linalg.norm(params[k] - old)) / max(float(np.linalg.norm(old)), 1e-12)
                for k, old in before.items() if k.endswith("kernel")]


def train_copy(model: Any, x: Array, y: Array, steps: int = OVERFIT_STEPS,
               seed: int = 0) -> Run:
    """Train a deep copy of ``model`` on (x, y) (dropout on, as in fit) for up to ``steps``
    steps, stopping early once the batch is memorised."""
    clone = copy.deepcopy(model)
    for layer in clone.layers:
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(seed)  # never consume the global generator
    x = clone.cast_input(x)
    accuracy = (metrics.resolve_accuracy(y.shape, (len(y), *clone.output_shape), clone.loss.name)
                if len(clone.output_shape) == 1 and clone.output_shape[-1] > 1 else None)
    run = Run()
    initial, _ = _evaluate(clone, x, y)
    run.losses.append(initial)
    run.steps.append(0)
    params = clone.trainable_params()
    for step in range(1, steps + 1):
        before = {k: v.copy() for k, v in params.items()} if step <= LR_STEPS else None
        with np.errstate(all="ignore"):
            clone.compute_loss_and_gradients(x, y, training=True)
            clone.optimizer.apply(params, clone.trainable_grads())
        if before is not None:
            run.ratios.extend(_update_ratios(before, params))
        if step <= LR_STEPS or step % 10 == 0 or step == steps:
            value, probs = _evaluate(clone, x, y)
            run.losses.append(value)
            run.steps.append(step)
            if not math.isfinite(value):
                break
            if step >= 50 and value >= 0.99 * initial:
                break  # no progress at all: more steps only cost time
            run.accuracy = accuracy(y, probs) if accuracy is not None else None
            if step >= LR_STEPS and (value < OVERFIT_LOSS_FRACTION * initial
                                     or run.accuracy == 1.0):
                run.memorised = True
                break
    return run


def check_learning_rate(model: Any, run: Run) -> list[Finding]:
    opt = model.optimizer
    initial = run.losses[0]
    upto = [v for s, v in zip(run.steps, run.losses) if s <= LR_STEPS]
    end = upto[-1]
    ratios = [r for r in run.ratios if math.isfinite(r)]
    max_ratio = max(ratios, default=float("inf"))
    median_ratio = float(np.median(ratios)) if ratios else float("inf")
    evidence = {"optimizer": type(opt).__name__, "learning_rate": opt.learning_rate,
                "steps": len(upto) - 1, "initial_loss": initial, "loss_after": end,
                "update_ratio_median": median_ratio, "update_ratio_max": max_ratio}
    diverged = not math.isfinite(end) or end > DIVERGENCE_FACTOR * initial
    if diverged and (max_ratio > UPDATE_RATIO_HIGH or not ratios):
        return [Finding(
            "learning_rate_too_high", "error", "optimizer",
            {**evidence, "threshold_update_ratio": UPDATE_RATIO_HIGH,
             "divergence_factor": DIVERGENCE_FACTOR},
            f"The loss diverges on a fixed batch ({initial:.4g} -> {end:.4g} in {len(upto) - 1} "
            f"steps) and updates reach {max_ratio:.2g} of the weights' norm per step (healthy: "
            "~1e-3).",
            f"Lower the learning rate (try {opt.learning_rate / 10:g}, then tune by factors of "
            "3-10), or use Adam(learning_rate=1e-3).")]
    change = abs(initial - end) / max(abs(initial), 1e-12)
    if change < STALL_CHANGE and median_ratio < UPDATE_RATIO_LOW:
        return [Finding(
            "learning_rate_too_low", "warning", "optimizer",
            {**evidence, "relative_loss_change": change, "threshold_update_ratio":
             UPDATE_RATIO_LOW, "threshold_change": STALL_CHANGE},
            f"The loss barely moves ({change:.1e} relative change in {len(upto) - 1} steps) and "
            f"each update changes the weights by only {median_ratio:.1e} of their norm "
            "(healthy: ~1e-3).",
            _raise_fix(opt))]
    progress = (initial - run.losses[-1]) / max(abs(initial), 1e-12)
    if (not run.memorised and math.isfinite(progress) and progress < SLOW_PROGRESS
            and median_ratio < SLOW_UPDATE_RATIO):
        usual = USUAL_LEARNING_RATE.get(type(opt).__name__)
        return [Finding(
            "learning_rate_too_low", "warning", "optimizer",
            {**evidence, "steps": run.steps[-1], "loss_after": run.losses[-1],
             "relative_loss_decrease": progress, "usual_learning_rate": usual,
             "threshold_update_ratio": SLOW_UPDATE_RATIO, "threshold_progress": SLOW_PROGRESS},
            f"In {run.steps[-1]} steps on {OVERFIT_SAMPLES} samples the loss fell by only "
            f"{100 * progress:.0f}% ({initial:.4g} -> {run.losses[-1]:.4g}): each update moves "
            f"the weights by {median_ratio:.1e} of their norm (healthy: ~1e-3), too little for "
            f"{type(opt).__name__} at learning_rate={opt.learning_rate:g}"
            + (f" (usually {usual:g})." if usual is not None else "."), _raise_fix(opt))]
    return []


def _raise_fix(opt: Any) -> str:
    usual = USUAL_LEARNING_RATE.get(type(opt).__name__)
    if usual is not None and usual > opt.learning_rate:
        return (f"Raise the learning rate to {type(opt).__name__}'s usual {usual:g} "
                f"({type(opt).__name__}(learning_rate={usual:g})), then tune by factors of 3.")
    return (f"Raise the learning rate (try {opt.learning_rate * 10:g}-{opt.learning_rate * 100:g}"
            "), or use Adam(learning_rate=1e-3).")


def check_overfit(model: Any, run: Run, samples: int) -> list[Finding]:
    if run.memorised:
        return []
    final = run.losses[-1]
    return [Finding(
        "cannot_overfit", "warning", "model",
        {"samples": samples, "steps": run.steps[-1], "initial_loss": run.losses[0],
         "final_loss": final, "final_accuracy": run.accuracy,
         "target_loss_fraction": OVERFIT_LOSS_FRACTION},
        f"The model could not memorise {samples} samples in {run.steps[-1]} steps (loss "
        f"{run.losses[0]:.4g} -> {final:.4g}): with this setup it cannot learn at all (wrong "
        "gradients, dead or saturated units, a bad loss/activation pairing or learning rate).",
        "Fix the errors above first; then overfit one small batch before training on all "
        "data (Karpathy's recipe).")]


def overfit_batch(x: Array, y: Array) -> tuple[Array, Array]:
    n = min(OVERFIT_SAMPLES, len(x))
    return x[:n], y[:n]
