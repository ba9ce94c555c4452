"""ModelCheckpoint: save the model every epoch (or the best one)."""
from __future__ import annotations

import math

from .base import Callback, Logs
from .monitoring import all_finite, better, mode_op


class ModelCheckpoint(Callback):
    """Save the model at the end of every epoch (Keras args). ``filepath`` may hold format fields
    such as ``"ckpt-{epoch:02d}-{val_loss:.2f}.snet"`` (epoch counted from 1).

    With ``save_best_only`` only an improvement of ``monitor`` is saved. Saves are atomic, and a
    model whose weights or loss are NaN/Inf is never written: the last good checkpoint survives.
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, mode: str = "auto") -> None:
        super().__init__()
        self.filepath = str(filepath)
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.mode = mode_op(monitor, mode)
        self.best = float("-inf") if self.mode == "max" else float("inf")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if not math.isfinite(logs.get("loss", 0.0)) or not all_finite(self.model):
            print(f"Epoch {epoch + 1}: non-finite loss or weights; not overwriting the last good "
                  f"checkpoint {self.filepath}.", flush=True)
            return
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(f"ModelCheckpoint monitors {self.monitor!r}, which is not in the "
                               f"logs (available: {sorted(logs)}).")
            if not better(self.mode, current, self.best):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}", flush=True)
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}", flush=True)
        from ..saving import save_model
        save_model(self.model, path, epoch=epoch + 1)
