"""Per-layer timing of a model's training step: where does the time go?

``profile(model, x, y)`` runs the model's own forward and backward closures layer by layer on one
batch and times each, from outside the layers (no layer carries timing code)::

    report = scratchnet.profile(model, x_batch, y_batch)
    print(report)                        # table: layer, forward ms, backward ms, share
    report.rows[0].forward_ms

With ``y=None`` only the inference forward pass is timed. The loss and (when the model is
compiled) one optimizer update are timed too, on copies, so profiling never changes the model's
weights or its optimizer state. Times are medians over ``repeat`` runs after ``warmup`` runs.

Each layer is timed on its own, so model-level fusions (a ReLU layer and the max-pool after it
run as one step in ``Sequential.forward``) show here as their separate parts: the sum is a
little above a real step's time.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Array = np.ndarray


@dataclass
class LayerTiming:
    """Median times of one layer, in milliseconds (backward is 0 for inference profiles)."""
    name: str
    kind: str
    output_shape: tuple[int, ...]
    forward_ms: float
    backward_ms: float
    share: float = 0.0      # of the whole step (layers + loss + optimizer)

    @property
    def total_ms(self) -> float:
        return self.forward_ms + self.backward_ms


@dataclass
class Profile:
    """The result of :func:`profile`: one row per layer, plus loss and optimizer times."""
    rows: list[LayerTiming]
    batch_size: int
    training: bool
    loss_ms: float = 0.0
    optimizer_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return sum(r.total_ms for r in self.rows) + self.loss_ms + self.optimizer_ms

    @property
    def samples_per_second(self) -> float:
        return self.batch_size / (self.total_ms / 1e3) if self.total_ms > 0 else float("inf")

    def table(self) -> str:
        """A plain-text table, slowest parts easy to spot by their share."""
        head = f"{'layer':<22}{'output shape':<20}{'forward ms':>12}{'backward ms':>13}{'share':>8}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r.name[:21]:<22}{str(r.output_shape)[:19]:<20}{r.forward_ms:>12.2f}"
                         f"{r.backward_ms:>13.2f}{r.share:>8.1%}")
        total = self.total_ms or 1.0
        if self.training:
            lines.append(f"{'(loss)':<42}{self.loss_ms:>12.2f}{'':>13}{self.loss_ms / total:>8.1%}")
            lines.append(f"{'(optimizer update)':<42}{self.optimizer_ms:>12.2f}{'':>13}"
                         f"{self.optimizer_ms / total:>8.1%}")
        lines.append("-" * len(head))
        mode = "training step" if self.training else "inference"
        lines.append(f"{mode}, batch {self.batch_size}: {self.total_ms:.2f} ms "
                     f"({self.samples_per_second:,.0f} samples/s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _median_ms(samples: list[float]) -> float:
    return float(np.median(samples)) * 1e3 if samples else 0.0


def profile(model: Any, x: Any, y: Any = None, *, repeat: int = 5, warmup: int = 1) -> Profile:
    """Time each layer's forward and backward on the batch ``x`` (targets ``y``).

    model: a built or buildable ``Sequential``. x: one batch (N, *input_shape). y: targets for the
    compiled loss, or None to time inference only. Returns a :class:`Profile`.
    """
    from .ops.memory import keep_freed_memory
    from .validation import as_numeric_array, check_features, check_positive_int
    keep_freed_memory()   # as a training step does, or every big array costs page faults
    repeat = check_positive_int(repeat, "repeat")
    warmup = check_positive_int(warmup, "warmup", minimum=0)
    x = as_numeric_array(x, "profile: x")
    model._ensure_built(x)
    check_features(x, model.input_shape, "profile: x")
    x = model._cast(x)
    training = y is not None
    if training:
        model._require_compiled("profile with targets")
        y = as_numeric_array(y, "profile: y")
        model.loss.check_targets(y, model.output_shape)
    layers = model.layers
    fwd: list[list[float]] = [[] for _ in layers]
    bwd: list[list[float]] = [[] for _ in layers]
    loss_t: list[float] = []
    opt_t: list[float] = []
    fused = model._fused_loss if training else None
    last = len(layers) - 1
    for run in range(warmup + repeat):
        keep = run >= warmup
        h, backwards = x, []
        for i, layer in enumerate(layers):
            start = time.perf_counter()
            final = fused is not None and i == last
            step = model._final_activation()[1] if final else layer.forward
            if i == 0 and training and layer.can_skip_input_gradient:
                h, back = step(h, training, input_gradient=False)   # as a training step does
            else:
                h, back = step(h, training)
            if keep:
                fwd[i].append(time.perf_counter() - start)
            backwards.append(back)
        if not training:
            continue
        start = time.perf_counter()
        _, loss_backward = (fused or model.loss).forward(y, h)
        grad = loss_backward()
        if keep:
            loss_t.append(time.perf_counter() - start)
        for i in reversed(range(len(layers))):
            start = time.perf_counter()
            grad = backwards[i](grad)
            if keep:
                bwd[i].append(time.perf_counter() - start)
        if keep:
            opt_t.append(_time_optimizer(model))
    rows = [LayerTiming(layer.name, type(layer).__name__, tuple(layer.output_shape or ()),
                        _median_ms(f), _median_ms(b)) for layer, f, b in zip(layers, fwd, bwd)]
    report = Profile(rows, batch_size=len(x), training=training, loss_ms=_median_ms(loss_t),
                     optimizer_ms=_median_ms(opt_t))
    total = report.total_ms or 1.0
    for row in rows:
        row.share = row.total_ms / total
    return report


def _time_optimizer(model: Any) -> float:
    """One update on copies of the weights and of the optimizer state (the model is untouched)."""
    optimizer = copy.deepcopy(model.optimizer)
    params = {key: value.copy() for key, value in model.trainable_params().items()}
    grads = model.trainable_grads()
    start = time.perf_counter()
    optimizer.apply(params, grads)
    return time.perf_counter() - start
