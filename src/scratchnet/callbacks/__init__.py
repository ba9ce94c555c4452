"""Callbacks: hooks into fit, as in Keras. ``History`` is always attached by fit."""
from .base import Callback, CallbackList, History, Logs
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .model_checkpoint import ModelCheckpoint
from .progress import ProgressBar
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN, first_nonfinite

__all__ = ["Callback", "CallbackList", "CSVLogger", "EarlyStopping", "History", "Logs",
           "ModelCheckpoint", "ProgressBar", "TensorBoard", "TerminateOnNaN", "first_nonfinite"]
