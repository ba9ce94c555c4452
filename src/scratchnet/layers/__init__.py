"""Layers, with Keras's names, arguments, defaults and weight layout."""
from .activation import Activation
from .average_pooling2d import AveragePooling2D
from .base import BUILTIN_LAYERS, ActivatedLayer, Layer, builtin_layer
from .batch_normalization import BatchNormalization
from .conv2d import Conv2D
from .cropping2d import Cropping2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .global_pooling2d import GlobalAveragePooling2D, GlobalMaxPooling2D
from .input_layer import Input
from .leaky_relu import LeakyReLU
from .max_pooling2d import MaxPooling2D
from .relu import ReLU
from .rescaling import Rescaling
from .reshape import Reshape
from .softmax import Softmax
from .up_sampling2d import UpSampling2D
from .zero_padding2d import ZeroPadding2D

# Keras aliases.
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
InputLayer = Input
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D

# BUILTIN_LAYERS: every class decorated with @builtin_layer (filled as the modules above load).
_CUSTOM_LAYERS: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Make a user-written layer class known by name, so saved configs can rebuild it.
    Usable as a decorator. Only registered classes are ever constructed from a config."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register expects a Layer subclass, got {cls!r}")
    _CUSTOM_LAYERS[cls.__name__] = cls
    return cls


def get_class(class_name: str) -> type[Layer]:
    known = {**BUILTIN_LAYERS, **_CUSTOM_LAYERS}
    if class_name not in known:
        raise ValueError(f"Unknown layer type {class_name!r}; expected one of {sorted(known)} "
                         f"(register custom layers with scratchnet.layers.register).")
    return known[class_name]


__all__ = ["Activation", "ActivatedLayer", "AveragePooling2D", "AvgPool2D", "Conv2D", "Dense",
           "Dropout", "Flatten", "Input", "InputLayer", "Layer", "LeakyReLU", "MaxPool2D",
           "MaxPooling2D", "ReLU", "Softmax", "BUILTIN_LAYERS", "builtin_layer", "register",
           "get_class", "BatchNormalization", "Cropping2D", "GlobalAveragePooling2D",
           "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalMaxPooling2D", "Rescaling", "Reshape",
           "UpSampling2D", "ZeroPadding2D"]
