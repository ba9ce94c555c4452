"""The callback protocol, the list that calls the hooks, and History."""
from __future__ import annotations

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
    # Keras calls the train-batch hooks, whose default calls the Keras 2 names on_batch_*:
    # overriding either spelling works.
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    # evaluate (and fit's validation pass) and predict, as Keras calls them.
    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_begin(self, logs: Logs | None = None) -> None: ...
    def on_predict_end(self, logs: Logs | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...


def check_callbacks(callbacks: Any, what: str) -> list[Callback]:
    """``callbacks=`` of fit/evaluate/predict as a list, or one clear error."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{what}: callbacks must be a list of Callback objects, got "
                        f"{type(callbacks).__name__}; wrap a single one: callbacks=[...].")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"{what}: callbacks must be Callback objects (subclass "
                            f"scratchnet.callbacks.Callback), got {type(callback).__name__}.")
    return list(callbacks)


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
        self._last_logs = logs if logs is not None else {}
        self._recorded = set(self._last_logs)
        for key, value in self._last_logs.items():
            self.history.setdefault(key, []).append(value)

    # History runs first (ModelCheckpoint saves the history with the epoch in it), so keys that
    # later callbacks add to the same epoch's logs (ReduceLROnPlateau's "learning_rate") are
    # picked up here, at the next epoch's start and at the end of training.
    def _catch_up(self) -> None:
        logs = getattr(self, "_last_logs", None)
        if not logs:
            return
        for key, value in logs.items():
            if key not in self._recorded:
                self.history.setdefault(key, []).append(value)
        self._last_logs = None

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._catch_up()

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._catch_up()
