"""LearningRateScheduler: set the optimizer's learning rate at the start of every epoch."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .base import Callback, Logs


class LearningRateScheduler(Callback):
    """Keras's ``LearningRateScheduler(schedule, verbose=0)``.

    At the start of epoch ``e`` (counted from 0) the learning rate becomes
    ``schedule(e, current_lr)``, or ``schedule(e)`` for a one-argument schedule (Keras tries
    the two-argument call first and falls back on a TypeError). The rate in force is logged as
    ``logs["learning_rate"]`` at the end of the epoch, so History records it.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler expects a function schedule(epoch, lr) -> "
                            f"float, got {type(schedule).__name__}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = _optimizer(self.model, "LearningRateScheduler")
        try:
            rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:   # a schedule(epoch) of one argument, as Keras supports
            rate = self.schedule(epoch)
        if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.number)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float, got "
                             f"{rate!r} ({type(rate).__name__}) for epoch {epoch}.")
        optimizer.learning_rate = float(rate)   # the optimizer checks it is finite and >= 0
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to "
                  f"{float(rate)}.", flush=True)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(_optimizer(self.model, "").learning_rate)


def _optimizer(model: Any, what: str) -> Any:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{what}: the model's optimizer has no learning_rate; compile the "
                         f"model with an optimizer first.")
    return optimizer
