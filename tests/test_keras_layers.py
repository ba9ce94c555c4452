"""Values of the Keras-compatibility layers against formulas written out here, and their errors."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers


# --- BatchNormalization -------------------------------------------------------------------------
def test_batchnorm_training_uses_batch_statistics_and_updates_moving_ones(rng):
    bn = layers.BatchNormalization()
    x = rng.normal(3.0, 2.0, (16, 5)).astype(np.float64)
    bn.build((5,))
    gamma = rng.standard_normal(5)
    beta = rng.standard_normal(5)
    bn.set_weights([gamma, beta, np.zeros(5), np.ones(5)])
    y, _ = bn.forward(x, training=True)
    mean = x.sum(axis=0) / 16
    var = ((x - mean) ** 2).sum(axis=0) / 16            # biased, as Keras
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-5)
    _, _, moving_mean, moving_var = bn.get_weights()
    np.testing.assert_allclose(moving_mean, 0.99 * 0 + 0.01 * mean, rtol=1e-5)
    np.testing.assert_allclose(moving_var, 0.99 * 1 + 0.01 * var, rtol=1e-5)


def test_batchnorm_inference_uses_moving_statistics_and_leaves_them(rng):
    bn = layers.BatchNormalization(epsilon=1e-2)
    bn.build((2, 2, 3))
    moving_mean, moving_var = np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 1.0])
    bn.set_weights([np.full(3, 2.0), np.full(3, 0.1), moving_mean, moving_var])
    x = rng.standard_normal((4, 2, 2, 3)).astype(np.float32)
    y = bn(x, training=False)
    expected = 2.0 * (x - moving_mean) / np.sqrt(moving_var + 1e-2) + 0.1
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    np.testing.assert_array_equal(bn.get_weights()[2], moving_mean)
    np.testing.assert_array_equal(bn.get_weights()[3], moving_var)


def test_batchnorm_frozen_layer_runs_in_inference_mode(rng):
    """Keras 3: trainable=False makes BatchNormalization use (and keep) its moving statistics."""
    bn = layers.BatchNormalization(trainable=False)
    bn.build((3,))
    x = rng.normal(5, 1, (8, 3))
    y, _ = bn.forward(x, training=True)
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(bn.get_weights()[2], np.zeros(3))


def test_batchnorm_moving_statistics_are_not_trained_but_are_counted_and_saved(tmp_path, rng):
    model = sn.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization(),
                           layers.Dense(2, activation="softmax")])
    model.compile(optimizer=sn.optimizers.Adam(0.01), loss="categorical_crossentropy")
    assert set(model.trainable_params()) == {
        "dense/kernel", "dense/bias", "batch_normalization/gamma", "batch_normalization/beta",
        "dense_1/kernel", "dense_1/bias"}
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 8" in lines[0] and "Trainable params: 34" in lines[0]
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 32)]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    bn = model.layers[1]
    assert not np.allclose(bn.params["moving_mean"], 0)       # followed the batches
    assert set(model.optimizer.slots) == set(model.trainable_params())
    model.save(tmp_path / "bn.safetensors")
    loaded = sn.load_model(tmp_path / "bn.safetensors")
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.layers[1].non_trainable_names == {"moving_mean", "moving_variance"}
    assert set(loaded.trainable_params()) == set(model.trainable_params())


def test_batchnorm_model_gradients_match_finite_differences(rng, float64):
    model = sn.Sequential([layers.Conv2D(3, 2, input_shape=(4, 4, 2)),
                           layers.BatchNormalization(), layers.Activation("tanh"),
                           layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = rng.standard_normal((5, 4, 4, 2))
    y = np.eye(2)[[0, 1, 1, 0, 1]]
    result = sn.gradcheck(model, x, y, max_entries=60)
    # BatchNormalization subtracts the batch mean, so a bias before it cannot change the loss:
    # its gradient is 0 (analytic ~1e-17), where a relative error means nothing.
    model.compute_loss_and_gradients(x, y)
    assert np.abs(model.layers[0].grads["bias"]).max() < 1e-12
    assert np.abs(model.layers[0].grads["kernel"]).max() > 1e-4
    assert all(check.relative_error < 1e-6 for check in result.checks
               if check.name != "conv2d/bias"), result


@pytest.mark.parametrize("kwargs,message", [
    ({"axis": 1}, "axis=-1"), ({"momentum": 1.5}, "momentum"), ({"epsilon": 0}, "epsilon"),
    ({"gamma_initializer": "nope"}, "nope")])
def test_batchnorm_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.BatchNormalization(**kwargs)


# --- global pooling -----------------------------------------------------------------------------
def test_global_pooling_values(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x),
                               x.sum(axis=(1, 2)) / 12)
    np.testing.assert_array_equal(layers.GlobalMaxPooling2D()(x),
                                  [[x[n, :, :, c].max() for c in range(5)] for n in range(2)])
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D


def test_global_max_pool_routes_ties_to_the_first_maximum():
    layer = layers.GlobalMaxPooling2D()
    x = np.zeros((1, 2, 2, 1))
    _, backward = layer.forward(x, training=True)
    np.testing.assert_array_equal(backward(np.array([[3.0]]))[0, :, :, 0], [[3, 0], [0, 0]])


def test_global_pooling_rejects_channels_first_and_flat_inputs():
    with pytest.raises(ValueError, match="channels_last"):
        layers.GlobalAveragePooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        layers.GlobalMaxPooling2D().build((10,))


# --- Rescaling, Reshape, padding, cropping, upsampling -------------------------------------------
def test_rescaling_turns_uint8_images_into_floats():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    y = layers.Rescaling(1.0 / 255)(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[0, 0.2, 1]], rtol=1e-6)
    np.testing.assert_allclose(layers.Rescaling(1 / 127.5, offset=-1)(x), [[-1, -0.6, 1]],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="scale"):
        layers.Rescaling("1/255")


def test_reshape_values_and_errors():
    x = np.arange(24.0).reshape(2, 12)
    np.testing.assert_array_equal(layers.Reshape((3, 4))(x), x.reshape(2, 3, 4))
    np.testing.assert_array_equal(layers.Reshape((-1, 2))(x), x.reshape(2, 6, 2))
    with pytest.raises(ValueError, match="has 10 entries"):
        layers.Reshape((5, 2)).build((12,))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))
    model = sn.Sequential([layers.Reshape((28, 28, 1), input_shape=(784,)), layers.Flatten()])
    assert model.output_shape == (784,)


def test_zero_padding_and_cropping_are_inverse_and_match_numpy(rng):
    x = rng.standard_normal((2, 3, 4, 2))
    padded = layers.ZeroPadding2D(((1, 2), (0, 3)))(x)
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0))))
    np.testing.assert_array_equal(layers.Cropping2D(((1, 2), (0, 3)))(padded), x)
    np.testing.assert_array_equal(layers.ZeroPadding2D(1)(x).shape, (2, 5, 6, 2))
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D(-1)
    with pytest.raises(ValueError, match="leaves nothing"):
        layers.Cropping2D(2).build((4, 8, 1))


def test_up_sampling_repeats_pixels():
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    y = layers.UpSampling2D(2)(x)[0, :, :, 0]
    np.testing.assert_array_equal(y, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    with pytest.raises(ValueError, match="nearest"):
        layers.UpSampling2D(interpolation="bilinear")


def test_new_layers_round_trip_through_a_saved_model(tmp_path, rng):
    model = sn.Sequential([
        layers.Rescaling(1 / 255, input_shape=(6, 6, 1)), layers.ZeroPadding2D(1),
        layers.Conv2D(2, 3), layers.BatchNormalization(), layers.Cropping2D(1),
        layers.UpSampling2D(), layers.GlobalMaxPool2D(keepdims=True), layers.Reshape((-1,)),
        layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    x = rng.integers(0, 256, (4, 6, 6, 1)).astype(np.float32)
    model.fit(x, np.eye(3)[[0, 1, 2, 0]], epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = sn.load_model(tmp_path / "m.safetensors")
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
