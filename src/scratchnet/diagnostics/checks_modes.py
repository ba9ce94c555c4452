"""``train_inference_mismatch``, two ways:

- directly, on any model (:func:`check_mode_scale`): a layer whose training-mode output is
  random (a dropout, noise) must keep its inference-mode output as its expected value. Its
  training-mode output averaged over several masks, projected on the inference output, must be
  ~1x that output; a dropout that does not scale kept units by 1/(1 - rate) gives (1 - rate)x.
  (A ReLU net's argmax barely moves when every activation is scaled, so accuracy alone rarely
  shows this fault.)
- by its symptom, on a trained model (:func:`check_train_inference`): much worse in inference
  mode than in training mode *on the same training samples* (a batch-statistics layer whose
  inference statistics are wrong, or the dropout above).

Healthy dropout makes training mode the worse one; the reverse gap is the fault. Run on a copy
(a training-mode forward may update a layer's moving statistics), with each layer's own random
generator seeded, so the model and the global generator are untouched. Thresholds:
TRAIN_INFERENCE_GAP, MODE_SCALE_TOLERANCE (:mod:`scratchnet.diagnostics.thresholds`).
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from .. import backend, metrics
from .probes import Trace
from .report import Finding
from .thresholds import MODE_SCALE_TOLERANCE, TRAIN_INFERENCE_GAP

Array = np.ndarray
_MODE_SAMPLES = 32
_MASKS = 8


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
        train_loss, train_probs, _ = clone.forward_loss(clone.cast_input(x), y, training=True)
        _, infer_probs, _ = clone.forward_loss(clone.cast_input(x), y, training=False)
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


def _training_outputs(layer: Any, x: Array, count: int) -> list[Array]:
    """``count`` training-mode outputs of a copy of ``layer`` (a forward in training mode may
    update its state), with the library's and NumPy's generators put back afterwards."""
    clone = copy.deepcopy(layer)
    library, legacy = backend.rng().bit_generator.state, np.random.get_state()
    try:
        with np.errstate(all="ignore"):
            return [np.asarray(clone.forward(x, True)[0], dtype=np.float64)
                    for _ in range(count)]
    finally:
        backend.rng().bit_generator.state = library
        np.random.set_state(legacy)


def check_mode_scale(tr: Trace) -> list[Finding]:
    """Each parameter-free layer whose training-mode output is random: the mean of ``_MASKS``
    training-mode outputs, projected on the inference output, over its square."""
    found = []
    for rec in tr.layers:
        x = rec.x[:_MODE_SAMPLES]
        if rec.layer.params or not np.all(np.isfinite(x)):
            continue
        with np.errstate(all="ignore"):
            inference = np.asarray(rec.layer.forward(x, False)[0], dtype=np.float64)
        first, second = _training_outputs(rec.layer, x, 2)
        if first.shape != inference.shape or np.array_equal(first, second):
            continue  # deterministic in training (or reshaping): not a random layer
        mean = np.mean([first, second, *_training_outputs(rec.layer, x, _MASKS - 2)], axis=0)
        power = float(np.sum(inference * inference))
        if not (power > 0 and np.isfinite(power)):
            continue
        ratio = float(np.sum(mean * inference)) / power
        if abs(ratio - 1) <= MODE_SCALE_TOLERANCE:
            continue
        rate = getattr(rec.layer, "rate", None)
        found.append(Finding(
            "train_inference_mismatch", "error", rec.name,
            {"training_over_inference_scale": ratio, "masks": _MASKS,
             "samples": int(len(x)), "rate": rate, "threshold": MODE_SCALE_TOLERANCE},
            f"In training mode this layer's output is random with an expected value of "
            f"{ratio:.3g}x its inference-mode output (should be 1x): the next layers learn on "
            "activations of one scale and are used on another"
            + (f" (1 - rate = {1 - rate:.3g}: the kept units are not rescaled)."
               if isinstance(rate, (int, float)) and abs(ratio - (1 - rate)) < 0.1 else "."),
            "Inverted dropout: in training divide the kept units by (1 - rate), at inference "
            "return the input unchanged (or use scratchnet.layers.Dropout)."))
    return found
