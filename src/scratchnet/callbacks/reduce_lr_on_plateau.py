"""ReduceLROnPlateau: lower the learning rate when a monitored metric stops improving."""
from __future__ import annotations

import warnings

import numpy as np

from ..validation import check_number, check_positive_int
from .base import Callback, Logs
from .learning_rate_scheduler import _optimizer
from .monitoring import better, mode_op


class ReduceLROnPlateau(Callback):
    """Keras's ``ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, verbose=0,
    mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0)``.

    At each epoch end: an improvement of ``monitor`` by more than ``min_delta`` (down for
    "min", up for "max"; "auto" maximises names holding "acc") resets the wait. Otherwise,
    outside a cooldown, the wait grows, and at ``patience`` epochs the rate becomes
    ``max(lr * factor, min_lr)`` (only while lr > min_lr), followed by ``cooldown`` epochs in
    which the wait stays 0. The rate is logged as ``logs["learning_rate"]``. A monitor missing
    from the logs gives a warning naming the keys there are, as Keras.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"ReduceLROnPlateau monitor must be a log key such as 'val_loss', "
                            f"got {monitor!r}")
        self.factor = check_number(factor, "ReduceLROnPlateau factor", 0)
        if self.factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau factor must be < 1.0 (the rate is multiplied "
                             f"by it), got factor={factor}")
        self.patience = check_positive_int(patience, "ReduceLROnPlateau patience", minimum=0)
        self.cooldown = check_positive_int(cooldown, "ReduceLROnPlateau cooldown", minimum=0)
        self.min_delta = abs(check_number(min_delta, "ReduceLROnPlateau min_delta"))
        self.min_lr = check_number(min_lr, "ReduceLROnPlateau min_lr", 0)
        self.monitor, self.verbose = monitor, verbose
        self.mode = mode_op(monitor, mode)
        self._reset()

    def _reset(self) -> None:
        self.best = -np.inf if self.mode == "max" else np.inf
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = _optimizer(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau monitors {self.monitor!r}, which is not in the "
                          f"logs (available: {sorted(logs)}); the rate is left unchanged.",
                          stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if better(self.mode, current, self.best, self.min_delta):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old = float(optimizer.learning_rate)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.", flush=True)
                    self.cooldown_counter, self.wait = self.cooldown, 0
