"""Bad input gets a clear error naming what was expected and what was given (issue: reliability).

No bare NumPy broadcasting errors: each case is caught before any layer runs.
"""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, zoo


@pytest.fixture
def model():
    model = zoo.mnist_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def data(rng):
    return rng.random((4, 28, 28, 1)).astype(np.float32), np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]


@pytest.mark.parametrize("x_shape,message", [
    ((4, 784), r"x has shape \(4, 784\); the model expects \(N, 28, 28, 1\)"),
    ((4, 28, 27), r"\(4, 28, 27\)"),   # (4, 28, 28) is accepted: Keras 3 adds the axis
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
    model = zoo.mnist_cnn()
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
    ({"validation_data": (np.zeros((2, 28, 27)), np.eye(10)[[0, 1]])}, "validation_data"),
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
    (lambda: layers.Dropout(1.0), r"Dropout rate must be in \[0, 1\), got 1.0"),
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


def test_a_layer_that_does_not_fit_leaves_the_model_as_it_was(rng):
    model = sn.Sequential([layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match=r"Conv2D expects inputs of shape \(N, H, W, C\)"):
        model.add(layers.Conv2D(2, 3))
    assert [layer.name for layer in model.layers] == ["dense"]
    model.add(layers.Dense(2))
    assert model.predict(rng.random((2, 4))).shape == (2, 2)


def test_shapes_given_as_plain_ints_like_keras():
    assert layers.Input(shape=784).input_shape_arg == (784,)
    assert layers.Dense(3, input_shape=784).input_shape_arg == (784,)
    with pytest.raises(ValueError, match="input_shape must be a positive int"):
        layers.Dense(3, input_shape=(28, -1))


def test_calling_the_model_checks_the_shape(model, rng):
    with pytest.raises(ValueError, match=r"expects \(N, 28, 28, 1\)"):
        model(rng.random((2, 30, 30, 1)))


def test_single_output_unit_takes_labels_of_shape_n(rng):
    model = sn.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x, labels = rng.random((8, 3)), rng.integers(0, 2, 8)
    as_column = model.evaluate(x, labels[:, None], verbose=0)
    assert model.evaluate(x, labels, verbose=0) == as_column
    model.fit(x, labels, epochs=1, verbose=0)


@pytest.mark.parametrize("call,message", [
    (lambda m, x, y: m.evaluate(x, y, batch_size=0), "batch_size must be an integer >= 1"),
    (lambda m, x, y: m.predict(x, batch_size=-1), "batch_size must be an integer >= 1"),
    (lambda m, x, y: m.fit(x, y, callbacks=sn.History()), "callbacks must be a list"),
    (lambda m, x, y: m.fit(x, y, verbose="loud"), "verbose must be"),
    (lambda m, x, y: m.fit(x, y, validation_split="0.1"), "validation_split must be a finite"),
    (lambda m, x, y: m.fit([[1, 2], [3]], y), "rectangular array"),
])
def test_more_bad_arguments(model, data, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(model, *data)


def test_metrics_may_be_one_name(data):
    model = zoo.mnist_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics="accuracy")
    assert len(model.evaluate(*data, verbose=0)) == 2


@pytest.mark.parametrize("factory,message", [
    (lambda: sn.optimizers.SGD(momentum="x"), "SGD momentum must be a finite number"),
    (lambda: sn.optimizers.Adam(beta_1=1.0), r"beta_1 must be in \[0, 1\)"),
    (lambda: sn.optimizers.RMSprop(rho=1.5), "rho"),
    (lambda: sn.optimizers.Adadelta(epsilon=-1), "epsilon"),
    (lambda: layers.LeakyReLU("a"), "negative_slope must be a finite number"),
    (lambda: layers.ReLU(max_value="x"), "max_value"),
])
def test_invalid_numeric_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_numpy_scalars_are_numbers():
    assert layers.Dropout(np.float32(0.5)).rate == 0.5


def test_sparse_loss_rejects_negative_labels_when_called_directly():
    p = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"labels in \[0, 2\], got values in \[-1, 1\]"):
        sn.losses.SparseCategoricalCrossentropy()(np.array([-1, 1]), p)
    assert sn.losses.get("MSE").name == "mean_squared_error"
