"""Fashion-MNIST and CIFAR-10 loaders: layout, checksum-verified download into the cache, local
files, errors. Small fake files only; ``remote.fetch`` is always replaced (no network)."""
import gzip
import hashlib
import io
import struct
import tarfile

import numpy as np
import pytest

from scratchnet.datasets import cifar10, fashion_mnist, remote
from scratchnet.datasets.mnist import ChecksumError, DownloadError


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_HOME", str(tmp_path / "home"))

    def no_network(url):
        raise AssertionError(f"test tried to download {url}")
    monkeypatch.setattr(remote, "fetch", no_network)


def idx_bytes(arr):
    return struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) \
        + arr.astype(np.uint8).tobytes()


@pytest.fixture
def fashion(monkeypatch):
    """name -> gzipped IDX bytes of a 5-train/2-test set; the known MD5s patched to them."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5),
              rng.integers(0, 256, (2, 28, 28)), rng.integers(0, 10, 2)]
    files = {}
    for name, arr in zip(fashion_mnist.MD5, arrays):
        files[name] = gzip.compress(idx_bytes(arr))
        monkeypatch.setitem(fashion_mnist.MD5, name, hashlib.md5(files[name]).hexdigest())
    return files, arrays


def test_fashion_mnist_downloads_verified_into_the_cache_once(fashion, tmp_path, monkeypatch):
    files, arrays = fashion
    calls = []

    def fetch(url):
        calls.append(url)
        if url.startswith(fashion_mnist.MIRRORS[0]):
            raise OSError("mirror down")
        return files[url.rsplit("/", 1)[1][:-3]]
    monkeypatch.setattr(remote, "fetch", fetch)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (5, 28, 28) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, arrays[0])
    np.testing.assert_array_equal(y_test, arrays[3])
    assert len(calls) == 8   # each file: first mirror failed, second served it
    assert sorted(p.name for p in (tmp_path / "home" / "fashion_mnist").iterdir()) == sorted(
        n + ".gz" for n in files)
    monkeypatch.setattr(remote, "fetch", lambda url: pytest.fail("downloaded again"))
    np.testing.assert_array_equal(fashion_mnist.load_data()[0][0], arrays[0])


def test_fashion_mnist_rejects_a_bad_download_and_writes_nothing(fashion, tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "fetch", lambda url: b"not the file")
    with pytest.raises(DownloadError, match="MD5 mismatch"):
        fashion_mnist.load_data()
    assert not (tmp_path / "home" / "fashion_mnist").exists()


def test_fashion_mnist_from_a_directory_gz_or_not(fashion, tmp_path):
    files, arrays = fashion
    folder = tmp_path / "fm"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(gzip.decompress(data))      # decompressed: no checksum
    np.testing.assert_array_equal(fashion_mnist.load_data(folder)[1][0], arrays[2])
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"corrupt"))
    with pytest.raises(ChecksumError, match="MD5"):
        fashion_mnist.load_data(folder)
    with pytest.raises(NotADirectoryError, match="does not exist"):
        fashion_mnist.load_data(tmp_path / "nowhere")


def cifar_archive(train_per_batch=2, test=3):
    """A tiny archive in the binary layout: label byte + R, G, B planes per record."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5 * train_per_batch + test, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, len(images), dtype=np.uint8)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        names = list(cifar10.TRAIN) + list(cifar10.TEST)
        bounds = [i * train_per_batch for i in range(6)] + [len(images)]
        for name, start, stop in zip(names, bounds[:-1], bounds[1:]):
            raw = b"".join(bytes([labels[i]]) + images[i].transpose(2, 0, 1).tobytes()
                           for i in range(start, stop))
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue(), images, labels


def test_cifar10_layout_matches_keras(tmp_path, monkeypatch):
    data, images, labels = cifar_archive()
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(data).hexdigest())
    monkeypatch.setattr(remote, "fetch", lambda url: data)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and y_train.shape == (10, 1)
    assert x_train.dtype == y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, images[:10])
    np.testing.assert_array_equal(x_test, images[10:])
    np.testing.assert_array_equal(y_test[:, 0], labels[10:])
    assert (tmp_path / "home" / "cifar10" / cifar10.ARCHIVE).is_file()


def test_cifar10_refuses_wrong_archives(tmp_path, monkeypatch):
    data, _, _ = cifar_archive()
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / cifar10.ARCHIVE).write_bytes(data)
    with pytest.raises(ChecksumError, match="MD5"):      # the real MD5 is not this file's
        cifar10.load_data(folder)
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(b"x").hexdigest())
    (folder / cifar10.ARCHIVE).write_bytes(b"x")
    with pytest.raises(ValueError, match="damaged archive"):
        cifar10.load_data(folder)
    with pytest.raises(DownloadError, match="Are you offline"):
        monkeypatch.setattr(remote, "fetch", lambda url: (_ for _ in ()).throw(OSError("no")))
        cifar10.load_data()
