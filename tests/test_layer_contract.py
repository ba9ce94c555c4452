"""One table-driven contract for every layer: adding a layer adds a row.

Each row runs through the same checks: backward (input gradient and every trainable weight's
gradient) against central differences in float64 on both kernel paths (fast and reference),
the two paths agreeing on the output and every gradient, output shape, dtype kept, input not
mutated, config round trip. Every registered built-in layer must have a row.
"""
import copy

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import layers
from scratchnet.ops import conv as conv_op
from scratchnet.ops.kernels import kernels_scope

# (id, factory, per-sample input shape, expected per-sample output shape)
ROWS = [
    ("dense", lambda: layers.Dense(5), (7,), (5,)),
    ("dense_relu", lambda: layers.Dense(4, activation="relu"), (6,), (4,)),
    ("dense_tanh_nobias", lambda: layers.Dense(3, activation="tanh", use_bias=False), (4,), (3,)),
    ("dense_sigmoid", lambda: layers.Dense(3, activation="sigmoid"), (4,), (3,)),
    ("dense_softmax", lambda: layers.Dense(6, activation="softmax"), (5,), (6,)),
    ("dense_rank3", lambda: layers.Dense(3), (2, 4), (2, 3)),
    ("conv_valid", lambda: layers.Conv2D(4, 3, activation="relu"), (6, 7, 2), (4, 5, 4)),
    ("conv_same_stride2", lambda: layers.Conv2D(3, (3, 2), strides=2, padding="same"),
     (7, 6, 2), (4, 3, 3)),
    ("conv_valid_stride_rect", lambda: layers.Conv2D(2, (2, 3), strides=(2, 1)), (7, 6, 3),
     (3, 4, 2)),
    ("conv_same_even_kernel", lambda: layers.Conv2D(2, 4, padding="same", activation="tanh"),
     (5, 5, 1), (5, 5, 2)),
    # 3x3 stride 1 with >= ops.conv.WINOGRAD_MIN_CHANNELS input channels: the Winograd kernels
    ("conv_winograd_valid", lambda: layers.Conv2D(3, 3, activation="relu"), (5, 6, 32),
     (3, 4, 3)),
    ("conv_winograd_same", lambda: layers.Conv2D(2, 3, padding="same", use_bias=False),
     (5, 4, 33), (5, 4, 2)),
    ("maxpool_2x2", lambda: layers.MaxPooling2D(), (6, 6, 3), (3, 3, 3)),
    ("maxpool_odd_valid", lambda: layers.MaxPooling2D((2, 2)), (5, 7, 2), (2, 3, 2)),
    ("maxpool_overlap_same", lambda: layers.MaxPooling2D(3, strides=2, padding="same"),
     (5, 6, 2), (3, 3, 2)),
    ("avgpool_2x2", lambda: layers.AveragePooling2D(), (4, 6, 2), (2, 3, 2)),
    ("avgpool_overlap_same", lambda: layers.AveragePooling2D(3, strides=2, padding="same"),
     (5, 5, 2), (3, 3, 2)),
    ("dropout", lambda: layers.Dropout(0.4), (10,), (10,)),
    ("flatten", lambda: layers.Flatten(), (3, 4, 2), (24,)),
    ("activation_tanh", lambda: layers.Activation("tanh"), (3, 5), (3, 5)),
    ("activation_sigmoid", lambda: layers.Activation("sigmoid"), (8,), (8,)),
    ("activation_leaky", lambda: layers.Activation("leaky_relu"), (8,), (8,)),
    ("relu", lambda: layers.ReLU(), (9,), (9,)),
    ("relu_capped_leaky", lambda: layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2),
     (12,), (12,)),
    ("leaky_relu", lambda: layers.LeakyReLU(), (9,), (9,)),
    ("softmax", lambda: layers.Softmax(), (6,), (6,)),
    ("softmax_axis1", lambda: layers.Softmax(axis=1), (4, 3), (4, 3)),
    ("input", lambda: layers.Input(shape=(5,)), (5,), (5,)),
    ("batchnorm_dense", lambda: layers.BatchNormalization(), (6,), (6,)),
    ("batchnorm_image", lambda: layers.BatchNormalization(momentum=0.9), (3, 4, 2), (3, 4, 2)),
    ("batchnorm_no_scale_center",
     lambda: layers.BatchNormalization(center=False, scale=False), (5,), (5,)),
    ("global_avg_pool", lambda: layers.GlobalAveragePooling2D(), (3, 4, 5), (5,)),
    ("global_avg_pool_keepdims", lambda: layers.GlobalAvgPool2D(keepdims=True), (2, 3, 4),
     (1, 1, 4)),
    ("global_max_pool", lambda: layers.GlobalMaxPooling2D(), (3, 4, 5), (5,)),
    ("global_max_pool_keepdims", lambda: layers.GlobalMaxPool2D(keepdims=True), (2, 3, 4),
     (1, 1, 4)),
    ("rescaling", lambda: layers.Rescaling(1 / 255, offset=-0.5), (4, 3), (4, 3)),
    ("reshape", lambda: layers.Reshape((3, -1)), (2, 6), (3, 4)),
    ("zero_padding", lambda: layers.ZeroPadding2D(((1, 2), (0, 3))), (3, 4, 2), (6, 7, 2)),
    ("cropping", lambda: layers.Cropping2D(((1, 0), (2, 1))), (4, 5, 2), (3, 2, 2)),
    ("up_sampling", lambda: layers.UpSampling2D((2, 3)), (2, 3, 2), (4, 9, 2)),
]
IDS = [row[0] for row in ROWS]


def _input(shape, rng, batch=3):
    x = rng.standard_normal((batch, *shape))
    # Keep inputs away from kinks (ReLU at 0/threshold/cap, max-pool ties) so finite differences
    # are meaningful: no entry within 1e-3 of a kink value.
    for kink in (0.0, 0.2, 0.8):
        near = np.abs(x - kink) < 1e-3
        x[near] += 1e-2
    return x


@pytest.mark.parametrize("kernels", ["fast", "reference"])
@pytest.mark.parametrize("name,factory,in_shape,out_shape", ROWS, ids=IDS)
def test_backward_matches_finite_differences(name, factory, in_shape, out_shape, kernels, rng,
                                             float64):
    layer = factory()
    with kernels_scope(kernels):
        result = sn.gradcheck(layer, _input(in_shape, rng), max_entries=120)
    checked = {check.name for check in result.checks if check.checked}
    assert checked == {*layer.trainable_params, "input"}, result
    assert result.max_error < 1e-6, result


def _pass(layer, x, grad_y, kernels):
    """Output, input gradient and weight gradients of one forward + backward on ``kernels``."""
    if isinstance(layer, layers.Dropout):
        layer.rng = np.random.default_rng(0)       # the same mask on both paths
    with kernels_scope(kernels):
        y, backward = layer.forward(x, training=True)
        grad_x = backward(grad_y)
    return y, grad_x, {key: value.copy() for key, value in layer.grads.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,factory,in_shape,out_shape", ROWS, ids=IDS)
def test_fast_and_reference_kernels_agree(name, factory, in_shape, out_shape, dtype, rng):
    _check_kernels_agree(factory, in_shape, out_shape, dtype, rng)


def _check_kernels_agree(factory, in_shape, out_shape, dtype, rng):
    """Output, input gradient and weight gradients of the fast and reference kernels."""
    with sn.backend.floatx_scope(dtype):
        layer = factory()
        layer.build(in_shape)
    x = _input(in_shape, rng).astype(dtype)
    grad_y = rng.standard_normal((3, *out_shape)).astype(dtype)
    fast, ref = _pass(layer, x, grad_y, "fast"), _pass(layer, x, grad_y, "reference")
    for what, got, want in [("output", fast[0], ref[0]), ("input gradient", fast[1], ref[1]),
                            *((key, fast[2][key], ref[2][key]) for key in ref[2])]:
        _agree(got, want, dtype, what)


def test_every_registered_layer_has_a_row():
    covered = {type(factory()).__name__ for _, factory, _, _ in ROWS}
    missing = set(layers.BUILTIN_LAYERS) - covered
    assert not missing, f"registered layers without a contract row: {sorted(missing)}"


@pytest.mark.parametrize("name,factory,in_shape,out_shape", ROWS, ids=IDS)
def test_output_shape_and_float32_kept(name, factory, in_shape, out_shape, rng):
    layer = factory()
    layer.build(in_shape)
    assert layer.output_shape == out_shape
    x = _input(in_shape, rng).astype(np.float32)
    y, backward = layer.forward(x, training=True)
    assert y.shape == (3, *out_shape)
    assert y.dtype == np.float32
    grad_x = backward(np.ones_like(y))
    assert grad_x.shape == x.shape and grad_x.dtype == np.float32
    for key, grad in layer.grads.items():
        assert grad.dtype == np.float32 and grad.shape == layer.params[key].shape


@pytest.mark.parametrize("name,factory,in_shape,out_shape", ROWS, ids=IDS)
def test_input_and_upstream_gradient_not_mutated(name, factory, in_shape, out_shape, rng):
    layer = factory()
    layer.build(in_shape)
    x = _input(in_shape, rng).astype(np.float32)
    x_before = x.copy()
    y, backward = layer.forward(x, training=True)
    grad_y = rng.standard_normal(y.shape).astype(np.float32)
    grad_before = grad_y.copy()
    backward(grad_y)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(grad_y, grad_before)


@pytest.mark.parametrize("name,factory,in_shape,out_shape", ROWS, ids=IDS)
def test_config_round_trip(name, factory, in_shape, out_shape, rng):
    layer = factory()
    layer.build(in_shape)
    config = layer.get_config()
    clone = type(layer).from_config(copy.deepcopy(config))
    assert clone.get_config() == config
    clone.build(in_shape)
    clone.set_weights(layer.get_weights())
    x = _input(in_shape, rng).astype(np.float32)
    np.testing.assert_array_equal(clone(x), layer(x))


def test_winograd_rows_reach_the_winograd_kernels():
    rows = [(factory(), shape) for name, factory, shape, _ in ROWS
            if name.startswith("conv_winograd")]
    for layer, shape in rows:
        layer.build(shape)
        assert conv_op.uses_winograd(layer.params["kernel"].shape, layer.strides)
    assert rows


def _agree(got, want, dtype, what):
    assert got.dtype == want.dtype == np.dtype(dtype), what
    tolerance = {"float64": 1e-12, "float32": 1e-5}[dtype]
    scale = max(float(np.abs(want).max()), 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance * scale, err_msg=what)


# Stacks the inference plan fuses (fusion.INFERENCE_RULES) beyond one layer, with the rule that
# must take the first step: F(4x4) conv + ReLU + 2x2 pool, with an odd conv output (the trailing
# row/column dropped) and "same" padding; conv blocks (a small stem conv in front): the MNIST
# CNN's shape, a strided "same" RGB stem, a non-square stem without biases and an odd output.
INFERENCE_STACKS = [
    ("conv_relu_pool_odd", lambda: [layers.Conv2D(6, 3, activation="relu"),
                                    layers.MaxPooling2D(2)], (9, 10, 32),
     "conv_relu_max_pool2x2_inference"),
    ("conv_same_relu_pool", lambda: [layers.Conv2D(5, 3, padding="same", activation="relu"),
                                     layers.MaxPooling2D(2), layers.Dropout(0.5),
                                     layers.Flatten(), layers.Dense(3)], (6, 8, 33),
     "conv_relu_max_pool2x2_inference"),
    ("conv_block", lambda: [layers.Conv2D(32, 3, activation="relu"),
                            layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
                            layers.Flatten(), layers.Dense(4, activation="softmax")],
     (12, 12, 1), "conv_block_inference"),
    ("conv_block_strided_same_rgb",
     lambda: [layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
              layers.Conv2D(6, 3, padding="same", activation="relu"), layers.MaxPooling2D(2)],
     (13, 11, 3), "conv_block_inference"),
    ("conv_block_odd_no_bias",
     lambda: [layers.Conv2D(33, (2, 3), activation="relu", use_bias=False),
              layers.Conv2D(5, 3, activation="relu", use_bias=False), layers.MaxPooling2D(2)],
     (10, 9, 2), "conv_block_inference"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,factory,in_shape,rule", INFERENCE_STACKS,
                         ids=[row[0] for row in INFERENCE_STACKS])
def test_fused_inference_stacks_and_reference_kernels_agree(name, factory, in_shape, rule, dtype,
                                                            rng):
    with sn.backend.floatx_scope(dtype):
        model = sn.Sequential(factory())
        model.build(in_shape)
    for layer in model.layers:       # biases that are not zero test their placement
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.uniform(-0.1, 0.2, layer.params["bias"].shape)
    with kernels_scope("fast"):
        rules = [line.split(": ")[1] for line in model.runner.plan(inference=True).describe()]
        assert rules[0] == rule, rules
    x = _input(in_shape, rng, batch=5).astype(dtype)
    with sn.backend.floatx_scope(dtype), kernels_scope("fast"):
        got = model.predict(x, verbose=0)
    with sn.backend.floatx_scope(dtype), kernels_scope("reference"):
        want = model.forward(x, training=False)[0]
    _agree(got, want, dtype, "inference output")


WINOGRAD_ROWS = [row for row in ROWS if row[0].startswith("conv_winograd")]


@pytest.mark.parametrize("name,factory,in_shape,out_shape", WINOGRAD_ROWS,
                         ids=[row[0] for row in WINOGRAD_ROWS])
def test_winograd4_training_tile_gradchecks_and_agrees(name, factory, in_shape, out_shape, rng,
                                                       monkeypatch):
    """conv_op.WINOGRAD_TILE = 4 (F(4x4) for training): float64 gradcheck and the fast and
    reference kernels agreeing, as every other row."""
    from scratchnet.ops import winograd4
    monkeypatch.setattr(conv_op, "WINOGRAD_TILE", 4)
    calls = []
    original = winograd4.winograd4_backward
    monkeypatch.setattr(conv_op, "winograd4_backward",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    with sn.backend.floatx_scope("float64"):
        layer = factory()
        with kernels_scope("fast"):
            result = sn.gradcheck(layer, _input(in_shape, rng), max_entries=120)
        assert result.max_error < 1e-6, result
        assert calls
    for dtype in ("float64", "float32"):
        _check_kernels_agree(factory, in_shape, out_shape, dtype, rng)
