"""``compare(reference_dir, your_dir)``: walk the reference trace in execution order and find the
first of your tensors that differs beyond tolerance, with a diagnosis of the pattern.

Tolerance (float32-aware): an entry matches when |yours - ref| <= atol + rtol * |ref|. rtol
defaults to 1e-4 (~800 float32 roundings); atol, unless given, is 1e-5 times the tensor's largest
|ref| value, so sums that cancel to ~0 are judged on the scale of their terms, as float32 rounding
is.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import yours
from .bundle import BundleError, load_reference, read_manifest
from .diagnose import Diagnosis, diagnose


@dataclass
class Tolerance:
    rtol: float = 1e-4
    atol: float | None = None       # None: atol_scale * max |ref|
    atol_scale: float = 1e-5

    def __post_init__(self) -> None:
        for key in ("rtol", "atol", "atol_scale"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, (int, float))
                                          and math.isfinite(value) and value >= 0):
                raise ValueError(f"tolerance {key} must be a finite number >= 0, got {value!r}")

    def absolute(self, ref: np.ndarray) -> float:
        if self.atol is not None:
            return float(self.atol)
        scale = float(np.max(np.abs(ref))) if ref.size and np.isfinite(ref).all() else 0.0
        return self.atol_scale * scale

    def differs(self, ref: np.ndarray, mine: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.abs(mine - ref) <= self.absolute(ref) + self.rtol * np.abs(ref)
        both_nan = np.isnan(mine) & np.isnan(ref)
        same_inf = np.isinf(ref) & (mine == ref)
        return ~(close | both_nan | same_inf)


@dataclass
class Divergence:
    name: str
    layer: str
    quantity: str
    step: int
    differing: int
    size: int
    worst_index: list[int]
    reference_value: float
    your_value: float
    meaning: str
    file: str
    diagnosis: Diagnosis

    def report(self) -> str:
        where = f"step {self.step}, " if self.step else ""
        index = "[" + ", ".join(map(str, self.worst_index)) + "]"
        return (f"FIRST DIVERGENCE: {self.name}  ({where}layer {self.layer!r}, {self.quantity}: "
                f"{self.meaning})\n"
                f"  {self.differing:,} of {self.size:,} entries differ; worst at {index}: "
                f"reference {self.reference_value:.9g}, yours {self.your_value:.9g}\n"
                f"  diagnosis [{self.diagnosis.code}]: {self.diagnosis.message}\n"
                f"  fix: {self.diagnosis.fix}")


@dataclass
class CompareResult:
    reference: str
    yours: str
    matched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.divergences

    @property
    def first(self) -> Divergence | None:
        return self.divergences[0] if self.divergences else None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def report(self) -> str:
        lines = [f"compared {len(self.matched) + len(self.divergences)} tensors of "
                 f"{self.yours} with the reference {self.reference} "
                 f"({len(self.skipped)} not saved by you, skipped)"]
        if self.ok:
            lines.append(f"all {len(self.matched)} match.")
        else:
            lines.append(f"{len(self.matched)} match before the first divergence."
                         if len(self.divergences) == 1 else
                         f"{len(self.divergences)} tensors diverge:")
            lines += [d.report() if i == 0 else d.report().replace("FIRST DIVERGENCE",
                                                                   "ALSO DIVERGES", 1)
                      for i, d in enumerate(self.divergences)]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "reference": self.reference, "yours": self.yours,
                "matched": self.matched, "skipped": self.skipped,
                "divergences": [asdict(d) for d in self.divergences]}


def split_name(name: str) -> tuple[int, str, str]:
    """"step2/dense/grad_kernel" -> (2, "dense", "grad_kernel"); "loss/grad" -> (0, "loss",
    "grad"); "optimizer/dense/kernel/m" -> (0, "optimizer", "dense/kernel/m")."""
    step, parts = 0, name.split("/")
    if parts[0].startswith("step") and parts[0][4:].isdigit() and len(parts) > 1:
        step, parts = int(parts[0][4:]), parts[1:]
    return step, parts[0], "/".join(parts[1:])


class Reference:
    """The reference bundle: its manifest and its tensors, loaded once each when asked."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)
        self.manifest = read_manifest(directory)
        self.cache: dict[str, np.ndarray] = {}

    def has(self, name: str) -> bool:
        return name in self.manifest["tensors"] and name in self.manifest["order"]

    def get(self, name: str) -> np.ndarray:
        if name not in self.cache:
            self.cache[name] = load_reference(self.directory, self.manifest, name
                                              ).astype(np.float64)
        return self.cache[name]

    def layer(self, name: str) -> dict[str, Any] | None:
        layers = self.manifest.get("layers")
        for entry in layers if isinstance(layers, list) else ():
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry
        return None


def compare(reference: str | os.PathLike[str], your_dir: str | os.PathLike[str], *,
            dtype: str = "float32", tolerance: Tolerance | None = None,
            all_divergences: bool = False) -> CompareResult:
    """Compare your tensors (saved under the reference's names) with the reference trace.

    Raises BundleError (a ValueError) for unreadable or malformed input on either side.
    """
    if dtype not in yours.DTYPES:
        raise ValueError(f"dtype must be one of {sorted(yours.DTYPES)}, got {dtype!r}")
    tolerance = tolerance or Tolerance()
    ref = Reference(reference)
    root = Path(your_dir)
    if not root.is_dir():
        raise BundleError(f"{root}: expected the directory holding your tensors, got "
                          f"{'a file' if root.exists() else 'nothing'}")
    result = CompareResult(str(reference), str(your_dir))
    for name in ref.manifest["order"]:
        path = yours.find(root, name)
        if path is None:
            result.skipped.append(name)
            continue
        expected = ref.get(name)
        flat, own_shape = yours.load(path, name, expected.size, dtype)
        mine = flat.reshape(expected.shape)
        differs = tolerance.differs(expected, mine)
        if not differs.any():
            result.matched.append(name)
            continue
        result.divergences.append(_divergence(ref, name, expected, mine, differs, own_shape,
                                              path, tolerance))
        if not all_divergences:
            break
    if not result.matched and not result.divergences:
        raise BundleError(f"{root}: none of the reference's {len(ref.manifest['order'])} tensors "
                          f"is there; expected files named like input/x.bin, "
                          f"{ref.manifest['order'][-1]}.npy (see manifest.json)")
    return result


def _divergence(ref: Reference, name: str, expected: np.ndarray, mine: np.ndarray,
                differs: np.ndarray, own_shape: tuple[int, ...], path: Path,
                tolerance: Tolerance) -> Divergence:
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.where(differs, np.abs(mine - expected), -1.0)
    error = np.where(np.isnan(error), np.inf, error)
    worst = np.unravel_index(int(np.argmax(error)), expected.shape) if expected.ndim else ()
    step, layer, quantity = split_name(name)
    entry = ref.manifest["tensors"][name]
    return Divergence(
        name=name, layer=layer, quantity=quantity, step=step, differing=int(differs.sum()),
        size=int(expected.size), worst_index=[int(i) for i in worst],
        reference_value=float(expected[worst]), your_value=float(mine[worst]),
        meaning=str(entry.get("meaning", "")), file=str(path),
        diagnosis=diagnose(ref, name, expected, mine, differs, own_shape, tolerance))
