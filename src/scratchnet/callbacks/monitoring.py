"""Shared by the callbacks that watch a metric: which way is better, and finiteness."""
from __future__ import annotations

from typing import Any

import numpy as np


def mode_op(monitor: str, mode: str) -> str:
    """Keras's rule: mode "auto" maximises accuracy-like metrics and minimises the rest."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.startswith("fmeasure")) else "min"
    return mode


def better(mode: str, current: float, best: float, min_delta: float = 0.0) -> bool:
    return current - min_delta > best if mode == "max" else current + min_delta < best


def all_finite(model: Any) -> bool:
    return all(np.isfinite(w).all() for layer in model.layers for w in layer.params.values())
