"""The trace bundle on disk: ``manifest.json`` plus one raw float32 ``.bin`` and one ``.npy`` per
tensor, and the careful reader that ``compare`` uses on bundles it did not write.

Format (version 1, specified in docs/implement-it-yourself.md)::

    manifest.json   {"format": "scratchnet-trace", "version": 1, "model": ..., "loss": ...,
                     "optimizer": ..., "order": [names], "tensors": {name: {"shape", "dtype",
                     "file", "npy", "layout", "meaning"}}, "layers": [...]}
    <name>.bin      little-endian float32, C order: one fread of prod(shape) * 4 bytes
    <name>.npy      the same array as NumPy's .npy

Reading never follows a path out of the bundle's directory (symlinks included), never loads a
file whose size does not match its declared shape, and refuses shapes above MAX_ELEMENTS.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "scratchnet-trace"
VERSION = 1
MAX_ELEMENTS = 1 << 27          # 128 Mi float32 entries (512 MiB) per tensor: far above any trace
MAX_MANIFEST_BYTES = 16 << 20
MAX_RANK = 8
NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class BundleError(ValueError):
    """A bundle (the reference or the user's) that cannot be read: one clear line, exit 2."""


def check_name(name: Any) -> str:
    """Tensor names are relative paths of plain parts: ``conv2d/grad_kernel``."""
    if not isinstance(name, str) or not name or len(name) > 255 or not all(
            NAME_PART.match(part) and part not in (".", "..") for part in name.split("/")):
        raise BundleError(f"expected a tensor name made of /-separated parts of letters, digits, "
                          f"'_', '.', '-', got {name!r}")
    return name


def inside(root: Path, relative: str, what: str) -> Path:
    """``root/relative``, refused if it is absolute, climbs with '..', or resolves (through any
    symlink) to somewhere outside ``root``."""
    if not isinstance(relative, str) or not relative or relative.startswith(("/", "\\")) \
            or "\\" in relative or ".." in relative.split("/") or "\x00" in relative:
        raise BundleError(f"{what}: expected a relative path inside the bundle, got {relative!r}")
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, relative))
    if os.path.commonpath([real_root, real]) != real_root:
        raise BundleError(f"{what}: {relative!r} leads outside {root} (to {real}); refused")
    return Path(real)


# --- writing -----------------------------------------------------------------------------------
class BundleWriter:
    """Collects tensors in execution order, then writes the whole bundle at once."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.entries: dict[str, dict[str, Any]] = {}

    def add(self, name: str, value: Any, layout: str, meaning: str) -> None:
        check_name(name)
        if name in self.arrays:
            raise ValueError(f"tensor {name!r} recorded twice")
        array = np.ascontiguousarray(np.asarray(value, dtype=np.float64).astype("<f4"))
        self.order.append(name)
        self.arrays[name] = array
        self.entries[name] = {"shape": list(array.shape), "dtype": "float32",
                              "file": f"{name}.bin", "npy": f"{name}.npy",
                              "layout": layout, "meaning": meaning}

    def write(self, path: str | os.PathLike[str], meta: dict[str, Any]) -> Path:
        """Write into a fresh sibling directory, then move it into place: a reader sees the old
        bundle or the complete new one. An existing ``path`` is replaced only if it is empty or a
        trace bundle itself (never someone's other files)."""
        target = Path(path)
        _check_replaceable(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            for name in self.order:
                file = staging / f"{name}.bin"
                file.parent.mkdir(parents=True, exist_ok=True)
                self.arrays[name].tofile(file)
                np.save(staging / f"{name}.npy", self.arrays[name], allow_pickle=False)
            manifest = {"format": FORMAT, "version": VERSION, **meta, "order": self.order,
                        "tensors": self.entries}
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                target.rename(old)
                staging.rename(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


def _check_replaceable(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir() or target.is_symlink():
        raise ValueError(f"--out {target}: expected a directory for the trace, got an existing "
                         f"file; choose another path")
    if any(target.iterdir()) and not _is_bundle(target):
        raise ValueError(f"--out {target}: the directory holds other files (no trace "
                         f"manifest.json); choose an empty or new directory")


def _is_bundle(directory: Path) -> bool:
    try:
        return json.loads((directory / "manifest.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


# --- reading -----------------------------------------------------------------------------------
def element_count(shape: Any, what: str) -> int:
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise BundleError(f"{what}: expected a shape list of at most {MAX_RANK} non-negative "
                          f"integers, got {shape!r}")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise BundleError(f"{what}: declared shape {shape} has {count:,} entries, above the "
                          f"limit of {MAX_ELEMENTS:,}; refused")
    return count


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The validated manifest of the reference bundle at ``directory``."""
    root = Path(directory)
    if not root.is_dir():
        raise BundleError(f"{root}: expected a trace directory (with manifest.json), "
                          f"got {'a file' if root.exists() else 'nothing'}")
    path = inside(root, "manifest.json", f"{root}")
    if not path.is_file():
        raise BundleError(f"{root}: no manifest.json; expected a directory written by "
                          f"'scratchnet trace'")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{path}: {path.stat().st_size:,} bytes, above the "
                          f"{MAX_MANIFEST_BYTES:,}-byte limit for a manifest; refused")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise BundleError(f"{path}: expected JSON, could not parse it ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: expected \"format\": \"{FORMAT}\", got "
                          f"{manifest.get('format') if isinstance(manifest, dict) else manifest!r}")
    if manifest.get("version") != VERSION:
        raise BundleError(f"{path}: this scratchnet reads trace format version {VERSION}, "
                          f"got version {manifest.get('version')!r}")
    order, tensors = manifest.get("order"), manifest.get("tensors")
    if not isinstance(order, list) or not isinstance(tensors, dict):
        raise BundleError(f"{path}: expected \"order\" (a list) and \"tensors\" (an object)")
    for name in order:
        check_name(name)
        entry = tensors.get(name)
        if not isinstance(entry, dict):
            raise BundleError(f"{path}: tensor {name!r} is in \"order\" but has no entry")
        if entry.get("dtype") != "float32":
            raise BundleError(f"{path}: tensor {name!r}: expected dtype float32, "
                              f"got {entry.get('dtype')!r}")
        element_count(entry.get("shape"), f"{path}: tensor {name!r}")
        inside(root, entry.get("file"), f"{path}: tensor {name!r}")
    return manifest


def load_reference(directory: str | os.PathLike[str], manifest: dict[str, Any],
                   name: str) -> np.ndarray:
    """Tensor ``name`` of a validated manifest, from its .bin file, as float32."""
    entry = manifest["tensors"][name]
    shape = entry["shape"]
    path = inside(Path(directory), entry["file"], f"reference tensor {name!r}")
    expected = math.prod(shape) * 4
    try:
        if not path.is_file():
            raise BundleError(f"reference tensor {name!r}: file {entry['file']} is missing")
        size = path.stat().st_size
        if size != expected:
            raise BundleError(f"reference tensor {name!r}: {entry['file']} has {size:,} bytes, "
                              f"expected {expected:,} (shape {shape} x 4-byte float32)")
        return np.fromfile(path, dtype="<f4").reshape(shape)
    except OSError as err:
        raise BundleError(f"reference tensor {name!r}: cannot read {entry['file']} ({err})") \
            from None
