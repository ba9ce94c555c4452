"""The model file container: a safetensors file, read with limits (written with files.atomic_write).

Everything here runs before a single weight is allocated: the file size is capped, the header
length is capped, the JSON header is parsed without evaluating anything, and every tensor entry's
dtype, shape and byte range are checked against each other and against the file's real size.
"""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFileError

FORMAT = "scratchnet"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 * 2**20
MAX_FILE_BYTES = 4 * 2**30
_DTYPES = {"F32": np.float32, "F64": np.float64}


def read_file(path: Path, max_bytes: int) -> bytes:
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file.")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a regular file.")
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelFileError(f"{path}: {size:,} bytes exceeds the model file limit of "
                             f"{max_bytes:,} bytes (pass max_bytes= to raise it).")
    with open(path, "rb") as handle:
        # read(n) reserves n bytes up front: ask for the size stat() reported, not the limit.
        data = handle.read(size)
        if handle.read(1):
            raise ModelFileError(f"{path}: the file grew while being read; try again.")
    return data


def _hint(data: bytes) -> str:
    """What the file looks like, for error messages (never acted upon)."""
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return " It looks like a pickle file: scratchnet never unpickles files."
    if data[:2] == b"PK":
        return " It looks like a zip archive (a PyTorch .pt or Keras .keras file?)."
    if data[:8] == b"\x89HDF\r\n\x1a\n":
        return " It looks like an HDF5 file (a Keras .h5 file?)."
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
        return " It looks like an image: give it to 'scratchnet predict MODEL IMAGE'."
    try:
        text = data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return " It looks like a text file." if text.isprintable() or all(
        c.isprintable() or c in "\t\r\n" for c in text) else ""


def _not_a_model_file(path: Path, data: bytes) -> ModelFileError:
    return ModelFileError(f"{path}: not a scratchnet model file: expected a safetensors file "
                          f"written by model.save() (an 8-byte length, then a JSON header), "
                          f"got {len(data):,} bytes starting {data[:8]!r}.{_hint(data)}")


def parse_header(path: Path, data: bytes) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Check the safetensors framing and every tensor entry; returns (entries, meta, start)."""
    if len(data) < 8:
        raise ModelFileError(f"{path}: {len(data)} bytes is too short for a model file "
                             f"(expected an 8-byte header length, then a JSON header)."
                             f"{_hint(data)}")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_HEADER_BYTES or data[8:9] not in (b"{", b""):
        # A length no model file has (or a header that is not JSON) means another kind of
        # file; its first bytes read as a number are meaningless, so they are not quoted.
        raise _not_a_model_file(path, data)
    if 8 + header_len > len(data):
        raise ModelFileError(f"{path}: truncated: header declares {header_len:,} bytes but the "
                             f"file has {len(data) - 8:,} after the length field.{_hint(data)}")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ModelFileError(f"{path}: the header is not valid JSON ({err}); not a scratchnet "
                             f"model file, or corrupted.{_hint(data)}") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the header must be a JSON object, got "
                             f"{type(header).__name__}.")
    raw_meta = header.pop("__metadata__", None)
    if not isinstance(raw_meta, dict) or raw_meta.get("format") != FORMAT \
            or not isinstance(raw_meta.get(FORMAT), str):
        raise ModelFileError(f"{path}: a safetensors file without scratchnet metadata; expected a "
                             f"file written by model.save().")
    try:
        meta = json.loads(raw_meta[FORMAT])
    except (ValueError, RecursionError) as err:
        raise ModelFileError(f"{path}: the scratchnet metadata is not valid JSON ({err}).") \
            from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise ModelFileError(f"{path}: format version {version!r}; this scratchnet reads "
                             f"version {FORMAT_VERSION}.")
    start = 8 + header_len
    body = len(data) - start
    spans = []
    for name, entry in header.items():
        _check_entry(path, name, entry, body)
        spans.append((*entry["data_offsets"], name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise ModelFileError(f"{path}: tensor {name!r} starts at byte {begin}, expected "
                                 f"{position} (overlapping or gapped data: corrupted).")
        position = end
    if position != body:
        raise ModelFileError(f"{path}: {body:,} data bytes but the tensors cover {position:,} "
                             f"(truncated or trailing garbage).")
    return header, meta, start


def _check_entry(path: Path, name: str, entry: Any, body: int) -> None:
    ok = (isinstance(entry, dict) and entry.get("dtype") in _DTYPES
          and isinstance(entry.get("shape"), list)
          and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                  for d in entry["shape"])
          and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2
          and all(isinstance(o, int) and not isinstance(o, bool) and o >= 0
                  for o in entry["data_offsets"]))
    if not ok:
        raise ModelFileError(f"{path}: tensor {name!r} has a malformed entry {entry!r}; expected "
                             f"dtype in {sorted(_DTYPES)}, a shape of ints >= 0 and two offsets.")
    begin, end = entry["data_offsets"]
    nbytes = math.prod(entry["shape"]) * np.dtype(_DTYPES[entry["dtype"]]).itemsize
    if end < begin or end - begin != nbytes:
        raise ModelFileError(f"{path}: tensor {name!r} declares shape {tuple(entry['shape'])} "
                             f"({nbytes:,} bytes as {entry['dtype']}) but spans {end - begin:,} "
                             f"bytes.")
    if end > body:
        raise ModelFileError(f"{path}: tensor {name!r} ends at byte {end:,} of a {body:,}-byte "
                             f"data section (truncated).")


def tensor(data: bytes, start: int, entry: dict[str, Any]) -> np.ndarray:
    begin, end = entry["data_offsets"]
    dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
    array = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize,
                          offset=start + begin)
    # A fresh, aligned, native-order, writable copy (optimizers update weights in place).
    return array.reshape(entry["shape"]).astype(dtype.newbyteorder("="), copy=True)
