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
    CLI's ``--out 'runs/{x}'``), never a template. A template's fields must be named (``epoch``,
    ``batch`` or a log key); positional ``{}`` is refused here, and a name the logs lack is an
    error at the first save naming the keys there are.

    With ``save_best_only`` only an improvement of ``monitor`` is saved. ``save_weights_only``
    writes ``model.save_weights`` (the weights alone) instead of the whole model.
    ``save_freq="epoch"`` saves at each epoch end; an integer N saves after every N training
    batches instead (counted across epochs, as Keras; ``{batch}`` is the batch within the
    epoch, from 1, and the monitor is read from the running training logs). Saves are atomic,
    and a model whose weights or loss are NaN/Inf is never written: the last good checkpoint
    survives. Any file name is honoured; the content is scratchnet's format (see
    docs/keras-compat.md), never Keras's HDF5 / .keras zip.
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch", *,
                 literal: bool = False) -> None:
        super().__init__()
        self.filepath = str(filepath)
        self.literal = literal
        self.fields = set() if literal else _template_fields(self.filepath)
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        if not isinstance(save_weights_only, (bool, int)):
            raise InvalidArgumentError(f"ModelCheckpoint save_weights_only must be True or "
                                       f"False, got {save_weights_only!r}")
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, int) or save_freq < 1):
            raise InvalidArgumentError(f"ModelCheckpoint save_freq must be 'epoch' or an "
                                       f"integer >= 1 (batches between saves), got "
                                       f"{save_freq!r}")
        self.save_freq = save_freq
        self.mode = mode_op(monitor, mode)
        self.best = float("-inf") if self.mode == "max" else float("inf")
        self._batches_since_save = 0
        self._epoch = 0

    def path_for(self, epoch: int, logs: dict[str, Any], batch: int | None = None) -> str:
        """The file the end of ``epoch`` (counted from 0; or of its ``batch``) is saved to."""
        if self.literal:
            return self.filepath
        known = {"epoch", *logs} | ({"batch"} if batch is not None else set())
        missing = sorted(self.fields - known)
        if missing:
            raise InvalidArgumentError(
                f"ModelCheckpoint filepath {self.filepath!r} names {missing}, which the logs "
                f"lack; expected 'epoch'{', batch' if batch is not None else ''} or one of "
                f"{sorted(logs)} (or literal=True to use the path as it is).")
        extra = {"batch": batch + 1} if batch is not None and "batch" not in logs else {}
        return self.filepath.format(epoch=epoch + 1, **extra, **logs)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, {k: v for k, v in (logs or {}).items() if k != "size"},
                       batch, done_epochs=self._epoch)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs or {}, None, done_epochs=epoch + 1)

    def _save(self, epoch: int, logs: dict[str, Any], batch: int | None,
              done_epochs: int) -> None:
        where = f"Epoch {epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        if not math.isfinite(logs.get("loss", 0.0)) or not all_finite(self.model):
            print(f"{where}: non-finite loss or weights; not overwriting the last good "
                  f"checkpoint {self.filepath}.", flush=True)
            return
        path = self.path_for(epoch, logs, batch)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(f"ModelCheckpoint monitors {self.monitor!r}, which is not in the "
                               f"logs (available: {sorted(logs)}).")
            if not better(self.mode, current, self.best):
                return
            if self.verbose:
                print(f"{where}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}", flush=True)
            self.best = current
        elif self.verbose:
            print(f"{where}: saving model to {path}", flush=True)
        if self.save_weights_only:
            self.model.save_weights(path)
            return
        from ..keras_files import warn_if_keras_name
        from ..saving import save_model
        warn_if_keras_name(path, "ModelCheckpoint")
        save_model(self.model, path, epoch=done_epochs)


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
