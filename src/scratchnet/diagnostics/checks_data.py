"""Checks on the data alone: ``unnormalized_input``, ``label_mismatch``, ``nonfinite`` in x / y.

Thresholds: see :mod:`scratchnet.diagnostics.thresholds` (INPUT_RMS_MAX).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import losses
from .probes import rms
from .report import Finding
from .thresholds import INPUT_RMS_MAX

Array = np.ndarray


def check_input(x: Array) -> list[Finding]:
    if not np.all(np.isfinite(x)):
        bad = int((~np.isfinite(x)).sum())
        return [Finding("nonfinite", "error", "input", {"nonfinite_entries": bad,
                                                         "entries": int(x.size)},
                        "The input data contains NaN or Inf.",
                        "Clean the data (np.nan_to_num, drop or impute the bad samples).")]
    value = rms(x)
    if len(x) > 1 and float(np.ptp(x, axis=0).max()) == 0.0:
        return [Finding("unnormalized_input", "error", "input",
                        {"rms": value, "min": float(x.min()), "max": float(x.max()),
                         "samples": int(len(x)), "distinct_samples": 1},
                        "Every sample of the batch is identical"
                        + (" (all zeros)" if not np.any(x) else "") + ": the inputs carry no "
                        "information, so the model can only learn the label frequencies "
                        "(a preprocessing bug such as x // 256 instead of x / 255).",
                        "Check the preprocessing: print x.min(), x.max(), x.std() per feature "
                        "after each step; scale with x / 255.")]
    if value <= INPUT_RMS_MAX:
        return []
    evidence = {"rms": value, "min": float(x.min()), "max": float(x.max()),
                "threshold_rms": INPUT_RMS_MAX}
    pixels = x.min() >= 0 and x.max() > 1 and np.all(x == np.round(x)) and x.max() <= 255
    cause = ("Raw 0-255 pixel values are fed to the network." if pixels else
             "The inputs are on a scale far from ~1, so first-layer activations and gradients "
             "are large and the initialisers' scaling assumptions do not hold.")
    fix = ("Scale the inputs: x = x.astype('float32') / 255." if pixels else
           "Standardise the inputs: x = (x - mean) / std, with mean and std of the training set.")
    return [Finding("unnormalized_input", "warning", "input", evidence, cause, fix)]


def check_labels(model: Any, y: Array) -> list[Finding]:
    """Labels that do not fit the output: the loss's own check, plus one-hot sanity."""
    if not np.all(np.isfinite(y)):
        return [Finding("nonfinite", "error", "labels",
                        {"nonfinite_entries": int((~np.isfinite(y)).sum())},
                        "The labels contain NaN or Inf.", "Clean the labels.")]
    loss, out_shape = model.loss, tuple(model.output_shape)
    try:
        loss.check_targets(y, out_shape)
    except ValueError as error:
        evidence = {"labels_shape": list(y.shape), "output_shape": ["N", *out_shape],
                    "labels_min": float(y.min()) if y.size else 0.0,
                    "labels_max": float(y.max()) if y.size else 0.0, "loss": loss.name}
        return [Finding("label_mismatch", "error", "labels", evidence,
                        f"The labels do not fit the model output: {error}", _label_fix(loss, y))]
    findings = []
    if isinstance(loss, losses.CategoricalCrossentropy) and not isinstance(
            loss, losses.SparseCategoricalCrossentropy) and y.size:
        sums = y.sum(axis=-1)
        if y.min() < 0 or np.abs(sums - 1).max() > 1e-3:
            findings.append(Finding(
                "label_mismatch", "error", "labels",
                {"row_sum_min": float(sums.min()), "row_sum_max": float(sums.max()),
                 "labels_min": float(y.min())},
                "categorical_crossentropy expects each label row to be a probability "
                "distribution (one-hot), but rows do not sum to 1 or have negative entries.",
                "One-hot encode integer labels with scratchnet.utils.to_categorical(y, C); for "
                "several independent labels per sample use sigmoid + binary_crossentropy."))
    return findings


def _label_fix(loss: losses.Loss, y: Array) -> str:
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        return ("Pass integer class labels of shape (N,), values 0..C-1 (use y.argmax(-1) if "
                "they are one-hot), or switch to categorical_crossentropy for one-hot labels.")
    if y.ndim == 1:
        return ("Integer class labels: one-hot encode them with "
                "scratchnet.utils.to_categorical(y, C) or use sparse_categorical_crossentropy.")
    return ("Make the labels (N, ...) match the model output shape; check the number of units "
            "of the last layer against the number of classes.")
