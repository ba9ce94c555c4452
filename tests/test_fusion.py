"""The fusion rules (scratchnet.fusion): each fused step against the layers run one by one,
bit for bit, and the rules applying exactly where they should."""
import numpy as np
import pytest

import scratchnet as sn
from scratchnet import fusion, layers
from scratchnet.ops.kernels import kernels_scope
from scratchnet.ops.pool import maxpool_backward, maxpool_forward, no_winner

pytestmark = pytest.mark.fast_kernels    # the fusions exist on the fast kernels only


def naive_relu_then_pool(z, ph, pw, g):
    """ReLU, then max pooling routing to the first maximum (row-major): output and dL/dz."""
    a = np.maximum(z, 0)
    n, h, w, c = z.shape
    y, grad_z = np.zeros((n, h // ph, w // pw, c)), np.zeros_like(z)
    for s, i, j, ch in np.ndindex(*y.shape):
        window = a[s, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw, ch]
        first = int(np.argmax(window))
        y[s, i, j, ch] = window.ravel()[first]
        zi, zj = i * ph + first // pw, j * pw + first % pw
        grad_z[s, zi, zj, ch] = g[s, i, j, ch] * (z[s, zi, zj, ch] > 0)   # ReLU'(0) = 0
    return y, grad_z


def tie_heavy(rng, shape):
    z = rng.integers(-2, 3, size=shape).astype(np.float32)    # ties, zeros, negatives
    z[0] = -1.0                                                # all-negative windows
    z[-1, ::2] = 0.0                                           # windows of exact zeros
    return z


@pytest.mark.parametrize("shape,pool", [((3, 6, 6, 3), (2, 2)), ((3, 7, 5, 2), (2, 2)),
                                        ((2, 9, 8, 1), (3, 3)), ((4, 6, 7, 2), (2, 3))])
def test_fused_relu_maxpool_kernel_matches_relu_then_pool(shape, pool, threads):
    rng = np.random.default_rng(5)
    z = tie_heavy(rng, shape)
    y, winner = maxpool_forward(z, pool, relu=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    expected_y, expected_grad = naive_relu_then_pool(z.astype(np.float64), *pool, g)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(maxpool_forward(z, pool, record_winner=False, relu=True)[0],
                                  expected_y)
    assert (winner[y == 0] == no_winner(pool)).all() and (winner[y > 0] < no_winner(pool)).all()
    np.testing.assert_array_equal(maxpool_backward(winner, g, z.shape, pool), expected_grad)


def plain_forward(model, x, training):
    """The model's layers one after the other through their own forwards, never fused."""
    h, backs = x, []
    for layer in model.layers:
        h, back = layer.forward(h, training)
        backs.append(back)

    def backward(g):
        for back in reversed(backs):
            g = back(g)
        return g
    return h, backward


def grads_of(model):
    return {key: value.copy() for key, value in model.trainable_grads().items()}


@pytest.mark.parametrize("first", ["conv_im2col", "conv_winograd", "dense"])
@pytest.mark.parametrize("training", [True, False])
def test_model_fusion_gives_identical_outputs_and_gradients(first, training, threads):
    sn.set_random_seed(3)
    channels = 32 if first == "conv_winograd" else 2
    shape = (8, 8, channels)
    linear = {"conv_im2col": layers.Conv2D(4, 3, activation="relu", input_shape=shape),
              "conv_winograd": layers.Conv2D(4, 3, activation="relu", input_shape=shape),
              "dense": layers.Dense(4, activation="relu", input_shape=shape)}[first]
    with sn.backend.floatx_scope("float64"):
        model = sn.Sequential([linear, layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)])
    assert fusion.match(model.layers).size == 2
    assert model.runner.plan().steps[0].kind in ("conv_relu_max_pool2x2", "affine_relu_max_pool")
    rng = np.random.default_rng(0)
    # small integers: many exact ties and exact zeros in the pre-activations
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.integers(-1, 2, size=value.shape)
    x = rng.integers(-1, 2, size=(3, 8, 8, channels)).astype(np.float64)
    y_fused, back_fused = model.forward(x, training=training)
    g = rng.standard_normal(y_fused.shape)
    gx_fused, grads_fused = back_fused(g), grads_of(model)
    y_plain, back_plain = plain_forward(model, x, training)
    gx_plain = back_plain(g)
    np.testing.assert_array_equal(y_fused, y_plain)
    np.testing.assert_array_equal(gx_fused, gx_plain)
    for key, value in grads_of(model).items():
        np.testing.assert_array_equal(grads_fused[key], value, err_msg=key)


def test_fusion_only_for_builtin_relu_and_tiling_pools():
    class MyConv(layers.Conv2D):
        def forward(self, x, training=False):
            return super().forward(x, training)

    class MyLinear(layers.Conv2D):
        def forward_linear(self, x, training=False):
            return super().forward_linear(x, training)

    def rule(conv, pool):
        sn.Sequential([layers.Input((8, 8, 1)), conv, pool])
        fused = fusion.match([conv, pool])
        return None if fused is None else fused.rule
    relu_conv = lambda: layers.Conv2D(2, 3, activation="relu")  # noqa: E731
    assert rule(relu_conv(), layers.MaxPooling2D(2)) == "affine_relu_max_pool"
    assert rule(layers.Conv2D(2, 3, activation="tanh"), layers.MaxPooling2D(2)) is None
    assert rule(MyConv(2, 3, activation="relu"), layers.MaxPooling2D(2)) is None
    assert rule(MyLinear(2, 3, activation="relu"), layers.MaxPooling2D(2)) is None
    assert rule(relu_conv(), layers.MaxPooling2D(2, 1)) == "affine_relu"   # overlapping
    assert rule(relu_conv(), layers.MaxPooling2D(4, padding="same")) == "affine_relu"  # padded
    assert fusion.match([layers.Dense(2, activation="relu"), layers.Flatten()]).size == 1
    with kernels_scope("reference"):          # the reference kernels run every layer itself
        assert fusion.match([relu_conv(), layers.MaxPooling2D(2)]) is None


@pytest.mark.parametrize("channels,padding", [(2, "valid"), (3, "same"), (32, "valid"),
                                              (32, "same")])
@pytest.mark.parametrize("input_gradient", [True, False])
def test_conv_fused_relu_matches_linear_then_relu(channels, padding, input_gradient, threads):
    """The affine_relu step applies the ReLU inside the conv kernels (im2col with few channels,
    Winograd with 32); the layer's own forward (forward_linear, then the activation) must give
    the very same numbers."""
    sn.set_random_seed(1)
    with sn.backend.floatx_scope("float64"):
        conv = layers.Conv2D(5, 3, padding=padding, activation="relu")
        conv.build((7, 9, channels))
    rng = np.random.default_rng(4)
    conv.params["kernel"][...] = rng.integers(-1, 2, size=conv.params["kernel"].shape)
    conv.params["bias"][...] = [-1, 0, 1, 0, -2]
    x = rng.integers(-1, 2, size=(4, 7, 9, channels)).astype(np.float64)   # exact zeros in z
    y, backward = fusion.affine_relu([conv]).run(x, True, input_gradient)
    g = rng.standard_normal(y.shape)
    gx, grads = backward(g), {key: value.copy() for key, value in conv.grads.items()}
    z = conv.forward_linear(x, training=True)[0]
    assert (z == 0).any() and (z < 0).any()
    y_plain, backward_plain = conv.forward(x, training=True)
    np.testing.assert_array_equal(y, y_plain)
    gx_plain = backward_plain(g)
    assert gx is None if not input_gradient else np.array_equal(gx, gx_plain)
    for key, value in conv.grads.items():
        np.testing.assert_array_equal(grads[key], value, err_msg=key)


def test_training_step_with_layers_in_front_gives_the_unfused_gradients(monkeypatch):
    """Input in front and the first layer's input gradient skipped: the fused train step fills
    the same gradients as the model run without fusion."""
    real_match = fusion.match

    def grads_after_step(fuse):
        monkeypatch.setattr(fusion, "match", real_match if fuse else lambda *a, **k: None)
        sn.set_random_seed(7)
        with sn.backend.floatx_scope("float64"):
            model = sn.Sequential([layers.Input((8, 8, 2)), layers.Conv2D(3, 3, activation="relu"),
                                   layers.MaxPooling2D(2), layers.Flatten(),
                                   layers.Dense(4, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        x = np.random.default_rng(1).standard_normal((5, 8, 8, 2))
        value, _ = model.compute_loss_and_gradients(x, np.eye(4)[[0, 1, 2, 3, 0]])
        return value, grads_of(model)
    (fused_value, fused), (plain_value, plain) = grads_after_step(True), grads_after_step(False)
    assert fused_value == plain_value
    for key, value in plain.items():
        np.testing.assert_array_equal(fused[key], value, err_msg=key)


@pytest.mark.parametrize("hw,pads", [((8, 8), ((0, 0), (0, 0))), ((6, 10), ((1, 1), (1, 1))),
                                     ((7, 9), ((1, 0), (0, 1)))])
@pytest.mark.parametrize("record", [True, False])
def test_winograd_pooled_kernel_matches_conv_then_relu_pool(hw, pads, record, threads):
    """Pooling inside the Winograd output transform gives the very numbers (and winners, ties
    to the first maximum) of the conv output pooled afterwards; its backward from the winners
    gives the very gradients of the conv backward fed the unpooled gradient."""
    from scratchnet.ops.winograd import winograd_backward, winograd_conv3x3
    from scratchnet.ops.winograd_pool import winograd_relu_max_pool2x2
    rng = np.random.default_rng(2)
    x = rng.integers(-1, 2, size=(5, *hw, 3)).astype(np.float64)
    x[0] = 0.0                                              # a sample of exact zeros (bias only)
    kernel = rng.integers(-1, 2, size=(3, 3, 3, 4)).astype(np.float64)
    bias = np.array([0.0, -1.0, 1.0, -30.0])                # -30: all-negative windows
    z = winograd_conv3x3(x, kernel, bias, pads)
    assert (z == 0).any() and (z < 0).any()
    expected_y, expected_winner = maxpool_forward(z, (2, 2), relu=True)
    y, winner = winograd_relu_max_pool2x2(x, kernel, bias, pads, record_winner=record)
    np.testing.assert_array_equal(y, expected_y)
    if not record:
        assert winner is None
        return
    np.testing.assert_array_equal(winner, expected_winner)
    assert (winner == no_winner((2, 2))).any() and (winner == 3).any()
    g = rng.standard_normal(y.shape)
    grad_z = maxpool_backward(winner, g, z.shape, (2, 2))
    expected = winograd_backward(x, grad_z, kernel, pads)
    fused = winograd_backward(x, g, kernel, pads, pool_winner=winner)
    for name, want, got in zip(("grad_x", "grad_kernel", "grad_bias"), expected, fused):
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_winograd_pooled_kernel_rejects_odd_outputs():
    from scratchnet.ops.winograd import winograd_backward
    from scratchnet.ops.winograd_pool import winograd_relu_max_pool2x2
    x, kernel = np.zeros((1, 7, 8, 2)), np.zeros((3, 3, 2, 1))
    with pytest.raises(ValueError, match="even conv output"):
        winograd_relu_max_pool2x2(x, kernel, None, ((0, 0), (0, 0)), True)
    with pytest.raises(ValueError, match="even conv output"):
        winograd_backward(x, np.zeros((1, 2, 3, 1)), kernel, ((0, 0), (0, 0)),
                          pool_winner=np.zeros((1, 2, 3, 1), np.uint8))


@pytest.mark.parametrize("hw,padding,in_conv", [((8, 8), "valid", True), ((7, 8), "same", False),
                                                ((9, 8), "valid", False),
                                                ((10, 12), "same", True)])
def test_model_pools_inside_the_winograd_conv_only_for_even_outputs(hw, padding, in_conv):
    """The in-conv pooling runs exactly where the conv output is even (else the ReLU + pool
    fusion on the full conv output runs), and both equal the layers run one by one."""
    sn.set_random_seed(4)
    with sn.backend.floatx_scope("float64"):
        model = sn.Sequential([layers.Conv2D(3, 3, padding=padding, activation="relu",
                                             input_shape=(*hw, 32)),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)])
    rng = np.random.default_rng(6)
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.integers(-1, 2, size=value.shape)
    x = rng.integers(-1, 2, size=(3, *hw, 32)).astype(np.float64)
    y_fused, back_fused = model.forward(x, training=True)
    assert model.runner.plan().steps[0].kind == ("conv_relu_max_pool2x2" if in_conv
                                                 else "affine_relu_max_pool")
    g = rng.standard_normal(y_fused.shape)
    gx_fused, grads_fused = back_fused(g), grads_of(model)
    y_plain, back_plain = plain_forward(model, x, True)
    np.testing.assert_array_equal(y_fused, y_plain)
    np.testing.assert_array_equal(gx_fused, back_plain(g))
    for key, value in grads_of(model).items():
        np.testing.assert_array_equal(grads_fused[key], value, err_msg=key)
