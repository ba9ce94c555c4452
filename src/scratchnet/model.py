"""Sequential: a stack of layers with Keras's compile / fit / evaluate / predict.

Mini-batch semantics: the loss of a batch is the mean of its per-sample losses, so the parameter
gradient of a batch is the mean of the per-sample gradients (the loss divides by the batch size,
exactly once; layers never do). With batch_size=1 fit is plain per-sample SGD.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from . import activations, losses, optimizers, saving, validation
from . import callbacks as callbacks_module
from . import metrics as metrics_module
from .errors import NotCompiledError
from .layers import Dropout, Layer
from .layers.base import snake_case
from .model_api import ModelAPI, adjust_rank
from .model_forward import ForwardAndGradients
from .model_weights import WeightsAndConfig
from .runner import Runner, final_activation
from .training import evaluate_loop, fit_loop, predict_loop

Array = np.ndarray


class Sequential(ForwardAndGradients, ModelAPI, WeightsAndConfig):
    """A linear stack of layers. Input shape comes from the first layer's ``input_shape``, an
    ``Input`` layer, or the first batch seen."""

    def __init__(self, layers: Iterable[Layer] | None = None, name: str = "sequential"):
        self.name = name
        self.layers: list[Layer] = []
        self.built = False
        self.input_shape: tuple[int, ...] | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.metric_names: list[str] = []   # the logs keys of compiled_metrics
        self.compiled_metrics: list[Any] = []
        self.stop_training = False
        self.nonfinite_batch: Array | None = None
        self.initial_epoch = 0   # epochs already trained (set by load_model)
        self.history: callbacks_module.History | None = None
        # Set by load_model, read by fit: the saved run's generator (continues shuffling and
        # dropout exactly on fit(initial_epoch > 0)) and the history of the epochs in the file.
        self.resume_rng: np.random.Generator | None = None
        self.loaded_history: dict[str, Any] | None = None
        self.fit_rng: np.random.Generator | None = None   # the generator of the last fit
        self.runner = Runner(self.layers)
        self.fused_loss: losses.Loss | None = None   # softmax + cross-entropy as one step
        for layer in layers or ():
            self.add(layer)

    # --- construction ------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        if isinstance(layer, Sequential):   # a model used as a layer
            from .layers.nested_model import NestedModel
            layer = NestedModel(layer)
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a scratchnet Layer, "
                            f"got {type(layer).__name__}")
        names = {existing.name for existing in self.layers}
        if layer.name is None:
            stem, count = snake_case(type(layer).__name__), 0
            layer.name = stem
            while layer.name in names:
                count += 1
                layer.name = f"{stem}_{count}"
        elif layer.name in names:
            raise ValueError(f"Layer name {layer.name!r} is already used in this model.")
        self.layers.append(layer)
        try:
            if not self.built and len(self.layers) == 1 and layer.input_shape_arg is not None:
                self.build(layer.input_shape_arg)
            elif self.built:
                if not layer.built:
                    layer.build(self.layers[-2].output_shape if len(self.layers) > 1
                                else self.input_shape)
                self._check_chain()
        except Exception:
            self.layers.pop()   # a layer that does not fit leaves the model as it was
            raise
        self._update_fused_loss()

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create every layer's weights for per-sample inputs of ``input_shape`` (no batch axis)."""
        shape = tuple(int(d) for d in input_shape)
        self.input_shape = shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.output_shape
        self._check_chain()
        self.built = True
        self._update_fused_loss()

    def _check_chain(self) -> None:
        shape = self.input_shape
        for layer in self.layers:
            if layer.input_shape != shape:
                raise ValueError(f"Layer {layer.name!r} was built for inputs {layer.input_shape} "
                                 f"but receives {shape}.")
            shape = layer.output_shape

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        if not self.layers:
            return self.input_shape
        return self.layers[-1].output_shape

    def ensure_built(self, x: Array) -> None:
        """Build from the first batch's per-sample shape when no input shape was given."""
        if not self.layers:
            raise ValueError("The model has no layers; add some with model.add(...).")
        if not self.built:
            self.build(self.layers[0].input_shape_arg or x.shape[1:])

    # --- compile -----------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: list[Any] | None = None) -> None:
        """Choose optimizer (name or instance; Keras default "rmsprop"), loss and metrics
        (names such as "accuracy" / "mae" / any loss name, Metric objects, or functions
        f(y_true, y_pred); see ``metrics.check_all``)."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='categorical_crossentropy'.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.compiled_metrics = metrics_module.check_all(metrics)
        self.metric_names = [metrics_module.name_of(m) for m in self.compiled_metrics]
        self._update_fused_loss()

    @property
    def final_activation(self) -> activations.Activation | None:
        """The activation the last layer applies last (None if it applies none)."""
        return final_activation(self.layers)

    def _update_fused_loss(self) -> None:
        activation = self.final_activation
        self.fused_loss = (losses.fused_loss(activation, self.loss)
                           if activation is not None and self.loss is not None else None)

    def require_compiled(self, what: str) -> None:
        """Raise a clear error when ``what`` needs a compiled model and this one is not."""
        if self.optimizer is None or self.loss is None:
            raise NotCompiledError(f"The model must be compiled before {what}: call "
                               f"model.compile(optimizer=..., loss=...) first.")

    def metric_values(self, y: Array, y_pred: Array) -> dict[str, float]:
        """{metric name: value} of the compiled metrics on one batch."""
        return {name: metrics_module.get(metric, y.shape, y_pred.shape, self.loss.name)(y, y_pred)
                for name, metric in zip(self.metric_names, self.compiled_metrics)}

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None,
                       class_weight: dict[int, float] | None = None) -> float | list[float]:
        """One optimizer step on one batch; returns [loss, *metrics] (or the loss alone)."""
        from .sample_weights import fit_weights
        x, y = self.check_data(x, y, "train_on_batch")
        logs = self.train_step(self.cast_input(x), y, fit_weights(sample_weight, class_weight, y))
        return self._as_result(logs)

    def train_step(self, x: Array, y: Array,
                   sample_weight: Array | None = None) -> dict[str, float]:
        """One update on a checked, cast batch; returns {"loss": ..., metric: ...}. A step whose
        loss or gradients are NaN/Inf is *not* applied: the weights stay the last good ones,
        and ``nonfinite_batch`` keeps the batch for diagnosis (``callbacks.TerminateOnNaN``
        stops training there and names the layer)."""
        value, y_pred = self.compute_loss_and_gradients(x, y, training=True,
                                                        sample_weight=sample_weight)
        grads = self.trainable_grads()
        # One sum per gradient is far cheaper than isfinite over every entry, and NaN/Inf
        # propagate through it.
        with np.errstate(all="ignore"):
            finite = math.isfinite(value) and math.isfinite(sum(float(g.sum())
                                                                 for g in grads.values()))
        self.nonfinite_batch = None if finite else x
        if finite:
            self.optimizer.apply(self.trainable_params(), grads)
        return {"loss": value, **self.metric_values(y, y_pred)}

    def _as_result(self, logs: dict[str, float]) -> float | list[float]:
        return logs["loss"] if not self.metric_names else [logs["loss"]] + [
            logs[m] for m in self.metric_names]

    # --- data checks -------------------------------------------------------------------------
    def check_data(self, x: Any, y: Any, what: str) -> tuple[Array, Array]:
        """(x, y) as arrays, checked against the model (shapes, finiteness, the loss's targets);
        ``what`` names the caller in error messages. Builds the model if needed."""
        self.require_compiled(what)
        x = validation.as_numeric_array(x, f"{what}: x")
        self.ensure_built(x)
        x = adjust_rank(x, self.input_shape)
        validation.check_features(x, self.input_shape, f"{what}: x")
        validation.check_finite(x, f"{what}: x", self.dtype)
        y = validation.as_numeric_array(y, f"{what}: y")
        if y.ndim == 1 and self.output_shape == (1,) and \
                self.loss.name != "sparse_categorical_crossentropy":
            y = y.reshape(-1, 1)   # labels (N,) for a single output unit, as Keras accepts
        validation.check_same_length(x, y)
        validation.check_finite(y, f"{what}: y", self.dtype)
        self.loss.check_targets(y, self.output_shape)
        return x, y

    # --- fit / evaluate / predict ------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: list[callbacks_module.Callback] | None = None,
            validation_split: float = 0.0, validation_data: tuple[Any, Any] | None = None,
            shuffle: bool = True, class_weight: dict[int, float] | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_freq: int | list[int] = 1,
            seed: int | None = None) -> callbacks_module.History:
        """Train for ``epochs`` epochs (Keras semantics; batch_size defaults to 32).

        ``validation_split`` holds out the *last* fraction of x/y, before shuffling (as Keras).
        ``seed`` fixes shuffling and dropout masks; weights are fixed by ``set_random_seed``
        before the layers are built. ``sample_weight`` (N,) / ``class_weight`` {class: weight}
        weigh the per-sample losses (see ``losses.Loss.weighted_forward``);
        ``steps_per_epoch``, ``validation_freq``: see ``training.fit_loop``.
        """
        seed = validation.check_seed(seed, "fit: seed")
        return fit_loop(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_split=validation_split,
                        validation_data=validation_data, shuffle=shuffle,
                        initial_epoch=initial_epoch, seed=seed, class_weight=class_weight,
                        sample_weight=sample_weight, steps_per_epoch=steps_per_epoch,
                        validation_freq=validation_freq)

    def evaluate(self, x: Any, y: Any, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None,
                 callbacks: list[callbacks_module.Callback] | None = None,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Loss and metrics over (x, y), sample-weighted means over batches of ``batch_size``.
        ``verbose``: "auto" (a progress bar when stderr is a terminal), 0, 1 (a bar), 2.
        ``sample_weight`` (N,) weighs the loss (metrics stay unweighted, as Keras's ``metrics``);
        ``callbacks`` get ``on_test_*`` hooks."""
        means = evaluate_loop(self, x, y, batch_size, verbose, sample_weight=sample_weight,
                              callbacks=callbacks)
        return means if return_dict else self._as_result(means)

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto",
                callbacks: list[callbacks_module.Callback] | None = None) -> Array:
        """Model outputs for x (N, *input_shape) -> (N, *output_shape), in inference mode.
        ``verbose`` as in ``evaluate``. NaN/Inf input is refused (as fit and evaluate).
        ``callbacks`` get ``on_predict_*`` hooks (batch logs: {"outputs": the batch's})."""
        return predict_loop(self, x, batch_size, verbose, callbacks=callbacks)

    def __call__(self, x: Array, training: bool = False) -> Array:
        x = validation.as_numeric_array(x, "x")
        self.ensure_built(x)
        x = adjust_rank(x, self.input_shape)
        validation.check_features(x, self.input_shape, "x")
        return self.forward(self.cast_input(x), training=training, backward=False)[0]

    def export(self, filepath: Any, format: str = "onnx") -> Any:
        """Write the model as ONNX ("onnx"), a PyTorch state dict ("torch") or Keras 3 weights
        ("keras"), atomically; see scratchnet.export and docs/interop.md."""
        from .export import export
        return export(self, filepath, format=format)

    def dropout_layers(self) -> list[Dropout]:
        return [layer for layer in self.layers if isinstance(layer, Dropout)]


saving.MODEL_CLASS = Sequential
