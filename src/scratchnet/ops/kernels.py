"""Which kernels the ops run: the fast ones (default) or the readable reference ones.

Every op in ``scratchnet.ops`` with a fast kernel (conv2d, max-pool, dense, dropout, ReLU) has
one dispatch function, which reads :func:`mode` and calls either a fast kernel (im2col + GEMM,
Winograd, batch-split threads) or the plain NumPy reference of ``ops.reference``.

Choose with the environment variable ``SCRATCHNET_KERNELS=reference`` (read at import) or
``scratchnet.set_kernels("reference" | "fast")``. In reference mode the runner also plans no
fusions: every layer runs its own forward and backward, on the reference kernels.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

MODES = ("fast", "reference")


def _checked(mode: object, what: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{what} must be one of {MODES}, got {mode!r}")
    return str(mode)


_mode = _checked(os.environ.get("SCRATCHNET_KERNELS", "fast") or "fast",
                 "the environment variable SCRATCHNET_KERNELS")


def mode() -> str:
    """"fast" or "reference"."""
    return _mode


def reference() -> bool:
    """True when the reference kernels run."""
    return _mode == "reference"


def set_kernels(new_mode: str) -> None:
    """Run every op on the "fast" kernels (default) or on the "reference" ones."""
    global _mode
    _mode = _checked(new_mode, "set_kernels")


@contextlib.contextmanager
def kernels_scope(new_mode: str) -> Iterator[None]:
    """``with kernels_scope("reference"): ...`` then back to the previous mode."""
    before = _mode
    set_kernels(new_mode)
    try:
        yield
    finally:
        set_kernels(before)
