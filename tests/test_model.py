"""Sequential: the Keras MNIST CNN, mini-batch semantics, fit/evaluate/predict, errors."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import activations, layers, optimizers, zoo


def compiled_cnn(**kwargs):
    model = zoo.mnist_cnn()
    model.compile(loss="categorical_crossentropy",
                  optimizer=optimizers.Adadelta(learning_rate=1.0), metrics=["accuracy"], **kwargs)
    return model


def test_keras_mnist_cnn_shapes_and_parameter_count(capsys):
    model = compiled_cnn()
    assert model.count_params() == 1_199_882
    assert [layer.output_shape for layer in model.layers] == [
        (26, 26, 32), (24, 24, 64), (12, 12, 64), (12, 12, 64), (9216,), (128,), (128,), (10,)]
    assert [layer.name for layer in model.layers] == [
        "conv2d", "conv2d_1", "max_pooling2d", "dropout", "flatten", "dense", "dropout_1",
        "dense_1"]
    model.summary()
    table = capsys.readouterr().out
    assert "Total params: 1,199,882" in table
    assert "conv2d_1 (Conv2D)" in table and "(None, 24, 24, 64)" in table and "18,496" in table


def test_weights_in_keras_layout_and_order():
    shapes = [w.shape for w in compiled_cnn().get_weights()]
    assert shapes == [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (9216, 128), (128,),
                      (128, 10), (10,)]


def test_batch_gradient_is_the_mean_of_per_sample_gradients(rng, float64):
    model = compiled_cnn()
    x = rng.random((4, 28, 28, 1))
    y = np.eye(10)[[3, 1, 4, 1]]
    # training=False: dropout is the identity, so each sample's graph is the same in both runs.
    model.compute_loss_and_gradients(x, y, training=False)
    batch = {k: v.copy() for k, v in model.trainable_grads().items()}
    per_sample = []
    for i in range(4):
        model.compute_loss_and_gradients(x[i:i + 1], y[i:i + 1], training=False)
        per_sample.append({k: v.copy() for k, v in model.trainable_grads().items()})
    for key, grad in batch.items():
        mean = np.mean([g[key] for g in per_sample], axis=0)
        np.testing.assert_allclose(grad, mean, rtol=1e-10, atol=1e-14)
        assert np.abs(grad).max() > 0


def test_batch_size_one_is_plain_sgd(rng, float64):
    model = sn.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
    x, y = rng.standard_normal((5, 4)), np.eye(3)[[0, 1, 2, 1, 0]]
    kernel, bias = [w.copy() for w in model.get_weights()]
    for xi, yi in zip(x, y):  # hand-written SGD, one sample at a time, in order
        p = activations.softmax(xi @ kernel + bias)
        kernel -= 0.1 * np.outer(xi, p - yi)
        bias -= 0.1 * (p - yi)
    model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], kernel, rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[1], bias, rtol=1e-12)


def test_whole_model_gradcheck_with_dropout_replayed(rng, float64):
    model = sn.Sequential([
        layers.Conv2D(3, 3, activation="relu", input_shape=(7, 7, 2)), layers.MaxPooling2D(),
        layers.Dropout(0.3), layers.Flatten(), layers.Dense(5, activation="tanh"),
        layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = rng.random((3, 7, 7, 2)), np.eye(4)[[0, 3, 1]]
    result = sn.gradcheck(model, x, y, max_entries=60)
    assert result.max_error < 1e-6, result
    assert len(result.checks) == 7  # 3 layers x (kernel, bias) + the input


def learnable_problem(rng, n=600):
    """Two Gaussian blobs per class in 2-D, lifted to 8 features: easy to learn, not trivial."""
    labels = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    points = centers[labels] + 0.5 * rng.standard_normal((n, 2))
    x = np.concatenate([points, np.tanh(points), points ** 2, points[:, :1] * points[:, 1:],
                        np.ones((n, 1))], axis=1).astype(np.float32)
    return x, labels


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop",
                                       optimizers.Adadelta(learning_rate=1.0)])
def test_fit_learns_and_reports_keras_history(optimizer, rng):
    sn.set_random_seed(0)
    x, labels = learnable_problem(rng)
    y = np.eye(3, dtype=np.float32)[labels]
    model = sn.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                           layers.Dropout(0.1), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, validation_split=0.2, verbose=0, seed=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 8 for v in history.history.values())
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9 and loss < history.history["loss"][0]
    assert model.predict(x[:7]).shape == (7, 3)
    assert model.predict(x[:7]).dtype == np.float32


def test_sparse_labels_and_mse_train(rng):
    x, labels = learnable_problem(rng)
    sn.set_random_seed(1)
    sparse = sn.Sequential([layers.Dense(3, activation="softmax", input_shape=(8,))])
    sparse.compile(optimizer=optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    sparse.fit(x, labels, epochs=10, verbose=0, seed=0)
    assert sparse.evaluate(x, labels, verbose=0)[1] > 0.9
    mse = sn.Sequential([layers.Dense(3, activation="softmax", input_shape=(8,))])
    mse.compile(optimizer=optimizers.Adam(0.02), loss="mse", metrics=["accuracy"])
    mse.fit(x, np.eye(3)[labels], epochs=10, verbose=0, seed=0)
    assert mse.evaluate(x, np.eye(3)[labels], verbose=0)[1] > 0.9


def test_custom_activation_trains_inside_a_model(rng):
    def swish(x):
        return x * activations.sigmoid(x)

    def swish_derivative(x):
        s = activations.sigmoid(x)
        return s + x * s * (1 - s)
    act = activations.elementwise("swish_model_test", swish, swish_derivative)
    with sn.backend.floatx_scope("float64"):
        assert sn.gradcheck(act, rng.standard_normal((3, 5))).max_error < 1e-6
    x, labels = learnable_problem(rng)
    sn.set_random_seed(2)
    model = sn.Sequential([layers.Dense(16, activation=act, input_shape=(8,)),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, labels, epochs=10, verbose=0, seed=0)
    assert model.evaluate(x, labels, verbose=0)[1] > 0.9


def test_seed_makes_training_reproducible(rng):
    x, labels = learnable_problem(rng, n=200)
    runs = []
    for _ in range(2):
        sn.set_random_seed(7)
        model = sn.Sequential([layers.Dense(8, activation="relu", input_shape=(8,)),
                               layers.Dropout(0.5), layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, labels, epochs=2, verbose=0, seed=11)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_float32_end_to_end_and_float64_selectable(rng):
    model = compiled_cnn()
    x = (rng.random((2, 28, 28, 1)) * 255).astype(np.uint8)  # integers are cast like Keras
    assert model.predict(x).dtype == np.float32
    with sn.backend.floatx_scope("float64"):
        model64 = compiled_cnn()
        assert model64.predict(x).dtype == np.float64
        assert all(w.dtype == np.float64 for w in model64.get_weights())


def test_input_shape_inferred_from_first_batch(rng):
    model = sn.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not model.built
    assert model.predict(rng.random((3, 6))).shape == (3, 2)
    assert model.input_shape == (6,) and model.layers[0].params["kernel"].shape == (6, 4)


def test_set_weights_round_trip_and_errors():
    a, b = compiled_cnn(), compiled_cnn()
    b.set_weights(a.get_weights())
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(ValueError, match="expects 8 arrays"):
        b.set_weights(a.get_weights()[:3])
    bad = a.get_weights()
    bad[0] = bad[0].T
    with pytest.raises(ValueError, match=r"weight 'kernel' has shape \(3, 3, 1, 32\)"):
        b.set_weights(bad)


def test_config_round_trip_rebuilds_the_same_model():
    model = compiled_cnn()
    clone = sn.Sequential.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.count_params() == model.count_params()


class TestClearErrors:
    def test_used_before_compile(self, rng):
        model = zoo.mnist_cnn()
        with pytest.raises(RuntimeError, match="compile"):
            model.fit(rng.random((2, 28, 28, 1)), np.eye(10)[[0, 1]], verbose=0)

    def test_wrong_input_shape(self, rng):
        with pytest.raises(ValueError, match=r"expects \(N, 28, 28, 1\)"):
            compiled_cnn().fit(rng.random((2, 28, 27)), np.eye(10)[[0, 1]], verbose=0)

    def test_missing_channel_axis_is_added_as_keras_3_does(self, rng):
        model, x = compiled_cnn(), rng.random((2, 28, 28))
        np.testing.assert_array_equal(model.predict(x), model.predict(x[..., None]))

    def test_channels_first_hint(self, rng):
        model = sn.Sequential([layers.Conv2D(2, 3, input_shape=(8, 8, 3))])
        with pytest.raises(ValueError, match="channels-first"):
            model.predict(rng.random((2, 3, 8, 8)))

    def test_labels_that_do_not_match_the_output(self, rng):
        with pytest.raises(ValueError, match="to_categorical"):
            compiled_cnn().fit(rng.random((2, 28, 28, 1)), np.array([3, 4]), verbose=0)

    def test_mismatched_lengths(self, rng):
        with pytest.raises(ValueError, match="same number of samples"):
            compiled_cnn().fit(rng.random((3, 28, 28, 1)), np.eye(10)[[0, 1]], verbose=0)

    def test_unknown_names(self):
        model = zoo.mnist_cnn()
        with pytest.raises(ValueError, match="Unknown optimizer"):
            model.compile(optimizer="adamax2", loss="mse")
        with pytest.raises(ValueError, match="Unknown loss"):
            model.compile(optimizer="sgd", loss="l3")
        with pytest.raises(ValueError, match="Unknown metric"):
            model.compile(optimizer="sgd", loss="mse", metrics=["f1"])

    def test_string_arrays(self):
        with pytest.raises(TypeError, match="array of numbers"):
            compiled_cnn().predict(np.array([["a"]]))

    def test_bad_batch_size_and_epochs(self, rng):
        model = compiled_cnn()
        x, y = rng.random((2, 28, 28, 1)), np.eye(10)[[0, 1]]
        with pytest.raises(ValueError, match="batch_size"):
            model.fit(x, y, batch_size=0, verbose=0)
        with pytest.raises(ValueError, match="epochs"):
            model.fit(x, y, epochs=-1, verbose=0)


def test_a_non_finite_step_is_not_applied(rng):
    model = sn.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
    x, y = rng.standard_normal((2, 4)).astype(np.float32), np.eye(3, dtype=np.float32)[[0, 1]]
    before = model.get_weights()
    model.layers[0].params["kernel"][0, 0] = np.inf      # a forward that overflows
    with np.errstate(all="ignore"):
        loss = model.train_on_batch(x, y)
    assert not np.isfinite(loss)
    assert model.nonfinite_batch is x
    assert np.array_equal(model.get_weights()[1], before[1])   # no update was applied
    model.layers[0].params["kernel"][0, 0] = 0.0
    model.train_on_batch(x, y)
    assert model.nonfinite_batch is None
    assert not np.array_equal(model.get_weights()[1], before[1])
