"""Per-layer timing of a model's training step: where does the time go?

``profile(model, x, y)`` runs one training step's forward and backward through the model's
runner, the very plan ``fit`` runs (fusions, the skipped first input gradient), and times each
step from outside the layers (the runner's ``timer``; no layer carries timing code)::

    report = scratchnet.profile(model, x_batch, y_batch)
    print(report)                        # table: step, forward ms, backward ms, share
    report.rows[0].forward_ms

One row per runner step: a layer, or layers fused into one step ("conv2d_1 + max_pooling2d",
kind "conv_relu_max_pool2x2"). With ``y=None`` only the inference forward pass is timed. The
loss and (when compiled) one optimizer update are timed too, on copies, so profiling never
changes the model's weights or its optimizer state. Times are medians over ``repeat`` runs
after ``warmup`` runs.
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
    """Median times of one runner step, in milliseconds (backward 0 for inference profiles).
    ``name``: its layers' names joined by " + "; ``kind``: the layer class, or the fusion rule."""
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
        width = max([22, *(len(r.name) + 2 for r in self.rows)])
        head = (f"{'step':<{width}}{'output shape':<20}{'forward ms':>12}{'backward ms':>13}"
                f"{'share':>8}")
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r.name:<{width}}{str(r.output_shape)[:19]:<20}{r.forward_ms:>12.2f}"
                         f"{r.backward_ms:>13.2f}{r.share:>8.1%}")
        total = self.total_ms or 1.0
        label = width + 20
        if self.training:
            lines.append(f"{'(loss)':<{label}}{self.loss_ms:>12.2f}{'':>13}"
                         f"{self.loss_ms / total:>8.1%}")
            lines.append(f"{'(optimizer update)':<{label}}{self.optimizer_ms:>12.2f}{'':>13}"
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
    from .validation import as_numeric_array, check_features, check_positive_int
    repeat = check_positive_int(repeat, "repeat")
    warmup = check_positive_int(warmup, "warmup", minimum=0)
    x = as_numeric_array(x, "profile: x")
    model.ensure_built(x)
    check_features(x, model.input_shape, "profile: x")
    x = model.cast_input(x)
    training = y is not None
    if training:
        model.require_compiled("profile with targets")
        y = as_numeric_array(y, "profile: y")
        model.loss.check_targets(y, model.output_shape)
    fused = model.fused_loss if training else None
    steps = model.runner.plan(logits=fused is not None, input_gradient=not training).steps
    times: dict[tuple[int, str], list[float]] = {}
    loss_t: list[float] = []
    opt_t: list[float] = []
    for run in range(warmup + repeat):
        keep = run >= warmup

        def timer(step: Any, phase: str, seconds: float) -> None:
            if keep:
                times.setdefault((id(step), phase), []).append(seconds)
        out, backward = model.runner.forward(x, training, logits=fused is not None,
                                             input_gradient=not training, timer=timer)
        if not training:
            continue
        start = time.perf_counter()
        _, loss_backward = (fused or model.loss).forward(y, out)
        grad = loss_backward()
        if keep:
            loss_t.append(time.perf_counter() - start)
        backward(grad)
        if keep:
            opt_t.append(_time_optimizer(model))
    rows = [LayerTiming(step.name, step.kind if step.kind not in ("layer", "logits")
                        else type(step.layers[0]).__name__,
                        tuple(step.layers[-1].output_shape or ()),
                        _median_ms(times.get((id(step), "forward"), [])),
                        _median_ms(times.get((id(step), "backward"), []))) for step in steps]
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
