"""Optimizers with Keras 3's update rules and defaults.

An optimizer is one small update rule. ``apply(params, grads)`` takes two dicts with matching
keys (e.g. "conv2d/kernel") and updates the parameter arrays in place; per-parameter state (slots
such as momentum) is kept in ``self.slots`` under the same keys, so it can be saved and restored.

One file past 300 lines on purpose: the update rules sit side by side, one short class each, to
be read against the Keras 3 update rules (docs: keras-semantics) as one table.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .ops.parallel import run_chunks
from .validation import check_number

Array = np.ndarray
# Elements per update() call on large parameters (measured: smaller blocks pay more in Python
# call overhead than they gain in cache; larger ones lose the cache), and blocks per thread below
# which a parameter is updated inline (a thread hand-off costs ~60 us).
BLOCK = 1 << 17
MIN_BLOCKS_PER_THREAD = 2


class Optimizer:
    name = "optimizer"
    slot_names: tuple[str, ...] = ()
    # True when update() is element-wise (each entry's new value depends on that entry only):
    # apply() may then update large parameters block by block, across threads, with exactly
    # the same numbers. A custom update that is not element-wise (a norm, say) keeps False.
    elementwise = False

    def __init__(self, learning_rate: float = 0.001, *, lr: float | None = None,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 decay: float = 0.0, name: str | None = None, **unknown: Any):
        """Options every optimizer takes (Keras 3, plus two Keras 2 spellings):

        - ``weight_decay``: before each update, w -= w * weight_decay * lr (decoupled).
        - ``clipnorm`` (per weight), ``global_clipnorm`` (all weights together), ``clipvalue``
          (per entry): gradients are clipped before the update; at most one of the norms.
        - ``lr`` (Keras 2): another name for learning_rate; it wins when given.
        - ``decay`` (Keras 2): time-based decay, lr_t = lr / (1 + decay * iterations).
        - ``name``: accepted for Keras code, not used (the config keeps the type's name).
        """
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown argument(s) {sorted(unknown)}; "
                            f"expected learning_rate, the optimizer's own settings, "
                            f"weight_decay, clipnorm, clipvalue, global_clipnorm (or Keras 2's "
                            f"lr and decay)")
        self.learning_rate = learning_rate if lr is None else lr
        self.weight_decay = _optional(weight_decay, f"{type(self).__name__} weight_decay")
        self.clipnorm = _optional(clipnorm, f"{type(self).__name__} clipnorm")
        self.clipvalue = _optional(clipvalue, f"{type(self).__name__} clipvalue")
        self.global_clipnorm = _optional(global_clipnorm,
                                         f"{type(self).__name__} global_clipnorm")
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(f"{type(self).__name__}: pass clipnorm or global_clipnorm, not both")
        self.decay = check_number(decay, f"{type(self).__name__} decay", 0)
        self.iterations = 0
        self.slots: dict[str, dict[str, Array]] = {}

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        # Any real number >= 0, NumPy scalars too (np.float32(0.01)), as Keras accepts.
        self._learning_rate = check_number(value, f"{type(self).__name__} learning_rate", 0)

    @property
    def lr_t(self) -> float:
        """The learning rate of the current step: learning_rate, unless Keras 2's decay is set."""
        return self._learning_rate / (1 + self.decay * self.iterations)

    # Keras 2's name for it (``optimizer.lr``, ``K.set_value(model.optimizer.lr, ...)``).
    lr = learning_rate

    def initial_slot(self, slot: str, param: Array) -> Array:
        """A new slot for ``param`` (zeros; Adagrad starts its accumulator elsewhere)."""
        return np.zeros_like(param)

    def apply(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """One step: update every ``params[key]`` in place from ``grads[key]``."""
        grads = self._clipped(grads)
        self.before_step()
        for key, param in params.items():
            slots = self.slots.get(key)
            if slots is None:
                slots = self.slots[key] = {s: self.initial_slot(s, param)
                                           for s in self.slot_names}
            if self.weight_decay:
                param -= param * (self.weight_decay * self.lr_t)
            if self.elementwise and param.size > BLOCK and _all_contiguous(param, grads[key],
                                                                           *slots.values()):
                self._update_in_blocks(param, grads[key], slots)
            else:
                self.update(param, grads[key], slots)
        self.iterations += 1

    def before_step(self) -> None:
        """Once per step, before any weight is updated (Nadam's running product)."""

    def _clipped(self, grads: dict[str, Array]) -> dict[str, Array]:
        """Gradients clipped as Keras 3 does (copies: the layers' own arrays stay as they are)."""
        if self.clipvalue is None and self.clipnorm is None and self.global_clipnorm is None:
            return grads
        out = {key: g.copy() for key, g in grads.items()}
        if self.clipnorm is not None:
            for g in out.values():
                norm = float(np.sqrt((g * g).sum()))
                if norm > self.clipnorm:
                    g *= self.clipnorm / norm
        if self.global_clipnorm is not None:
            norm = math.sqrt(sum(float((g * g).sum()) for g in out.values()))
            if norm > self.global_clipnorm:
                for g in out.values():
                    g *= self.global_clipnorm / norm
        if self.clipvalue is not None:
            for g in out.values():
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        return out

    def _update_in_blocks(self, param: Array, grad: Array, slots: dict[str, Array]) -> None:
        flat_p, flat_g = param.reshape(-1), grad.reshape(-1)
        flat_s = {name: value.reshape(-1) for name, value in slots.items()}

        def work(start: int, stop: int) -> None:
            for a in range(start * BLOCK, min(stop * BLOCK, flat_p.size), BLOCK):
                part = slice(a, a + BLOCK)
                self.update(flat_p[part], flat_g[part],
                            {name: value[part] for name, value in flat_s.items()})
        run_chunks(work, -(-flat_p.size // BLOCK), MIN_BLOCKS_PER_THREAD)

    def update(self, param: Array, grad: Array, slots: dict[str, Array]) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "learning_rate": self.learning_rate}
        for option in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, option) is not None:
                config[option] = getattr(self, option)
        if self.decay:
            config["decay"] = self.decay
        return config


def _optional(value: Any, what: str) -> float | None:
    return None if value is None else check_number(value, what, 0)


def _all_contiguous(*arrays: Array) -> bool:
    return all(a.flags.c_contiguous for a in arrays)


class SGD(Optimizer):
    """w -= lr*g; with momentum: m = momentum*m - lr*g, w += m (nesterov: w += momentum*m - lr*g).
    Defaults: learning_rate 0.01, momentum 0, nesterov False."""
    name = "sgd"
    elementwise = True

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.momentum = check_number(momentum, "SGD momentum", 0, 1)
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum else ()

    def update(self, param, grad, slots):
        lr = self.lr_t
        if not self.momentum:
            param -= lr * grad
            return
        m = slots["momentum"]
        m *= self.momentum
        m -= lr * grad
        if self.nesterov:
            param += self.momentum * m - lr * grad
        else:
            param += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); w -= lr*sqrt(1 - b2^t)/(1 - b1^t) * m /
    (sqrt(v) + eps). Defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7."""
    name = "adam"
    elementwise = True
    slot_names = ("m", "v")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        what = type(self).__name__
        # beta = 1 would divide by 1 - beta^t = 0 on the first step.
        self.beta_1 = check_number(beta_1, f"{what} beta_1", 0, 1, high_inclusive=False)
        self.beta_2 = check_number(beta_2, f"{what} beta_2", 0, 1, high_inclusive=False)
        self.epsilon = check_number(epsilon, f"{what} epsilon", 0)
        self.amsgrad = bool(amsgrad)
        if self.amsgrad:   # v_hat = max(v_hat, v) replaces v in the step
            self.slot_names = ("m", "v", "v_hat")

    def update(self, param, grad, slots):
        t = self.iterations + 1
        alpha = self.lr_t * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m, v = slots["m"], slots["v"]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        if self.amsgrad:
            np.maximum(slots["v_hat"], v, out=slots["v_hat"])
            v = slots["v_hat"]
        param -= alpha * m / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, **({"amsgrad": True} if self.amsgrad else {})}


class RMSprop(Optimizer):
    """v = rho*v + (1 - rho)*g^2; w -= lr*g/sqrt(v + eps) (with momentum: m = momentum*m +
    lr*g/sqrt(v + eps); w -= m). Defaults: learning_rate 0.001, rho 0.9, momentum 0, eps 1e-7."""
    name = "rmsprop"
    elementwise = True

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.rho = check_number(rho, "RMSprop rho", 0, 1)
        self.momentum = check_number(momentum, "RMSprop momentum", 0, 1)
        self.epsilon = check_number(epsilon, "RMSprop epsilon", 0)
        self.slot_names = ("velocity", "momentum") if self.momentum else ("velocity",)

    def update(self, param, grad, slots):
        v = slots["velocity"]
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        step = self.lr_t * grad / np.sqrt(v + self.epsilon)
        if self.momentum:
            m = slots["momentum"]
            m *= self.momentum
            m += step
            step = m
        param -= step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """a = rho*a + (1 - rho)*g^2; d_w = -sqrt(d + eps)/sqrt(a + eps)*g; d = rho*d + (1 - rho)*d_w^2;
    w += lr*d_w. Defaults (Keras 3): learning_rate 0.001, rho 0.95, epsilon 1e-7. The classic
    Keras MNIST example used learning_rate=1.0 (Keras 2's default): pass it explicitly."""
    name = "adadelta"
    elementwise = True
    slot_names = ("accumulated_grad", "accumulated_delta")

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.rho = check_number(rho, "Adadelta rho", 0, 1)
        self.epsilon = check_number(epsilon, "Adadelta epsilon", 0)

    def update(self, param, grad, slots):
        rho, eps = self.rho, self.epsilon
        acc_grad, acc_delta = slots["accumulated_grad"], slots["accumulated_delta"]
        # Same operations in the same order as the formula, in place: two scratch arrays
        # instead of a dozen temporaries per step.
        scratch = np.multiply(1 - rho, grad)
        scratch *= grad
        acc_grad *= rho
        acc_grad += scratch
        delta = np.add(acc_delta, eps)
        np.sqrt(delta, out=delta)
        np.negative(delta, out=delta)
        np.add(acc_grad, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        delta /= scratch
        delta *= grad
        np.multiply(1 - rho, delta, out=scratch)
        scratch *= delta
        acc_delta *= rho
        acc_delta += scratch
        delta *= self.lr_t
        param += delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


# Keras 3's other optimizers build on the classes above, so they are imported after them.
from .extra_optimizers import Adagrad, Adamax, AdamW, Nadam  # noqa: E402

_CLASSES: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adadelta": Adadelta, "adamw": AdamW,
    "nadam": Nadam, "adagrad": Adagrad, "adamax": Adamax}


def get(identifier: str | Optimizer) -> Optimizer:
    """Resolve a name (case-insensitive, Keras defaults) or return an Optimizer as is."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _CLASSES:
        return _CLASSES[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_CLASSES)} or a "
                     f"scratchnet.optimizers.Optimizer instance.")


def from_config(config: dict[str, Any]) -> Optimizer:
    config = dict(config)
    cls = type(get(config.pop("name")))
    return cls(**config)
