"""Keras 3's callback hooks on fit/evaluate/predict, LearningRateScheduler, ReduceLROnPlateau."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import callbacks, layers

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin",
         "on_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin",
         "on_test_batch_end", "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
         "on_predict_batch_end"]


def tiny(lr: float = 0.1) -> sn.Sequential:
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                           layers.Dense(2, activation="softmax")])
    model.compile(optimizer=sn.optimizers.SGD(lr), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data(n: int = 10):
    x = np.random.default_rng(1).normal(size=(n, 3)).astype(np.float32)
    return x, np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]


class Recorder(sn.Callback):
    """Records (hook, argument) for every hook, overriding the Keras 2 on_batch_* names only:
    Keras's on_train_batch_* default must forward to them."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple] = []
        self.logs: dict[str, list] = {}
        for hook in HOOKS:
            setattr(self, hook, self._recorder(hook))

    def _recorder(self, hook):
        def record(*args):
            self.calls.append((hook, *[a for a in args if isinstance(a, int)]))
            self.logs.setdefault(hook, []).append(dict(args[-1]) if args and args[-1] else {})
        return record


def test_fit_calls_batch_aliases_and_test_hooks_in_keras_order():
    x, y = data(10)
    recorder = Recorder()
    tiny().fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[recorder],
               validation_data=data(5))
    epoch = lambda e: [("on_epoch_begin", e),   # noqa: E731
                       *[c for b in range(3) for c in (("on_batch_begin", b),
                                                       ("on_batch_end", b))],
                       ("on_test_begin",),
                       *[c for b in range(2) for c in (("on_test_batch_begin", b),
                                                       ("on_test_batch_end", b))],
                       ("on_test_end",), ("on_epoch_end", e)]
    assert recorder.calls == [("on_train_begin",), *epoch(0), *epoch(1), ("on_train_end",)]
    # The validation pass's final logs are the epoch's val_ values.
    test_end, epoch_end = recorder.logs["on_test_end"][-1], recorder.logs["on_epoch_end"][-1]
    assert test_end["loss"] == pytest.approx(epoch_end["val_loss"])
    assert test_end["accuracy"] == pytest.approx(epoch_end["val_accuracy"])


def test_train_batch_hooks_override_directly_get_running_logs():
    seen = []

    class Direct(sn.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, logs["loss"], logs["size"]))

    x, y = data(10)
    history = tiny().fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False,
                         callbacks=[Direct()])
    assert [s[0] for s in seen] == [0, 1, 2] and [s[2] for s in seen] == [4, 4, 2]
    assert seen[-1][1] == pytest.approx(history.history["loss"][0])   # the running mean


def test_evaluate_and_predict_call_their_hooks():
    x, y = data(10)
    model = tiny()
    recorder = Recorder()
    result = model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[recorder],
                            return_dict=True)
    assert recorder.calls == [("on_test_begin",), ("on_test_batch_begin", 0),
                              ("on_test_batch_end", 0), ("on_test_batch_begin", 1),
                              ("on_test_batch_end", 1), ("on_test_batch_begin", 2),
                              ("on_test_batch_end", 2), ("on_test_end",)]
    assert recorder.logs["on_test_end"][0] == pytest.approx(result)
    assert recorder.model is model and recorder.params["steps"] == 3

    recorder = Recorder()
    outputs = model.predict(x, batch_size=4, verbose=0, callbacks=[recorder])
    assert [c[0] for c in recorder.calls] == ["on_predict_begin"] + [
        "on_predict_batch_begin", "on_predict_batch_end"] * 3 + ["on_predict_end"]
    batches = [logs["outputs"] for logs in recorder.logs["on_predict_batch_end"]]
    assert np.array_equal(np.concatenate(batches), outputs)


@pytest.mark.parametrize("call", ["evaluate", "predict"])
def test_callbacks_argument_must_be_a_list_of_callbacks(call):
    x, y = data(4)
    model = tiny()
    run = (lambda cbs: model.evaluate(x, y, verbose=0, callbacks=cbs)) if call == "evaluate" \
        else (lambda cbs: model.predict(x, verbose=0, callbacks=cbs))
    with pytest.raises(TypeError, match=f"{call}: callbacks must be a list.*got History"):
        run(sn.History())
    with pytest.raises(TypeError, match="must be Callback objects.*got str"):
        run(["early_stopping"])


# --- LearningRateScheduler ---------------------------------------------------------------------
class RateLog(sn.Callback):
    """The learning rate in force during each epoch."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(self.model.optimizer.learning_rate)


def test_learning_rate_scheduler_two_and_one_argument_schedules():
    x, y = data()
    model, rates = tiny(0.1), RateLog()
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch >= 2 else lr),
        rates])
    assert rates.rates == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])

    model, rates = tiny(0.1), RateLog()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1)), rates])
    assert rates.rates == pytest.approx([0.01, 0.02, 0.03])


def test_learning_rate_scheduler_changes_the_update_by_the_rate():
    """One epoch of one full batch at lr 0.0 leaves the weights; at 0.2 moves them twice as
    far as at 0.1."""
    x, y = data()
    moves = []
    for rate in (0.0, 0.1, 0.2):
        model = tiny(0.7)
        before = model.get_weights()[0].copy()
        model.fit(x, y, epochs=1, batch_size=len(x), verbose=0, shuffle=False, callbacks=[
            callbacks.LearningRateScheduler(lambda epoch, lr, r=rate: r)])
        moves.append(model.get_weights()[0] - before)
    assert np.all(moves[0] == 0)
    np.testing.assert_allclose(moves[2], 2 * moves[1], rtol=1e-5, atol=1e-7)


def test_learning_rate_scheduler_bad_arguments():
    with pytest.raises(TypeError, match="expects a function.*got float"):
        callbacks.LearningRateScheduler(0.1)
    x, y = data()
    with pytest.raises(ValueError, match="schedule must return a float, got 'fast'"):
        tiny().fit(x, y, verbose=0, callbacks=[
            callbacks.LearningRateScheduler(lambda e, lr: "fast")])


# --- ReduceLROnPlateau -------------------------------------------------------------------------
class Scripted(sn.Callback):
    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_reduce_lr_on_plateau_patience_and_cooldown():
    # Worked by hand with Keras's rule: 0.95 and 0.96 do not improve on 0.9 -> after patience 2
    # the rate halves at the end of epoch 3; epoch 4 is the cooldown (no waiting counted); 0.5
    # improves; 0.6 and 0.7 make the second reduction at the end of epoch 7.
    x, y = data()
    model, rates = tiny(0.1), RateLog()
    history = model.fit(x, y, epochs=8, verbose=0, callbacks=[
        rates, Scripted("val_loss", [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]),
        callbacks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1)])
    assert rates.rates == pytest.approx([0.1] * 4 + [0.05] * 4)
    assert model.optimizer.learning_rate == pytest.approx(0.025)
    assert history.history["learning_rate"] == pytest.approx([0.1] * 4 + [0.05] * 4)


def test_reduce_lr_on_plateau_min_lr_min_delta_and_max_mode():
    x, y = data()
    model = tiny(0.1)
    # Improvements of 1e-5 are below min_delta 1e-4: a plateau; the floor is min_lr.
    model.fit(x, y, epochs=4, verbose=0, callbacks=[
        Scripted("val_loss", [1.0, 1.0 - 1e-5, 1.0 - 2e-5, 1.0 - 3e-5]),
        callbacks.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05)])
    assert model.optimizer.learning_rate == pytest.approx(0.05)
    model = tiny(0.1)   # "auto" maximises accuracy: a rising accuracy never reduces
    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        Scripted("val_accuracy", [0.5, 0.6, 0.7]),
        callbacks.ReduceLROnPlateau(monitor="val_accuracy", patience=1)])
    assert model.optimizer.learning_rate == pytest.approx(0.1)


def test_reduce_lr_on_plateau_bad_arguments_and_missing_monitor():
    with pytest.raises(ValueError, match="factor must be < 1.0.*factor=1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="patience must be an integer >= 0, got -1"):
        callbacks.ReduceLROnPlateau(patience=-1)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', got 'up'"):
        callbacks.ReduceLROnPlateau(mode="up")
    x, y = data()
    with pytest.warns(UserWarning, match="monitors 'val_loss'.*available: .*'loss'"):
        tiny().fit(x, y, verbose=0, callbacks=[callbacks.ReduceLROnPlateau()])
