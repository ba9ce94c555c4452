"""Keras's file names (``.keras``, ``.h5``, ``.hdf5``, ``.weights.h5``) with scratchnet's content.

``model.save("x.keras")``, ``save_weights("x.weights.h5")`` and ``ModelCheckpoint("x.h5")`` write
scratchnet's safetensors format under the name the user gave, so a Keras program runs unchanged
and ``load_model`` / ``load_weights`` read the file back. The content is *not* Keras's zip or
HDF5: Keras cannot read it, which a one-time warning per process says, so nobody ships such a
file to Keras believing it is one. Real Keras files are recognised on load by their signature
and refused with a message that says so, instead of a parse error.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
_warned = False


class KerasFormatWarning(UserWarning):
    """A file with a Keras name holds scratchnet's format."""


def warn_if_keras_name(path: str | os.PathLike[str], what: str) -> None:
    """Warn once per process when ``path`` has a Keras file name (``what`` names the caller)."""
    global _warned
    if _warned or not str(path).lower().endswith(KERAS_SUFFIXES):
        return
    _warned = True
    warnings.warn(f"{what}: {str(path)!r} has a Keras file name but holds scratchnet's "
                  f"safetensors format (Keras cannot read it; scratchnet.load_model / "
                  f"load_weights can). Use the .snet suffix to avoid the confusion; this "
                  f"warning is shown once.", KerasFormatWarning, stacklevel=3)


def foreign_format(path: str | os.PathLike[str]) -> str | None:
    """'HDF5' or 'zip (.keras)' when the file is one of Keras's real formats, else None."""
    try:
        with open(Path(path), "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    if head.startswith(HDF5_SIGNATURE):
        return "HDF5"
    if head.startswith(ZIP_SIGNATURE):
        return "zip (.keras)"
    return None


def refuse_foreign(path: str | os.PathLike[str], what: str) -> None:
    """Raise a clear error when ``path`` is a file Keras itself wrote."""
    kind = foreign_format(path)
    if kind is not None:
        raise ValueError(f"{what}: {str(path)!r} is a Keras {kind} file, written by Keras "
                         f"itself; scratchnet reads only its own safetensors format. Rebuild "
                         f"the model in scratchnet, or export the weights from Keras as arrays "
                         f"and set them with model.set_weights(...).")
