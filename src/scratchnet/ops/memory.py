"""Keep freed array memory in the process for reuse, instead of handing it back to the OS.

glibc serves blocks above its mmap threshold (128 KiB at first, adapting up to 32 MiB) with
mmap and returns them to the OS on free; the next array of that size then costs one page fault
per 4 KiB page on first touch. A training step of the MNIST CNN frees and reallocates arrays of
1-19 MiB, which cost about 7,000 page faults (12-20 ms of a ~110 ms step) on a 2-core VM.
Raising the mmap and trim thresholds keeps those blocks in the heap, where the next step reuses
them: the same peak memory, no faults. This changes a process-wide malloc setting, so it is done
once, on the first model forward pass, and can be switched off before that with
``set_enabled(False)``. Elsewhere than glibc (macOS, Windows, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameter numbers
MMAP_THRESHOLD = 32 << 20      # glibc's own upper bound for the adaptive threshold
TRIM_THRESHOLD = 256 << 20     # keep up to this much free memory at the top of the heap

_enabled = True
_done = False


def set_enabled(enabled: bool) -> None:
    """Allow (default) or forbid :func:`keep_freed_memory` to change malloc's settings."""
    global _enabled
    _enabled = bool(enabled)


def keep_freed_memory() -> bool:
    """Apply the setting once (idempotent); True when it is in effect."""
    global _done
    if _done or not _enabled or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):   # not glibc
        return False
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
