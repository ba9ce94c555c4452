"""TerminateOnNaN and first_nonfinite: stop at the first non-finite step and say where."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Callback, Logs


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss or gradients are NaN or Inf, naming the step
    and where the non-finite values first appear. The model does not apply such a step, so the
    weights (and any checkpoint) stay the last good ones. The message is kept in
    ``self.message``. ``x``: data to probe when the failing batch is not available."""

    def __init__(self, x: Any = None) -> None:
        super().__init__()
        self.x = x
        self.message: str | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        bad_batch = getattr(self.model, "nonfinite_batch", None)
        if bad_batch is None and (loss is None or math.isfinite(loss)):
            return
        where = first_nonfinite(self.model, bad_batch if bad_batch is not None else self.x)
        step = self._epoch * int(self.params.get("steps") or 0) + batch + 1
        what = f"invalid loss {loss}" if not math.isfinite(loss) else "non-finite gradients"
        self.message = (f"Epoch {self._epoch + 1}, batch {batch + 1} (step {step}): {what}, "
                        f"terminating training; the step was not applied. {where}")
        print(self.message, flush=True)
        self.model.stop_training = True


def first_nonfinite(model: Any, x: Any = None) -> str:
    """Where the first non-finite value is: a weight; else (given x) the first layer whose output
    on x is non-finite (an inference pass through the runner, watched by a hook); else the layer
    nearest the output holding a non-finite gradient (its backward overflowed first)."""
    for layer in model.layers:
        for key, value in layer.params.items():
            if not np.isfinite(value).all():
                return f"First non-finite weight: layer {layer.name!r} ({key})."
    if x is not None:
        h = model.cast_input(np.asarray(x))
        if not np.isfinite(h).all():
            return "The input itself is non-finite."
        finder = _FirstNonfiniteOutput()
        with np.errstate(all="ignore"):
            model.forward(h, training=False, hooks=[finder])
        if finder.found is not None:
            layer, largest_input = finder.found
            largest_weight = max((float(np.abs(v).max()) for v in layer.params.values()),
                                 default=0.0)
            return (f"First non-finite output: layer {layer.name!r} (its inputs reach "
                    f"{largest_input:.3g}; its weights reach {largest_weight:.3g}). "
                    f"Usually the learning rate is too high.")
    for layer in reversed(model.layers):
        for key, value in layer.grads.items():
            if not np.isfinite(value).all():
                return f"First non-finite gradient (from the output back): layer {layer.name!r} " \
                       f"({key})."
    return "Weights and gradients are finite: the loss itself overflowed."


class _FirstNonfiniteOutput:
    """A runner hook (scratchnet.runner) noting the first layer whose output is non-finite."""

    def __init__(self) -> None:
        self.found: tuple[Any, float] | None = None

    def after_forward(self, layer: Any, x: np.ndarray, y: np.ndarray) -> None:
        if self.found is None and not np.isfinite(y).all():
            self.found = (layer, float(np.abs(x).max()))
