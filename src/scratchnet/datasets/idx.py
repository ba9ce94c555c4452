"""Read IDX files, the format of the MNIST distribution, with strict validation.

IDX layout (big-endian): two zero bytes, a dtype code byte, a byte giving the number of
dimensions ``ndim``, then ``ndim`` unsigned 32-bit sizes, then the payload in C order.
MNIST images have magic 2051 (0x00000803: ubyte, 3 dims = count, rows, cols) and labels
magic 2049 (0x00000801: ubyte, 1 dim = count).

Every malformed input (empty, truncated, trailing bytes, not IDX, broken gzip) raises a
``ValueError`` that names the file, never a low-level traceback from gzip/zlib/NumPy.
"""
from __future__ import annotations

import gzip
import math
import zlib

import numpy as np

IMAGES_MAGIC = 0x00000803  # 2051
LABELS_MAGIC = 0x00000801  # 2049
GZIP_MAGIC = b"\x1f\x8b"

# IDX dtype codes. Multi-byte types are big-endian on disk.
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def gunzip(data: bytes, name: str = "<bytes>") -> bytes:
    """Decompress gzip ``data``; a non-gzip or damaged stream -> ValueError naming ``name``."""
    if len(data) == 0:
        raise ValueError(f"{name}: file is empty, expected gzip-compressed IDX data")
    if data[:2] != GZIP_MAGIC:
        raise ValueError(f"{name}: not a gzip file (starts with {bytes(data[:8])!r}, "
                         f"gzip starts with {GZIP_MAGIC!r})")
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise ValueError(f"{name}: corrupted or truncated gzip data "
                         f"({type(exc).__name__}: {exc})") from exc


def read_idx(data: bytes, expected_magic: int | None = None,
             name: str = "<bytes>") -> np.ndarray:
    """Parse decompressed IDX ``data`` into an array of shape ``dims`` from its header.

    ``expected_magic``: e.g. ``IMAGES_MAGIC`` (-> shape (count, rows, cols), uint8) or
    ``LABELS_MAGIC`` (-> shape (count,), uint8). ``name`` is used in error messages.
    uint8/int8 data is a zero-copy, read-only ``np.frombuffer`` view of ``data``; wider types
    are converted once to native byte order.
    """
    n = len(data)
    if n < 4:
        what = "file is empty" if n == 0 else f"only {n} bytes"
        raise ValueError(f"{name}: not an IDX file ({what}; the header alone is at least "
                         "4 bytes)")
    magic = int.from_bytes(data[:4], "big")
    code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or code not in _DTYPES or ndim == 0:
        raise ValueError(f"{name}: not an IDX file (magic 0x{magic:08x}; IDX starts with two "
                         "zero bytes, a dtype code 0x08-0x0e and ndim >= 1)")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{name}: wrong IDX magic number {magic} (0x{magic:08x}), expected "
                         f"{expected_magic} (0x{expected_magic:08x}); is it the right file?")
    header = 4 + 4 * ndim
    if n < header:
        raise ValueError(f"{name}: truncated IDX header: {ndim} dims need {header} bytes, "
                         f"got {n}")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[code]
    count = math.prod(dims)
    expected, got = count * dtype.itemsize, n - header
    if got != expected:
        problem = "truncated" if got < expected else "trailing bytes"
        raise ValueError(f"{name}: {problem}: header says shape {dims} of {dtype.name}, so "
                         f"expected {expected} payload bytes, got {got}")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr
