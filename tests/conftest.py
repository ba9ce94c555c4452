import numpy as np
import pytest

import scratchnet as sn
from scratchnet.ops import kernels


def pytest_configure(config):
    config.addinivalue_line("markers", "fast_kernels: checks the fast path itself (fusions, the "
                            "training plan); skipped under SCRATCHNET_KERNELS=reference")


def pytest_collection_modifyitems(config, items):
    if kernels.reference():
        skip = pytest.mark.skip(reason="about the fast kernels; SCRATCHNET_KERNELS=reference")
        for item in items:
            if "fast_kernels" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def float64():
    """Run a test with float64 weights and casts (gradient checks), restoring float32 after."""
    with sn.backend.floatx_scope("float64"):
        yield


@pytest.fixture(params=[1, 3], ids=["1thread", "3threads"])
def threads(request):
    """Run a kernel test inline (1) and split across threads (3, more than the cores)."""
    from scratchnet.ops import parallel
    before = parallel.num_threads()
    parallel.set_num_threads(request.param)
    yield request.param
    parallel.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
