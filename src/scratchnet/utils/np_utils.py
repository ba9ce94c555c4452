"""Keras 2's ``keras.utils.np_utils``: the same functions as ``scratchnet.utils``."""
from . import normalize, to_categorical

__all__ = ["normalize", "to_categorical"]
