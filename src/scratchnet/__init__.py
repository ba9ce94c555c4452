"""scratchnet: deep learning from scratch in NumPy, with a Keras-style API.

    import scratchnet as sn
    from scratchnet import layers, optimizers
    model = sn.Sequential([layers.Dense(10, activation="softmax", input_shape=(784,))])
"""
from . import (
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from .backend import floatx, set_floatx, set_random_seed
from .callbacks import Callback, History
from .diagnostics.doctor import doctor
from .diagnostics.gradcheck import gradcheck
from .export import load_keras_weights, load_torch_state_dict
from .functional import Input, Model
from .model import Sequential
from .ops.kernels import set_kernels
from .profiling import profile
from .saving import load_model
from .tracing import compare, trace

__version__ = "0.1.0"
__all__ = ["Sequential", "Model", "Input", "load_model", "gradcheck", "doctor", "profile",
           "Callback", "History", "activations", "backend", "callbacks",
           "initializers", "layers", "losses", "metrics", "optimizers", "floatx", "set_floatx",
           "set_random_seed", "datasets", "models", "regularizers", "utils", "export",
           "load_torch_state_dict", "load_keras_weights", "trace", "compare",
           "set_kernels"]
