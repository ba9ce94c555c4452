"""Datasets in Keras' layout: ``scratchnet.datasets.mnist.load_data()`` (bundled), and
``fashion_mnist`` and ``cifar10`` (downloaded once, checksum-verified, cached)."""
from . import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
