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


@dataclass
class TensorCheck:
    """The check of one gradient tensor."""
    name: str
    relative_error: float
    checked: int
    skipped_kinks: int
    worst: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.checked == 0:
            return "unchecked"
        if self.relative_error < OK:
            return "ok"
        return "suspicious" if self.relative_error < SUSPICIOUS else "wrong"

    def __str__(self) -> str:
        text = (f"{self.name}: relative error {self.relative_error:.2e} ({self.status}; "
                f"{self.checked} entries checked, {self.skipped_kinks} skipped at kinks)")
        for index, analytic, numeric in self.worst if self.status != "ok" else []:
            text += f"\n    at {index}: analytic {analytic:+.6e}, numeric {numeric:+.6e}"
        return text


@dataclass
class GradcheckResult:
    target: str
    checks: list[TensorCheck]

    @property
    def max_error(self) -> float:
        return max((c.relative_error for c in self.checks if c.checked), default=0.0)

    def passed(self, tolerance: float = SUSPICIOUS) -> bool:
        """True when every checked tensor is within ``tolerance`` and at least one entry was
        checked (a result where every entry sat on a kink proves nothing)."""
        checked = [c for c in self.checks if c.checked]
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


def _numeric_check(name: str, tensor: Array, analytic: Array, objective: Callable[[], float],
                   eps: float, max_entries: int, rng: np.random.Generator) -> TensorCheck:
    flat = tensor.reshape(-1)  # a view: perturbing it perturbs the tensor the objective reads
    if flat.size > max_entries:
        positions = rng.choice(flat.size, size=max_entries, replace=False)
    else:
        positions = np.arange(flat.size)
    f0 = objective()
    kept, numeric, skipped = [], [], 0
    for position in positions:
        original = flat[position]
        flat[position] = original + eps
        f_plus = objective()
        flat[position] = original - eps
        f_minus = objective()
        flat[position] = original
        forward, backward = (f_plus - f0) / eps, (f0 - f_minus) / eps
        if abs(forward - backward) > 1e-3 * max(abs(forward), abs(backward)) + 1e-6:
            skipped += 1  # not differentiable here (or too curved for eps): no verdict
            continue
        kept.append(position)
        numeric.append((f_plus - f_minus) / (2 * eps))
    if not kept:
        return TensorCheck(name, 0.0, 0, skipped)
    a = analytic.reshape(-1)[kept]
    n = np.asarray(numeric)
    error = float(np.linalg.norm(a - n) / max(np.linalg.norm(a), np.linalg.norm(n), 1e-12))
    order = np.argsort(-np.abs(a - n))[:3]
    worst = [(tuple(int(i) for i in np.unravel_index(kept[j], tensor.shape)), float(a[j]),
              float(n[j])) for j in order]
    return TensorCheck(name, error, len(kept), skipped, worst)


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
            check = _numeric_check("input", x, analytic,
                                   lambda: float((weights * target(x)).sum()), eps,
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

        def objective() -> float:
            reset()
            return float((weights * layer.forward(x, training=True)[0]).sum())
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
