"""Recording one (or N) training steps of a model as a reference trace.

The trace is computed in float64 from float32 inputs and weights, then stored as float32: every
stored number is the correctly rounded value of the exact computation, so an implementation in
any language differs from it by its own rounding only.

``run_step`` runs one step through the model's runner (``model.forward(..., hooks=[recorder])``)
with :class:`TraceRecorder` as its hook, and records the loss around it (the runner knows no
loss). The run is the unfused one the trace spec describes (docs/implement-it-yourself.md): the
model's full output, softmax included, then the loss on it; a hooked run keeps only the
one-layer fusions, which are bit-exact with the layers' own forward and backward.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend, losses, optimizers
from ..layers import ActivatedLayer, Conv2D, Dense, Dropout, Layer
from ..ops.dropout import dropout_mask
from .bundle import BundleWriter

Array = np.ndarray


def data_layout(rank: int) -> str:
    return {4: "NHWC", 2: "NC", 3: "NTC", 1: "N"}.get(rank, "N" + "D" * (rank - 1))


def param_layout(layer: Layer, key: str, rank: int) -> str:
    if key == "kernel" and isinstance(layer, Conv2D):
        return "HWIO"
    if key == "kernel" and isinstance(layer, Dense):
        return "IO"
    return "O" if rank == 1 else "D" * rank


def has_activation(layer: Layer) -> bool:
    return isinstance(layer, ActivatedLayer) and layer.activation.name != "linear"


class TraceRecorder:
    """A runner hook (``after_forward`` / ``after_backward``) writing every tensor it sees into
    a BundleWriter under ``prefix`` ("" for the first step, "step<k>/" after)."""

    def __init__(self, writer: BundleWriter, prefix: str, dropout_rngs: dict[int, Any]):
        self.writer, self.prefix = writer, prefix
        # Copies of the dropout generators taken before the step: replaying their draws in
        # layer order gives exactly the masks the layers drew, whoever drives the layers.
        self.replay = {key: copy.deepcopy(rng) for key, rng in dropout_rngs.items()}
        self.saved: dict[str, tuple[Array, Array]] = {}

    def add(self, name: str, value: Any, layout: str, meaning: str) -> None:
        self.writer.add(self.prefix + name, value, layout, meaning)

    def after_forward(self, layer: Layer, x: Array, y: Array) -> None:
        name, layout = layer.name, data_layout(y.ndim)
        if has_activation(layer):
            z = layer.forward_linear(x, True)[0]
            self.saved[name] = (z, y)
            self.add(f"{name}/pre_activation", z, layout,
                     f"{name} output before its {layer.activation.name} activation")
        if isinstance(layer, Dropout) and layer.rate > 0:
            rng = self.replay[id(layer.rng or backend.rng())]
            mask = dropout_mask(rng, x.shape, layer.rate, x.dtype)
            self.add(f"{name}/mask", mask, layout,
                     f"{name} mask: 0 where dropped, 1/(1 - {layer.rate:g}) where kept; "
                     f"output = input * mask")
        self.add(f"{name}/output", y, layout, f"{name} output (after its activation)")

    def after_loss(self, loss: Any, value: float, grad: Array) -> None:
        self.add("loss/value", [value], "scalar", f"{loss.name}, the mean over the batch")
        self.add("loss/grad", grad, data_layout(grad.ndim),
                 "d loss / d model output (includes the division by the batch size)")

    def after_backward(self, layer: Layer, grad_output: Array, grad_input: Array,
                       param_grads: dict[str, Array]) -> None:
        name, layout = layer.name, data_layout(grad_output.ndim)
        self.add(f"{name}/grad_output", grad_output, layout, f"d loss / d {name}/output")
        if name in self.saved:
            z, y = self.saved.pop(name)
            self.add(f"{name}/grad_pre_activation", layer.activation.backward(z, y, grad_output),
                     layout, f"d loss / d {name}/pre_activation")
        for key, grad in param_grads.items():
            self.add(f"{name}/grad_{key}", grad, param_layout(layer, key, grad.ndim),
                     f"d loss / d {name}/{key}")
        self.add(f"{name}/grad_input", grad_input, data_layout(grad_input.ndim),
                 f"d loss / d {name} input")


def run_step(model: Any, x: Array, y: Array, hook: TraceRecorder) -> None:
    """One forward + loss + backward of ``model`` on (x, y) through its runner, ``hook``
    attached (and told the loss: ``after_loss``); leaves the gradients in ``layer.grads``.
    Unfused: the loss sees the model's output (probabilities), not its logits."""
    out, backward = model.forward(x, training=True, hooks=[hook])
    value, loss_backward = model.loss.forward(y, out)
    grad = loss_backward()
    hook.after_loss(model.loss, value, grad)
    backward(grad)


def float64_copy(model: Any, loss: Any, optimizer: Any, seed: int) -> Any:
    """The model rebuilt in float64 with its weights rounded to float32 first, a fresh copy of
    the optimizer (no state), and every unseeded Dropout on one generator seeded by ``seed``."""
    from ..model import Sequential
    with backend.floatx_scope("float64"):
        clone = Sequential.from_config(model.get_config())
        if not clone.built:
            clone.build(model.input_shape)
    clone.set_weights([w.astype(np.float32) for w in model.get_weights()])
    clone.loss = losses.get(loss if loss is not None else model.loss)
    base = optimizer if optimizer is not None else model.optimizer
    clone.optimizer = optimizers.from_config(optimizers.get(base).get_config())
    shared = np.random.default_rng(seed)
    for layer in clone.dropout_layers():
        if layer.rng is None:
            layer.rng = shared
    return clone


def trace(model: Any, x: Any, y: Any, path: str | os.PathLike[str], *, steps: int = 1,
          batch_size: int | None = None, seed: int = 0, loss: Any = None,
          optimizer: Any = None, source: str | None = None) -> Path:
    """Record ``steps`` training steps of ``model`` on (x, y) as a trace bundle at ``path``.

    x: (N, *input_shape); y: targets as the loss takes them. Without ``batch_size`` every step
    uses the whole (x, y); with it, step k uses batch k (cycling). ``loss``/``optimizer``
    default to the model's compiled ones; the optimizer starts fresh (no state) and ``model``
    itself is not changed. Dropout masks come from ``seed`` and are recorded.
    """
    loss = loss if loss is not None else model.loss
    optimizer = optimizer if optimizer is not None else model.optimizer
    if loss is None or optimizer is None:
        raise ValueError("trace needs a loss and an optimizer: compile the model or pass "
                         "loss= and optimizer=")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    x32 = np.asarray(x, dtype=np.float32)
    y32 = np.asarray(y, dtype=np.float32)
    if not model.built:
        model.build(model.layers[0].input_shape_arg or x32.shape[1:])
    clone = float64_copy(model, loss, optimizer, seed)
    clone.check_data(x32, y32, "trace")
    size = batch_size or len(x32)
    writer = BundleWriter()
    writer.add("input/x", x32[:size], data_layout(x32.ndim), "the batch of inputs")
    writer.add("input/y", y32[:size], "N" if y32.ndim == 1 else data_layout(y32.ndim),
               "the batch of targets (class labels as floats for sparse losses)")
    for layer in clone.layers:
        for key, value in layer.params.items():
            writer.add(f"{layer.name}/{key}", value, param_layout(layer, key, value.ndim),
                       f"{layer.name} {key}, initial value (before any step)")
    rngs = {id(layer.rng): layer.rng for layer in clone.dropout_layers()}
    for step in range(steps):
        prefix = f"step{step}/" if step else ""
        start = (step * size) % len(x32)
        xb, yb = x32[start:start + size], y32[start:start + size]
        if step:
            writer.add(prefix + "input/x", xb, data_layout(xb.ndim), f"inputs of step {step}")
            writer.add(prefix + "input/y", yb, "N" if yb.ndim == 1 else data_layout(yb.ndim),
                       f"targets of step {step}")
        recorder = TraceRecorder(writer, prefix, rngs)
        run_step(clone, xb.astype(np.float64), yb.astype(np.float64), recorder)
        _record_step(writer, prefix, clone)
    return writer.write(path, _meta(clone, source, x32.shape, size, steps, seed))


def _record_step(writer: BundleWriter, prefix: str, model: Any) -> None:
    params, grads = model.trainable_params(), model.trainable_grads()
    model.optimizer.apply(params, grads)
    by_name = {layer.name: layer for layer in model.layers}
    for key, value in params.items():
        layer_name, param = key.split("/")
        layout = param_layout(by_name[layer_name], param, value.ndim)
        writer.add(f"{prefix}{key}_after_step", value, layout,
                   f"{key} after the {model.optimizer.name} step")
        for slot, state in model.optimizer.slots.get(key, {}).items():
            writer.add(f"{prefix}optimizer/{key}/{slot}", state, layout,
                       f"{model.optimizer.name} {slot} of {key} after the step")


def _meta(model: Any, source: str | None, x_shape: tuple[int, ...], batch: int, steps: int,
          seed: int) -> dict[str, Any]:
    layers, previous = [], "input/x"
    for layer in model.layers:
        layers.append({"name": layer.name, "class_name": type(layer).__name__,
                       "input": previous, "output": f"{layer.name}/output",
                       "activation": getattr(getattr(layer, "activation", None), "name", None)})
        previous = f"{layer.name}/output"
    return {"model": model.get_config(), "source": source,
            "loss": {**model.loss.get_config(), "name": model.loss.name},
            "optimizer": model.optimizer.get_config(),
            "batch_size": batch, "steps": steps, "seed": seed, "computed_in": "float64",
            "input_shape": list(x_shape[1:]), "layers": layers}

