"""Sequential: a stack of layers with Keras's compile / fit / evaluate / predict.

Mini-batch semantics: the loss of a batch is the mean of its per-sample losses, so the parameter
gradient of a batch is the mean of the per-sample gradients (the loss divides by the batch size,
exactly once; layers never do). With batch_size=1 fit is plain per-sample SGD.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from . import activations, backend, losses, optimizers, regularizers, validation
from . import callbacks as callbacks_module
from . import metrics as metrics_module
from .errors import NotCompiledError
from .fusion import relu_max_pool
from .layers import ActivatedLayer, Dropout, Layer, get_class
from .layers.activation import Activation as ActivationLayer
from .layers.base import snake_case
from .layers.softmax import Softmax
from .model_api import ModelAPI, adjust_rank
from .ops.memory import keep_freed_memory

Array = np.ndarray


class Sequential(ModelAPI):
    """A linear stack of layers. Input shape comes from the first layer's ``input_shape``, an
    ``Input`` layer, or the first batch seen."""

    def __init__(self, layers: Iterable[Layer] | None = None, name: str = "sequential"):
        self.name = name
        self.layers: list[Layer] = []
        self.built = False
        self.input_shape: tuple[int, ...] | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.metric_names: list[str] = []
        self.stop_training = False
        self.nonfinite_batch: Array | None = None
        self.initial_epoch = 0   # epochs already trained (set by load_model)
        self.history: callbacks_module.History | None = None
        self._fused_loss: losses.Loss | None = None
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
        self._update_fusion()

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
        self._update_fusion()

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

    def _ensure_built(self, x: Array) -> None:
        if not self.layers:
            raise ValueError("The model has no layers; add some with model.add(...).")
        if not self.built:
            self.build(self.layers[0].input_shape_arg or x.shape[1:])

    # --- compile -----------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: list[str] | None = None) -> None:
        """Choose optimizer (name or instance; Keras default "rmsprop"), loss and metrics."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='categorical_crossentropy'.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        metrics = [metrics] if isinstance(metrics, str) else list(metrics or [])
        for name in metrics:
            if name not in metrics_module.KNOWN:
                raise ValueError(f"Unknown metric {name!r}; expected one of {metrics_module.KNOWN}")
        self.metric_names = ["accuracy" if m == "acc" else m for m in metrics]
        self._update_fusion()

    def _final_activation(self) -> tuple[activations.Activation | None, Callable | None]:
        """The last layer's activation and a forward that stops just before it."""
        last = self.layers[-1] if self.layers else None
        if isinstance(last, ActivatedLayer):
            return last.activation, last.forward_linear
        if isinstance(last, ActivationLayer) or (isinstance(last, Softmax) and last.axis == -1):
            act = (last.activation if isinstance(last, ActivationLayer)
                   else activations.get("softmax"))
            return act, lambda x, training=False: (x, lambda g: g)
        return None, None

    def _update_fusion(self) -> None:
        activation, _ = self._final_activation()
        self._fused_loss = (losses.fused_loss(activation, self.loss)
                            if activation is not None and self.loss is not None else None)

    def _require_compiled(self, what: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise NotCompiledError(f"The model must be compiled before {what}: call "
                               f"model.compile(optimizer=..., loss=...) first.")

    # --- forward and backward ----------------------------------------------------------------
    def forward(self, x: Array, training: bool = False, logits: bool = False,
                input_gradient: bool = True) -> tuple[Array, Callable[[Array], Array]]:
        """Run every layer; returns the output and a backward closure (grad_out -> grad_x).

        With ``logits=True`` the last layer's activation is left out (the fused-loss path).
        With ``input_gradient=False`` the backward returns None instead of grad_x: it stops at
        the first layer with weights, which skips its own input gradient when it can
        (``Layer.can_skip_input_gradient``); the parameter-free layers before it (an Input, a
        Dropout) are not back-propagated at all.
        A built-in ReLU layer followed by a non-overlapping MaxPooling2D runs as one fused step
        (``fusion.relu_max_pool``: same outputs and gradients, less work).
        """
        keep_freed_memory()   # once per process: big arrays reused without page faults
        backwards = []
        h = x
        last = len(self.layers) - 1
        # Layers before the first one with weights (an Input, say) pass gradients nowhere: the
        # first weighted layer may skip its input gradient when the caller does not need it.
        first_weighted = next((i for i, layer in enumerate(self.layers) if layer.params), 0)
        needed_from = 0     # position in backwards of the first weighted layer's step
        index = 0
        while index <= last:
            layer = self.layers[index]
            fused = (relu_max_pool(layer, self.layers[index + 1])
                     if index < last and not (logits and index + 1 == last) else None)
            step = fused or (self._final_activation()[1] if logits and index == last
                             else layer.forward)
            if index == first_weighted:
                needed_from = len(backwards)
            if index == first_weighted and not input_gradient \
                    and layer.can_skip_input_gradient:
                h, back = step(h, training, input_gradient=False)
            else:
                h, back = step(h, training)
            backwards.append(back)
            index += 1 if fused is None else 2

        needed = backwards if input_gradient else backwards[needed_from:]

        def backward(grad: Array) -> Array | None:
            for back in reversed(needed):
                grad = back(grad)
            return grad if input_gradient else None
        return h, backward

    def trainable_params(self) -> dict[str, Array]:
        return {f"{layer.name}/{key}": value for layer in self.layers if layer.trainable
                for key, value in layer.params.items() if key not in layer.non_trainable}

    def trainable_grads(self) -> dict[str, Array]:
        return {f"{layer.name}/{key}": value for layer in self.layers if layer.trainable
                for key, value in layer.grads.items() if key not in layer.non_trainable}

    def forward_loss(self, x: Array, y: Array, training: bool = False,
                     input_gradient: bool = True) -> tuple[float, Array, Callable[[], Any]]:
        """Forward and loss on one batch, through the fused softmax+cross-entropy path when the
        model has one. Returns (loss value, output probabilities, backward): ``backward()``
        back-propagates the loss, fills every layer's ``grads`` and returns dL/dx (None with
        ``input_gradient=False``)."""
        fused = self._fused_loss
        out, backward = self.forward(x, training=training, logits=fused is not None,
                                     input_gradient=input_gradient)
        value, loss_backward = (fused or self.loss).forward(y, out)
        value += regularizers.regularization_loss(self.layers)   # weight penalties, as Keras
        y_pred = self._final_activation()[0](out) if fused is not None else out

        def backward_with_penalties() -> Any:
            grad_x = backward(loss_backward())
            regularizers.add_regularization_gradients(self.layers)
            return grad_x
        return value, y_pred, backward_with_penalties

    def compute_loss_and_gradients(self, x: Array, y: Array,
                                   training: bool = True) -> tuple[float, Array]:
        """Forward, loss and backward on one batch; leaves gradients in each layer's ``grads``.
        Returns the batch loss and the model output (probabilities, not logits). The gradient
        with respect to x is not needed here, so the first layer may skip computing it."""
        value, y_pred, backward = self.forward_loss(x, y, training, input_gradient=False)
        backward()
        return value, y_pred

    def _cast(self, x: Array) -> Array:
        return x.astype(self.dtype, copy=False)

    @property
    def dtype(self) -> np.dtype:
        for layer in self.layers:
            for value in layer.params.values():
                return value.dtype
        return np.dtype(backend.floatx())

    def _metric_values(self, y: Array, y_pred: Array) -> dict[str, float]:
        return {name: metrics_module.get(name, y.shape, y_pred.shape, self.loss.name)(y, y_pred)
                for name in self.metric_names}

    def train_on_batch(self, x: Any, y: Any) -> float | list[float]:
        """One optimizer step on one batch; returns [loss, *metrics] (or the loss alone)."""
        x, y = self._check_data(x, y, "train_on_batch")
        logs = self._train_step(self._cast(x), y)
        return self._as_result(logs)

    def _train_step(self, x: Array, y: Array) -> dict[str, float]:
        """One update. A step whose loss or gradients are NaN/Inf is *not* applied: the weights
        stay the last good ones, and ``nonfinite_batch`` keeps the batch for diagnosis
        (``callbacks.TerminateOnNaN`` stops training there and names the layer)."""
        value, y_pred = self.compute_loss_and_gradients(x, y, training=True)
        grads = self.trainable_grads()
        # One sum per gradient is far cheaper than isfinite over every entry, and NaN/Inf
        # propagate through it.
        with np.errstate(all="ignore"):
            finite = math.isfinite(value) and math.isfinite(sum(float(g.sum())
                                                                 for g in grads.values()))
        self.nonfinite_batch = None if finite else x
        if finite:
            self.optimizer.apply(self.trainable_params(), grads)
        return {"loss": value, **self._metric_values(y, y_pred)}

    def _as_result(self, logs: dict[str, float]) -> float | list[float]:
        return logs["loss"] if not self.metric_names else [logs["loss"]] + [
            logs[m] for m in self.metric_names]

    # --- data checks -------------------------------------------------------------------------
    def _check_data(self, x: Any, y: Any, what: str) -> tuple[Array, Array]:
        self._require_compiled(what)
        x = validation.as_numeric_array(x, f"{what}: x")
        self._ensure_built(x)
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
            shuffle: bool = True, initial_epoch: int = 0,
            seed: int | None = None) -> callbacks_module.History:
        """Train for ``epochs`` epochs (Keras semantics; batch_size defaults to 32).

        ``validation_split`` holds out the *last* fraction of x/y, before shuffling (as Keras).
        ``seed`` fixes shuffling and dropout masks; weights are fixed by ``set_random_seed``
        before the layers are built.
        """
        from .training import fit_loop
        seed = validation.check_seed(seed, "fit: seed")
        return fit_loop(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_split=validation_split,
                        validation_data=validation_data, shuffle=shuffle,
                        initial_epoch=initial_epoch, seed=seed)

    def evaluate(self, x: Any, y: Any, batch_size: int | None = None, verbose: int | str = "auto",
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Loss and metrics over (x, y), sample-weighted means over batches of ``batch_size``.
        ``verbose``: "auto" (a progress bar when stderr is a terminal), 0, 1 (a bar), 2."""
        from .training import evaluate_loop
        means = evaluate_loop(self, x, y, batch_size, verbose)
        return means if return_dict else self._as_result(means)

    def predict(self, x: Any, batch_size: int | None = None,
                verbose: int | str = "auto") -> Array:
        """Model outputs for x (N, *input_shape) -> (N, *output_shape), in inference mode.
        ``verbose`` as in ``evaluate``. NaN/Inf input is refused (as fit and evaluate)."""
        from .training import predict_loop
        return predict_loop(self, x, batch_size, verbose)

    def __call__(self, x: Array, training: bool = False) -> Array:
        x = validation.as_numeric_array(x, "x")
        self._ensure_built(x)
        x = adjust_rank(x, self.input_shape)
        validation.check_features(x, self.input_shape, "x")
        return self.forward(self._cast(x), training=training)[0]

    # --- weights and config ------------------------------------------------------------------
    def get_weights(self) -> list[Array]:
        """All weights, layer by layer, each in Keras order (kernel, bias)."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[Array]) -> None:
        expected = sum(len(layer.params) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"set_weights expects {expected} arrays (as get_weights returns), "
                             f"got {len(weights)}.")
        position = 0
        for layer in self.layers:
            count = len(layer.params)
            layer.set_weights(list(weights[position:position + count]))
            position += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn: Callable[[str], None] = print) -> None:
        from .summary import summary_table
        print_fn(summary_table(self))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Sequential":
        model = cls(name=config.get("name", "sequential"))
        for entry in config["layers"]:
            model.add(get_class(entry["class_name"]).from_config(entry["config"]))
        if not model.built and config.get("input_shape"):
            model.build(tuple(config["input_shape"]))
        return model

    def save(self, filepath: Any) -> None:
        """Write architecture, weights, optimizer and training state to one safetensors file,
        atomically. Reload with ``scratchnet.load_model(filepath)``."""
        from .saving import save_model
        save_model(self, filepath)

    def export(self, filepath: Any, format: str = "onnx") -> Any:
        """Write the model as ONNX ("onnx"), a PyTorch state dict ("torch") or Keras 3 weights
        ("keras"), atomically; see scratchnet.export and docs/interop.md."""
        from .export import export
        return export(self, filepath, format=format)

    def dropout_layers(self) -> list[Dropout]:
        return [layer for layer in self.layers if isinstance(layer, Dropout)]
