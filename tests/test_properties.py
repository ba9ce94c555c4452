"""Property-based tests over layer arguments and input shapes: every case either computes the
documented output shape with correct gradients, or raises the documented ValueError."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnet as sn
from scratchnet import layers

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def expected_size(size, kernel, stride, padding):
    return math.ceil(size / stride) if padding == "same" else (size - kernel) // stride + 1


def check_layer(layer, in_shape, out_shape, seed):
    try:
        layer.build(in_shape)
    except ValueError as error:
        # The one documented refusal: a window larger than a "valid" input.
        assert "larger than its input" in str(error)
        assert out_shape is None
        return
    assert out_shape is not None, "a valid configuration was refused"
    assert layer.output_shape == out_shape
    x = np.random.default_rng(seed).standard_normal((2, *in_shape))
    with sn.backend.floatx_scope("float64"):
        fresh = type(layer).from_config(layer.get_config())
        result = sn.gradcheck(fresh, x, max_entries=40, seed=seed)
    assert result.max_error < 1e-6, result
    assert fresh.output_shape == out_shape


@SETTINGS
@given(filters=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]),
       h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 2), seed=st.integers(0, 99))
def test_conv2d_any_geometry(filters, kh, kw, sh, sw, padding, h, w, c, seed):
    layer = layers.Conv2D(filters, (kh, kw), strides=(sh, sw), padding=padding,
                          activation="tanh")
    fits = padding == "same" or (kh <= h and kw <= w)
    out = (expected_size(h, kh, sh, padding), expected_size(w, kw, sw, padding), filters)
    check_layer(layer, (h, w, c), out if fits else None, seed)


@SETTINGS
@given(kind=st.sampled_from([layers.MaxPooling2D, layers.AveragePooling2D]),
       ph=st.integers(1, 3), pw=st.integers(1, 3), strides=st.one_of(st.none(),
       st.tuples(st.integers(1, 3), st.integers(1, 3))),
       padding=st.sampled_from(["valid", "same"]), h=st.integers(1, 7), w=st.integers(1, 7),
       c=st.integers(1, 2), seed=st.integers(0, 99))
def test_pooling_any_geometry(kind, ph, pw, strides, padding, h, w, c, seed):
    layer = kind((ph, pw), strides=strides, padding=padding)
    sh, sw = strides or (ph, pw)
    fits = padding == "same" or (ph <= h and pw <= w)
    out = (expected_size(h, ph, sh, padding), expected_size(w, pw, sw, padding), c)
    check_layer(layer, (h, w, c), out if fits else None, seed)


@SETTINGS
@given(units=st.integers(1, 6), dims=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       activation=st.sampled_from(["linear", "tanh", "sigmoid", "softmax"]),
       use_bias=st.booleans(), seed=st.integers(0, 99))
def test_dense_any_rank(units, dims, activation, use_bias, seed):
    layer = layers.Dense(units, activation=activation, use_bias=use_bias)
    check_layer(layer, tuple(dims), (*dims[:-1], units), seed)


@SETTINGS
@given(value=st.one_of(st.integers(-3, 0), st.floats(allow_nan=True), st.text(max_size=2)))
def test_bad_layer_arguments_raise_value_errors(value):
    for factory in (lambda: layers.Conv2D(value, 3), lambda: layers.Dense(value),
                    lambda: layers.Conv2D(2, value)):
        with pytest.raises(ValueError):
            factory()


@SETTINGS
@given(rate=st.floats(allow_nan=True, allow_infinity=True))
def test_dropout_rate_domain(rate):
    if 0 <= rate < 1:
        assert layers.Dropout(rate).rate == rate
    else:
        with pytest.raises(ValueError, match="rate"):
            layers.Dropout(rate)
