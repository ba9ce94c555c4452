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
        self._train_seconds = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.update(size)
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "size"},
                                  refresh=False)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elapsed = time.perf_counter() - self._start
        # The rate counts training only: validation time would understate it.
        train_seconds = getattr(self, "_train_seconds", elapsed)
        rate = self._seen / train_seconds if train_seconds > 0 else 0.0
        parts = [f"{k}: {v:.4f}" for k, v in (logs or {}).items()]
        print(f"{self._seen}/{self.params.get('samples')} - {elapsed:.0f}s - "
              f"{rate:,.0f} samples/s - " + " - ".join(parts), flush=True)


def _mode_op(monitor: str, mode: str) -> str:
    """Keras's rule: mode "auto" maximises accuracy-like metrics and minimises the rest."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.startswith("fmeasure")) else "min"
    return mode


def _better(mode: str, current: float, best: float, min_delta: float = 0.0) -> bool:
    return current - min_delta > best if mode == "max" else current + min_delta < best


def _all_finite(model: Any) -> bool:
    import numpy as np
    return all(np.isfinite(w).all() for layer in model.layers for w in layer.params.values())


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
        self.mode = _mode_op(monitor, mode)
        self.best = float("-inf") if self.mode == "max" else float("inf")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        import math
        logs = logs or {}
        if not math.isfinite(logs.get("loss", 0.0)) or not _all_finite(self.model):
            print(f"Epoch {epoch + 1}: non-finite loss or weights; not overwriting the last good "
                  f"checkpoint {self.filepath}.", flush=True)
            return
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(f"ModelCheckpoint monitors {self.monitor!r}, which is not in the "
                               f"logs (available: {sorted(logs)}).")
            if not _better(self.mode, current, self.best):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}", flush=True)
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}", flush=True)
        from .saving import save_model
        save_model(self.model, path, epoch=epoch + 1)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.
    ``restore_best_weights`` puts back the best epoch's weights at the end of training (Keras 3).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), int(patience)
        self.verbose, self.baseline = verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.mode = _mode_op(monitor, mode)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = float("-inf") if self.mode == "max" else float("inf")
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, which is not in the logs "
                           f"(available: {sorted(logs or {})}).")
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if _better(self.mode, current, self.best, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _better(self.mode, current, self.baseline,
                                                self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self.best_weights)


class CSVLogger(Callback):
    """Append one row per epoch (``epoch`` then the logs, sorted) to a CSV file, as Keras."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, append
        self._keys: list[str] | None = None
        self._file: Any = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        import os
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
        import math
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
    on x is non-finite, running the layers one by one in inference mode; else the layer nearest
    the output holding a non-finite gradient (its backward overflowed first)."""
    import numpy as np
    for layer in model.layers:
        for key, value in layer.params.items():
            if not np.isfinite(value).all():
                return f"First non-finite weight: layer {layer.name!r} ({key})."
    if x is not None:
        h = model._cast(np.asarray(x))
        if not np.isfinite(h).all():
            return "The input itself is non-finite."
        with np.errstate(all="ignore"):
            for layer in model.layers:
                largest_input = float(np.abs(h).max())
                h, _ = layer.forward(h, training=False)
                if not np.isfinite(h).all():
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
