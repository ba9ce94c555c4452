"""The fit loop of Sequential (epochs, shuffling, validation, callbacks)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, validation
from .callbacks import Callback, CallbackList, History, ProgressBar
from .model_api import adjust_rank

Array = np.ndarray


def _split_validation(x: Array, y: Array, split: float) -> tuple[Array, Array, Array, Array]:
    """The last ``split`` fraction (in [0, 1), checked by fit) as validation data, as Keras."""
    cut = int(len(x) * (1 - split))
    if cut == 0 or cut == len(x):
        raise ValueError(f"validation_split={split} leaves {cut} training and {len(x) - cut} "
                         f"validation samples out of {len(x)}; both need at least one.")
    return x[:cut], y[:cut], x[cut:], y[cut:]


def fit_loop(model: Any, x: Any, y: Any, *, batch_size: int | None, epochs: int,
             verbose: int | str, callbacks: list[Callback] | None, validation_split: float,
             validation_data: tuple[Any, Any] | None, shuffle: bool, initial_epoch: int,
             seed: int | None) -> History:
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of Callback objects, got "
                        f"{type(callbacks).__name__}; wrap a single one: callbacks=[...].")
    if verbose not in ("auto", 0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    validation_split = validation.check_number(validation_split, "validation_split", 0, 1,
                                               high_inclusive=False)
    x, y = model.check_data(x, y, "fit")
    batch_size = validation.check_positive_int(32 if batch_size is None else batch_size,
                                               "batch_size")
    epochs = validation.check_positive_int(epochs, "epochs", minimum=0)
    initial_epoch = validation.check_positive_int(initial_epoch, "initial_epoch", minimum=0)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a tuple (x_val, y_val).")
        x_val, y_val = model.check_data(*validation_data, "fit: validation_data")
    elif validation_split:
        x, y, x_val, y_val = _split_validation(x, y, validation_split)
    else:
        x_val = y_val = None

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
    steps = -(-len(x) // batch_size)
    callback_list = CallbackList([history, *(callbacks or []), *extra], model,
                                 {"epochs": epochs, "steps": steps, "samples": len(x),
                                  "batch_size": batch_size, "verbose": verbose})
    model.stop_training = False
    callback_list.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch, {})
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        totals: dict[str, float] = {}
        seen = 0
        for step in range(steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            if shuffle:
                index = np.sort(index)  # the batch is a set: sorted reads are cache friendly
            callback_list.on_train_batch_begin(step, {})
            logs = model.train_step(model.cast_input(x[index]), y[index])
            seen += len(index)
            for key, value in logs.items():
                totals[key] = totals.get(key, 0.0) + value * len(index)
            running = {key: value / seen for key, value in totals.items()}
            callback_list.on_train_batch_end(step, {**running, "size": len(index)})
            if model.stop_training:
                break
        epoch_logs = {key: value / seen for key, value in totals.items()}
        if x_val is not None:
            results = model.evaluate(x_val, y_val, batch_size=batch_size, verbose=0,
                                     return_dict=True)
            epoch_logs.update({f"val_{key}": value for key, value in results.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end({})
    return history


def evaluate_loop(model: Any, x: Any, y: Any, batch_size: int | None, verbose: int | str = 0,
                  return_predictions: bool = False) -> Any:
    """Loss and metrics of ``model`` over (x, y): sample-weighted means over the batches (and,
    with ``return_predictions``, the outputs, from the same pass)."""
    from .callbacks.progress import batch_progress
    x, y = model.check_data(x, y, "evaluate")
    batch_size = validation.check_positive_int(32 if batch_size is None else batch_size,
                                               "batch_size")
    totals: dict[str, float] = {}
    outputs = []
    bar = batch_progress(len(x), verbose, "evaluate")
    try:
        for start in range(0, len(x), batch_size):
            xb, yb = model.cast_input(x[start:start + batch_size]), y[start:start + batch_size]
            value, y_pred, _ = model.forward_loss(xb, yb, training=False, backward=False)
            if return_predictions:
                outputs.append(y_pred)
            logs = {"loss": value, **model.metric_values(yb, y_pred)}
            for key, value in logs.items():
                totals[key] = totals.get(key, 0.0) + value * len(xb)
            bar.update(len(xb))
    finally:
        bar.close()
    means = {key: value / len(x) for key, value in totals.items()}
    return (means, np.concatenate(outputs, axis=0)) if return_predictions else means


def predict_loop(model: Any, x: Any, batch_size: int | None, verbose: int | str) -> Array:
    """Outputs for x in inference mode; NaN/Inf input (or beyond the model's float range) is
    refused, as evaluate and fit refuse it, instead of returning NaN."""
    from .callbacks.progress import batch_progress
    x = validation.as_numeric_array(x, "predict: x")
    model.ensure_built(x)
    x = adjust_rank(x, model.input_shape)
    validation.check_features(x, model.input_shape, "predict: x")
    validation.check_finite(x, "predict: x", model.dtype)
    batch_size = validation.check_positive_int(32 if batch_size is None else batch_size,
                                               "batch_size")
    outputs = []
    bar = batch_progress(len(x), verbose, "predict")
    try:
        for start in range(0, len(x), batch_size):
            outputs.append(model.forward(model.cast_input(x[start:start + batch_size]),
                                         training=False, backward=False)[0])
            bar.update(len(outputs[-1]))
    finally:
        bar.close()
    return np.concatenate(outputs, axis=0)
