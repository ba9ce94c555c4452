"""ONNX Runtime (inference only): the CNN exported to ONNX, run by an InferenceSession.

The driver writes the .onnx file before the rounds (``write_model``): with scratchnet's own
exporter when the installed scratchnet has one, otherwise with the small hand-built graph below
(the same network: NHWC input, transposed once to NCHW inside the graph as an exporter does).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import keras_weights_to_oihw


def hand_built_graph(weights: list[np.ndarray]):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    k1, b1, k2, b2, d1, c1, d2, c2 = weights
    inits = [numpy_helper.from_array(a, name) for name, a in (
        ("k1", keras_weights_to_oihw(k1)), ("b1", b1), ("k2", keras_weights_to_oihw(k2)),
        ("b2", b2), ("d1", d1), ("c1", c1), ("d2", d2), ("c2", c2))]
    node = helper.make_node
    nodes = [node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]),
             node("Conv", ["x_nchw", "k1", "b1"], ["z1"]), node("Relu", ["z1"], ["h1"]),
             node("Conv", ["h1", "k2", "b2"], ["z2"]), node("Relu", ["z2"], ["h2"]),
             node("MaxPool", ["h2"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             node("Transpose", ["p"], ["p_nhwc"], perm=[0, 2, 3, 1]),
             node("Flatten", ["p_nhwc"], ["f"], axis=1),
             node("Gemm", ["f", "d1", "c1"], ["z3"]), node("Relu", ["z3"], ["h3"]),
             node("Gemm", ["h3", "d2", "c2"], ["z4"]), node("Softmax", ["z4"], ["y"], axis=-1)]
    graph = helper.make_graph(
        nodes, "mnist_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                            ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def write_model(weights: list[np.ndarray], path: Path) -> str:
    """Write the CNN as ONNX to ``path``; returns which exporter made it."""
    import scratchnet
    model = None
    if hasattr(scratchnet.Sequential, "export"):
        from scratchnet import zoo
        model = zoo.mnist_cnn()
        model.set_weights(weights)
        model.export(str(path), format="onnx")
        return "scratchnet export"
    import onnx
    onnx.save(hand_built_graph(weights), str(path))
    return "hand-built onnx.helper graph (scratchnet export not available)"


class OnnxRuntimePeer:
    def __init__(self, path: str, threads: int):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def set_train_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError("ONNX Runtime is measured for inference only")

    def train_step(self) -> None:
        raise NotImplementedError

    def native(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x)

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.concatenate([self.session.run(None, {self.input: x[i:i + batch_size]})[0]
                               for i in range(0, len(x), batch_size)])


def make(weights: list[np.ndarray], variant: str, threads: int, model_path: str = ""):
    return OnnxRuntimePeer(model_path, threads)
