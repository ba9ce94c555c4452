"""to_categorical against an independently built one-hot (rows of np.eye)."""
from __future__ import annotations

import numpy as np
import pytest

from scratchnet.utils import to_categorical


def eye_one_hot(y, num_classes):
    return np.eye(num_classes, dtype=np.float32)[np.asarray(y)]


def test_matches_eye_and_infers_num_classes():
    y = np.random.default_rng(0).integers(0, 10, size=100)
    y[0] = 9  # make max+1 == 10 certain
    out = to_categorical(y)
    assert out.shape == (100, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out, eye_one_hot(y, 10))


def test_explicit_num_classes_and_dtype():
    out = to_categorical([0, 2, 1], num_classes=5, dtype="uint8")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, eye_one_hot([0, 2, 1], 5))


@pytest.mark.parametrize("shape, expected", [
    ((6, 1), (6, 4)),        # Keras drops a trailing axis of size 1
    ((2, 3), (2, 3, 4)),     # any other shape gets an extra last axis
    ((6, 1, 1), (6, 1, 4)),  # only the last axis is squeezed
    ((1,), (1, 4)),          # a 1-D input is never squeezed
    ((), (4,)),              # a scalar label
])
def test_shapes_like_keras(shape, expected):
    y = np.arange(int(np.prod(shape))).reshape(shape) % 4
    out = to_categorical(y, num_classes=4)
    assert out.shape == expected
    np.testing.assert_array_equal(out.reshape(-1, 4), eye_one_hot(y.reshape(-1), 4))


def test_accepts_integral_floats_and_uint8():
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), eye_one_hot([1, 0], 2))
    labels = np.array([5, 0, 4], dtype=np.uint8)  # what mnist.load_data returns
    np.testing.assert_array_equal(to_categorical(labels, 10), eye_one_hot(labels, 10))


def test_empty_labels_with_num_classes():
    assert to_categorical(np.zeros(0, dtype=int), num_classes=3).shape == (0, 3)


@pytest.mark.parametrize("y, kwargs, pattern", [
    ([0, -1, 2], {}, ">= 0"),
    ([0.5, 1.0], {}, "non-integer"),
    ([0.0, np.nan], {}, "non-integer"),
    ([0, 3], {"num_classes": 3}, "out of range for num_classes=3"),
    (["a", "b"], {}, "dtype"),
    (np.array([1, None], dtype=object), {}, "dtype"),
    ([], {}, "cannot infer num_classes"),
    ([0, 1], {"num_classes": 0}, "positive integer"),
    ([0, 1], {"num_classes": 2.5}, "positive integer"),
])
def test_errors(y, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        to_categorical(y, **kwargs)
