import numpy as np
import pytest

import scratchnet as sn


@pytest.fixture
def float64():
    """Run a test with float64 weights and casts (gradient checks), restoring float32 after."""
    with sn.backend.floatx_scope("float64"):
        yield


@pytest.fixture(params=[1, 3], ids=["1thread", "3threads"])
def threads(request):
    """Run a kernel test inline (1) and split across threads (3, more than the cores)."""
    from scratchnet.ops import parallel
    before = parallel.num_threads()
    parallel.set_num_threads(request.param)
    yield request.param
    parallel.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def keras_mnist_cnn() -> sn.Sequential:
    """The classic Keras MNIST CNN, exactly as the Keras example builds it."""
    from scratchnet import layers
    model = sn.Sequential()
    model.add(layers.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    return model
