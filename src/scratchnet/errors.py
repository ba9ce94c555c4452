"""scratchnet's error types: one hierarchy, each class also a built-in exception.

Every class subclasses ``ScratchnetError`` *and* the built-in a Keras user would catch
(``ValueError``, ``TypeError``, ``OSError``), so ``except ValueError`` written for Keras keeps
working and ``except scratchnet.errors.ScratchnetError`` catches everything scratchnet raises on
purpose. Messages say what was expected and what was given; :func:`expected` builds them.

    ScratchnetError
      InvalidArgumentError(ValueError)     a bad value: epochs=0, seed=-1, a NaN input
        NonFiniteInputError                 NaN/Inf or beyond the model's float range
        NotCompiledError(+RuntimeError)     fit/evaluate before compile (ValueError as Keras)
        UsageError                          a command-line mistake (exit status 2)
      InvalidTypeError(TypeError)          a value of the wrong type
      ModelFileError(ValueError)           a model file that cannot be used
        MetadataError                       one metadata field is invalid (names the field)
      RunDirectoryError(ValueError)        a run directory (run.json) that cannot be used
      FileWriteError(OSError)              a file could not be written (disk full, read-only)
"""
from __future__ import annotations

from typing import Any


class ScratchnetError(Exception):
    """Base of every error scratchnet raises on purpose."""


class InvalidArgumentError(ScratchnetError, ValueError):
    """An argument or input with a value scratchnet cannot use."""


class NonFiniteInputError(InvalidArgumentError):
    """Input data with NaN/Inf, or values the model's float type cannot hold."""


class NotCompiledError(InvalidArgumentError, RuntimeError):
    """fit/evaluate/train_on_batch before compile. A ValueError as in Keras; also a RuntimeError,
    which scratchnet raised before, so older code that caught that keeps working."""


class UsageError(InvalidArgumentError):
    """A mistake on the command line: printed as one line, exit status 2."""


class InvalidTypeError(ScratchnetError, TypeError):
    """An argument of a type scratchnet cannot use."""


class ModelFileError(ScratchnetError, ValueError):
    """A model file that is missing, truncated, corrupted, of another format or inconsistent."""


class MetadataError(ModelFileError):
    """One field of a model file's (or run directory's) metadata is invalid; ``field`` names it
    as a dotted path, e.g. ``training.history.epoch[2]``."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class RunDirectoryError(ScratchnetError, ValueError):
    """A run directory (``scratchnet train --out``) that cannot be used or resumed."""


class FileWriteError(ScratchnetError, OSError):
    """A file could not be written; the previous version of it, if any, is intact."""


def describe(value: Any, limit: int = 80) -> str:
    """A short repr for messages: long values are cut, the type is named."""
    text = repr(value)
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


def expected(what: str, wanted: str, given: Any) -> str:
    """The house message: '<what> must be <wanted>, got <given> (<type>)'."""
    return f"{what} must be {wanted}, got {describe(given)}"
