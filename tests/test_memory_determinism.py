"""Determinism (same seed, bit-identical weights) and bounded memory."""
import tracemalloc

import numpy as np

import scratchnet as sn
from scratchnet import layers
from scratchnet.datasets import mnist


def small_cnn():
    return sn.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1)), layers.MaxPooling2D(),
        layers.Dropout(0.25), layers.Flatten(), layers.Dense(16, activation="relu"),
        layers.Dropout(0.5), layers.Dense(10, activation="softmax")])


def train_once(x, y, seed):
    sn.set_random_seed(seed)
    model = small_cnn()
    model.compile(optimizer="adadelta", loss="categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=seed)
    return model.get_weights()


def test_same_seed_gives_bit_identical_weights(rng):
    x = rng.random((96, 12, 12, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 96)]
    first, second, other = train_once(x, y, 5), train_once(x, y, 5), train_once(x, y, 6)
    for a, b in zip(first, second):
        assert a.tobytes() == b.tobytes()
    assert any(a.tobytes() != c.tobytes() for a, c in zip(first, other))


def test_training_memory_does_not_grow_across_epochs(rng):
    x = rng.integers(0, 256, (512, 12, 12, 1), dtype=np.uint8)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 512)]
    model = small_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, seed=0)  # warm-up: optimizer slots
    tracemalloc.start()
    try:
        sizes = []
        for _ in range(4):
            model.fit(x, y, batch_size=64, epochs=1, verbose=0, seed=0)
            sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert max(sizes) - min(sizes) < 256 * 1024, sizes  # no growth from epoch to epoch


def test_fit_casts_batches_not_the_whole_dataset(rng):
    x = rng.integers(0, 256, (20000, 12, 12, 1), dtype=np.uint8)   # 2.9 MB as uint8
    y = rng.integers(0, 10, 20000)
    model = sn.Sequential([layers.Flatten(input_shape=(12, 12, 1)),
                           layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    tracemalloc.start()
    try:
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    float32_copy = x.size * 4
    assert peak < float32_copy / 2, f"peak {peak} bytes: a full float copy was made"


def test_loading_mnist_makes_no_float_copies():
    mnist.clear_cache()
    tracemalloc.start()
    try:
        (x_train, _), (x_test, _) = mnist.load_data()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert x_train.dtype == x_test.dtype == np.uint8
    float64_train = x_train.size * 8  # 376 MB: the copy a careless loader makes
    assert peak < float64_train / 2, f"peak {peak / 1e6:.0f} MB while loading"
