"""The runner's inference plan (predict, evaluate, model(x)) against the reference kernels;
its conv block kernel against direct loops: tests/test_conv_block.py."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers, runner
from scratchnet.ops.kernels import kernels_scope


def small_cnn(second_padding="valid", pool=True):
    """Conv2D(1 -> 32) then a 3x3 conv over 32 channels: the Winograd inference path."""
    stack = [layers.Conv2D(32, 3, activation="relu", input_shape=(11, 12, 1)),
             layers.Conv2D(6, 3, activation="relu" if pool else None, padding=second_padding)]
    if pool:
        stack += [layers.MaxPooling2D(2), layers.Dropout(0.25)]
    stack += [layers.Flatten(), layers.Dense(7, activation="relu"),
              layers.Dense(4, activation="softmax")]
    model = sn.Sequential(stack)
    model.build((11, 12, 1))
    for w in model.layers[0].params.values():   # a bias that is not zero tests its placement
        w += 0.01
    return model


def reference_outputs(model, x):
    with kernels_scope("reference"):
        return model.forward(x, training=False)[0]


@pytest.mark.fast_kernels
@pytest.mark.parametrize("padding,pool", [("valid", True), ("same", True), ("same", False)])
def test_inference_plan_predicts_what_the_reference_kernels_do(padding, pool, float64, rng,
                                                                monkeypatch):
    model = small_cnn(padding, pool)
    steps = model.runner.plan(inference=True).describe()
    rule = "conv_block_inference" if pool else "conv_inference"
    assert any(line.endswith(rule) for line in steps), steps
    monkeypatch.setattr(runner, "INFERENCE_CHUNK", 3)     # 8 samples: chunks of 3, 3, 2
    x = rng.random((8, 11, 12, 1))
    expected = reference_outputs(model, x)
    for got in (model.predict(x, batch_size=8, verbose=0), model(x),
                model.predict(x, batch_size=5, verbose=0),
                np.concatenate([model(x[i:i + 1]) for i in range(8)])):
        assert np.abs(got - expected).max() <= 1e-12


def test_inference_plan_follows_new_weights(float64, rng):
    model = small_cnn()
    x = rng.random((2, 11, 12, 1))
    model.predict(x, verbose=0)     # caches the transformed kernel
    model.set_weights([w * 1.5 for w in model.get_weights()])
    assert np.abs(model.predict(x, verbose=0) - reference_outputs(model, x)).max() <= 1e-12


def test_inference_plan_in_float32_stays_close(rng):
    model = small_cnn()
    x = rng.random((5, 11, 12, 1)).astype(np.float32)
    got = model.predict(x, verbose=0)
    assert got.dtype == np.float32
    assert np.abs(got - reference_outputs(model, x)).max() <= 1e-5


def test_evaluate_runs_the_inference_plan(float64, rng):
    model = small_cnn()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = rng.random((6, 11, 12, 1)), np.eye(4)[[0, 1, 2, 3, 0, 1]]
    with kernels_scope("reference"):
        expected = model.evaluate(x, y, verbose=0)
    calls = []
    original = runner.Runner.infer
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner.Runner, "infer",
                      lambda self, *a, **k: calls.append(k) or original(self, *a, **k))
        got = model.evaluate(x, y, verbose=0)
    assert calls == [{"logits": True}]
    assert abs(got - expected) <= 1e-12


def test_inference_steps_keep_no_backward_and_forward_still_differentiates(float64, rng):
    model = small_cnn()
    x = rng.random((2, 11, 12, 1))
    _, no_backward = model.forward(x, backward=False)
    with pytest.raises(RuntimeError, match="keeps nothing for a backward"):
        no_backward(np.ones((2, 4)))
    y, backward = model.forward(x)       # the default keeps the training kernels' backward
    assert backward(np.ones_like(y)).shape == x.shape


def test_reference_kernels_bypass_the_inference_plan(float64, rng, monkeypatch):
    model = small_cnn()
    original_plan = runner.Runner.plan
    monkeypatch.setattr(runner.Runner, "plan", lambda self, **options: pytest.fail(
        f"planned {options} with the reference kernels") if options.get("inference")
        else original_plan(self, **options))
    x = rng.random((3, 11, 12, 1))
    with kernels_scope("reference"):
        assert np.array_equal(model.predict(x, verbose=0), model.forward(x)[0])
