"""Optimizers with Keras 3's update rules and defaults.

An optimizer is one small update rule. ``apply(params, grads)`` takes two dicts with matching
keys (e.g. "conv2d/kernel") and updates the parameter arrays in place; per-parameter state (slots
such as momentum) is kept in ``self.slots`` under the same keys, so it can be saved and restored.
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

    def __init__(self, learning_rate: float = 0.001):
        # Any real number (NumPy scalars too: np.float32(0.01), as Keras accepts).
        self.learning_rate = check_number(learning_rate, f"{type(self).__name__} learning_rate",
                                          0)
        self.iterations = 0
        self.slots: dict[str, dict[str, Array]] = {}

    def apply(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """One step: update every ``params[key]`` in place from ``grads[key]``."""
        for key, param in params.items():
            slots = self.slots.get(key)
            if slots is None:
                slots = self.slots[key] = {s: np.zeros_like(param) for s in self.slot_names}
            if self.elementwise and param.size > BLOCK and _all_contiguous(param, grads[key],
                                                                           *slots.values()):
                self._update_in_blocks(param, grads[key], slots)
            else:
                self.update(param, grads[key], slots)
        self.iterations += 1

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
        return {"name": self.name, "learning_rate": self.learning_rate}


def _all_contiguous(*arrays: Array) -> bool:
    return all(a.flags.c_contiguous for a in arrays)


class SGD(Optimizer):
    """w -= lr*g; with momentum: m = momentum*m - lr*g, w += m (nesterov: w += momentum*m - lr*g).
    Defaults: learning_rate 0.01, momentum 0, nesterov False."""
    name = "sgd"
    elementwise = True

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(learning_rate)
        self.momentum = check_number(momentum, "SGD momentum", 0, 1)
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum else ()

    def update(self, param, grad, slots):
        lr = self.learning_rate
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
                 epsilon: float = 1e-7):
        super().__init__(learning_rate)
        # beta = 1 would divide by 1 - beta^t = 0 on the first step.
        self.beta_1 = check_number(beta_1, "Adam beta_1", 0, 1, high_inclusive=False)
        self.beta_2 = check_number(beta_2, "Adam beta_2", 0, 1, high_inclusive=False)
        self.epsilon = check_number(epsilon, "Adam epsilon", 0)

    def update(self, param, grad, slots):
        t = self.iterations + 1
        alpha = self.learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m, v = slots["m"], slots["v"]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        param -= alpha * m / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """v = rho*v + (1 - rho)*g^2; w -= lr*g/sqrt(v + eps) (with momentum: m = momentum*m +
    lr*g/sqrt(v + eps); w -= m). Defaults: learning_rate 0.001, rho 0.9, momentum 0, eps 1e-7."""
    name = "rmsprop"
    elementwise = True

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7):
        super().__init__(learning_rate)
        self.rho = check_number(rho, "RMSprop rho", 0, 1)
        self.momentum = check_number(momentum, "RMSprop momentum", 0, 1)
        self.epsilon = check_number(epsilon, "RMSprop epsilon", 0)
        self.slot_names = ("velocity", "momentum") if self.momentum else ("velocity",)

    def update(self, param, grad, slots):
        v = slots["velocity"]
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        step = self.learning_rate * grad / np.sqrt(v + self.epsilon)
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

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7):
        super().__init__(learning_rate)
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
        delta *= self.learning_rate
        param += delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


_CLASSES: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adadelta": Adadelta}


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
