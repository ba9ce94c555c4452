"""ONNX export: every built-in layer and option, run in ONNX Runtime against model.predict."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import activations, layers, zoo
from scratchnet.export import InteropError, export_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5


def randomize(model: sn.Sequential, seed: int = 0) -> sn.Sequential:
    """Non-zero biases and weights of order 1/sqrt(fan-in), so every parameter matters."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1 / np.sqrt(np.prod(w.shape[:-1], dtype=int)), w.shape
                                  ).astype(w.dtype) for w in model.get_weights()])
    return model


def run_onnx(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]


def assert_matches(model: sn.Sequential, tmp_path, batch: int = 3, seed: int = 1) -> None:
    path = export_onnx(model, tmp_path / "model.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    x = np.random.default_rng(seed).normal(size=(batch, *model.input_shape)).astype(np.float32)
    expected = model.predict(x)
    got = run_onnx(path, x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", ["mnist-cnn", "mnist-mlp"])
def test_zoo_models_match_onnx_runtime(name, tmp_path):
    model = randomize(zoo.get(name))
    x = np.random.default_rng(3).random((4, 28, 28, 1), dtype=np.float32)
    path = model.export(tmp_path / f"{name}.onnx")
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x), atol=TOLERANCE, rtol=0)
    assert (run_onnx(path, x).argmax(1) == model.predict(x).argmax(1)).all()


def image(shape=(9, 8, 3)):
    return [layers.Input(shape)]


CASES = {
    "conv_valid": image() + [layers.Conv2D(4, 3)],
    "conv_same_odd": image() + [layers.Conv2D(4, 3, padding="same")],
    "conv_same_stride2_asymmetric": image() + [layers.Conv2D(4, 3, strides=2, padding="same")],
    "conv_same_even_kernel": image() + [layers.Conv2D(4, 2, padding="same")],
    "conv_same_4x4_stride_2x1": image() + [layers.Conv2D(2, 4, strides=(2, 1), padding="same")],
    "conv_valid_strides_3x2": image() + [layers.Conv2D(3, (2, 3), strides=(3, 2))],
    "conv_no_bias": image() + [layers.Conv2D(4, 3, use_bias=False)],
    "conv_relu": image() + [layers.Conv2D(4, 3, activation="relu")],
    "conv_sigmoid": image() + [layers.Conv2D(4, 3, activation="sigmoid")],
    "conv_tanh": image() + [layers.Conv2D(4, 3, activation="tanh")],
    "conv_softmax_channels": image() + [layers.Conv2D(4, 3, activation="softmax")],
    "conv_leaky": image() + [layers.Conv2D(4, 3, activation="leaky_relu")],
    "conv_winograd_path": [layers.Input((6, 6, 32)), layers.Conv2D(4, 3, padding="same")],
    "maxpool_default": image() + [layers.MaxPooling2D()],
    "maxpool_overlapping": image() + [layers.MaxPooling2D(3, strides=1)],
    "maxpool_same_stride2": image() + [layers.MaxPooling2D(3, strides=2, padding="same")],
    "maxpool_same_2x3": image() + [layers.MaxPooling2D((2, 3), padding="same")],
    "avgpool_default": image() + [layers.AveragePooling2D()],
    "avgpool_overlapping": image() + [layers.AveragePooling2D(3, strides=1)],
    "avgpool_same_stride2": image() + [layers.AveragePooling2D(3, strides=2, padding="same")],
    "avgpool_same_2x3": image() + [layers.AveragePooling2D((2, 3), padding="same")],
    "flatten_channels_last": image() + [layers.Flatten()],
    "flatten_dense": image() + [layers.Flatten(), layers.Dense(5)],
    "dense": [layers.Dense(6, input_shape=(7,))],
    "dense_no_bias": [layers.Dense(6, use_bias=False, input_shape=(7,))],
    "dense_on_image_channels": image() + [layers.Dense(5, activation="tanh")],
    "dense_softmax": [layers.Dense(6, activation="softmax", input_shape=(7,))],
    "dense_leaky_0.1": [layers.Dense(6, activation=activations.make_leaky_relu(0.1),
                                     input_shape=(7,))],
    "activation_relu": image() + [layers.Activation("relu")],
    "activation_softmax_on_conv": image() + [layers.Conv2D(4, 3), layers.Activation("softmax")],
    "relu_default": image() + [layers.ReLU()],
    "relu_max_value": image() + [layers.ReLU(max_value=0.5)],
    "relu_negative_slope": image() + [layers.ReLU(negative_slope=0.1)],
    "relu_threshold_all": image() + [layers.ReLU(max_value=1.2, negative_slope=0.2,
                                                 threshold=0.3)],
    "relu_threshold_only": image() + [layers.ReLU(threshold=-0.4)],
    "leaky_relu_layer": image() + [layers.LeakyReLU()],
    "leaky_relu_layer_slope": image() + [layers.LeakyReLU(negative_slope=0.05)],
    "softmax_last": [layers.Input((7,)), layers.Softmax()],
    "softmax_axis_height_after_conv": image() + [layers.Conv2D(2, 3), layers.Softmax(axis=1)],
    "softmax_axis_width": image() + [layers.Softmax(axis=2)],
    "dropout_identity": image() + [layers.Conv2D(2, 3), layers.Dropout(0.5), layers.Flatten()],
    "input_only_vector": [layers.Input((5,)), layers.Dense(3)],
    "no_input_layer": [layers.Conv2D(2, 3, input_shape=(6, 5, 1)), layers.MaxPooling2D(),
                       layers.Flatten(), layers.Dense(3, activation="softmax")],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_layer_and_option_matches_onnx_runtime(name, tmp_path):
    assert_matches(randomize(sn.Sequential(CASES[name])), tmp_path)


def with_moving_statistics(model: sn.Sequential, seed: int = 2) -> sn.Sequential:
    """Run a few training-mode forwards so each BatchNormalization's moving mean and variance
    are a real network's (not 0 and 1), with gamma and beta random."""
    rng = np.random.default_rng(seed)
    x = rng.normal(1.5, 2.0, size=(16, *model.input_shape)).astype(np.float32)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            for name in ("gamma", "beta"):
                if name in layer.params:
                    layer.params[name][...] = rng.normal(0, 1, layer.params[name].shape)
            for _ in range(5):
                layer.forward(x, training=True)
        x = layer.forward(x, training=False)[0]
    return model


BATCH_NORM_CASES = {
    "image": image() + [layers.BatchNormalization()],
    "vector": [layers.Input((7,)), layers.BatchNormalization(momentum=0.5)],
    "after_conv": image() + [layers.Conv2D(4, 3), layers.BatchNormalization(epsilon=0.1),
                             layers.ReLU()],
    "after_dense": [layers.Input((7,)), layers.Dense(5), layers.BatchNormalization()],
    "no_center": image() + [layers.BatchNormalization(center=False, momentum=0.3)],
    "no_scale": [layers.Input((7,)), layers.BatchNormalization(scale=False, momentum=0.3)],
}


@pytest.mark.parametrize("name", sorted(BATCH_NORM_CASES))
def test_batch_normalization_in_inference_mode_matches_onnx_runtime(name, tmp_path):
    model = sn.Sequential(BATCH_NORM_CASES[name])
    randomize_kernels(model)
    bn = next(lyr for lyr in model.layers if isinstance(lyr, layers.BatchNormalization))
    with_moving_statistics(model)
    assert not np.allclose(bn.params["moving_variance"], 1)
    assert_matches(model, tmp_path)


def randomize_kernels(model: sn.Sequential, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for name in ("kernel", "bias"):
            if name in layer.params:
                value = layer.params[name]
                value[...] = rng.normal(0, 1 / np.sqrt(max(value.size // value.shape[-1], 1)),
                                        value.shape)


# One model per new layer and option (shape layers after a conv, so the graph is channels-first
# where they run, and before a Dense, so the order they leave matters).
SHAPE_CASES = {
    "global_avg": image() + [layers.GlobalAveragePooling2D()],
    "global_avg_keepdims": image() + [layers.GlobalAveragePooling2D(keepdims=True)],
    "global_avg_after_conv_dense": image() + [layers.Conv2D(4, 3),
                                              layers.GlobalAvgPool2D(), layers.Dense(3)],
    "global_max": image() + [layers.GlobalMaxPooling2D()],
    "global_max_keepdims_after_conv": image() + [layers.Conv2D(4, 3),
                                                 layers.GlobalMaxPool2D(keepdims=True)],
    "rescaling": image() + [layers.Rescaling(1 / 255)],
    "rescaling_offset_vector": [layers.Input((7,)), layers.Rescaling(2.0, offset=-1.0)],
    "reshape_vector_to_image_conv": [layers.Input((48,)), layers.Reshape((4, 4, 3)),
                                     layers.Conv2D(2, 3)],
    "reshape_after_conv": image() + [layers.Conv2D(4, 3), layers.Reshape((-1, 4)),
                                     layers.Dense(2)],
    "reshape_image_to_image": image() + [layers.Conv2D(4, 3), layers.Reshape((14, 6, 2)),
                                         layers.Conv2D(2, 3)],
    "zero_padding_default": image() + [layers.ZeroPadding2D()],
    "zero_padding_asymmetric_after_conv": image() + [layers.Conv2D(4, 3),
                                                     layers.ZeroPadding2D(((0, 2), (3, 1))),
                                                     layers.Conv2D(2, 3)],
    "zero_padding_rows_cols": image() + [layers.ZeroPadding2D((2, 0))],
    "cropping": image() + [layers.Cropping2D(1)],
    "cropping_asymmetric_after_conv": image() + [layers.Conv2D(4, 2),
                                                 layers.Cropping2D(((0, 2), (3, 1))),
                                                 layers.Flatten(), layers.Dense(3)],
    "cropping_rows_cols": image() + [layers.Cropping2D((2, 0))],
    "up_sampling_default": image() + [layers.UpSampling2D()],
    "up_sampling_3x2_after_conv": image() + [layers.Conv2D(4, 3), layers.UpSampling2D((3, 2)),
                                             layers.Conv2D(2, 3)],
    "up_sampling_1x3": image() + [layers.UpSampling2D((1, 3))],
}


@pytest.mark.parametrize("name", sorted(SHAPE_CASES))
def test_each_new_layer_and_option_matches_onnx_runtime(name, tmp_path):
    assert_matches(randomize(sn.Sequential(SHAPE_CASES[name])), tmp_path)


def test_a_model_of_every_new_layer_together_matches_onnx_runtime(tmp_path):
    model = sn.Sequential([
        layers.Input((8, 8, 1)), layers.Rescaling(1 / 255, offset=-0.5),
        layers.ZeroPadding2D(1), layers.Conv2D(4, 3, activation="relu"),
        layers.BatchNormalization(), layers.UpSampling2D(), layers.Cropping2D(((1, 0), (0, 2))),
        layers.Conv2D(3, 3), layers.Reshape((-1, 3)), layers.Reshape((13, 12, 3)),
        layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    randomize_kernels(model)
    with_moving_statistics(model)
    assert_matches(model, tmp_path)


def test_graph_is_opset_17_with_named_dynamic_batch_input(tmp_path):
    model = randomize(zoo.get("mnist-cnn"))
    proto = onnx.load(str(model.export(tmp_path / "m.onnx")))
    assert proto.opset_import[0].version >= 17
    (graph_input,) = proto.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == "input" and dims[0].dim_param == "batch"
    assert [d.dim_value for d in dims[1:]] == [28, 28, 1]
    assert [o.name for o in proto.graph.output] == ["output"]
    x = np.random.default_rng(0).random((7, 28, 28, 1), dtype=np.float32)
    for batch in (1, 7):
        np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x[:batch]),
                                   model.predict(x[:batch]), atol=TOLERANCE, rtol=0)


def test_unsupported_activation_and_layer_are_named(tmp_path):
    swish = activations.elementwise("swish_test", lambda x: x / (1 + np.exp(-x)),
                                    lambda x: np.ones_like(x))
    model = sn.Sequential([layers.Dense(3, activation=swish, input_shape=(4,))])
    with pytest.raises(InteropError, match="'swish_test' has no ONNX equivalent"):
        export_onnx(model, tmp_path / "a.onnx")

    class Doubler(layers.Layer):
        def forward(self, x, training=False):
            return 2 * x, lambda g: 2 * g
    model = sn.Sequential([layers.Input((4,)), Doubler()])
    with pytest.raises(InteropError, match=r"'doubler' \(Doubler\) has no ONNX converter"):
        export_onnx(model, tmp_path / "b.onnx")
    assert not list(tmp_path.iterdir())


def test_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(InteropError, match="not built"):
        export_onnx(sn.Sequential([layers.Dense(3)]), tmp_path / "m.onnx")


def test_missing_onnx_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'scratchnet\[onnx\]'"):
        export_onnx(zoo.get("mnist-mlp"), tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())


def test_batch_normalization_of_a_sequence_is_refused_with_the_shape(tmp_path):
    model = sn.Sequential([layers.Input((5, 3)), layers.BatchNormalization()])
    with pytest.raises(InteropError, match=r"\(N, C\) or \(N, H, W, C\).*got per-sample shape "
                                           r"\(5, 3\)"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())
