"""Checks on a training history (per-epoch ``loss``, ``val_loss``, ``accuracy``,
``val_accuracy``): ``loss_diverged``, ``learning_rate_too_high`` (oscillating or rising training
loss), ``underfitting`` (no progress or a high plateau), ``overfitting`` (validation loss rising
while training loss falls, with the epoch it started) and ``validation_mismatch`` (validation
accuracy far above training accuracy from the first epoch on).

A history is a :class:`~scratchnet.callbacks.History` (``model.fit``'s return value), a dict of
lists (``history.history``) or a run directory's history.json (``{"epoch": [...], "history":
{...}}``). Epochs are reported 1-based, as fit prints them. Thresholds:
:mod:`scratchnet.diagnostics.thresholds`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .report import Finding
from .thresholds import (
    HISTORY_MIN_EPOCHS,
    OSCILLATION_SHARE,
    OVERFIT_RISE,
    PLATEAU_CHANGE,
    UNDERFIT_DECREASE,
    VALIDATION_GAP,
)

_BLOW_UP = 10.0  # a training loss 10x its best so far has diverged, whatever the trend


def as_history(history: Any) -> dict[str, list[float]]:
    """The per-epoch series of a History, a history.json dict or a dict of lists."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if isinstance(history, dict) and isinstance(history.get("history"), dict):
        history = history["history"]
    if not isinstance(history, dict):
        raise TypeError(f"doctor: history expected a History, or a dict of per-epoch lists "
                        f"such as {{'loss': [...], 'val_loss': [...]}}, got "
                        f"{type(history).__name__}")
    out = {}
    for key, values in history.items():
        if isinstance(values, (list, tuple, np.ndarray)):
            try:
                out[str(key)] = [float(v) for v in values]
            except (TypeError, ValueError):
                raise ValueError(f"doctor: history[{key!r}] expected numbers per epoch, got "
                                 f"{list(values)[:3]!r}") from None
    return out


def _epochs(values: list[float]) -> list[float]:
    return [round(v, 4) if math.isfinite(v) else v for v in values]


def check_history(history: Any, chance: float | None = None) -> list[Finding]:
    """``chance``: the loss of a uniform prediction on this task (ln C for C classes), when
    known: an epoch whose mean loss exceeds 10x chance diverged within that epoch."""
    h = as_history(history)
    loss = h.get("loss", [])
    if not loss:
        return []
    diverged = _check_diverged(loss, chance)
    if diverged:
        return diverged
    found = _check_learning_rate(loss)
    if not found:
        found = _check_underfitting(loss)
    found += _check_overfitting(loss, h.get("val_loss", []))
    found += _check_validation(h.get("accuracy", []), h.get("val_accuracy", []))
    return found


def _check_diverged(loss: list[float], chance: float | None) -> list[Finding]:
    best = math.inf
    for epoch, value in enumerate(loss):
        above_chance = chance is not None and value > _BLOW_UP * chance
        if not math.isfinite(value) or value > _BLOW_UP * best or above_chance:
            what = ("became NaN/Inf" if not math.isfinite(value) else
                    f"jumped to {value:.4g}, {value / best:.0f}x its best {best:.4g}"
                    if value > _BLOW_UP * best else
                    f"averaged {value:.4g}, {value / chance:.0f}x the loss of a uniform guess "
                    f"({chance:.3g})")
            return [Finding(
                "loss_diverged", "error", "history",
                {"epoch": epoch + 1, "loss": value, "best_loss_before": best,
                 "chance_loss": chance, "last_loss": loss[-1],
                 "losses": _epochs(loss)},
                f"The training loss {what} at epoch {epoch + 1}: the updates diverged (a "
                "learning rate too high, exploding gradients, or log(0) in the loss).",
                "Lower the learning rate by 10; use from_logits=True losses; clip gradients "
                "(clipnorm); callbacks.TerminateOnNaN() stops such a run early.")]
        best = min(best, value)
    return []


def _check_learning_rate(loss: list[float]) -> list[Finding]:
    if len(loss) < HISTORY_MIN_EPOCHS:
        return []
    rises = sum(b > a for a, b in zip(loss, loss[1:]))
    share = rises / (len(loss) - 1)
    best = int(np.argmin(loss))
    no_progress = loss[-1] > (1 - UNDERFIT_DECREASE) * loss[0]
    rising = best < len(loss) - 1 and loss[-1] > (1 + OVERFIT_RISE) * loss[best] and rises >= 2
    if not ((share > OSCILLATION_SHARE and no_progress) or rising):
        return []
    return [Finding(
        "learning_rate_too_high", "error", "history",
        {"epochs": len(loss), "epochs_loss_rose": rises, "share_rising": share,
         "best_epoch": best + 1, "best_loss": loss[best], "last_loss": loss[-1],
         "losses": _epochs(loss), "threshold_share": OSCILLATION_SHARE},
        f"The training loss (not only the validation loss) goes up: it rose in {rises} of "
        f"{len(loss) - 1} epochs and ends at {loss[-1]:.4g}, above its best {loss[best]:.4g} "
        f"(epoch {best + 1}). Steps that overshoot the minimum make the loss oscillate or climb.",
        "Lower the learning rate by 3-10x, or use a schedule that decays it "
        "(callbacks.ReduceLROnPlateau).")]


def _check_underfitting(loss: list[float]) -> list[Finding]:
    if len(loss) < HISTORY_MIN_EPOCHS:
        return []
    decrease = (loss[0] - loss[-1]) / max(abs(loss[0]), 1e-12)
    recent = [abs(b - a) / max(abs(a), 1e-12) for a, b in zip(loss[-4:], loss[-3:])]
    plateau = len(loss) >= HISTORY_MIN_EPOCHS + 1 and max(recent) < PLATEAU_CHANGE \
        and loss[-1] > 0.5 * loss[0]
    if decrease >= UNDERFIT_DECREASE and not plateau:
        return []
    what = (f"fell by only {100 * decrease:.1f}% in {len(loss)} epochs"
            if decrease < UNDERFIT_DECREASE else
            f"has stopped moving (< {100 * PLATEAU_CHANGE:g}% per epoch over the last 3) at "
            f"{loss[-1]:.4g}, more than half its first value {loss[0]:.4g}")
    return [Finding(
        "underfitting", "warning", "history",
        {"epochs": len(loss), "first_loss": loss[0], "last_loss": loss[-1],
         "relative_decrease": decrease, "losses": _epochs(loss),
         "threshold_decrease": UNDERFIT_DECREASE, "threshold_plateau": PLATEAU_CHANGE},
        f"The training loss {what}: the model does not fit even the training data (too small "
        "a model, a learning rate too low, or a bug that stops learning).",
        "Run sn.doctor(model, x, y) for gradient and learning-rate faults; then try a larger "
        "model or a tuned learning rate.")]


def _check_overfitting(loss: list[float], val: list[float]) -> list[Finding]:
    if len(val) < HISTORY_MIN_EPOCHS or len(val) != len(loss) or not all(map(math.isfinite,
                                                                           val)):
        return []
    best = int(np.argmin(val))
    if best == len(val) - 1 or val[-1] <= (1 + OVERFIT_RISE) * val[best] \
            or loss[-1] >= loss[best]:
        return []
    return [Finding(
        "overfitting", "warning", "history",
        {"started_epoch": best + 2, "best_epoch": best + 1, "best_val_loss": val[best],
         "last_val_loss": val[-1], "train_loss_at_best": loss[best], "last_train_loss":
         loss[-1], "val_losses": _epochs(val), "threshold_rise": OVERFIT_RISE},
        f"The validation loss was lowest at epoch {best + 1} ({val[best]:.4g}) and has risen "
        f"since epoch {best + 2} to {val[-1]:.4g} while the training loss kept falling "
        f"({loss[best]:.4g} -> {loss[-1]:.4g}): the model memorises the training data.",
        f"Stop at epoch {best + 1}: callbacks.EarlyStopping(monitor='val_loss', patience=2, "
        "restore_best_weights=True); add dropout or weight decay, or more data.")]


def _check_validation(acc: list[float], val_acc: list[float]) -> list[Finding]:
    if len(acc) < 2 or len(val_acc) != len(acc):
        return []
    gaps = [v - a for a, v in zip(acc, val_acc)]
    if not (gaps[0] > VALIDATION_GAP and gaps[-1] > VALIDATION_GAP):
        return []
    return [Finding(
        "validation_mismatch", "warning", "history",
        {"epochs": len(acc), "first_gap": gaps[0], "last_gap": gaps[-1],
         "accuracy": _epochs(acc), "val_accuracy": _epochs(val_acc),
         "threshold_gap": VALIDATION_GAP},
        f"Validation accuracy is {100 * gaps[0]:.0f} points above training accuracy at epoch 1 "
        f"and still {100 * gaps[-1]:.0f} at epoch {len(acc)}: the validation data does not come "
        "from the training distribution (easier samples, duplicates of training samples, "
        "leaked labels), or a very strong regulariser holds training accuracy down.",
        "Split validation data at random from the same source as the training data and check "
        "for duplicates; check the dropout rates.")]
