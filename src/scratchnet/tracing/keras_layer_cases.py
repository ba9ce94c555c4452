"""Golden cases of the layers Keras programs use besides the MNIST ones: BatchNormalization
(training and inference, moving statistics), global pooling (ties), Rescaling, Reshape,
ZeroPadding2D, Cropping2D, UpSampling2D. Same format as ``layer_cases.LAYER_CASES``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import layers

Rng = np.random.Generator


def _ties(rng: Rng, shape: tuple[int, ...]) -> np.ndarray:
    """Small integers: most channels have their maximum more than once."""
    return rng.integers(-1, 2, size=shape).astype(np.float32)


def _shifted(rng: Rng, shape: tuple[int, ...]) -> np.ndarray:
    """Features with means far from 0 and variances far from 1, so normalising shows."""
    scale = rng.uniform(0.5, 3, shape[-1])
    return (rng.standard_normal(shape) * scale + 2 * rng.standard_normal(shape[-1])
            ).astype(np.float32)


def _trained_statistics(layer: Any, rng: Rng) -> None:
    """gamma, beta and the moving statistics as a trained network has them (not 1, 0, 0, 1)."""
    for key, value in layer.params.items():
        if key == "moving_variance":
            value[...] = rng.uniform(0.5, 2.0, value.shape)
        else:
            value[...] = rng.normal(0.5 if key == "gamma" else 0, 1, value.shape)


def _bn(about: str, shape: tuple[int, ...], training: bool, **options: Any) -> tuple:
    return (about, lambda: layers.BatchNormalization(**options), shape,
            {"x": _shifted, "training": training, "weights": _trained_statistics})


KERAS_LAYER_CASES: dict[str, dict[str, tuple[str, Any, tuple[int, ...], Any]]] = {
    "batch_normalization": {
        "training": _bn("BatchNormalization() in training on 6x3: the batch's mean and biased "
                        "variance; moving = moving * 0.99 + batch * 0.01", (6, 3), True),
        "training-image": _bn("BatchNormalization() in training on 2x3x3x2: statistics over "
                              "N, H and W per channel", (2, 3, 3, 2), True),
        "inference": _bn("BatchNormalization() in inference: the moving statistics; they do "
                         "not change", (6, 3), False),
        "inference-image": _bn("BatchNormalization() in inference on 2x3x3x2",
                               (2, 3, 3, 2), False),
        "momentum-epsilon": _bn("BatchNormalization(momentum=0.5, epsilon=0.1) in training",
                                (6, 3), True, momentum=0.5, epsilon=0.1),
        "no-center-no-scale": _bn("BatchNormalization(center=False, scale=False): no gamma, "
                                  "no beta", (6, 3), True, center=False, scale=False),
        "not-trainable": _bn("BatchNormalization(trainable=False) in training: the moving "
                             "statistics, as in inference (Keras 3)", (6, 3), True,
                             trainable=False)},
    "global_average_pooling2d": {
        "default": ("GlobalAveragePooling2D() on 2x3x4x3: (N, C); backward g / (H W) everywhere",
                    lambda: layers.GlobalAveragePooling2D(), (2, 3, 4, 3), None),
        "keepdims": ("GlobalAveragePooling2D(keepdims=True): (N, 1, 1, C)",
                     lambda: layers.GlobalAveragePooling2D(keepdims=True), (2, 3, 4, 3), None)},
    "global_max_pooling2d": {
        "default": ("GlobalMaxPooling2D() on 2x3x4x3", lambda: layers.GlobalMaxPooling2D(),
                    (2, 3, 4, 3), None),
        "ties": ("GlobalMaxPooling2D() with tied maxima: the gradient goes to the first maximum "
                 "in row-major (h, w) order", lambda: layers.GlobalMaxPooling2D(),
                 (2, 3, 4, 3), _ties),
        "keepdims": ("GlobalMaxPooling2D(keepdims=True): (N, 1, 1, C)",
                     lambda: layers.GlobalMaxPooling2D(keepdims=True), (2, 3, 4, 3), None)},
    "rescaling": {
        "default": ("Rescaling(1/255): y = x / 255, backward g / 255",
                    lambda: layers.Rescaling(1 / 255), (2, 3, 3, 2), None),
        "offset": ("Rescaling(2, offset=-1): y = 2 x - 1", lambda: layers.Rescaling(2, -1.0),
                   (3, 4), None)},
    "reshape": {
        "default": ("Reshape((3, 4)) of 2x12: C order", lambda: layers.Reshape((3, 4)),
                    (2, 12), None),
        "image-to-rows": ("Reshape((-1, 2)) of 2x2x3x2: -1 inferred (6), channels-last order",
                          lambda: layers.Reshape((-1, 2)), (2, 2, 3, 2), None),
        "vector-to-image": ("Reshape((2, 3, 2)) of 2x12: flat index (h W + w) C + c",
                            lambda: layers.Reshape((2, 3, 2)), (2, 12), None)},
    "zero_padding2d": {
        "default": ("ZeroPadding2D(): one zero row/column on each side",
                    lambda: layers.ZeroPadding2D(), (2, 3, 3, 2), None),
        "rows-cols": ("ZeroPadding2D((2, 0)): two rows top and bottom, no columns",
                      lambda: layers.ZeroPadding2D((2, 0)), (2, 3, 3, 2), None),
        "asymmetric": ("ZeroPadding2D(((0, 2), (1, 3))): (top, bottom), (left, right)",
                       lambda: layers.ZeroPadding2D(((0, 2), (1, 3))), (2, 3, 3, 2), None)},
    "cropping2d": {
        "default": ("Cropping2D(): crops nothing (Keras's default ((0, 0), (0, 0)))",
                    lambda: layers.Cropping2D(), (2, 4, 4, 2), None),
        "symmetric": ("Cropping2D(1) on 5x6: one row/column off each side",
                      lambda: layers.Cropping2D(1), (2, 5, 6, 2), None),
        "asymmetric": ("Cropping2D(((0, 2), (1, 3))) on 5x6: gradient 0 on the cropped cells",
                       lambda: layers.Cropping2D(((0, 2), (1, 3))), (2, 5, 6, 2), None)},
    "up_sampling2d": {
        "default": ("UpSampling2D(): each pixel repeated 2x2; backward sums each 2x2 block",
                    lambda: layers.UpSampling2D(), (2, 3, 3, 2), None),
        "size-3x1": ("UpSampling2D((3, 1)): rows repeated 3 times, columns kept",
                     lambda: layers.UpSampling2D((3, 1)), (2, 2, 3, 2), None)},
}
