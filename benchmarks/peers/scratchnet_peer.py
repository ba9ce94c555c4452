"""scratchnet: the model as a user writes it (zoo.mnist_cnn is the Keras example's network)."""
from __future__ import annotations

import numpy as np

import scratchnet as sn
from scratchnet import optimizers, zoo


class ScratchnetPeer:
    def __init__(self, weights: list[np.ndarray]):
        self.model = zoo.mnist_cnn()
        self.model.compile(loss="categorical_crossentropy",
                           optimizer=optimizers.Adadelta(learning_rate=1.0))
        self.model.set_weights(weights)

    def set_train_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def train_step(self) -> None:
        self.model.train_on_batch(self.x, self.y)

    def native(self, x: np.ndarray) -> np.ndarray:
        return x

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self.model.predict(x, batch_size=batch_size, verbose=0)


def make(weights: list[np.ndarray], variant: str, threads: int) -> ScratchnetPeer:
    from scratchnet.ops import parallel
    parallel.set_num_threads(threads)
    return ScratchnetPeer(weights)


def initial_weights(seed: int = 0) -> list[np.ndarray]:
    sn.set_random_seed(seed)
    return zoo.mnist_cnn().get_weights()
