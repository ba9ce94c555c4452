import math

import numpy as np
import pytest

from scratchnet import initializers


def test_fans_follow_keras():
    assert initializers.compute_fans((3, 3, 1, 32)) == (9, 288)
    assert initializers.compute_fans((9216, 128)) == (9216, 128)


def test_glorot_uniform_limit_and_spread():
    rng = np.random.default_rng(0)
    w = initializers.glorot_uniform((3, 3, 32, 64), rng=rng)
    limit = math.sqrt(6 / (9 * 32 + 9 * 64))
    assert w.dtype == np.float32
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize("name,std", [
    ("he_normal", math.sqrt(2 / 400)), ("lecun_normal", math.sqrt(1 / 400)),
    ("glorot_normal", math.sqrt(2 / 600)), ("he_uniform", math.sqrt(2 / 400)),
])
def test_variance_scaling_std(name, std):
    w = initializers.get(name)((400, 200), rng=np.random.default_rng(1))
    assert w.std() == pytest.approx(std, rel=0.03)
    if name.endswith("normal"):  # truncated at two standard deviations (before rescaling)
        assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-6


def test_constants_and_random_normal():
    assert not initializers.zeros((2, 3)).any()
    assert (initializers.ones((4,)) == 1).all()
    w = initializers.random_normal((500, 100), rng=np.random.default_rng(2))
    assert w.std() == pytest.approx(0.05, rel=0.02)
