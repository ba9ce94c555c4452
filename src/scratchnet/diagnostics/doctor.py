"""``doctor(model, x, y)``: why does this network not train? One call, one :class:`Report`.

The doctor looks at a compiled model from outside, on a batch of data, in stages:

1. data and configuration: ``unnormalized_input``, ``label_mismatch``, ``nonfinite`` (data),
   ``loss_activation_mismatch``, ``softmax_twice``, ``no_trainable_weights``;
2. one probed forward/backward pass: ``nonfinite``, ``exploding_activations``, ``dead_relu``,
   ``saturation``, ``initial_loss`` (untrained models), ``vanishing_gradients`` /
   ``exploding_gradients``, ``symmetric_weights``, ``train_inference_mismatch`` (a random
   training-mode layer whose mean is not its inference output; on a trained model, also the
   accuracy of the two modes);
3. numerical checks of the backward code on a few samples: ``gradient_mismatch`` (every layer,
   its activation, the loss), ``gradcheck_unreliable``, ``loss_not_averaged``,
   ``batch_dependence``;
4. a short training run on a copy: ``learning_rate_too_high`` / ``learning_rate_too_low`` and
   ``cannot_overfit``;
5. with a training history: ``loss_diverged``, ``learning_rate_too_high``, ``underfitting``,
   ``overfitting``, ``validation_mismatch``.

Codes, their causes and fixes: :mod:`scratchnet.diagnostics.codes`; the report groups each
finding under its root cause (:meth:`Report.ranked`).

The model's weights, optimizer state and the global random generator are left untouched
(layers' ``grads`` buffers are overwritten, as by any forward/backward pass). Thresholds and
their sources: :mod:`scratchnet.diagnostics.thresholds` and docs/doctor.md.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import validation
from . import codes
from .checks_data import check_input, check_labels
from .checks_forward import (
    chance_loss,
    check_activation_scale,
    check_initial_loss,
    check_nonfinite,
    is_trained,
)
from .checks_gradient_flow import check_gradient_flow
from .checks_history import check_history
from .checks_modes import check_mode_scale, check_train_inference
from .checks_numeric import check_batch_dependence, check_gradients, check_loss_average
from .checks_static import check_loss_activation, check_softmax_twice, check_trainable
from .checks_training import check_learning_rate, check_overfit, overfit_batch, train_copy
from .checks_units import check_dead_relu, check_saturation, check_symmetric_weights
from .probes import trace
from .report import Finding, Report

Array = np.ndarray


def doctor(model: Any, x: Any, y: Any, *, history: Any = None, max_samples: int = 256,
           gradient_checks: bool = True, training_checks: bool = True, seed: int = 0) -> Report:
    """Diagnose ``model`` (a compiled Sequential) on the data (x, y).

    x: (N, *input_shape); y: labels for the compiled loss. At most ``max_samples`` samples are
    probed. ``history``: the training so far (a History, ``history.history`` or a run's
    history.json dict) for stage 5; None uses the model's own ``fit`` history, if any; False
    skips it. ``gradient_checks`` / ``training_checks`` turn stages 3 and 4 off (faster).
    Returns a :class:`Report` (``.to_text()``, ``.to_json()``, ``.findings``).
    """
    start = time.perf_counter()
    model.require_compiled("doctor")
    x = validation.as_numeric_array(x, "doctor: x")
    y = validation.as_numeric_array(y, "doctor: y")
    validation.check_same_length(x, y)
    model.ensure_built(x)
    validation.check_features(x, model.input_shape, "doctor: x")
    x, y = x[:max_samples], y[:max_samples]
    report = Report(model=model.name)

    history = None if history is False else _history_of(model) if history is None else history
    stage1 = (check_input(x) + check_labels(model, y) + check_loss_activation(model)
              + check_softmax_twice(model) + check_trainable(model))
    report.add(stage1)
    if any(f.code in ("label_mismatch", "nonfinite") and f.at_least("error") for f in stage1):
        report.notes.append("forward/backward, numerical and training checks skipped: fix the "
                            "data errors first")
        report.add(check_history(history) if history is not None else [])
        return _done(report, start)

    tr = trace(model, x, y)
    chance = chance_loss(model, tr, y)
    trained = is_trained(model, tr, chance)
    report.vitals.update(_vitals(tr, len(x)))
    report.vitals["trained"] = trained
    nonfinite = check_nonfinite(model, tr)
    report.add(nonfinite)
    report.add(check_activation_scale(tr, trained))
    report.add(check_dead_relu(tr))
    report.add(check_saturation(tr, trained))
    if not trained:
        report.add(check_initial_loss(tr, chance))
    report.add(check_gradient_flow(tr, chance))
    report.add(check_symmetric_weights(tr))
    report.add(check_mode_scale(tr))
    if trained and not nonfinite:
        report.add(check_train_inference(model, x, y, tr.loss, chance, seed))
    if gradient_checks:
        report.add(check_gradients(model, tr, y, seed))
        report.add(check_loss_average(model, tr, y))
        report.add(check_batch_dependence(tr, seed))
    if training_checks and not nonfinite:
        xs, ys = overfit_batch(x, y)
        run = train_copy(model, xs, ys, seed=seed)
        report.add([_secondary(f) if _explained(report, f) else f
                    for f in check_learning_rate(model, run)])
        report.add(check_overfit(model, run, len(xs)))
        steps = run.steps[-1] if run.steps else 0
        report.vitals["overfit_one_batch"] = (
            f"{len(xs)} samples, loss {run.losses[0]:.3g} -> {run.losses[-1]:.3g} in {steps} "
            f"steps" + (" (memorised)" if run.memorised else ""))
    elif training_checks:
        report.notes.append("training checks skipped: the forward/backward pass is not finite")
    if history is not None:
        report.add(check_history(history, chance))
    return _done(report, start)


def _vitals(tr: Any, samples: int) -> dict[str, Any]:
    """The numbers behind the verdict: the loss, and per layer the output RMS, the share of
    ReLU units (Dense units, Conv2D channels) that never fire, and the relative gradient
    |dW| / |W|."""
    with np.errstate(all="ignore"):
        rms = {rec.name: float(np.sqrt(np.mean(np.square(rec.y, dtype=np.float64))))
               for rec in tr.layers if rec.layer.params or rec.activation}
        dead = {rec.name: float(np.mean(~(rec.y > 0).reshape(-1, rec.y.shape[-1]).any(axis=0)))
                for rec in tr.layers if rec.activation == "relu"}
        relative = {rec.name: float(np.linalg.norm(rec.grads["kernel"])
                                    / max(np.linalg.norm(rec.layer.params["kernel"]), 1e-30))
                    for rec in tr.layers if "kernel" in rec.grads}
    return {"samples": samples, "loss": tr.loss, "output_rms": rms,
            "never_firing_relu_share": dead, "relative_gradient": relative}


def _history_of(model: Any) -> Any:
    from ..saving import history_of
    return history_of(model)


def _explained(report: Report, finding: Finding) -> bool:
    """Another error, or a finding whose code explains this one (the code table), is already
    in the report."""
    return any(other.at_least("error") or (
        other.at_least("warning") and codes.get(other.code).explains_finding(finding.code,
                                                                             finding.layer))
        for other in report.findings)


def _secondary(finding: Finding) -> Finding:
    """Learning-rate symptoms next to errors in the gradient or the model itself, or next to a
    finding that explains them, are most likely their consequence: keep them, as info."""
    finding.severity = "info"
    finding.cause += " Probably a consequence of the findings above: fix those first."
    return finding


def _done(report: Report, start: float) -> Report:
    report.seconds = time.perf_counter() - start
    return report
