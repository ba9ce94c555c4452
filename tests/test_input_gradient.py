"""Training skips the first layer's input gradient (nothing reads it); everything else is the
same: parameter gradients identical, custom first layers untouched, grad_x still on request."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, optimizers
from scratchnet.diagnostics.gradcheck import gradcheck


class Doubler(layers.Layer):
    """A user layer knowing nothing about the skip: it must keep returning grad_x."""

    def forward(self, x, training=False):
        self.calls = getattr(self, "calls", 0) + 1
        return 2 * x, lambda grad_y: 2 * grad_y


def small_cnn(first=None):
    model = sn.Sequential()
    if first is not None:
        model.add(first)
    model.add(layers.Conv2D(3, 3, activation="relu", input_shape=(7, 7, 2)))
    model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(4, activation="softmax"))
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
    return model


def dense_first():
    model = sn.Sequential([layers.Dense(5, activation="relu", input_shape=(6,)),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
    return model


@pytest.mark.parametrize("make, shape", [(small_cnn, (5, 7, 7, 2)), (dense_first, (5, 6))])
def test_skipping_changes_no_parameter_gradient(make, shape, rng, float64):
    model = make()
    x = rng.standard_normal(shape)
    y = np.eye(model.output_shape[-1])[rng.integers(0, model.output_shape[-1], len(x))]
    out, backward = model.forward(x, training=True, logits=True, input_gradient=True)
    _, loss_backward = model.fused_loss.forward(y, out)
    grad_x = backward(loss_backward())
    assert grad_x.shape == x.shape and np.abs(grad_x).max() > 0
    expected = {k: v.copy() for k, v in model.trainable_grads().items()}
    model.compute_loss_and_gradients(x, y)           # the training path: input_gradient=False
    for key, value in model.trainable_grads().items():
        np.testing.assert_array_equal(value, expected[key])
    _, backward = model.forward(x, training=True, logits=True, input_gradient=False)
    assert backward(loss_backward()) is None          # first layer skipped grad_x


def test_custom_first_layer_gets_grad_x_when_asked(rng):
    first = Doubler(input_shape=(7, 7, 2))
    model = small_cnn(first)
    x = rng.standard_normal((3, 7, 7, 2)).astype("float32")
    out, backward = model.forward(x, training=True)
    grad_x = backward(np.ones_like(out))
    assert grad_x.shape == x.shape                    # computed by conv2d, doubled by Doubler
    out, backward = model.forward(x, training=True, input_gradient=False)
    assert backward(np.ones_like(out)) is None        # nobody asked: nothing computed
    model.train_on_batch(x, np.eye(4)[[0, 1, 2]])
    assert first.calls == 3                           # its forward always runs


def test_model_gradcheck_still_checks_the_input_gradient(rng, float64):
    model = small_cnn()
    x = rng.standard_normal((2, 7, 7, 2))
    result = gradcheck(model, x, np.eye(4)[[1, 3]], seed=0)
    assert "input" in {check.name for check in result.checks}
    assert result["input"].checked > 0
    assert result.passed(1e-7), result


@pytest.mark.fast_kernels    # the skip is the fast path's (the reference path computes it all)
@pytest.mark.parametrize("front", [lambda: [layers.Input(shape=(7, 7, 2))],
                                   lambda: [layers.Input(shape=(7, 7, 2)), layers.Dropout(0.2)]])
def test_parameter_free_layers_in_front_keep_the_skip(front, rng, monkeypatch):
    """Keras 3 models start with Input: the first conv still skips its input gradient, and the
    layers in front of it are not back-propagated (they feed no parameter)."""
    from scratchnet.ops import conv as conv_op
    asked = []
    real = conv_op.conv2d_backward

    def spy(*args):   # the im2col kernel's input_gradient argument
        asked.append(args[5])
        return real(*args)
    monkeypatch.setattr(conv_op, "conv2d_backward", spy)
    model = sn.Sequential([*front(), layers.Conv2D(3, 3, activation="relu"), layers.Flatten(),
                           layers.Dense(4, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
    x = rng.random((5, 7, 7, 2)).astype(np.float32)
    model.train_on_batch(x, np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]])
    assert asked == [False]
