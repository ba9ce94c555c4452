"""Numerical gradient checking by central differences, in float64.

``gradcheck(target, x, ...)`` works on a Layer (yours too), an Activation, a Loss or a whole
Sequential model. It compares each analytic gradient (every trainable weight and the input) with
central differences of a scalar objective (non-trainable state, a moving mean say, has no
gradient and is not checked):

- Layer / Activation: L = sum(w * f(x)) for a fixed random w, so every output entry matters.
- Loss: L = loss(y_true, x) with x the predictions.
- Model: L = the compiled loss of model(x) against y.

Error measure, per tensor: ||max(|analytic - numeric| - uncertainty, 0)|| / max(||analytic||,
||numeric||, 1e-12) over the checked entries: the disagreement beyond what the numbers resolve
(``raw_error``: without the uncertainty); a norm ratio is robust to entries ~0 in both.
Thresholds follow common practice (cs231n): < 1e-7 "ok", up to 1e-4 "suspicious", above
"wrong".

Steps: each entry is perturbed by ``eps * max(|value|, floor)``: scaled to the value's magnitude
(a step below the float64 spacing of a value of 1e11 would change nothing), with a floor for
values near 0 that is the tensor's RMS (at least 1), so a zero among values of ~1e6 gets a step
its neighbours' size.

Uncertainty, per entry: the central difference is taken at h and at h/2. For a smooth
objective both agree to O(h^2); what they disagree by is what the numbers cannot resolve: the
objective's rounding at its magnitude (at pre-activations of ~1e11 the objective is ~1e12 and
its spacing is ~1e-4), or a kink crossed by one step only. It is bounded below by a model of
the rounding (``NOISE_ULPS`` spacings of the objective's scale / step). An entry too uncertain
for its gradient is retried with steps 100x larger (up to 1e6x). Only the disagreement beyond
each entry's uncertainty counts as error (an exact-zero gradient computed as 1e-16 is not a
mismatch); a tensor most of whose entries stay too uncertain to resolve a mismatch, with no
error beyond the noise, gets the status "unreliable", never "wrong".

Kinks: where the function is not differentiable (ReLU at 0, a max-pool tie, a clip edge) the
numeric derivative means nothing. An entry whose forward and backward one-sided differences
disagree is skipped and counted, never reported as a mismatch. Randomness is replayed: every
generator a forward may draw from (a layer's own, the library's, NumPy's legacy one) is put back
before each evaluation, so a dropout, built-in or the user's, draws the same mask each time,
and non-trainable state (a moving mean a training forward updates) is put back too.
Large tensors are checked on a random sample of entries.

One file past 300 lines on purpose: the steps, the uncertainty and the error measure above are
one algorithm, read against this docstring; split, each piece would lose its reason.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from .. import activations as activations_module
from .. import backend
from ..backend import floatx_scope
from ..layers.base import Layer
from ..layers.dropout import Dropout
from ..losses import Loss

Array = np.ndarray
OK, SUSPICIOUS = 1e-7, 1e-4
NOISE_ULPS = 100.0  # rounding of one objective evaluation, in units of 2**-52 x its scale
_KINK = 1e-3         # one-sided differences disagreeing by more than this share: a kink
_RESOLVED = 1e-5     # a probe is measured well enough when uncertain by less than this share
_ESCALATIONS = 3     # times a noisy probe is retried with a 100x larger step


@dataclass
class TensorCheck:
    """The check of one gradient tensor."""
    name: str
    relative_error: float
    checked: int
    skipped_kinks: int
    worst: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    noise: float = 0.0      # the numeric gradient's uncertainty (norm over checked entries)
    reliable: bool = True   # False: most entries are lost in the noise, no verdict
    unresolved: int = 0     # checked entries whose numeric value is too uncertain to judge
    raw_error: float = 0.0  # ||analytic - numeric|| / size, before the uncertainty is allowed

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
                f"{self.raw_error:.2e} before allowing for the noise; {self.checked} entries "
                f"checked, {self.skipped_kinks} skipped at kinks)")
        if not self.reliable:
            text += (f"\n    {self.unresolved} of {self.checked} entries are lost in the "
                     f"rounding noise ({self.noise:.1e}): no verdict")
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


def _generators(layers: list[Layer]) -> list[np.random.Generator]:
    """Every random generator a forward may draw from: the layers' own (any Generator
    attribute, as a user's dropout keeps one), the library-wide one and NumPy's legacy one
    (through its state, restored separately)."""
    found = [value for layer in layers for value in vars(layer).values()
             if isinstance(value, np.random.Generator)]
    return found + [backend.rng()]


@contextlib.contextmanager
def _replayed_randomness(layers: list[Layer], seed: int) -> Iterator[Callable[[], None]]:
    """Yield ``reset``: called before each evaluation, it puts every generator back where it
    was, so a dropout (built-in or the user's) draws the same mask each time, and resets
    non-trainable state (moving statistics) to its starting value; built-in Dropout
    layers without a generator get one seeded with ``seed``. Everything is restored after."""
    dropouts = [layer for layer in layers if isinstance(layer, Dropout)]
    saved_rngs = [(layer, layer.rng) for layer in dropouts]
    for layer in dropouts:
        layer.rng = layer.rng if layer.rng is not None else np.random.default_rng(seed)
    generators = _generators(layers)
    states = [g.bit_generator.state for g in generators]
    legacy = np.random.get_state()
    # Entered inside _float64_params: these are the float64 copies the check evaluates.
    kept = [(layer.params[name], layer.params[name].copy()) for layer in layers
            for name in sorted(layer.non_trainable_names)]

    def reset() -> None:
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state
        np.random.set_state(legacy)
        for value, start in kept:
            value[...] = start
    try:
        yield reset
    finally:
        reset()
        for layer, generator in saved_rngs:
            layer.rng = generator


Objective = Callable[[], "float | tuple[float, float]"]


def _evaluate(objective: Objective) -> tuple[float, float]:
    """(value, scale): an objective may return the sum of magnitudes it adds up as its scale;
    else the value's own magnitude is the scale."""
    with np.errstate(all="ignore"):  # a step may leave the domain; the caller checks
        out = objective()
    value, scale = out if isinstance(out, tuple) else (out, abs(out))
    return float(value), float(scale)


def _step_floor(tensor: Array) -> float:
    """The step's absolute floor for entries near 0: the tensor's own scale (RMS), at least 1.
    A zero among values of ~1e6 (a ReLU output feeding the next layer) gets a step of its
    neighbours' size, not 1e-6: the objective there is ~1e8 and a step of 1e-6 would move it
    by less than a few of its float64 spacings."""
    with np.errstate(all="ignore"):
        scale = float(np.sqrt(np.mean(np.square(tensor)))) if tensor.size else 0.0
    return scale if np.isfinite(scale) and scale > 1.0 else 1.0


def _central(flat: Array, position: int, step: float, objective: Objective
             ) -> tuple[float, float, float, float]:
    """(f(v + h), f(v - h), h, scale) for the entry at ``position``; h is the step float64
    actually took (0 when the step is below the value's spacing)."""
    original = flat[position]
    flat[position] = original + step
    step = float(flat[position] - original)
    if step <= 0:
        flat[position] = original
        return 0.0, 0.0, 0.0, 0.0
    f_plus, scale_plus = _evaluate(objective)
    flat[position] = original - step
    f_minus, scale_minus = _evaluate(objective)
    flat[position] = original
    return f_plus, f_minus, step, max(scale_plus, scale_minus)


def _probe(flat: Array, position: int, step: float, f0: float, scale0: float,
           objective: Objective, analytic: float, typical: float) -> tuple[float, float] | None:
    """One entry's numeric derivative and its uncertainty, or None where the objective is not
    differentiable (a kink) or no step can be taken. ``analytic``: the backward's value there;
    ``typical``: the tensor's typical analytic gradient (the size a measurement must resolve).

    The central difference is taken at h and at h/2: for a smooth objective they agree to
    O(h^2) (~1e-12 relative at these steps), so their difference measures what the numbers
    really carry: rounding of the objective at its magnitude, or a kink crossed by one step but
    not the other. The step grows 100x (up to 1e6x) while the measurement is too uncertain, or
    the one-sided differences disagree like noise (shrinking with the step) rather than like a
    kink, or it disagrees with ``analytic`` for the first time: a wrong backward disagrees at
    every step, rounding that happened to look consistent does not."""
    rounding = NOISE_ULPS * np.finfo(np.float64).eps
    best, disagreed = None, False
    reference = max(abs(analytic), typical)
    for attempt in range(_ESCALATIONS + 1):
        last = attempt == _ESCALATIONS
        f_plus, f_minus, h, scale = _central(flat, position, step * 100.0 ** attempt, objective)
        half_plus, half_minus, h2, scale2 = (_central(flat, position, h / 2, objective) if h
                                             else (0.0, 0.0, 0.0, 0.0))
        if h2 <= 0:
            return best  # below the spacing of this value: nothing can be measured here
        if not np.isfinite([f_plus, f_minus, half_plus, half_minus, scale, scale2]).all():
            return best  # the step left the function's domain (a sum through 0, log of < 0)
        modelled = rounding * max(scale0, scale, scale2) / h
        numeric = (f_plus - f_minus) / (2 * h)
        halved = abs(numeric - (half_plus - half_minus) / (2 * h2))
        forward, backward = (f_plus - f0) / h, (f0 - f_minus) / h
        one_sided = abs(forward - backward)
        if one_sided > _KINK * max(abs(forward), abs(backward)) + 1e-6 + 2 * modelled:
            if halved < 0.1 * one_sided or last:
                return best  # a kink (or too curved for this step): no verdict here
            continue  # one-sided differences that move with the step: rounding, step up
        best = numeric, max(halved, modelled)
        resolved = best[1] <= _RESOLVED * max(abs(numeric), reference) \
            or numeric == reference == 0
        agrees = abs(numeric - analytic) <= best[1] + _RESOLVED * max(abs(numeric), reference)
        if resolved and (agrees or disagreed):
            break
        disagreed = disagreed or (resolved and not agrees)
    return best


def _numeric_check(name: str, tensor: Array, analytic: Array, objective: Objective,
                   eps: float, max_entries: int, rng: np.random.Generator) -> TensorCheck:
    flat = tensor.reshape(-1)  # a view: perturbing it perturbs the tensor the objective reads
    if flat.size > max_entries:
        positions = rng.choice(flat.size, size=max_entries, replace=False)
    else:
        positions = np.arange(flat.size)
    f0, scale0 = _evaluate(objective)
    floor, flat_analytic = _step_floor(tensor), analytic.reshape(-1)
    with np.errstate(all="ignore"):
        typical = float(np.sqrt(np.mean(np.square(analytic)))) if analytic.size else 0.0
    kept, numeric, uncertainty, skipped = [], [], [], 0
    for position in positions:
        probe = _probe(flat, int(position), eps * max(abs(float(flat[position])), floor), f0,
                       scale0, objective, float(flat_analytic[position]), typical)
        if probe is None:
            skipped += 1
            continue
        kept.append(int(position))
        numeric.append(probe[0])
        uncertainty.append(probe[1])
    if not kept:
        return TensorCheck(name, 0.0, 0, skipped)
    a, n, e = analytic.reshape(-1)[kept], np.asarray(numeric), np.asarray(uncertainty)
    with np.errstate(all="ignore"):
        size = max(float(np.linalg.norm(a)), float(np.linalg.norm(n)), 1e-12)
        # Only the disagreement beyond what the numbers can resolve counts against the backward:
        # an exact 0 computed as 1e-16, or rounding at 1e11, is not a mismatch.
        excess = np.maximum(np.abs(a - n) - e, 0.0)
        error = float(np.linalg.norm(excess)) / size
        # A probe resolves the gradient when its uncertainty is far below the threshold of a
        # mismatch, relative to the gradient there (or to the tensor's typical gradient); an
        # exact-zero analytic gradient whose numeric value is 0 within its uncertainty is
        # resolved too (nothing smaller could be measured).
        resolved = (e <= SUSPICIOUS * np.maximum(np.maximum(np.abs(a), np.abs(n)), typical)) \
            | ((a == 0) & (np.abs(n) <= e))
    reliable = bool(error > SUSPICIOUS or 2 * int(resolved.sum()) >= len(kept))
    order = np.argsort(-np.abs(a - n))[:3]
    worst = [(tuple(int(i) for i in np.unravel_index(kept[j], tensor.shape)), float(a[j]),
              float(n[j])) for j in order]
    return TensorCheck(name, error, len(kept), skipped, worst, float(np.linalg.norm(e)),
                       reliable, int(len(kept) - resolved.sum()),
                       float(np.linalg.norm(a - n)) / size)


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
    with _float64_params([layer]), _replayed_randomness([layer], seed) as reset:
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
    with _float64_params(model.layers), _replayed_randomness(model.layers, seed) as reset:
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
