"""Weight penalties: values and gradients against the formulas, wiring into the loss and the
gradients of a model, serialization, errors."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, regularizers


def test_penalties_and_gradients_against_formulas(rng):
    w = rng.standard_normal((3, 4))
    assert regularizers.l1(0.1)(w) == pytest.approx(0.1 * np.abs(w).sum())
    assert regularizers.l2(0.2)(w) == pytest.approx(0.2 * (w ** 2).sum())
    assert regularizers.l1_l2(l1=0.1, l2=0.2)(w) == pytest.approx(
        0.1 * np.abs(w).sum() + 0.2 * (w ** 2).sum())
    np.testing.assert_allclose(regularizers.L1L2(0.1, 0.2).gradient(w),
                               0.1 * np.sign(w) + 0.4 * w)
    assert regularizers.L1().l1 == regularizers.L2().l2 == 0.01       # Keras 3 defaults
    assert regularizers.get("l2").l2 == 0.01


def test_layers_store_and_serialize_regularizers():
    dense = layers.Dense(3, kernel_regularizer="l2", bias_regularizer=regularizers.l1(0.5))
    config = dense.get_config()
    assert config["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.01}}
    clone = layers.Dense.from_config(config)
    assert clone.bias_regularizer.l1 == 0.5 and clone.get_config() == config
    conv = layers.Conv2D(2, 3, kernel_regularizer=regularizers.L1L2(l1=1e-3, l2=1e-4))
    assert layers.Conv2D.from_config(conv.get_config()).kernel_regularizer.l2 == 1e-4
    assert "kernel_regularizer" not in layers.Dense(3).get_config()   # configs unchanged


@pytest.mark.parametrize("bad,message", [("l3", "Unknown regularizer"), (-1, "Unknown"),
                                         (lambda: regularizers.L2(-0.1), "l2")])
def test_bad_regularizers(bad, message):
    with pytest.raises(ValueError, match=message):
        bad() if callable(bad) else layers.Dense(2, kernel_regularizer=bad)


def model_with_penalties():
    model = sn.Sequential([
        layers.Conv2D(2, 2, input_shape=(4, 4, 1), kernel_regularizer=regularizers.l2(0.3),
                      bias_regularizer=regularizers.l1(0.2)),
        layers.Flatten(),
        layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.l1_l2(0.1, 0.05))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def test_penalty_is_added_to_the_loss_and_its_gradient_to_the_weights(rng, float64):
    model = model_with_penalties()
    model.layers[0].params["bias"][...] = [0.3, -0.2]
    x = rng.standard_normal((5, 4, 4, 1))
    y = np.eye(3)[[0, 1, 2, 0, 1]]
    conv, dense = model.layers[0], model.layers[2]
    penalty = (0.3 * (conv.params["kernel"] ** 2).sum() + 0.2 * np.abs(conv.params["bias"]).sum()
               + 0.1 * np.abs(dense.params["kernel"]).sum()
               + 0.05 * (dense.params["kernel"] ** 2).sum())
    data_loss = sn.losses.get("categorical_crossentropy")(y, model.predict(x))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(data_loss + penalty, rel=1e-10)
    result = sn.gradcheck(model, x, y, max_entries=40)
    assert result.max_error < 1e-6, result


def test_frozen_layers_have_no_penalty(rng):
    model = model_with_penalties()
    x = rng.standard_normal((3, 4, 4, 1)).astype(np.float32)
    y = np.eye(3)[[0, 1, 2]]
    with_penalty = model.evaluate(x, y, verbose=0)
    for layer in model.layers:
        layer.trainable = False
    assert sn.regularizers.regularization_loss(model.layers) == 0.0
    assert model.evaluate(x, y, verbose=0) < with_penalty


def test_l2_shrinks_weights_in_training_and_survives_save(tmp_path, rng):
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    norms = []
    for reg in (None, regularizers.l2(0.05)):
        sn.set_random_seed(0)
        model = sn.Sequential([layers.Dense(2, activation="softmax", input_shape=(6,),
                                            kernel_regularizer=reg)])
        model.compile(optimizer=sn.optimizers.SGD(0.5), loss="categorical_crossentropy")
        model.fit(x, y, epochs=20, verbose=0, seed=0)
        norms.append(float(np.linalg.norm(model.layers[0].params["kernel"])))
    assert norms[1] < 0.8 * norms[0]
    model.save(tmp_path / "m.safetensors")
    loaded = sn.load_model(tmp_path / "m.safetensors")
    assert loaded.layers[0].kernel_regularizer.l2 == 0.05
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
