"""Keras 3's other optimizers: AdamW, Nadam, Adagrad, Adamax (same contract as optimizers.py:
``update`` changes one parameter in place from its gradient and its slots)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizers import Adam, Optimizer
from .validation import check_number


class AdamW(Adam):
    """Adam with decoupled weight decay: w -= w * weight_decay * lr before each Adam step.
    Defaults (Keras 3): learning_rate 0.001, weight_decay 0.004, beta_1 0.9, beta_2 0.999,
    epsilon 1e-7."""
    name = "adamw"

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **kwargs: Any):
        if weight_decay is None:
            raise ValueError("AdamW weight_decay must be a number >= 0 (default 0.004), "
                             "got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)


class Nadam(Adam):
    """Adam with Nesterov momentum (Keras 3). With u_t = beta_1 (1 - 0.5 * 0.96^t) and
    U_t = u_1 ... u_t: m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
    m_hat = u_{t+1} m / (1 - U_{t+1}) + (1 - u_t) g / (1 - U_t); v_hat = v / (1 - b2^t);
    w -= lr * m_hat / (sqrt(v_hat) + eps). Defaults: 0.001, 0.9, 0.999, 1e-7."""
    name = "nadam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)

    def _u(self, t: int) -> float:
        return self.beta_1 * (1 - 0.5 * 0.96 ** t)

    def before_step(self) -> None:
        # U_t depends on the step only, so it follows from iterations (a loaded optimizer, its
        # iterations restored, continues exactly): one product per step, or all after a load.
        t = self.iterations + 1
        done, product = getattr(self, "_u_cache", (0, 1.0))
        if done != t - 1:
            done, product = 0, 1.0
        for i in range(done + 1, t + 1):
            product *= self._u(i)
        self._u_cache = (t, product)
        self._u_product = product

    def update(self, param, grad, slots):
        t = self.iterations + 1
        u_t, u_next = self._u(t), self._u(t + 1)
        m, v = slots["m"], slots["v"]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        m_hat = (u_next * m / (1 - self._u_product * u_next)
                 + (1 - u_t) * grad / (1 - self._u_product))
        v_hat = v / (1 - self.beta_2 ** t)
        param -= self.lr_t * m_hat / (np.sqrt(v_hat) + self.epsilon)

    def get_config(self):
        return {key: value for key, value in super().get_config().items() if key != "amsgrad"}


class Adagrad(Optimizer):
    """a += g^2; w -= lr * g / sqrt(a + eps), a starting at initial_accumulator_value.
    Defaults (Keras 3): learning_rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7."""
    name = "adagrad"
    elementwise = True
    slot_names = ("accumulator",)

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = check_number(
            initial_accumulator_value, "Adagrad initial_accumulator_value", 0)
        self.epsilon = check_number(epsilon, "Adagrad epsilon", 0)

    def initial_slot(self, slot, param):
        return np.full_like(param, self.initial_accumulator_value)

    def update(self, param, grad, slots):
        acc = slots["accumulator"]
        acc += grad * grad
        param -= self.lr_t * grad / np.sqrt(acc + self.epsilon)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adamax(Optimizer):
    """m += (g - m)(1 - b1); u = max(b2 * u, |g|); w -= lr * m / ((1 - b1^t)(u + eps)).
    Defaults (Keras 3): learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7."""
    name = "adamax"
    elementwise = True
    slot_names = ("m", "u")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = check_number(beta_1, "Adamax beta_1", 0, 1, high_inclusive=False)
        self.beta_2 = check_number(beta_2, "Adamax beta_2", 0, 1)
        self.epsilon = check_number(epsilon, "Adamax epsilon", 0)

    def update(self, param, grad, slots):
        t = self.iterations + 1
        m, u = slots["m"], slots["u"]
        m += (grad - m) * (1 - self.beta_1)
        np.maximum(self.beta_2 * u, np.abs(grad), out=u)
        param -= self.lr_t * m / ((1 - self.beta_1 ** t) * (u + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
