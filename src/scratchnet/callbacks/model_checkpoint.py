"""ModelCheckpoint: save the model every epoch (or the best one)."""
from __future__ import annotations

import math
import string
from typing import Any

from ..errors import InvalidArgumentError
from .base import Callback, Logs
from .monitoring import all_finite, better, mode_op


class ModelCheckpoint(Callback):
    """Save the model at the end of every epoch (Keras args). ``filepath`` may hold format fields
    such as ``"ckpt-{epoch:02d}-{val_loss:.2f}.snet"`` (epoch counted from 1), as in Keras.

    ``literal=True`` uses ``filepath`` as it is, braces included: for a path a user typed (the
    CLI's ``--out 'runs/{x}'``), never a template. A template's fields must be named (``epoch``
    or a log key); positional ``{}`` is refused here, and a name the logs lack is an error at
    the first save naming the keys there are.

    With ``save_best_only`` only an improvement of ``monitor`` is saved. Saves are atomic, and a
    model whose weights or loss are NaN/Inf is never written: the last good checkpoint survives.
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, mode: str = "auto", *,
                 literal: bool = False) -> None:
        super().__init__()
        self.filepath = str(filepath)
        self.literal = literal
        self.fields = set() if literal else _template_fields(self.filepath)
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.mode = mode_op(monitor, mode)
        self.best = float("-inf") if self.mode == "max" else float("inf")

    def path_for(self, epoch: int, logs: dict[str, Any]) -> str:
        """The file the end of ``epoch`` (counted from 0) is saved to."""
        if self.literal:
            return self.filepath
        missing = sorted(self.fields - {"epoch", *logs})
        if missing:
            raise InvalidArgumentError(
                f"ModelCheckpoint filepath {self.filepath!r} names {missing}, which the logs "
                f"lack; expected 'epoch' or one of {sorted(logs)} (or literal=True to use the "
                f"path as it is).")
        return self.filepath.format(epoch=epoch + 1, **logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if not math.isfinite(logs.get("loss", 0.0)) or not all_finite(self.model):
            print(f"Epoch {epoch + 1}: non-finite loss or weights; not overwriting the last good "
                  f"checkpoint {self.filepath}.", flush=True)
            return
        path = self.path_for(epoch, logs)
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


def _template_fields(filepath: str) -> set[str]:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(filepath) if f is not None]
    except ValueError as err:   # a lone "{" or "}"
        raise InvalidArgumentError(
            f"ModelCheckpoint filepath {filepath!r} is not a valid template ({err}); double the "
            f"braces ({{{{ }}}}) or pass literal=True to use the path as it is.") from None
    names = set()
    for field in fields:
        name = field.split(".")[0].split("[")[0]
        if not name.isidentifier():
            raise InvalidArgumentError(
                f"ModelCheckpoint filepath {filepath!r} has the field {{{field}}}; expected named "
                f"fields such as {{epoch:02d}} or {{val_loss:.2f}} (or literal=True to use the "
                f"path as it is).")
        names.add(name)
    return names
