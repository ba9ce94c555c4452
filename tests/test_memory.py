"""ops.memory: after keep_freed_memory(), freed big arrays are reused without page faults."""
import platform
import resource
import sys

import numpy as np
import pytest

from scratchnet.ops import memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="the setting exists in glibc only")
def test_big_arrays_are_reused_without_page_faults():
    assert memory.keep_freed_memory()
    assert memory.keep_freed_memory()            # idempotent
    size = 3 << 20                               # 12 MiB of float32: ~3,000 pages

    def steps():     # three live at once, then all freed: glibc's default trims them each time
        for _ in range(5):
            a, b, c = (np.ones(size, np.float32) for _ in range(3))
            del a, b, c
    steps()                                      # the heap grows once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    steps()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 500, faults                  # without the setting: ~7,600 here


def test_can_be_switched_off_before_first_use(monkeypatch):
    monkeypatch.setattr(memory, "_done", False)
    memory.set_enabled(False)
    try:
        assert memory.keep_freed_memory() is False
    finally:
        memory.set_enabled(True)
