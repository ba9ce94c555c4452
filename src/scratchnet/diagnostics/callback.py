"""``Doctor``: the doctor as a ``fit`` callback.

    model.fit(x, y, callbacks=[Doctor(x[:256], y[:256])])

At the start of training it runs :func:`doctor` on the given sample (data, configuration,
forward/backward and gradient checks; no training run: fit is the training run). During training
it watches every batch: a non-finite loss (``nonfinite``, training stops when
``stop_on_error``), the update-to-weight ratio of the first LR_STEPS batches and the loss trend
(``learning_rate_too_high`` / ``learning_rate_too_low``). At the end of each epoch it re-probes
the sample for ``dead_relu``, ``saturation`` and ``nonfinite``. ``callback.report`` holds the
findings (each code and layer once); it is printed at the end of training when ``verbose``.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..callbacks import Callback
from .checks_forward import check_nonfinite
from .checks_training import Run, _update_ratios, check_learning_rate
from .checks_units import check_dead_relu, check_saturation
from .doctor import doctor
from .probes import trace
from .report import Finding, Report
from .thresholds import LR_STEPS


class Doctor(Callback):
    def __init__(self, x: Any = None, y: Any = None, stop_on_error: bool = False,
                 verbose: bool = True, print_fn: Callable[[str], None] = print):
        super().__init__()
        self.x, self.y = (None, None) if x is None else (np.asarray(x), np.asarray(y))
        self.stop_on_error, self.verbose, self.print_fn = stop_on_error, verbose, print_fn
        self.report = Report()
        self._run = Run()
        self._before: dict[str, np.ndarray] | None = None
        self._epoch_total, self._epoch_seen = 0.0, 0

    def _add(self, findings: list[Finding]) -> None:
        seen = {(f.code, f.layer) for f in self.report.findings}
        for finding in findings:
            if (finding.code, finding.layer) not in seen:
                self.report.add(finding)
                seen.add((finding.code, finding.layer))
        if self.stop_on_error and any(f.at_least("error") for f in findings):
            self.model.stop_training = True

    def on_train_begin(self, logs=None) -> None:
        self.report = Report(model=self.model.name)
        if self.x is not None:
            initial = doctor(self.model, self.x, self.y, training_checks=False)
            self.report.notes.extend(initial.notes)
            self._add(initial.findings)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch_total, self._epoch_seen = 0.0, 0

    def on_train_batch_begin(self, batch: int, logs=None) -> None:
        if len(self._run.losses) < LR_STEPS + 1:
            self._before = {k: v.copy() for k, v in self.model.trainable_params().items()
                            if k.endswith("kernel")}

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        logs = logs or {}
        size = int(logs.get("size", 0))
        if "loss" not in logs or not size:
            return
        # fit reports the running epoch mean: recover this batch's loss from it.
        total = logs["loss"] * (self._epoch_seen + size)
        loss = total - self._epoch_total
        self._epoch_total, self._epoch_seen = total, self._epoch_seen + size
        if self._before is not None:
            self._run.ratios.extend(_update_ratios(self._before,
                                                   self.model.trainable_params()))
            self._run.losses.append(loss)
            self._run.steps.append(len(self._run.steps))
            self._before = None
        if not math.isfinite(loss):
            self._add([Finding("nonfinite", "error", "loss", {"where": "training",
                                                              "batch": batch, "loss": loss},
                               "The training loss became NaN/Inf (diverging updates or log(0)).",
                               "Lower the learning rate; use from_logits or fused losses.")])
            if len(self._run.losses) <= LR_STEPS:
                self._check_lr()

    def _check_lr(self) -> None:
        if len(self._run.losses) >= 2:
            self._add(check_learning_rate(self.model, self._run))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if epoch == 0 or len(self._run.losses) == LR_STEPS + 1:
            self._check_lr()
        if self.x is not None:
            tr = trace(self.model, self.x, self.y)
            self._add(check_nonfinite(self.model, tr) + check_dead_relu(tr)
                      + check_saturation(tr, trained=True))

    def on_train_end(self, logs=None) -> None:
        if self.verbose:
            self.print_fn(self.report.to_text())
