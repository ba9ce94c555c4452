"""CIFAR-10 (Krizhevsky, 2009), loaded like ``keras.datasets.cifar10.load_data()``.

Not bundled: the publisher's *binary* archive (cifar-10-binary.tar.gz, 162 MB; MD5 from
cs.toronto.edu/~kriz/cifar.html) is downloaded once into the cache. The binary version is read,
never the Python one, whose batches are pickles: nothing is unpickled, and the archive is read
in memory (nothing is extracted). Each record is 1 label byte then 3072 bytes: the red, green and
blue 32x32 planes, row-major.
"""
from __future__ import annotations

import io
import os
import tarfile

import numpy as np

from . import remote

MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
ARCHIVE = "cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
TRAIN = tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6))
TEST = ("cifar-10-batches-bin/test_batch.bin",)
RECORD = 1 + 3 * 32 * 32
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")


def load_data(path: str | os.PathLike[str] | None = None, verify: bool = True):
    """``((x_train, y_train), (x_test, y_test))`` as Keras (channels last):
    x uint8 (50000, 32, 32, 3) / (10000, 32, 32, 3), y uint8 (50000, 1) / (10000, 1) in 0..9.

    path: a directory holding cifar-10-binary.tar.gz; None for the cache (downloaded once).
    """
    directory = remote.check_dir(path, "cifar10.load_data")
    file, data = remote.locate("cifar10", ARCHIVE, MD5, MIRRORS, directory, verify)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            missing = [name for name in TRAIN + TEST if name not in members]
            if missing:
                raise ValueError(f"{file}: not the CIFAR-10 binary archive: it lacks {missing}")
            train = _records(archive, members, TRAIN, file)
            test = _records(archive, members, TEST, file)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(f"{file}: damaged archive ({type(exc).__name__}: {exc}); delete it to "
                         f"download it again") from None
    return train, test


def _records(archive: tarfile.TarFile, members: dict, names: tuple[str, ...], file) -> tuple:
    chunks = []
    for name in names:
        raw = archive.extractfile(members[name]).read()
        if len(raw) % RECORD:
            raise ValueError(f"{file}: {name} has {len(raw)} bytes, not a whole number of "
                             f"{RECORD}-byte records")
        chunks.append(np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD))
    records = np.concatenate(chunks)
    labels = records[:, :1].copy()
    if labels.size and labels.max() > 9:
        raise ValueError(f"{file}: label {labels.max()} out of range 0..9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels
