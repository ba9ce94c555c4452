"""The model-level Keras surface: functional Input/Model, pop/weights/get_layer, a model used as
a layer, save_weights/load_weights, the rank adjustment, TensorBoard files, plot_model."""
import struct

import numpy as np
import pytest

import scratchnet as keras
from scratchnet import layers
from scratchnet.callbacks.tensorboard import crc32c, record


def small_model():
    model = keras.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_functional_chain_matches_the_same_sequential(rng):
    inputs = keras.Input(shape=(3,))
    hidden = layers.Dense(4, activation="relu")(inputs)
    outputs = layers.Dense(2, activation="softmax")(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    twin = keras.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                             layers.Dense(2, activation="softmax")])
    twin.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x), twin.predict(x), rtol=1e-6)
    assert hidden.shape == (None, 4) and model.layers[1].output is hidden


def test_functional_bad_arguments_are_clear():
    inputs = keras.Input(shape=(3,))
    with pytest.raises(NotImplementedError, match="one input and one output"):
        keras.Model(inputs=[inputs, keras.Input(shape=(3,))], outputs=inputs)
    with pytest.raises(TypeError, match="symbolic tensors"):
        keras.Model(inputs=np.zeros(3), outputs=np.zeros(3))
    with pytest.raises(ValueError, match="not computed from its inputs"):
        keras.Model(inputs=keras.Input(shape=(3,)), outputs=layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="shape"):
        keras.Input()


def test_pop_weights_get_layer():
    model = small_model()
    assert len(model.weights) == 4 and model.weights[0] is model.layers[0].params["kernel"]
    assert model.get_layer(index=-1) is model.layers[-1]
    assert model.get_layer(name=model.layers[0].name) is model.layers[0]
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()
    popped = model.pop()
    assert popped.units == 2 and len(model.layers) == 1
    assert model.output_shape == (4,)


def test_model_as_a_layer_trains_the_inner_model(rng):
    inner = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    outer = keras.Sequential([inner, layers.Softmax()])
    outer.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = inner.get_weights()[0].copy()
    x, y = rng.standard_normal((8, 3)).astype(np.float32), np.arange(8) % 2
    outer.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(before, inner.get_weights()[0])   # shared, not copied
    logits = inner.predict(x)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(outer.predict(x), expected, rtol=1e-5)


def test_save_and_load_weights_round_trip_under_any_name(tmp_path, rng):
    model, other = small_model(), small_model()
    path = tmp_path / "cp.weights.h5"
    model.save_weights(path)
    assert path.read_bytes()[8:9] == b"{"   # safetensors header, never HDF5
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrong = keras.Sequential([layers.Dense(5, input_shape=(3,))])
    with pytest.raises(ValueError, match="do not match|shape"):
        wrong.load_weights(path)
    with pytest.raises(FileNotFoundError):
        other.load_weights(tmp_path / "missing")
    (tmp_path / "junk").write_bytes(b"not a weights file")
    with pytest.raises(ValueError, match="not a scratchnet weights file"):
        other.load_weights(tmp_path / "junk")


def test_missing_channel_axis_is_added_as_keras_3_does(rng):
    model = keras.Sequential([layers.Conv2D(2, 3, input_shape=(6, 6, 1)), layers.Flatten()])
    x = rng.standard_normal((2, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), model.predict(x[..., None]))
    with pytest.raises(ValueError):
        model.predict(rng.standard_normal((2, 5, 6)).astype(np.float32))


def test_tensorboard_records_are_framed_as_tfrecord(tmp_path, rng):
    assert crc32c(b"123456789") == 0xE3069283   # the standard CRC-32C check value
    framed = record(b"abc")
    assert struct.unpack("<Q", framed[:8])[0] == 3 and framed[12:15] == b"abc"
    model = small_model()
    x, y = rng.standard_normal((8, 3)).astype(np.float32), np.arange(8) % 2
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[keras.callbacks.TensorBoard(log_dir=tmp_path)])
    train = next((tmp_path / "train").iterdir()).read_bytes()
    assert b"brain.Event:2" in train and b"epoch_loss" in train
    assert b"epoch_loss" in next((tmp_path / "validation").iterdir()).read_bytes()
    with pytest.raises(ValueError, match="update_freq"):
        keras.callbacks.TensorBoard(update_freq="often")


def test_plot_model_writes_a_png(tmp_path):
    keras.utils.plot_model(small_model(), to_file=tmp_path / "m.png", show_shapes=True)
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TypeError, match="expects a model"):
        keras.utils.plot_model("model")
