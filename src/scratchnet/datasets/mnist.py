"""MNIST handwritten digits, loaded like ``keras.datasets.mnist.load_data()``.

The four original IDX files ship with scratchnet in ``data/mnist`` (MNIST by Yann LeCun and
Corinna Cortes, CC BY-SA 3.0; see the README there). Only IDX is read: nothing is unpickled.

Lookup order for each file: ``path`` (or the bundled directory when ``path`` is None), then
the cache directory (``$SCRATCHNET_HOME/mnist``, default ``~/.cache/scratchnet/mnist``), then
a download from ``MIRRORS`` into the cache. Files may be gzipped (``*.gz``) or not.
"""
from __future__ import annotations

import functools
import hashlib
import http.client
import os
import urllib.request
from pathlib import Path

import numpy as np

from ..files import atomic_write
from .idx import GZIP_MAGIC, IMAGES_MAGIC, LABELS_MAGIC, gunzip, read_idx

BUNDLED_DIR = Path(__file__).resolve().parent / "data" / "mnist"
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
# SHA-256 of the *decompressed* IDX files: gzip headers differ between the bundle and the
# mirrors, the IDX bytes do not. Order = order of the returned arrays.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_MAGIC = {name: IMAGES_MAGIC if "images" in name else LABELS_MAGIC for name in SHA256}
_FETCH_TIMEOUT_S = 60


class ChecksumError(ValueError):
    """A file's decompressed bytes do not have the known SHA-256."""


class DownloadError(OSError):
    """A missing file could not be downloaded from any mirror (offline, or bad data)."""


def cache_dir() -> Path:
    """Directory where downloaded files are stored."""
    home = os.environ.get("SCRATCHNET_HOME")
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "scratchnet"
    return root / "mnist"


def load_data(path: str | os.PathLike[str] | None = None, verify: bool = True):
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``, like Keras.

    Shapes/dtypes: x_train (60000, 28, 28) uint8 in 0..255, y_train (60000,) uint8 in 0..9,
    x_test (10000, 28, 28) uint8, y_test (10000,) uint8.

    path: None for the bundled files (so is Keras's cache file name, e.g. "mnist.npz"), or a
        directory holding the four IDX files, named
        e.g. ``train-images-idx3-ubyte.gz`` or ``train-images-idx3-ubyte``.
    verify: check the SHA-256 of each local file's decompressed bytes (ChecksumError on
        mismatch). verify=False allows other datasets in the same layout (Fashion-MNIST);
        downloads are always verified.

    Parsed arrays are cached per (file, mtime, size) in this process, so repeated calls skip
    gzip and hashing (call ``clear_cache()`` to free ~55 MB). Each call returns fresh,
    writable copies, as Keras does, so callers may modify them in place.
    """
    if path is not None and str(path).endswith(".npz") and not os.path.exists(path):
        path = None   # Keras's cache file name (path="mnist.npz"): the bundled copy serves
    directory = _check_dir(path)
    arrays = []
    for name, sha in SHA256.items():
        file = _locate(name, directory)
        st = file.stat()
        arrays.append(_load_file(str(file), st.st_mtime_ns, st.st_size,
                                 sha if verify else None, _MAGIC[name]))
    x_train, y_train, x_test, y_test = arrays
    _check_split(x_train, y_train, "train")
    _check_split(x_test, y_test, "test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"train images are {x_train.shape[1:]} but test images are "
                         f"{x_test.shape[1:]}")
    return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())


def clear_cache() -> None:
    """Drop the in-process cache of parsed files."""
    _load_file.cache_clear()


def _fetch(url: str) -> bytes:
    """Download ``url``. Module-level so tests can replace it (they never use the network)."""
    request = urllib.request.Request(url, headers={"User-Agent": "scratchnet"})
    with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_S) as response:
        return response.read()


def _check_dir(path: str | os.PathLike[str] | None) -> Path | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_dir():
        state = "is a file" if p.exists() else "does not exist"
        # Keras' `path` names an .npz file; ours is a directory of IDX files.
        raise NotADirectoryError(f"mnist.load_data(path={str(path)!r}): {state}; path must be "
                                 "a directory holding the four MNIST IDX files")
    return p


def _candidates(name: str) -> tuple[str, ...]:
    # The .gz as published, the decompressed file, and the "train-images.idx3-ubyte"
    # spelling of some redistributions.
    return name + ".gz", name, name.replace("-idx", ".idx")


def _locate(name: str, directory: Path | None) -> Path:
    searched = [directory or BUNDLED_DIR]
    if cache_dir() != searched[0]:
        searched.append(cache_dir())
    for folder in searched:
        for candidate in _candidates(name):
            if (folder / candidate).is_file():
                return folder / candidate
    return _download(name, cache_dir(), searched)


def _download(name: str, dest: Path, searched: list[Path]) -> Path:
    filename = name + ".gz"  # the mirrors only serve the gzipped files
    errors, network_only = [], True
    for mirror in MIRRORS:
        url = mirror + filename
        try:
            data = _fetch(url)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError is OSError
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        try:  # verify before anything touches the disk, so bad bytes leave no file
            _verify(gunzip(data, url), SHA256[name], url)
        except ValueError as exc:
            errors.append(str(exc))
            network_only = False
            continue
        atomic_write(dest / filename, data)
        return dest / filename
    hint = "Are you offline? " if network_only else ""
    where = " or ".join(str(p) for p in searched)
    raise DownloadError(
        f"MNIST file {filename} is not in {where} and could not be downloaded:\n  "
        + "\n  ".join(errors)
        + f"\n{hint}Put the four files ({', '.join(n + '.gz' for n in SHA256)}; "
        f"gzipped or not) in {dest}, or pass mnist.load_data(path=<directory holding them>).")


def _verify(raw: bytes, expected: str, name: str) -> None:
    got = hashlib.sha256(raw).hexdigest()
    if got != expected:
        raise ChecksumError(f"{name}: SHA-256 mismatch of the decompressed IDX data: expected "
                            f"{expected}, got {got}. The file is corrupted or not the MNIST "
                            "file of that name; replace or delete it (it is then downloaded "
                            "again), or pass verify=False for another dataset in IDX format.")


@functools.lru_cache(maxsize=8)
def _load_file(file: str, mtime_ns: int, size: int, sha256: str | None,
               magic: int) -> np.ndarray:
    # mtime_ns/size are only cache-key parts: a replaced file is re-read.
    data = Path(file).read_bytes()
    if file.endswith(".gz") or data[:2] == GZIP_MAGIC:
        data = gunzip(data, file)
    if sha256 is not None:
        _verify(data, sha256, file)
    arr = read_idx(data, expected_magic=magic, name=file)
    arr.flags.writeable = False  # shared by all callers; load_data hands out copies
    return arr


def _check_split(x: np.ndarray, y: np.ndarray, split: str) -> None:
    # Magic numbers already fix x to (count, rows, cols) and y to (count,).
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"MNIST {split} split: {x.shape[0]} images but {y.shape[0]} labels")
