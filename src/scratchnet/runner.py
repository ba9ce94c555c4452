"""The runner: the one loop that executes a layer stack forward and backward.

``Sequential`` (fit, evaluate, predict, train_on_batch), the doctor's probes, the profiler,
TerminateOnNaN and the model gradient check all run layers through :class:`Runner`; nothing
else loops over layers. A run has two halves::

    y, backward = runner.forward(x, training=True, hooks=[...])   # layers in order
    grad_x = backward(grad_y)                                     # layers in reverse

Planning (:meth:`Runner.plan`, cached until the stack changes): the stack is cut into steps.
A step is one layer's own ``forward`` or a fused step of ``scratchnet.fusion`` (explicit rules;
the same numbers as the layers one by one, bit for bit). With ``logits=True`` the last layer's
activation is left out (the fused softmax + cross-entropy path of ``losses.fused_loss``). With
``input_gradient=False`` nothing computes dL/dx: the backward stops at the first layer with
trainable weights, which is asked for its weight gradients alone when a fusion rule covers it
(built-in Dense/Conv2D); the layers in front of it (an Input, a Dropout, a frozen layer with
``trainable=False``) are not back-propagated, and ``backward`` returns None.

Hooks: any objects with either or both of these methods (each optional)::

    after_forward(layer, x, y)            # after each layer's forward: its input and output
    after_backward(layer, grad_output, grad_input, param_grads)
        # after each layer's backward: dL/dy, dL/dx (None where not computed) and
        # {weight name: dL/dweight} of this step (the layer's live grads; copy to keep them)

Hooks and fusions: a hook sees every layer, so a run with hooks keeps only the one-layer
fusions (an activation inside its layer's op, which hides no layer's input or output) and runs
multi-layer fusions (conv -> ReLU -> pool) as their separate layers. Those are bit-exact with
the fused step, so a hooked run sees the very outputs and gradients of an unhooked training
step. On the ``logits`` path the last layer's ``y`` given to hooks is its real output (the
activation applied to the logits) and its ``grad_output`` is None: the fused loss hands it the
gradient w.r.t. its pre-activation.

Inference (:meth:`Runner.infer`, what predict, evaluate and ``model(x)`` run): the inference
plan (``plan(..., inference=True)``, the rules ``fusion.INFERENCE_RULES``) keeps nothing for a
backward (no pool winners, no ReLU masks, no closures kept), runs conv -> conv -> 2x2 pool as
one block of prepared calls (``ops.conv_block``) and other Winograd convs on F(4x4) fused with
their ReLU + 2x2 pool, cuts batches above ``INFERENCE_CHUNK`` samples into chunks
that run through the whole stack one after the other (a chunk's activations stay in cache: 1,024
samples cost no more per sample than 128), and runs batches below ``SMALL_BATCH`` with BLAS on
one thread. With the reference kernels it is ``forward(x, training=False)``, nothing else.

``timer`` (the profiler's): a callable ``timer(step, phase, seconds)`` told the wall time of each
step's "forward" and "backward", on the plan that training runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import activations, fusion
from .layers import ActivatedLayer, Layer
from .layers.activation import Activation as ActivationLayer
from .layers.softmax import Softmax
from .ops import kernels
from .ops.memory import keep_freed_memory
from .ops.parallel import one_blas_thread

Array = np.ndarray
Backward = Callable[[Array], Array | None]
Timer = Callable[["Step", str, float], None]
# MNIST CNN on the conv block (ops.conv_block), 2 threads, median of 5 rounds, speed against
# chunks of 128 (batch 128 / 1,024 in one call): 32: 0.72x / 0.76x, 64: 0.77x / 0.82x, 256:
# 0.98x on 1,024. The block keeps its activations in cache by itself; a chunk only bounds the
# activations between the other layers, and a bigger one costs fewer calls.
INFERENCE_CHUNK = 128
SMALL_BATCH = 2          # below this, BLAS on one thread (a 1-sample GEMV waits for thread 2)


@dataclass(frozen=True)
class Step:
    """One planned step: ``layers`` (one, or several fused) and how to run them.
    ``run(x, training, input_gradient) -> (y, backward)``; ``kind`` is "layer", "logits" or the
    name of the fusion rule."""
    layers: tuple[Layer, ...]
    kind: str
    run: Callable[[Array, bool, bool], tuple[Array, Backward]]

    @property
    def name(self) -> str:
        return " + ".join(str(layer.name) for layer in self.layers)

    @property
    def weighted(self) -> bool:
        return any(layer.trainable_params for layer in self.layers)


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    logits: bool
    first_weighted: int       # index of the first step with weights (0 when none has any)

    def describe(self) -> list[str]:
        """One line per step: its layers and how they run (for docs and curious users)."""
        return [f"{step.name}: {step.kind}" for step in self.steps]


def final_activation(layers: Sequence[Layer]) -> activations.Activation | None:
    """The activation the last layer applies last (Dense(..., activation=...), an Activation
    layer, a Softmax over the last axis), which the fused loss path leaves out; else None."""
    last = layers[-1] if layers else None
    if isinstance(last, (ActivatedLayer, ActivationLayer)):
        return last.activation
    if isinstance(last, Softmax) and last.axis == -1:
        return activations.get("softmax")
    return None


def _layer_step(layer: Layer) -> Step:
    return Step((layer,), "layer", lambda x, training, _: layer.forward(x, training))


def _logits_step(layer: Layer, skip_input_gradient: bool) -> Step:
    """The last layer without its final activation (its own ``forward_linear``, unless its
    input gradient is to be skipped: then the op through ``fusion.affine_step``)."""
    if skip_input_gradient and fusion.plain_affine(layer) and not kernels.reference():
        return Step((layer,), "logits", fusion.affine_step(layer, None))
    if isinstance(layer, ActivatedLayer):
        return Step((layer,), "logits", lambda x, training, _: layer.forward_linear(x, training))
    return Step((layer,), "logits", lambda x, training, _: (x, lambda grad: grad))


def plan(layers: Sequence[Layer], *, logits: bool = False, input_gradient: bool = True,
         hooks: bool = False, inference: bool = False) -> Plan:
    """Cut ``layers`` (built) into steps; see the module docstring (``inference``: the
    inference rules, whose steps keep nothing for a backward)."""
    body = list(layers[:-1] if logits else layers)
    first_weighted_layer = next((i for i, layer in enumerate(layers) if layer.trainable_params),
                                0)
    steps: list[Step] = []
    index = 0
    while index < len(body):
        skip = not input_gradient and index == first_weighted_layer
        fused = fusion.match(body[index:], multi_layer=not hooks, inference=inference)
        if fused is None and skip and fusion.plain_affine(body[index]) \
                and not kernels.reference():
            fused = fusion.Fused("affine", 1, fusion.affine_step(body[index],
                                                                 body[index].activation))
        if fused is None:
            steps.append(_layer_step(body[index]))
            index += 1
        else:
            steps.append(Step(tuple(body[index:index + fused.size]), fused.rule, fused.run))
            index += fused.size
    if logits:
        last = len(layers) - 1
        steps.append(_logits_step(layers[-1], not input_gradient and last == first_weighted_layer))
    first_weighted = next((i for i, step in enumerate(steps) if step.weighted), 0)
    return Plan(tuple(steps), logits, first_weighted)


class Runner:
    """Runs one layer stack (a list it shares with its model, so layers added later count)."""

    def __init__(self, layers: list[Layer]):
        self.layers = layers
        self._plans: dict[tuple[Any, ...], Plan] = {}

    def plan(self, *, logits: bool = False, input_gradient: bool = True,
             hooks: bool = False, inference: bool = False) -> Plan:
        """The plan for these options, made once per stack and kernel mode."""
        # Whatever a rule reads: which layers, their shapes and activations, the kernel mode.
        key = (tuple((id(layer), layer.output_shape, id(getattr(layer, "activation", None)))
                     for layer in self.layers), logits, input_gradient, hooks, inference,
               kernels.mode())
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) > 32:
                self._plans.clear()
            found = self._plans[key] = plan(self.layers, logits=logits,
                                            input_gradient=input_gradient, hooks=hooks,
                                            inference=inference)
        return found

    def infer(self, x: Array, *, logits: bool = False) -> Array:
        """The output of ``forward(x, training=False, logits=logits)`` through the inference
        plan (see the module docstring): no backward, chunked big batches, 1-thread BLAS for
        tiny ones. The same numbers as ``forward`` up to float rounding."""
        if kernels.reference():
            return self.forward(x, False, logits=logits)[0]
        keep_freed_memory()
        steps = self.plan(logits=logits, inference=True).steps

        def run(h: Array) -> Array:
            for step in steps:
                h = step.run(h, False, False)[0]
            return h
        if len(x) < SMALL_BATCH:
            with one_blas_thread():
                return run(x)
        if len(x) <= INFERENCE_CHUNK:
            return run(x)
        return np.concatenate([run(x[a:a + INFERENCE_CHUNK])
                               for a in range(0, len(x), INFERENCE_CHUNK)], axis=0)

    def forward(self, x: Array, training: bool = False, *, logits: bool = False,
                input_gradient: bool = True, hooks: Iterable[Any] = (),
                timer: Timer | None = None) -> tuple[Array, Backward]:
        """Run every step on x; returns the output and ``backward(grad_y) -> grad_x`` (None
        with ``input_gradient=False``). See the module docstring for the options."""
        keep_freed_memory()   # once per process: big arrays reused without page faults
        hooks = tuple(hooks) if hooks else ()
        forward_hooks = [h.after_forward for h in hooks if hasattr(h, "after_forward")]
        backward_hooks = [h.after_backward for h in hooks if hasattr(h, "after_backward")]
        the_plan = self.plan(logits=logits, input_gradient=input_gradient, hooks=bool(hooks))
        steps = the_plan.steps
        last_activation = final_activation(self.layers) if logits and forward_hooks else None
        backwards: list[Backward] = []
        h = x
        for index, step in enumerate(steps):
            skip = not input_gradient and index == the_plan.first_weighted
            start = time.perf_counter() if timer else 0.0
            y, back = step.run(h, training, not skip)
            if timer:
                timer(step, "forward", time.perf_counter() - start)
            if forward_hooks:
                shown = (last_activation(y) if step.kind == "logits"
                         and last_activation is not None else y)
                for hook in forward_hooks:
                    hook(step.layers[0], h, shown)
            backwards.append(back)
            h = y
        first = 0 if input_gradient else the_plan.first_weighted

        def backward(grad: Array) -> Array | None:
            for index in range(len(steps) - 1, first - 1, -1):
                step = steps[index]
                start = time.perf_counter() if timer else 0.0
                grad_input = backwards[index](grad)
                if timer:
                    timer(step, "backward", time.perf_counter() - start)
                if backward_hooks:
                    layer = step.layers[0]
                    shown = None if step.kind == "logits" else grad
                    grads = {k: layer.grads[k] for k in layer.grads}
                    for hook in backward_hooks:
                        hook(layer, shown, grad_input, grads)
                grad = grad_input
            return grad if input_gradient else None
        return h, backward
