"""The exported state dict in real PyTorch: the printed nn.Sequential, loaded strictly, computes
scratchnet's predictions, and a torch-side state dict loads back. Skips without torch (CI has
none; run with a torch==2.13.0 venv, see benchmarks/interop_roundtrip.py)."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import export, layers, zoo

torch = pytest.importorskip("torch")
nn = torch.nn
safetensors_torch = pytest.importorskip("safetensors.torch")


def torch_model(model):
    return nn.Sequential(*[eval(code, {"nn": nn}) for code in export.torch_modules(model)]).eval()


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def image(shape=(9, 8, 3)):
    return [layers.Input(shape)]


CASES = {
    "conv_valid_relu": image() + [layers.Conv2D(4, 3, activation="relu")],
    "conv_same_odd": image() + [layers.Conv2D(4, 3, padding="same")],
    "conv_same_stride2": image() + [layers.Conv2D(4, 3, strides=2, padding="same")],
    "conv_same_even": image() + [layers.Conv2D(4, 2, padding="same", use_bias=False)],
    "conv_same_4x4_2x1": image() + [layers.Conv2D(2, 4, strides=(2, 1), padding="same")],
    "maxpool": image() + [layers.MaxPooling2D()],
    "maxpool_same_s2": image() + [layers.MaxPooling2D(3, strides=2, padding="same")],
    "maxpool_same_2x3": image() + [layers.MaxPooling2D((2, 3), padding="same")],
    "maxpool_overlap": image() + [layers.MaxPooling2D(3, strides=1)],
    "avgpool": image() + [layers.AveragePooling2D()],
    "avgpool_same_s2": image() + [layers.AveragePooling2D(3, strides=2, padding="same")],
    "avgpool_same_2x3": image() + [layers.AveragePooling2D((2, 3), padding="same")],
    "avgpool_same_2_odd": [layers.Input((7, 5, 2)), layers.AveragePooling2D(2, padding="same")],
    "flatten_dense": image() + [layers.Conv2D(3, 3), layers.Flatten(), layers.Dropout(0.2),
                                layers.Activation("sigmoid"), layers.Dense(4)],
    "dense_activations": [layers.Input((6,)), layers.Dense(5, activation="tanh"),
                          layers.Dense(5, activation="leaky_relu"), layers.LeakyReLU(0.1),
                          layers.ReLU(max_value=0.5), layers.ReLU(negative_slope=0.2),
                          layers.Dense(3, activation="softmax")],
    "softmax_axes": image() + [layers.Softmax(axis=1), layers.Softmax(axis=2), layers.Softmax()],
    "global_avg": image() + [layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(),
                             layers.Dense(3)],
    "global_avg_keepdims": image() + [layers.GlobalAveragePooling2D(keepdims=True)],
    "global_max": image() + [layers.Conv2D(4, 3), layers.GlobalMaxPooling2D()],
    "global_max_keepdims": image() + [layers.GlobalMaxPooling2D(keepdims=True)],
    "rescaling_image": image() + [layers.Rescaling(1 / 255, offset=-0.5), layers.Conv2D(2, 3)],
    "rescaling_vector": [layers.Input((6,)), layers.Rescaling(2.0), layers.Dense(3)],
    "reshape_flatten": image() + [layers.Conv2D(3, 3), layers.Reshape((-1,)),
                                  layers.Rescaling(0.5), layers.Dense(4)],
    "reshape_vector": [layers.Input((6,)), layers.Reshape((6,)), layers.Dense(3)],
    "zero_padding": image() + [layers.ZeroPadding2D(((0, 2), (3, 1))), layers.Conv2D(2, 3)],
    "cropping": image() + [layers.Cropping2D(((1, 0), (0, 2))), layers.Conv2D(2, 3)],
    "up_sampling": image() + [layers.UpSampling2D((3, 2)), layers.Conv2D(2, 3)],
    "mnist_cnn": zoo.mnist_cnn().layers,
    "mnist_mlp": zoo.mnist_mlp().layers,
}


def assert_torch_matches(model, path):
    """The printed modules, loaded strictly from ``path``, compute ``model.predict`` (images
    go in channels-first and come out so); returns the input used."""
    net = torch_model(model)
    net.load_state_dict(safetensors_torch.load_file(str(path)), strict=True)
    x = np.random.default_rng(1).normal(size=(3, *model.input_shape)).astype(np.float32)
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if x.ndim == 4 else x)
    with torch.no_grad():
        y = net(tx).numpy()
    expected = model.predict(x)
    if expected.ndim == 4:
        expected = expected.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, expected, atol=1e-5, rtol=0)
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_printed_torch_model_computes_scratchnets_predictions(name, tmp_path):
    model = randomize(sn.Sequential(CASES[name]))
    assert_torch_matches(model, export.save_torch_state_dict(model, tmp_path / "m.safetensors"))


@pytest.mark.parametrize("shape,options", [((6, 5, 3), {}), ((7,), {}),
                                           ((6, 5, 3), {"center": False}),
                                           ((7,), {"scale": False})])
def test_batch_normalization_in_torch(shape, options, tmp_path):
    def build():
        first = layers.Conv2D(4, 1) if len(shape) == 3 else layers.Dense(4)
        return sn.Sequential([layers.Input(shape), first, layers.BatchNormalization(**options)])
    model = randomize(build())
    weights = model.get_weights()
    weights[-1] = np.abs(weights[-1]) + 0.1    # a variance is positive
    model.set_weights(weights)
    path = export.save_torch_state_dict(model, tmp_path / "m.safetensors")
    x = assert_torch_matches(model, path)
    back = randomize(build(), seed=5)
    sn.load_torch_state_dict(back, path)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_torch_trained_weights_load_back(tmp_path):
    model = zoo.mnist_cnn()
    net = torch_model(model)            # torch's own initialisation, then one SGD step
    x = torch.rand(8, 1, 28, 28)
    loss = nn.functional.nll_loss(torch.log(net.train()(x)), torch.arange(8) % 10)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad
    safetensors_torch.save_file(net.state_dict(), str(tmp_path / "t.safetensors"))
    sn.load_torch_state_dict(model, tmp_path / "t.safetensors")
    with torch.no_grad():
        expected = net.eval()(x).numpy()
    np.testing.assert_allclose(model.predict(x.numpy().transpose(0, 2, 3, 1)), expected,
                               atol=1e-5, rtol=0)
