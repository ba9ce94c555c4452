"""Fashion-MNIST (Zalando Research, MIT licence), loaded like
``keras.datasets.fashion_mnist.load_data()``. Not bundled: downloaded once into the cache.

Same IDX layout and file names as MNIST. Checksums are the publisher's MD5 of the ``.gz`` files
(github.com/zalandoresearch/fashion-mnist); a decompressed copy you provide has no published
checksum and is checked for its IDX structure only.
"""
from __future__ import annotations

import os

import numpy as np

from . import remote
from .idx import GZIP_MAGIC, IMAGES_MAGIC, LABELS_MAGIC, gunzip, read_idx

MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",   # Keras's own
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
MD5 = {   # order = order of the returned arrays
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")


def load_data(path: str | os.PathLike[str] | None = None, verify: bool = True):
    """``((x_train, y_train), (x_test, y_test))``: x uint8 (60000, 28, 28) / (10000, 28, 28),
    y uint8 (60000,) / (10000,) in 0..9 (see CLASS_NAMES).

    path: a directory holding the four files (``.gz`` or decompressed); None for the cache,
    filled by a download the first time.
    """
    directory = remote.check_dir(path, "fashion_mnist.load_data")
    arrays = []
    for name, md5 in MD5.items():
        file, data = remote.locate("fashion_mnist", name + ".gz", md5, MIRRORS, directory,
                                   verify, alternatives=(name,))
        if data[:2] == GZIP_MAGIC:
            data = gunzip(data, str(file))
        arrays.append(read_idx(data, IMAGES_MAGIC if "images" in name else LABELS_MAGIC,
                               str(file)).copy())
    x_train, y_train, x_test, y_test = arrays
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y):
            raise ValueError(f"Fashion-MNIST {split} split: {len(x)} images but {len(y)} labels")
    return (x_train, y_train.astype(np.uint8)), (x_test, y_test.astype(np.uint8))
