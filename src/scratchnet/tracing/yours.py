"""Reading the user's tensors: ``<name>.npy``, ``<name>.bin`` (raw little-endian float32, or
float64 with ``dtype="float64"``), ``<name>.txt`` / ``<name>.csv`` (numbers separated by
whitespace or commas, C order). Nothing outside the user's directory is ever opened.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import BundleError, inside

EXTENSIONS = (".npy", ".bin", ".txt", ".csv")
DTYPES = {"float32": "<f4", "float64": "<f8"}
TEXT_BYTES_PER_ENTRY = 64       # a generous bound for one printed number and its separator


def find(root: Path, name: str) -> Path | None:
    """The user's file for tensor ``name`` (first of EXTENSIONS present), or None."""
    for ext in EXTENSIONS:
        path = inside(root, name + ext, f"your tensor {name!r}")
        if os.path.lexists(path):
            return path
    return None


def load(path: Path, name: str, count: int, dtype: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """(flat float64 values, the shape the file declares: () for .bin and text files)."""
    try:
        if not path.is_file():
            raise BundleError(f"your tensor {name!r}: {path} is not a regular file")
        size = path.stat().st_size
        if path.suffix == ".bin":
            return _load_bin(path, name, count, dtype, size), ()
        if path.suffix == ".npy":
            return _load_npy(path, name, count, size)
        return _load_text(path, name, count, size), ()
    except OSError as err:
        raise BundleError(f"your tensor {name!r}: cannot read {path} ({err})") from None


def _load_bin(path: Path, name: str, count: int, dtype: str, size: int) -> np.ndarray:
    itemsize = np.dtype(DTYPES[dtype]).itemsize
    if size != count * itemsize:
        other = "float64" if dtype == "float32" else "float32"
        hint = (f"; it is the size of {other}: pass --dtype {other}"
                if size == count * np.dtype(DTYPES[other]).itemsize else "")
        raise BundleError(f"your tensor {name!r}: {path.name} has {size:,} bytes, expected "
                          f"{count * itemsize:,} ({count:,} {dtype} entries){hint}")
    return np.fromfile(path, dtype=DTYPES[dtype]).astype(np.float64)


def _load_npy(path: Path, name: str, count: int, size: int) -> tuple[np.ndarray, tuple[int, ...]]:
    if size > count * 16 + (1 << 16):
        raise BundleError(f"your tensor {name!r}: {path.name} has {size:,} bytes, far more than "
                          f"{count:,} numbers need; refused")
    try:
        array: Any = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as err:
        raise BundleError(f"your tensor {name!r}: {path.name} is not a readable .npy file "
                          f"({err})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiub":
        raise BundleError(f"your tensor {name!r}: {path.name}: expected a numeric array, got "
                          f"{getattr(array, 'dtype', type(array).__name__)}")
    if array.size != count:
        raise BundleError(f"your tensor {name!r}: {path.name} has shape {array.shape} "
                          f"({array.size:,} entries), expected {count:,} entries")
    return array.astype(np.float64).reshape(-1), tuple(array.shape)


def _load_text(path: Path, name: str, count: int, size: int) -> np.ndarray:
    if size > count * TEXT_BYTES_PER_ENTRY + 4096:
        raise BundleError(f"your tensor {name!r}: {path.name} has {size:,} bytes, far more than "
                          f"{count:,} numbers need; refused")
    text = path.read_text(encoding="utf-8", errors="replace")
    tokens = text.replace(",", " ").split()
    try:
        values = np.array([float(token) for token in tokens], dtype=np.float64)
    except ValueError as err:
        raise BundleError(f"your tensor {name!r}: {path.name}: expected numbers separated by "
                          f"whitespace or commas ({err})") from None
    if values.size != count:
        raise BundleError(f"your tensor {name!r}: {path.name} holds {values.size:,} numbers, "
                          f"expected {count:,}")
    return values
