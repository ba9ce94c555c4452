"""``train_inference_mismatch``: a trained model that is much worse in inference mode than in
training mode *on the same training samples* (a dropout that does not rescale its kept units, a
batch-statistics layer whose inference statistics are wrong).

Healthy dropout makes training mode the worse one; the reverse gap is the fault. Run on a copy
(a training-mode forward may update a layer's moving statistics), with each layer's own random
generator seeded, so the model and the global generator are untouched. Threshold:
TRAIN_INFERENCE_GAP (:mod:`scratchnet.diagnostics.thresholds`).
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from .. import metrics
from .report import Finding
from .thresholds import TRAIN_INFERENCE_GAP

Array = np.ndarray


def _accuracy(model: Any, y: Array, probs: Array) -> float | None:
    if len(model.output_shape) != 1:
        return None
    metric = metrics.resolve_accuracy(y.shape, probs.shape, model.loss.name)
    return float(metric(y, probs))


def check_train_inference(model: Any, x: Array, y: Array, inference_loss: float,
                          chance: float | None, seed: int = 0) -> list[Finding]:
    """Only for a model whose training-mode loss is well below chance (it has learned)."""
    clone = copy.deepcopy(model)
    for layer in clone.layers:
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        train_loss, train_probs, _ = clone.forward_loss(clone._cast(x), y, training=True)
        _, infer_probs, _ = clone.forward_loss(clone._cast(x), y, training=False)
    train_loss = float(train_loss)
    if chance is None or not math.isfinite(train_loss) or train_loss > 0.5 * chance:
        return []
    acc_train, acc_infer = _accuracy(clone, y, train_probs), _accuracy(clone, y, infer_probs)
    gap = None if acc_train is None else acc_train - acc_infer
    worse_loss = not math.isfinite(inference_loss) or inference_loss > 2 * train_loss + 0.1
    if not ((gap is not None and gap > TRAIN_INFERENCE_GAP) or (gap is None and worse_loss)):
        return []
    modes = [type(layer).__name__ for layer in model.layers
             if not layer.params and type(layer).__name__ not in ("Flatten", "MaxPooling2D")]
    return [Finding(
        "train_inference_mismatch", "error", "model",
        {"training_mode_accuracy": acc_train, "inference_mode_accuracy": acc_infer,
         "training_mode_loss": train_loss, "inference_mode_loss": inference_loss,
         "samples": int(len(x)), "threshold_gap": TRAIN_INFERENCE_GAP,
         "mode_dependent_candidates": modes},
        "On the same training samples the model does well in training mode (accuracy "
        f"{acc_train if acc_train is not None else float('nan'):.3g}, loss {train_loss:.3g}) "
        f"and badly in inference mode (accuracy "
        f"{acc_infer if acc_infer is not None else float('nan'):.3g}, loss "
        f"{inference_loss:.3g}): a layer behaves differently at inference than what training "
        "taught the next layers (a dropout that does not scale kept units by 1/(1 - rate), "
        "batch statistics in training vs wrong moving statistics at inference).",
        "Make training and inference agree: inverted dropout (divide kept units by 1 - rate "
        "in training, identity at inference); update moving mean/variance during training and "
        "use them at inference. Check each layer with layer.forward(x, training=False).")]
