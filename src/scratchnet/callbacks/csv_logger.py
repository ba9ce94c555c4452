"""CSVLogger: one CSV row per epoch."""
from __future__ import annotations

import os
from typing import Any

from .base import Callback, Logs


class CSVLogger(Callback):
    """Append one row per epoch (``epoch`` then the logs, sorted) to a CSV file, as Keras."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, append
        self._keys: list[str] | None = None
        self._file: Any = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        has_rows = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        if has_rows:
            with open(self.filename, encoding="utf-8") as handle:
                self._keys = handle.readline().strip().split(self.sep)[1:]
        self._file = open(self.filename, "a" if self.append else "w", encoding="utf-8",
                          newline="")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._file.write(self.sep.join(["epoch", *self._keys]) + "\n")
        values = [repr(float(logs[k])) if k in logs else "NA" for k in self._keys]
        self._file.write(self.sep.join([str(epoch), *values]) + "\n")
        self._file.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
