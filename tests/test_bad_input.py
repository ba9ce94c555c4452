"""Bad input gets a clear error naming what was expected and what was given (issue: reliability).

No bare NumPy broadcasting errors: each case is caught before any layer runs.
"""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers
from tests.conftest import keras_mnist_cnn


@pytest.fixture
def model():
    model = keras_mnist_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def data(rng):
    return rng.random((4, 28, 28, 1)).astype(np.float32), np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]


@pytest.mark.parametrize("x_shape,message", [
    ((4, 784), r"x has shape \(4, 784\); the model expects \(N, 28, 28, 1\)"),
    ((4, 28, 28), "channel axis is missing"),
    ((4, 1, 28, 28), "channels-first"),
    ((4, 28, 28, 3), r"\(4, 28, 28, 3\)"),
    ((0, 28, 28, 1), "empty"),
])
def test_wrong_shapes(model, x_shape, message):
    with pytest.raises(ValueError, match=message):
        model.fit(np.zeros(x_shape, np.float32), np.eye(10)[[0] * x_shape[0]], verbose=0)


@pytest.mark.parametrize("bad", [np.array([[1, "a"]], dtype=object), np.array(["x", "y"])])
def test_object_and_string_arrays(model, bad):
    with pytest.raises(TypeError, match=r"array of numbers, got dtype"):
        model.predict(bad)


def test_integer_images_are_cast_like_keras(model, rng):
    x = rng.integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    np.testing.assert_allclose(model.predict(x), model.predict(x.astype(np.float32)))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_inputs_and_targets(model, data, value):
    x, y = data
    x = x.copy()
    x[1, 3, 4, 0] = value
    with pytest.raises(ValueError, match="1 NaN or Inf"):
        model.fit(x, y, verbose=0)
    y = y.copy()
    y[0, 0] = value
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.evaluate(data[0], y)


@pytest.mark.parametrize("y,message", [
    (np.array([1, 2, 3, 4]), "to_categorical"),
    (np.eye(9)[[1, 2, 3, 4]], r"targets of shape \(N, 10\)"),
    (np.array(["a", "b", "c", "d"]), "array of numbers"),
])
def test_labels_of_the_wrong_form(model, data, y, message):
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(data[0], y, verbose=0)


def test_sparse_labels_out_of_range(data):
    model = keras_mnist_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels in \[0, 9\], got values in \[-1, 12\]"):
        model.fit(data[0], np.array([-1, 2, 12, 3]), verbose=0)


@pytest.mark.parametrize("kwargs,message", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"batch_size": -5}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"epochs": -1}, "epochs must be an integer >= 0, got -1"),
    ({"validation_split": 1.5}, "validation_split"),
    ({"validation_split": 0.9}, "leaves 0 training"),  # 4 samples: none left to train on
    ({"validation_data": (np.zeros((2, 28, 28)), np.eye(10)[[0, 1]])}, "validation_data"),
    ({"validation_data": (np.zeros((2, 28, 28, 1)), np.eye(10)[[0]])}, "same number"),
    ({"validation_data": np.zeros(3)}, "tuple"),
])
def test_bad_fit_arguments(model, data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.fit(*data, verbose=0, **kwargs)


def test_epochs_zero_trains_nothing(model, data):
    before = model.get_weights()
    history = model.fit(*data, epochs=0, verbose=0)
    assert history.history == {}
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mismatched_lengths(model, data):
    with pytest.raises(ValueError, match="4 inputs and 3 targets"):
        model.fit(data[0], data[1][:3], verbose=0)


@pytest.mark.parametrize("factory,message", [
    (lambda: layers.Conv2D(0, 3), "filters must be a positive integer, got 0"),
    (lambda: layers.Conv2D(8, 3, strides=0), "strides"),
    (lambda: layers.Conv2D(8, (3, -1)), "kernel_size"),
    (lambda: layers.Dropout(1.0), r"rate must be a number in \[0, 1\), got 1.0"),
    (lambda: layers.Dropout(-0.5), "rate"),
    (lambda: layers.Dense(0), "units"),
    (lambda: layers.LeakyReLU(-1), "negative_slope"),
    (lambda: layers.MaxPooling2D(2, strides=0), "strides"),
    (lambda: layers.AveragePooling2D(2, padding="causal"), "padding"),
])
def test_invalid_layer_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_kernel_larger_than_input_names_both_shapes():
    with pytest.raises(ValueError, match=r"kernel \(5, 5\) is larger than its input \(3, 3\)"):
        sn.Sequential([layers.Conv2D(4, 5, input_shape=(3, 3, 1))])


def test_unknown_names(model):
    with pytest.raises(ValueError, match="Unknown activation 'rellu'"):
        layers.Dense(3, activation="rellu")
    with pytest.raises(ValueError, match="Unknown layer type 'Conv3D'"):
        layers.get_class("Conv3D")
