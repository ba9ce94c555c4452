"""Callbacks: hooks into fit, as in Keras. ``History`` is always attached by fit."""
from __future__ import annotations

import time
from typing import Any

Logs = dict[str, float]


class Callback:
    """Base class: override any of the hooks. ``self.model`` is set by fit."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...


class CallbackList:
    """Calls every callback's hook in order."""

    def __init__(self, callbacks: list[Callback], model: Any, params: dict[str, Any]):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args: Any) -> None:
            for callback in self.callbacks:
                getattr(callback, hook)(*args)
        return call


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]`` is one value per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


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
        if self._bar is not None:
            self._bar.update(size)
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "size"},
                                  refresh=False)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elapsed = time.perf_counter() - self._start
        rate = self._seen / elapsed if elapsed > 0 else 0.0
        parts = [f"{k}: {v:.4f}" for k, v in (logs or {}).items()]
        print(f"{self._seen}/{self.params.get('samples')} - {elapsed:.0f}s - "
              f"{rate:,.0f} samples/s - " + " - ".join(parts), flush=True)
