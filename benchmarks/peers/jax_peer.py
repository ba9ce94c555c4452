"""JAX (jit, written as a JAX user would: lax convolutions in NHWC/HWIO, Adadelta by hand) and
Keras 3 on the JAX backend (the Keras example itself, train_on_batch / predict)."""
from __future__ import annotations

import os

import numpy as np

RHO, EPS = 0.95, 1e-7


class JaxPeer:
    def __init__(self, weights: list[np.ndarray]):
        import jax
        import jax.numpy as jnp
        from jax import lax
        self.jax, self.jnp = jax, jnp
        dims = ("NHWC", "HWIO", "NHWC")

        def logits(params, x, key, train):
            k1, b1, k2, b2, d1, c1, d2, c2 = params
            h = jax.nn.relu(lax.conv_general_dilated(x, k1, (1, 1), "VALID",
                                                     dimension_numbers=dims) + b1)
            h = jax.nn.relu(lax.conv_general_dilated(h, k2, (1, 1), "VALID",
                                                     dimension_numbers=dims) + b2)
            h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            key1, key2 = jax.random.split(key)
            if train:
                h = h * jax.random.bernoulli(key1, 0.75, h.shape) / 0.75
            h = jax.nn.relu(h.reshape(h.shape[0], -1) @ d1 + c1)
            if train:
                h = h * jax.random.bernoulli(key2, 0.5, h.shape) / 0.5
            return h @ d2 + c2

        def loss(params, x, y, key):
            return -(jax.nn.log_softmax(logits(params, x, key, True)) * y).sum(-1).mean()

        def step(params, accum_grad, accum_delta, x, y, key):
            grads = jax.grad(loss)(params, x, y, key)
            new = [], [], []
            for p, g, ag, ad in zip(params, grads, accum_grad, accum_delta):
                ag = RHO * ag + (1 - RHO) * g * g
                delta = jnp.sqrt(ad + EPS) / jnp.sqrt(ag + EPS) * g
                ad = RHO * ad + (1 - RHO) * delta * delta
                for out, value in zip(new, (p - delta, ag, ad)):
                    out.append(value)
            return new

        self.step = jax.jit(step, donate_argnums=(0, 1, 2))
        self.forward = jax.jit(lambda params, x: jax.nn.softmax(
            logits(params, x, jax.random.PRNGKey(0), False)))
        self.params = [jnp.asarray(w) for w in weights]
        self.accum = ([jnp.zeros_like(p) for p in self.params],
                      [jnp.zeros_like(p) for p in self.params])
        self.key = jax.random.PRNGKey(0)

    def set_train_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = self.jnp.asarray(x), self.jnp.asarray(y)

    def train_step(self) -> None:
        self.key, sub = self.jax.random.split(self.key)
        self.params, *self.accum = self.step(self.params, *self.accum, self.x, self.y, sub)
        self.jax.block_until_ready(self.params)

    def native(self, x: np.ndarray):
        return self.jnp.asarray(x)

    def predict(self, x, batch_size: int):
        outs = [self.forward(self.params, x[i:i + batch_size])
                for i in range(0, len(x), batch_size)]
        return self.jax.block_until_ready(self.jnp.concatenate(outs))


class KerasJaxPeer:
    def __init__(self, weights: list[np.ndarray]):
        import keras
        from keras import layers
        self.model = keras.Sequential([
            keras.Input((28, 28, 1)), layers.Conv2D(32, (3, 3), activation="relu"),
            layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25), layers.Flatten(), layers.Dense(128, activation="relu"),
            layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
        self.model.compile(loss="categorical_crossentropy",
                           optimizer=keras.optimizers.Adadelta(learning_rate=1.0))
        self.model.set_weights(weights)

    def set_train_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def train_step(self) -> None:
        self.model.train_on_batch(self.x, self.y)

    def native(self, x: np.ndarray) -> np.ndarray:
        return x

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        if len(x) <= batch_size:
            return np.asarray(self.model.predict_on_batch(x))
        return self.model.predict(x, batch_size=batch_size, verbose=0)


def make(weights: list[np.ndarray], variant: str, threads: int):
    # XLA's CPU client sizes its thread pool from the affinity mask the driver set.
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
    if variant == "keras":
        os.environ["KERAS_BACKEND"] = "jax"
        return KerasJaxPeer(weights)
    return JaxPeer(weights)
