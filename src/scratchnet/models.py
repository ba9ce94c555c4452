"""``keras.models``: ``from scratchnet.models import Sequential, load_model``."""
from .functional import Model
from .model import Sequential
from .saving import load_model

__all__ = ["Model", "Sequential", "load_model"]
