"""The fit / evaluate / predict loops of Sequential (epochs, shuffling, validation, callbacks).

Callbacks get Keras 3's hooks: fit calls on_train_begin/end, on_epoch_begin/end and
on_train_batch_begin/end (whose default calls the Keras 2 names on_batch_begin/end); its
validation pass and evaluate call on_test_begin/end and on_test_batch_begin/end; predict calls
on_predict_begin/end and on_predict_batch_begin/end. Batch-end logs hold the running means of
the epoch so far, as in Keras.
"""
from __future__ import annotations

import warnings
from typing import Any, Iterator

import numpy as np

from . import backend, validation
from .callbacks import Callback, CallbackList, History, ProgressBar
from .callbacks.base import check_callbacks
from .model_api import adjust_rank
from .sample_weights import check_sample_weight, fit_weights

Array = np.ndarray


def _split_validation(arrays: list[Array | None], split: float) -> tuple[list, list]:
    """The last ``split`` fraction (in [0, 1), checked by fit) as validation data, as Keras."""
    n = len(arrays[0])
    cut = int(n * (1 - split))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={split} leaves {cut} training and {n - cut} "
                         f"validation samples out of {n}; both need at least one.")
    return ([None if a is None else a[:cut] for a in arrays],
            [None if a is None else a[cut:] for a in arrays])


def _validation_data(model: Any, data: Any) -> tuple[Array, Array, Array | None]:
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError(f"validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                         f"sample_weight_val), got {type(data).__name__}"
                         + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    x_val, y_val = model.check_data(data[0], data[1], "fit: validation_data")
    weights = check_sample_weight(data[2] if len(data) == 3 else None, len(x_val),
                                  "fit: validation_data")
    return x_val, y_val, weights


def _check_validation_freq(freq: Any) -> int | list[int]:
    if isinstance(freq, (list, tuple)):
        return [validation.check_positive_int(f, "validation_freq entries") for f in freq]
    if isinstance(freq, bool) or not isinstance(freq, (int, np.integer)) or freq < 1:
        raise ValueError(f"validation_freq must be an integer >= 1 (validate every that many "
                         f"epochs) or a list of epoch numbers counted from 1, got {freq!r}")
    return int(freq)


def _should_validate(epoch: int, freq: int | list[int]) -> bool:
    """Keras's rule, on the epoch counted from 1."""
    return (epoch + 1) in freq if isinstance(freq, list) else (epoch + 1) % freq == 0


def _batch_stream(n: int, batch_size: int, shuffle: bool, rng: np.random.Generator
                  ) -> Iterator[Array | None]:
    """Index batches of pass after pass (reshuffled each pass); None marks the end of a pass."""
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            # The batch is a set: sorted reads are cache friendly.
            yield np.sort(index) if shuffle else index
        yield None


def _epoch_batches(stream: Iterator[Array | None], steps_per_epoch: int | None,
                   pending: list[Array]) -> Iterator[Array]:
    """The batches of one epoch. Without ``steps_per_epoch``: one full pass. With it, as Keras
    3 on arrays: the stream continues across epochs (epoch 2 goes on where epoch 1 stopped);
    a pass that runs out inside an epoch ends that epoch early with Keras's "ran out of data"
    warning, and the next epoch starts a new pass. (Keras would then run an empty epoch when
    a pass ends exactly at an epoch boundary; here that epoch starts the new pass instead.)"""
    if steps_per_epoch is None:
        while (index := next(stream)) is not None:
            yield index
        return
    first = pending.pop() if pending else next(stream)
    if first is None:
        first = next(stream)
    yield first
    for _ in range(steps_per_epoch - 1):
        index = next(stream)
        if index is None:
            warnings.warn("Your input ran out of data; interrupting epoch. Make sure that your "
                          "data can generate at least `steps_per_epoch * epochs` batches "
                          "(steps_per_epoch is larger than len(x) / batch_size).", stacklevel=4)
            return
        yield index
    # Look ahead one batch, so that a pass ending here does not leave the next epoch empty.
    pending.append(next(stream))


def fit_loop(model: Any, x: Any, y: Any, *, batch_size: int | None, epochs: int,
             verbose: int | str, callbacks: list[Callback] | None, validation_split: float,
             validation_data: tuple[Any, ...] | None, shuffle: bool, initial_epoch: int,
             seed: int | None, class_weight: dict[int, float] | None = None,
             sample_weight: Any = None, steps_per_epoch: int | None = None,
             validation_freq: int | list[int] = 1) -> History:
    """fit's loop. ``validation_freq``: validate every that many epochs (int) or after the
    listed epochs (counted from 1), as Keras. ``steps_per_epoch``: see ``_epoch_batches``."""
    callbacks = check_callbacks(callbacks, "fit")
    if verbose not in ("auto", 0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    validation_split = validation.check_number(validation_split, "validation_split", 0, 1,
                                               high_inclusive=False)
    validation_freq = _check_validation_freq(validation_freq)
    if steps_per_epoch is not None:
        steps_per_epoch = validation.check_positive_int(steps_per_epoch, "steps_per_epoch")
    x, y = model.check_data(x, y, "fit")
    weights = fit_weights(sample_weight, class_weight, y)
    batch_size = validation.check_positive_int(32 if batch_size is None else batch_size,
                                               "batch_size")
    epochs = validation.check_positive_int(epochs, "epochs", minimum=0)
    initial_epoch = validation.check_positive_int(initial_epoch, "initial_epoch", minimum=0)
    if validation_data is not None:
        x_val, y_val, w_val = _validation_data(model, validation_data)
    elif validation_split:
        (x, y, weights), (x_val, y_val, w_val) = _split_validation([x, y, weights],
                                                                   validation_split)
    else:
        x_val = y_val = w_val = None

    rng = np.random.default_rng(seed) if seed is not None else backend.rng()
    if model.resume_rng is not None and initial_epoch > 0:
        rng = model.resume_rng  # continue the saved run's shuffling and dropout stream exactly
    model.resume_rng = None
    model.fit_rng = rng
    for layer in model.dropout_layers():
        if layer.seed is None:
            layer.rng = rng
    verbose = 1 if verbose == "auto" else int(verbose)
    history = History()
    model.history = history
    extra = [ProgressBar(verbose)] if verbose else []
    steps = steps_per_epoch or -(-len(x) // batch_size)
    callback_list = CallbackList([history, *callbacks, *extra], model,
                                 {"epochs": epochs, "steps": steps, "samples": len(x),
                                  "batch_size": batch_size, "verbose": verbose})
    model.stop_training = False
    stream, pending = _batch_stream(len(x), batch_size, shuffle, rng), []
    callback_list.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch, {})
        totals: dict[str, float] = {}
        seen = 0
        for step, index in enumerate(_epoch_batches(stream, steps_per_epoch, pending)):
            callback_list.on_train_batch_begin(step, {})
            logs = model.train_step(model.cast_input(x[index]), y[index],
                                    None if weights is None else weights[index])
            seen += len(index)
            for key, value in logs.items():
                totals[key] = totals.get(key, 0.0) + value * len(index)
            running = {key: value / seen for key, value in totals.items()}
            callback_list.on_train_batch_end(step, {**running, "size": len(index)})
            if model.stop_training:
                break
        epoch_logs = {key: value / seen for key, value in totals.items()}
        if x_val is not None and _should_validate(epoch, validation_freq):
            results = evaluate_loop(model, x_val, y_val, batch_size, 0, sample_weight=w_val,
                                    callback_list=callback_list)
            epoch_logs.update({f"val_{key}": value for key, value in results.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end({})
    return history


def evaluate_loop(model: Any, x: Any, y: Any, batch_size: int | None, verbose: int | str = 0,
                  return_predictions: bool = False, sample_weight: Any = None,
                  callbacks: list[Callback] | None = None,
                  callback_list: CallbackList | None = None) -> Any:
    """Loss and metrics of ``model`` over (x, y): means over the batches weighted by their
    sizes (and, with ``return_predictions``, the outputs, from the same pass). The loss is
    weighted by ``sample_weight`` per sample; metrics are not. ``callback_list``: fit's own,
    for its validation pass (so the callbacks keep fit's params)."""
    from .callbacks.progress import batch_progress
    x, y = model.check_data(x, y, "evaluate")
    weights = check_sample_weight(sample_weight, len(x), "evaluate")
    batch_size = validation.check_positive_int(32 if batch_size is None else batch_size,
                                               "batch_size")
    if callback_list is None:
        callback_list = CallbackList(check_callbacks(callbacks, "evaluate"), model,
                                     {"steps": -(-len(x) // batch_size), "verbose": verbose})
    totals: dict[str, float] = {}
    outputs = []
    bar = batch_progress(len(x), verbose, "evaluate")
    callback_list.on_test_begin({})
    try:
        for step, start in enumerate(range(0, len(x), batch_size)):
            callback_list.on_test_batch_begin(step, {})
            xb, yb = model.cast_input(x[start:start + batch_size]), y[start:start + batch_size]
            wb = None if weights is None else weights[start:start + batch_size]
            value, y_pred, _ = model.forward_loss(xb, yb, training=False, backward=False,
                                                  sample_weight=wb)
            if return_predictions:
                outputs.append(y_pred)
            logs = {"loss": value, **model.metric_values(yb, y_pred)}
            for key, value in logs.items():
                totals[key] = totals.get(key, 0.0) + value * len(xb)
            bar.update(len(xb))
            seen = start + len(xb)
            callback_list.on_test_batch_end(step, {k: v / seen for k, v in totals.items()})
    finally:
        bar.close()
    means = {key: value / len(x) for key, value in totals.items()}
    callback_list.on_test_end(dict(means))
    return (means, np.concatenate(outputs, axis=0)) if return_predictions else means


def predict_loop(model: Any, x: Any, batch_size: int | None, verbose: int | str,
                 callbacks: list[Callback] | None = None) -> Array:
    """Outputs for x in inference mode; NaN/Inf input (or beyond the model's float range) is
    refused, as evaluate and fit refuse it, instead of returning NaN."""
    from .callbacks.progress import batch_progress
    callbacks = check_callbacks(callbacks, "predict")
    x = validation.as_numeric_array(x, "predict: x")
    model.ensure_built(x)
    x = adjust_rank(x, model.input_shape)
    validation.check_features(x, model.input_shape, "predict: x")
    validation.check_finite(x, "predict: x", model.dtype)
    batch_size = validation.check_positive_int(32 if batch_size is None else batch_size,
                                               "batch_size")
    callback_list = CallbackList(callbacks, model, {"steps": -(-len(x) // batch_size),
                                                    "verbose": verbose})
    outputs = []
    bar = batch_progress(len(x), verbose, "predict")
    callback_list.on_predict_begin({})
    try:
        for step, start in enumerate(range(0, len(x), batch_size)):
            callback_list.on_predict_batch_begin(step, {})
            outputs.append(model.forward(model.cast_input(x[start:start + batch_size]),
                                         training=False, backward=False)[0])
            bar.update(len(outputs[-1]))
            callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
    finally:
        bar.close()
    callback_list.on_predict_end({})
    return np.concatenate(outputs, axis=0)
