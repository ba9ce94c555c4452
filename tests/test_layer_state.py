"""Non-trainable layer state (add_weight(..., trainable=False)): saved and loaded, never
trained, counted apart in the summary, skipped by optimizers and gradient checks."""
import numpy as np

import scratchnet as sn
from scratchnet import layers


@layers.register
class ShiftByRunningMean(layers.Layer):
    """y = (x - moving_mean) * scale: moving_mean a running average of earlier training
    batches (state, not a trained weight), scale a trained per-feature weight.
    Input and output shape: (N, F)."""

    def build(self, input_shape):
        self.add_weight("scale", input_shape, "ones")
        self.add_weight("moving_mean", input_shape, "zeros", trainable=False)
        super().build(input_shape)

    def forward(self, x, training=False):
        mean, scale = self.params["moving_mean"], self.params["scale"]
        shifted = x - mean              # the mean of the batches before this one
        if training:
            mean[...] = 0.9 * mean + 0.1 * x.mean(axis=0)

        def backward(grad_y):
            self.grads["scale"][...] = (grad_y * shifted).sum(axis=0)
            return grad_y * scale
        return shifted * scale, backward


def model_with_state():
    sn.set_random_seed(0)
    model = sn.Sequential([ShiftByRunningMean(input_shape=(4,)),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((16, 4)).astype(np.float32) + 3,
            np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)])


def test_state_is_not_trained_but_kept_and_counted_apart():
    model = model_with_state()
    layer = model.layers[0]
    assert set(layer.params) == {"scale", "moving_mean"} and set(layer.grads) == {"scale"}
    assert "shift_by_running_mean/moving_mean" not in model.trainable_params()
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert not any("moving_mean" in key for key in model.optimizer.slots)
    assert np.all(layer.params["moving_mean"] > 0.5)       # updated by the forward only
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 23" in text and "Trainable params: 19" in text
    assert "Non-trainable params: 4" in text
    assert model.count_params() == 23 and model.count_trainable_params() == 19


def test_state_round_trips_through_a_model_file(tmp_path):
    model = model_with_state()
    x, y = data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.snet")
    loaded = sn.load_model(tmp_path / "m.snet")
    for old, new in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert set(loaded.layers[0].grads) == {"scale"}
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0)        # resumes with its slots


def test_gradcheck_checks_trainable_weights_only(float64):
    layer = ShiftByRunningMean()
    result = sn.gradcheck(layer, np.random.default_rng(1).standard_normal((3, 4)))
    assert {c.name for c in result.checks} == {"scale", "input"} and result.passed(1e-7)
