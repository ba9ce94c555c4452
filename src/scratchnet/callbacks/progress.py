"""ProgressBar: a tqdm bar per epoch and a Keras-style summary line."""
from __future__ import annotations

import sys
import time
from typing import Any

from .base import Callback, Logs


class ProgressBar(Callback):
    """A per-epoch progress bar (tqdm): samples/s, ETA, running loss and accuracy, then a
    Keras-style one-line summary per epoch. ``verbose=2`` prints only the summary line."""

    def __init__(self, verbose: int = 1) -> None:
        super().__init__()
        self.verbose = verbose
        self._bar: Any = None
        self._start = 0.0
        self._seen = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._start, self._seen = time.perf_counter(), 0
        print(f"Epoch {epoch + 1}/{self.params.get('epochs')}", flush=True)
        if self.verbose == 1:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=self.params.get("samples"), unit="sample", unit_scale=True,
                             leave=False, dynamic_ncols=True)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        size = int(logs.get("size", 0))
        self._seen += size
        self._train_seconds = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.update(size)
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "size"},
                                  refresh=False)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._bar is not None:
            # The bar's last state shows the epoch's figures, the same as the line below it,
            # not the last batch's.
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()
                                   if not k.startswith("val_")}, refresh=True)
            self._bar.close()
            self._bar = None
        elapsed = time.perf_counter() - self._start
        # The rate counts training only: validation time would understate it.
        train_seconds = getattr(self, "_train_seconds", elapsed)
        rate = self._seen / train_seconds if train_seconds > 0 else 0.0
        parts = [f"{k}: {v:.4f}" for k, v in (logs or {}).items()]
        print(f"{self._seen}/{self.params.get('samples')} - {elapsed:.0f}s - "
              f"{rate:,.0f} samples/s - " + " - ".join(parts), flush=True)


class _NoBar:
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


def batch_progress(total: int, verbose: int | str, desc: str) -> Any:
    """The bar of ``model.evaluate``/``predict``. verbose: 0 none, 1 a tqdm bar, 2 none (Keras
    prints one line per epoch at 2, which evaluate/predict do not have), "auto" a bar only when
    stderr is a terminal: a bar redrawn with carriage returns is noise in a log file or CI."""
    if verbose not in ("auto", 0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    if verbose == "auto":
        verbose = 1 if getattr(sys.stderr, "isatty", lambda: False)() else 0
    if verbose != 1:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, leave=False,
                dynamic_ncols=True)
