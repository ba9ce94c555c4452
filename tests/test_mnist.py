"""MNIST loader and IDX parser. No test touches the network: ``_fetch`` is always mocked."""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from scratchnet.datasets import mnist
from scratchnet.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, gunzip, read_idx

NAMES = list(mnist.SHA256)  # train-images, train-labels, t10k-images, t10k-labels


def idx_bytes(arr: np.ndarray) -> bytes:
    """Independent IDX writer (ubyte): 0x0000, 0x08, ndim, big-endian dims, payload."""
    return struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) \
        + arr.astype(np.uint8).tobytes()


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Isolated cache dir, and a `_fetch` that fails the test if anything downloads."""
    monkeypatch.setenv("SCRATCHNET_HOME", str(tmp_path / "home"))

    def no_network(url):
        raise AssertionError(f"test tried to download {url}")

    monkeypatch.setattr(mnist, "_fetch", no_network)
    return tmp_path / "home" / "mnist"


@pytest.fixture
def fake(monkeypatch):
    """A tiny MNIST-shaped dataset (6 train, 3 test): raw IDX bytes per file name.

    The known checksums are patched to this data, so loader/downloader logic is tested
    without gunzipping 47 MB each time.
    """
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (6, 28, 28)), rng.integers(0, 10, 6),
              rng.integers(0, 256, (3, 28, 28)), rng.integers(0, 10, 3)]
    raw = {name: idx_bytes(a) for name, a in zip(NAMES, arrays)}
    for name, data in raw.items():
        monkeypatch.setitem(mnist.SHA256, name, hashlib.sha256(data).hexdigest())
    return raw


def write_set(folder: Path, raw: dict, gz: bool = True, names=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in raw.items():
        filename = (names or {}).get(name, name)
        if gz:
            (folder / (filename + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / filename).write_bytes(data)
    return folder


def check_equal(result, raw):
    (x_train, y_train), (x_test, y_test) = result
    for arr, name in zip((x_train, y_train, x_test, y_test), NAMES):
        np.testing.assert_array_equal(arr, read_idx(raw[name]))
        assert arr.dtype == np.uint8


# -- the bundled real files ---------------------------------------------------------------

def test_bundled_load_matches_keras_layout():
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8 and a.flags.writeable and a.flags.c_contiguous
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.min() == 0 and x_train.max() == 255 and x_test.max() == 255
    assert set(np.unique(y_train)) == set(range(10))


def test_repeated_loads_return_independent_copies():
    (x1, y1), _ = mnist.load_data()
    first = x1[0].copy()
    x1[0] = 7  # callers may modify their arrays in place...
    y1[0] = 9
    (x2, y2), _ = mnist.load_data()  # ...without corrupting the in-process cache
    assert y2[0] == 5 and not np.shares_memory(x1, x2)
    np.testing.assert_array_equal(x2[0], first)


def test_checksum_mismatch_names_file_and_hashes(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in NAMES:
        if name != "train-labels-idx1-ubyte":
            shutil.copy(mnist.BUNDLED_DIR / (name + ".gz"), folder)
    raw = bytearray(gzip.decompress((mnist.BUNDLED_DIR / "train-labels-idx1-ubyte.gz")
                                    .read_bytes()))
    raw[8] = 6  # first label 5 -> 6; still a well-formed IDX file
    (folder / "train-labels-idx1-ubyte").write_bytes(raw)
    expected = mnist.SHA256["train-labels-idx1-ubyte"]
    got = hashlib.sha256(raw).hexdigest()
    with pytest.raises(mnist.ChecksumError) as err:
        mnist.load_data(path=folder)
    message = str(err.value)
    assert "train-labels-idx1-ubyte" in message and expected in message and got in message
    # verify=False accepts other data in the same layout
    (_, y_train), _ = mnist.load_data(path=folder, verify=False)
    assert y_train[:2].tolist() == [6, 0]


# -- explicit directories -----------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_load_from_directory(tmp_path, fake, gz):
    folder = write_set(tmp_path / "d", fake, gz=gz)
    check_equal(mnist.load_data(path=str(folder)), fake)


def test_load_accepts_dotted_idx_names(tmp_path, fake):
    names = {n: n.replace("-idx", ".idx") for n in NAMES}  # "train-images.idx3-ubyte"
    check_equal(mnist.load_data(path=write_set(tmp_path / "d", fake, False, names)), fake)


def test_path_must_be_a_directory(tmp_path):
    with pytest.raises(NotADirectoryError, match="does not exist"):
        mnist.load_data(path=tmp_path / "missing")
    (tmp_path / "mnist.npz").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        mnist.load_data(path=tmp_path / "mnist.npz")


def test_image_label_count_mismatch(tmp_path, fake):
    fake["train-labels-idx1-ubyte"] = idx_bytes(np.zeros(5))
    folder = write_set(tmp_path / "d", fake)
    with pytest.raises(ValueError, match="6 images but 5 labels"):
        mnist.load_data(path=folder, verify=False)


# -- malformed files: always a ValueError naming the file ---------------------------------

LABELS = idx_bytes(np.arange(10))
IMAGES = idx_bytes(np.zeros((2, 28, 28)))
BAD = {
    "truncated": (IMAGES[:-1], r"truncated.*expected 1568 payload bytes, got 1567"),
    "trailing": (IMAGES + b"\0\0", r"trailing bytes.*expected 1568 payload bytes, got 1570"),
    "wrong-magic": (LABELS, r"wrong IDX magic number 2049.*expected 2051"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(100), "not an IDX file"),
    "random": (np.random.default_rng(1).bytes(3000) + b"\xff", "not an IDX file"),
    "empty": (b"", "empty"),
    "header-only": (IMAGES[:10], "truncated IDX header"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_read_idx_rejects(case):
    data, pattern = BAD[case]
    with pytest.raises(ValueError, match=pattern) as err:
        read_idx(data, expected_magic=IMAGES_MAGIC, name="f.idx")
    assert "f.idx" in str(err.value)


@pytest.mark.parametrize("case", list(BAD))
def test_load_data_rejects_bad_images_file(tmp_path, fake, case):
    data, pattern = BAD[case]
    folder = write_set(tmp_path / "d", fake, gz=False)
    (folder / "train-images-idx3-ubyte").write_bytes(data)
    with pytest.raises(ValueError, match=pattern) as err:
        mnist.load_data(path=folder, verify=False)
    assert "train-images-idx3-ubyte" in str(err.value)


def test_read_idx_shapes_and_zero_copy():
    arr = read_idx(LABELS, expected_magic=LABELS_MAGIC)
    assert arr.shape == (10,) and arr.dtype == np.uint8 and not arr.flags.owndata
    assert read_idx(IMAGES, expected_magic=IMAGES_MAGIC).shape == (2, 28, 28)


GZ = gzip.compress(LABELS)
BAD_GZ = {
    "not-gzip": (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a gzip file"),
    "empty": (b"", "empty"),
    "truncated": (GZ[: len(GZ) // 2], "corrupted or truncated gzip"),
    "bad-crc": (GZ[:-8] + bytes(8), "corrupted or truncated gzip"),
    "bad-deflate": (GZ[:10] + b"\xff" * 20 + GZ[30:], "corrupted or truncated gzip"),
}


@pytest.mark.parametrize("case", list(BAD_GZ))
def test_bad_gzip_is_a_value_error(tmp_path, fake, case):
    data, pattern = BAD_GZ[case]
    with pytest.raises(ValueError, match=pattern):
        gunzip(data, "x.gz")
    folder = write_set(tmp_path / "d", fake)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(data)
    with pytest.raises(ValueError, match=pattern) as err:
        mnist.load_data(path=folder)
    assert "t10k-labels-idx1-ubyte.gz" in str(err.value)


# -- downloads (mocked) ---------------------------------------------------------------------

def test_download_writes_verified_files_atomically(tmp_path, fake, offline, monkeypatch):
    calls, replaced = [], []

    def fetch(url):
        calls.append(url)
        if url.startswith(mnist.MIRRORS[0]):
            raise urllib.error.URLError("first mirror down")
        return gzip.compress(fake[url.rsplit("/", 1)[1][:-3]])

    real_replace = os.replace

    def spy_replace(src, dst):
        replaced.append((Path(src), Path(dst)))
        assert Path(dst).parent == Path(src).parent and not Path(dst).exists()
        real_replace(src, dst)

    monkeypatch.setattr(mnist, "_fetch", fetch)
    monkeypatch.setattr(mnist.os, "replace", spy_replace)
    empty = tmp_path / "empty"
    empty.mkdir()
    check_equal(mnist.load_data(path=empty), fake)
    assert len(calls) == 8 and calls[1] == mnist.MIRRORS[1] + "train-images-idx3-ubyte.gz"
    assert sorted(p.name for p in offline.iterdir()) == sorted(n + ".gz" for n in NAMES)
    assert [dst for _, dst in replaced] == [offline / (n + ".gz") for n in NAMES]
    # the second load is served from the cache directory, without fetching
    calls.clear()
    check_equal(mnist.load_data(path=empty), fake)
    assert calls == []


def test_download_rejects_wrong_bytes_and_leaves_no_file(tmp_path, fake, offline, monkeypatch):
    monkeypatch.setattr(mnist, "_fetch", lambda url: gzip.compress(LABELS))
    monkeypatch.setattr(mnist, "BUNDLED_DIR", tmp_path / "nothing")
    with pytest.raises(mnist.DownloadError, match="SHA-256 mismatch") as err:
        mnist.load_data()
    assert "offline" not in str(err.value)
    assert not offline.exists() or list(offline.iterdir()) == []


def test_offline_error_says_where_to_put_files(tmp_path, offline, monkeypatch):
    def fetch(url):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(mnist, "_fetch", fetch)
    monkeypatch.setattr(mnist, "BUNDLED_DIR", tmp_path / "nothing")
    with pytest.raises(mnist.DownloadError) as err:
        mnist.load_data()
    message = str(err.value)
    assert "Are you offline?" in message and str(offline) in message
    assert "train-images-idx3-ubyte.gz" in message and "path=" in message
    assert all(m in message for m in mnist.MIRRORS)
    assert not offline.exists() or list(offline.iterdir()) == []
