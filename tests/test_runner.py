"""The runner: planning, hooks, the skipped input gradient, and hooked runs (the doctor's probe)
seeing the very numbers of a training step."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, zoo
from scratchnet.diagnostics.probes import trace
from scratchnet.ops.kernels import kernels_scope


class Recorder:
    def __init__(self):
        self.events = []

    def after_forward(self, layer, x, y):
        self.events.append(("forward", layer.name, x.shape, y.copy()))

    def after_backward(self, layer, grad_output, grad_input, param_grads):
        self.events.append(("backward", layer.name, grad_output, grad_input,
                            {k: v.copy() for k, v in param_grads.items()}))


def small_cnn():
    sn.set_random_seed(2)
    model = sn.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                           layers.MaxPooling2D(2), layers.Flatten(),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


@pytest.mark.fast_kernels
def test_plan_of_the_mnist_cnn_names_each_fusion():
    model = zoo.mnist_cnn()
    model.compile(optimizer="adadelta", loss="categorical_crossentropy")
    training = model.runner.plan(logits=True, input_gradient=False)
    assert training.describe() == [
        "conv2d: affine_relu", "conv2d_1 + max_pooling2d: conv_relu_max_pool2x2",
        "dropout: layer", "flatten: layer", "dense: affine_relu", "dropout_1: layer",
        "dense_1: logits"]
    hooked = model.runner.plan(logits=True, hooks=True)
    assert all(len(step.layers) == 1 for step in hooked.steps)   # every layer visible
    assert [step.kind for step in hooked.steps][:3] == ["affine_relu", "affine_relu", "layer"]


def test_hooks_see_every_layer_forward_in_order_and_backward_in_reverse(rng):
    model = small_cnn()
    x = rng.random((2, 8, 8, 1)).astype(np.float32)
    recorder = Recorder()
    y, backward = model.forward(x, training=True, hooks=[recorder])
    grad_y = rng.standard_normal(y.shape).astype(np.float32)
    grad_x = backward(grad_y)
    names = [layer.name for layer in model.layers]
    forward = [e for e in recorder.events if e[0] == "forward"]
    backward_events = [e for e in recorder.events if e[0] == "backward"]
    assert [e[1] for e in forward] == names
    assert [e[1] for e in backward_events] == names[::-1]
    np.testing.assert_array_equal(forward[-1][3], y)
    assert forward[0][2] == x.shape
    assert backward_events[0][2] is grad_y
    np.testing.assert_array_equal(backward_events[-1][3], grad_x)
    for event in backward_events:      # each layer's own gradients, by weight name
        layer = next(layer for layer in model.layers if layer.name == event[1])
        assert set(event[4]) == set(layer.trainable_params)


@pytest.mark.fast_kernels
def test_skipped_input_gradient_stops_at_the_first_layer_with_weights(rng):
    model = small_cnn()
    x = rng.random((2, 8, 8, 1)).astype(np.float32)
    recorder = Recorder()
    y, backward = model.forward(x, training=True, input_gradient=False, hooks=[recorder])
    assert backward(np.ones_like(y)) is None
    backward_events = [e for e in recorder.events if e[0] == "backward"]
    assert backward_events[-1][1] == "conv2d" and backward_events[-1][3] is None
    assert "input_layer" not in [e[1] for e in backward_events]   # nothing back-propagated


@pytest.mark.fast_kernels
def test_probe_sees_the_numbers_of_a_training_step_bit_for_bit(rng):
    """The doctor's probe (hooks: multi-layer fusions run as their layers) against a training
    step (conv -> ReLU -> pool fused in the Winograd kernel, first input gradient skipped)."""
    model = zoo.mnist_cnn()
    model.compile(optimizer="adadelta", loss="categorical_crossentropy")
    assert any(len(s.layers) == 2 for s in model.runner.plan(logits=True,
                                                              input_gradient=False).steps)
    x = rng.random((4, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]

    def reseed():
        for layer in model.dropout_layers():
            layer.rng = np.random.default_rng(7)
    reseed()
    probed = trace(model, x, y, training=True)
    reseed()
    loss, y_pred = model.compute_loss_and_gradients(x, y, training=True)
    assert probed.loss == loss
    np.testing.assert_array_equal(probed.output, y_pred)
    for record in probed.layers:
        for key, value in record.grads.items():
            np.testing.assert_array_equal(value, record.layer.grads[key],
                                          err_msg=f"{record.name}/{key}")
    assert sum(len(record.grads) for record in probed.layers) == 8


@pytest.mark.fast_kernels
def test_hooked_and_plain_runs_agree_and_reference_kernels_close(rng):
    model = small_cnn()
    x = rng.random((3, 8, 8, 1)).astype(np.float64)
    with sn.backend.floatx_scope("float64"):
        model = small_cnn()
    y_fast, back = model.forward(x, training=True)
    gx_fast = back(np.ones_like(y_fast))
    y_hooked, back = model.forward(x, training=True, hooks=[Recorder()])
    np.testing.assert_array_equal(y_hooked, y_fast)
    np.testing.assert_array_equal(back(np.ones_like(y_fast)), gx_fast)
    with kernels_scope("reference"):
        assert all(step.kind == "layer" for step in model.runner.plan().steps)
        y_ref, back = model.forward(x, training=True)
        gx_ref = back(np.ones_like(y_ref))
    np.testing.assert_allclose(y_ref, y_fast, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx_ref, gx_fast, rtol=1e-12, atol=1e-12)


@pytest.mark.fast_kernels
def test_plan_follows_a_changed_activation():
    model = small_cnn()
    assert model.runner.plan().steps[1].kind == "affine_relu_max_pool"
    model.layers[1].activation = sn.activations.get("tanh")
    assert [step.kind for step in model.runner.plan().steps][1:3] == ["layer", "layer"]


def test_frozen_front_layers_are_not_back_propagated_in_training(rng):
    model = small_cnn()
    model.layers[1].trainable = False           # the conv: frozen
    before = model.layers[1].get_weights()
    recorder = Recorder()
    x = rng.random((2, 8, 8, 1)).astype(np.float32)
    model.forward_loss(x, np.eye(3, dtype=np.float32)[[0, 1]], training=True,
                       input_gradient=False, hooks=[recorder])[2]()
    assert [e[1] for e in recorder.events if e[0] == "backward"] == ["dense"]   # only
    model.train_on_batch(x, np.eye(3, dtype=np.float32)[[0, 1]])
    for old, new in zip(before, model.layers[1].get_weights()):
        np.testing.assert_array_equal(old, new)
