"""Doctor gallery: the user's story, written as the user wrote it.

The Keras MNIST CNN by hand, with four bugs: a ReLU whose backward returns the constant 0.01 for
negative inputs, weights drawn with std 1, softmax followed by a squared error, and a loss whose
gradient is not divided by the batch size. On the first pass the outputs are 50-1000; after the
first update they are all 0. One doctor call names each problem, its layer, the numbers and the
fix. (The same setup ships as scratchnet.diagnostics.story.build_user_story_model, used by
`scratchnet doctor --example user-story`.)

Run: python examples/doctor_gallery/user_story.py [--json]
"""
import sys

import numpy as np

import scratchnet as sn
from scratchnet import activations, layers, losses, optimizers
from scratchnet.datasets import mnist
from scratchnet.utils import to_categorical


def my_relu(x):
    return np.maximum(x, 0)


def my_relu_backward(x, y, grad_y):
    return np.where(x > 0, grad_y, 0.01)        # bug 1: a constant, not 0 * grad_y


relu = activations.Activation("my_relu", my_relu, my_relu_backward)


def big_weights(shape, dtype=None, rng=None):
    return np.random.default_rng(0).normal(0, 1, shape).astype("float32")   # bug 2: std 1


class MySquaredError(losses.Loss):
    def forward(self, y_true, y_pred):
        diff = y_pred - y_true
        value = float(np.mean(np.sum(diff ** 2, axis=-1) / 10))
        return value, lambda: 2 * diff / 10     # bug 4: the mean's gradient, not divided by N


model = sn.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation=relu, kernel_initializer=big_weights,
                        input_shape=(28, 28, 1)))
model.add(layers.Conv2D(64, (3, 3), activation=relu, kernel_initializer=big_weights))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Dropout(0.25))
model.add(layers.Flatten())
model.add(layers.Dense(128, activation=relu, kernel_initializer=big_weights))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(10, activation="softmax", kernel_initializer=big_weights))
model.compile(optimizer=optimizers.SGD(learning_rate=0.01), loss=MySquaredError())  # bug 3

(x_train, y_train), _ = mnist.load_data()
x = x_train[:256].reshape(-1, 28, 28, 1).astype("float32") / 255
y = to_categorical(y_train[:256], 10)
report = sn.doctor(model, x, y)
print(report.to_json() if "--json" in sys.argv else report.to_text())
