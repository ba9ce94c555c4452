"""scratchnet: deep learning from scratch in NumPy, with a Keras-style API.

    import scratchnet as sn
    from scratchnet import layers, optimizers
    model = sn.Sequential([layers.Dense(10, activation="softmax", input_shape=(784,))])
"""
from . import activations, backend, callbacks, initializers, layers, losses, metrics, optimizers
from .backend import floatx, set_floatx, set_random_seed
from .callbacks import Callback, History
from .diagnostics.doctor import doctor
from .diagnostics.gradcheck import gradcheck
from .model import Sequential
from .ops.kernels import set_kernels
from .profiling import profile
from .saving import load_model

__version__ = "0.1.0"
__all__ = ["Sequential", "load_model", "gradcheck", "doctor", "profile",
           "Callback", "History", "activations", "backend", "callbacks",
           "initializers", "layers", "losses", "metrics", "optimizers", "floatx", "set_floatx",
           "set_random_seed", "set_kernels"]
