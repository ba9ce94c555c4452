"""Callbacks: hooks into fit, as in Keras. ``History`` is always attached by fit."""
from .base import Callback, CallbackList, History, Logs
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .progress import ProgressBar
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN, first_nonfinite

__all__ = ["Callback", "CallbackList", "CSVLogger", "EarlyStopping", "History",
           "LearningRateScheduler", "Logs", "ModelCheckpoint", "ProgressBar", "ReduceLROnPlateau",
           "TensorBoard", "TerminateOnNaN", "first_nonfinite"]
