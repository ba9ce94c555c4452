"""What every diagnosis check shares: the divergent tensor with its context (Case), the answer
(Diagnosis), and the scale-fitting helpers the checks use."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Diagnosis:
    code: str
    message: str
    fix: str


@dataclass
class Case:
    ref: Any                    # compare.Reference
    name: str
    step: int
    layer: str
    quantity: str
    expected: np.ndarray
    mine: np.ndarray
    differs: np.ndarray
    own_shape: tuple[int, ...]
    tolerance: Any

    def matches(self, candidate: np.ndarray) -> bool:
        """Yours equals ``candidate`` (a recomputed reference: looser, float32-stored inputs)."""
        from .compare import Tolerance
        tol = Tolerance(rtol=max(1e-3, self.tolerance.rtol), atol_scale=1e-4)
        candidate = np.asarray(candidate, dtype=np.float64)
        return candidate.size == self.mine.size and not tol.differs(
            candidate.reshape(self.mine.shape), self.mine).any()

    def tensor(self, name: str) -> np.ndarray | None:
        full = (f"step{self.step}/" if self.step else "") + name
        for candidate in (full, name):
            if self.ref.has(candidate):
                return self.ref.get(candidate)
        return None

    def layer_entry(self) -> dict[str, Any]:
        return self.ref.layer(self.layer) or {}

    def batch_size(self) -> int:
        x = self.tensor("input/x")
        return int(x.shape[0]) if x is not None and x.ndim else 1


def fit_factor(candidate: np.ndarray, mine: np.ndarray) -> float:
    denom = float((candidate * candidate).sum())
    return float((candidate * mine).sum() / denom) if denom > 0 else float("nan")


def proportional(a: np.ndarray, b: np.ndarray) -> bool:
    factor = fit_factor(a, b)
    return bool(np.isfinite(factor) and np.allclose(factor * a, b, rtol=1e-3,
                                                    atol=1e-4 * float(np.abs(b).max())))
