"""Numerical gradient checking by central differences, in float64.

``gradcheck(target, x, ...)`` works on a Layer (yours too), an Activation, a Loss or a whole
Sequential model. It compares each analytic gradient (every trainable weight and the input) with
central differences of a scalar objective (non-trainable state, a moving mean say, has no
gradient and is not checked):

- Layer / Activation: L = sum(w * f(x)) for a fixed random w, so every output entry matters.
- Loss: L = loss(y_true, x) with x the predictions.
- Model: L = the compiled loss of model(x) against y.

Error measure, per tensor: ||analytic - numeric|| / max(||analytic||, ||numeric||, 1e-12) over
the checked entries (a norm ratio is robust to entries that are ~0 in both). Thresholds follow
common practice (cs231n): < 1e-7 "ok", up to 1e-4 "suspicious", above "wrong".

Steps: each entry is perturbed by ``eps * max(|value|, 1)``: scaled to the value's magnitude
(a step below the float64 spacing of a value of 1e11 would change nothing), with an absolute
floor for values near 0. Noise: each objective value carries a rounding error of about
``NOISE_ULPS * 2**-52 * scale`` (scale: the sum of the magnitudes it adds up), so a numeric
derivative is known to +-that / step. A difference within that noise is agreement (an exact-zero
gradient computed as 1e-16 is not a mismatch); a tensor whose gradient is itself no larger than
the noise cannot be checked reliably and gets the status "unreliable", never "wrong".

Kinks: where the function is not differentiable (ReLU at 0, a max-pool tie, a clip edge) the
numeric derivative means nothing. An entry whose forward and backward one-sided differences
disagree is skipped and counted, never reported as a mismatch. Dropout layers are replayed with
the same mask at every evaluation, and non-trainable state is restored before each one. Large
tensors are checked on a random sample of entries.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from .. import activations as activations_module
from ..backend import floatx_scope
from ..layers.base import Layer
from ..layers.dropout import Dropout
from ..losses import Loss

Array = np.ndarray
OK, SUSPICIOUS = 1e-7, 1e-4
NOISE_ULPS = 100.0  # rounding of one objective evaluation, in units of 2**-52 x its scale


@dataclass
class TensorCheck:
    """The check of one gradient tensor."""
    name: str
    relative_error: float
    checked: int
    skipped_kinks: int
    worst: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    noise: float = 0.0      # the numeric gradient's rounding noise (norm over checked entries)
    reliable: bool = True   # False: the disagreement is within the noise, no verdict

    @property
    def status(self) -> str:
        if self.checked == 0:
            return "unchecked"
        if not self.reliable:
            return "unreliable"
        if self.relative_error < OK:
            return "ok"
        return "suspicious" if self.relative_error < SUSPICIOUS else "wrong"

    def __str__(self) -> str:
        text = (f"{self.name}: relative error {self.relative_error:.2e} ({self.status}; "
                f"{self.checked} entries checked, {self.skipped_kinks} skipped at kinks)")
        if not self.reliable:
            text += (f"\n    the gradient is within the rounding noise ({self.noise:.1e}): "
                     "no verdict")
        for index, analytic, numeric in self.worst if self.status != "ok" else []:
            text += f"\n    at {index}: analytic {analytic:+.6e}, numeric {numeric:+.6e}"
        return text


@dataclass
class GradcheckResult:
    target: str
    checks: list[TensorCheck]

    @property
    def max_error(self) -> float:
        """The largest relative error of the tensors that could be checked reliably."""
        return max((c.relative_error for c in self.checks if c.checked and c.reliable),
                   default=0.0)

    @property
    def unreliable(self) -> list[TensorCheck]:
        return [c for c in self.checks if c.checked and not c.reliable]

    def passed(self, tolerance: float = SUSPICIOUS) -> bool:
        """True when every reliably checked tensor is within ``tolerance`` and at least one
        was (a result where every entry sat on a kink, or in the noise, proves nothing)."""
        checked = [c for c in self.checks if c.checked and c.reliable]
        return bool(checked) and all(c.relative_error <= tolerance for c in checked)

    def __getitem__(self, name: str) -> TensorCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no gradient named {name!r}; have {[c.name for c in self.checks]}")

    def __str__(self) -> str:
        return "\n".join([f"gradcheck of {self.target}:"] + [f"  {c}" for c in self.checks])


@contextlib.contextmanager
def _float64_params(layers: list[Layer]) -> Iterator[None]:
    """Swap every parameter (and gradient buffer) for a float64 copy; restore afterwards."""
    saved = [(layer, layer.params, layer.grads) for layer in layers]
    for layer in layers:
        layer.params = {k: v.astype(np.float64) for k, v in layer.params.items()}
        layer.grads = {k: np.zeros_like(layer.params[k]) for k in layer.grads}
    try:
        yield
    finally:
        for layer, params, grads in saved:
            layer.params, layer.grads = params, grads


def _replay_dropout(layers: list[Layer], seed: int) -> Callable[[], None]:
    """A reset run before every evaluation: the same dropout masks, and non-trainable state
    (a moving mean a training forward updates) back to its value at the start of the check."""
    dropouts = [layer for layer in layers if isinstance(layer, Dropout)]
    state: list[tuple[Array, Array]] = []

    def reset() -> None:
        for layer in dropouts:
            layer.rng = np.random.default_rng(seed)
        if not state:      # first call: inside _float64_params, on the float64 copies
            state.extend((layer.params[name], layer.params[name].copy()) for layer in layers
                         for name in sorted(layer.non_trainable_names))
        for value, start in state:
            value[...] = start
    return reset


Objective = Callable[[], "float | tuple[float, float]"]


def _evaluate(objective: Objective) -> tuple[float, float]:
    """(value, scale): an objective may return the sum of magnitudes it adds up as its scale;
    else the value's own magnitude is the scale."""
    out = objective()
    value, scale = out if isinstance(out, tuple) else (out, abs(out))
    return float(value), float(scale)


def _numeric_check(name: str, tensor: Array, analytic: Array, objective: Objective,
                   eps: float, max_entries: int, rng: np.random.Generator) -> TensorCheck:
    flat = tensor.reshape(-1)  # a view: perturbing it perturbs the tensor the objective reads
    if flat.size > max_entries:
        positions = rng.choice(flat.size, size=max_entries, replace=False)
    else:
        positions = np.arange(flat.size)
    f0, scale0 = _evaluate(objective)
    kept, numeric, noises, skipped = [], [], [], 0
    for position in positions:
        original = flat[position]
        step = eps * max(abs(float(original)), 1.0)
        flat[position] = original + step
        step = float(flat[position] - original)  # the step float64 actually took
        if step <= 0:  # eps below the spacing of this value: nothing can be measured here
            flat[position] = original
            skipped += 1
            continue
        f_plus, scale_plus = _evaluate(objective)
        flat[position] = original - step
        f_minus, scale_minus = _evaluate(objective)
        flat[position] = original
        noise = NOISE_ULPS * np.finfo(np.float64).eps * max(scale0, scale_plus, scale_minus) / step
        forward, backward = (f_plus - f0) / step, (f0 - f_minus) / step
        if abs(forward - backward) > 1e-3 * max(abs(forward), abs(backward)) + 1e-6 + 2 * noise:
            skipped += 1  # not differentiable here (or too curved for the step): no verdict
            continue
        kept.append(position)
        numeric.append((f_plus - f_minus) / (2 * step))
        noises.append(noise)
    if not kept:
        return TensorCheck(name, 0.0, 0, skipped)
    a = analytic.reshape(-1)[kept]
    n = np.asarray(numeric)
    noise = float(np.linalg.norm(noises))
    difference, size = float(np.linalg.norm(a - n)), max(np.linalg.norm(a), np.linalg.norm(n))
    # Within the noise the two agree as well as can be measured; the error is then relative to
    # the noise too, so an exact 0 computed as 1e-16 is ~1e-10, not 1.
    within_noise = difference <= noise
    error = difference / max(size, noise if within_noise else 0.0, 1e-12)
    # An analytic gradient that is not 0 but below the noise cannot be confirmed or refuted.
    reliable = not (within_noise and 0 < float(np.linalg.norm(a)) <= noise)
    order = np.argsort(-np.abs(a - n))[:3]
    worst = [(tuple(int(i) for i in np.unravel_index(kept[j], tensor.shape)), float(a[j]),
              float(n[j])) for j in order]
    return TensorCheck(name, float(error), len(kept), skipped, worst, noise, reliable)


def gradcheck(target: Any, x: Array, y: Array | None = None, *, eps: float = 1e-6,
              max_entries: int = 200, seed: int = 0, check_input: bool = True) -> GradcheckResult:
    """Check ``target``'s backward against central differences in float64.

    x: the input (for a Loss: the predictions; ``y`` the targets; for a model: ``y`` the
    labels of its compiled loss). Returns a GradcheckResult listing one TensorCheck per parameter
    tensor ("kernel", "dense/bias", ...) and one for the input ("input").
    """
    from ..model import Sequential  # here, not at import time: the model imports diagnostics

    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)  # a private copy: entries are perturbed in place
    with floatx_scope("float64"):
        if isinstance(target, Loss):
            y64 = np.asarray(y, dtype=np.float64)
            value, backward = target.forward(y64, x)
            analytic = backward()
            check = _numeric_check("input", x, analytic, lambda: target.forward(y64, x)[0],
                                   eps, max_entries, rng)
            return GradcheckResult(type(target).__name__, [check])
        if isinstance(target, activations_module.Activation):
            weights = rng.standard_normal(x.shape)
            y_out = target(x)
            analytic = target.backward(x, y_out, weights)
            def activation_objective() -> tuple[float, float]:
                terms = weights * target(x)
                return float(terms.sum()), float(np.abs(terms).sum())
            check = _numeric_check("input", x, analytic, activation_objective, eps,
                                   max_entries, rng)
            return GradcheckResult(f"activation {target.name!r}", [check])
        if isinstance(target, Sequential):
            return _check_model(target, x, y, eps, max_entries, seed, rng, check_input)
        if isinstance(target, Layer):
            return _check_layer(target, x, eps, max_entries, seed, rng, check_input)
    raise TypeError(f"gradcheck takes a Layer, Activation, Loss or Sequential model, "
                    f"got {type(target).__name__}")


def _check_layer(layer: Layer, x: Array, eps: float, max_entries: int, seed: int,
                 rng: np.random.Generator, check_input: bool) -> GradcheckResult:
    if not layer.built:
        layer.build(x.shape[1:])
    reset = _replay_dropout([layer], seed)
    with _float64_params([layer]):
        reset()
        out, backward = layer.forward(x, training=True)
        weights = rng.standard_normal(out.shape)
        grad_x = backward(weights)
        analytic = {k: v.copy() for k, v in layer.grads.items()}

        def objective() -> tuple[float, float]:
            reset()
            terms = weights * layer.forward(x, training=True)[0]
            return float(terms.sum()), float(np.abs(terms).sum())
        checks = [_numeric_check(k, layer.params[k], analytic[k], objective, eps, max_entries,
                                 rng) for k in layer.grads]
        if check_input:
            checks.append(_numeric_check("input", x, grad_x, objective, eps, max_entries, rng))
    return GradcheckResult(f"layer {layer.name or type(layer).__name__!r}", checks)


def _check_model(model: Any, x: Array, y: Any, eps: float, max_entries: int, seed: int,
                 rng: np.random.Generator, check_input: bool) -> GradcheckResult:
    model.require_compiled("gradcheck")
    model.ensure_built(x)
    y64 = np.asarray(y, dtype=np.float64)
    reset = _replay_dropout(model.layers, seed)
    with _float64_params(model.layers):
        reset()
        grad_x = model.forward_loss(x, y64, training=True)[2]()
        analytic = {k: v.copy() for k, v in model.trainable_grads().items()}

        def objective() -> float:
            reset()
            return model.forward_loss(x, y64, training=True)[0]
        checks = [_numeric_check(k, v, analytic[k], objective, eps, max_entries, rng)
                  for k, v in model.trainable_params().items()]
        if check_input:
            checks.append(_numeric_check("input", x, grad_x, objective, eps, max_entries, rng))
    return GradcheckResult(f"model {model.name!r}", checks)
