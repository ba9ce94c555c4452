"""Findings and the report that collects them (text and JSON renderings).

A :class:`Finding` is one diagnosed problem: a stable ``code`` (see docs/doctor.md), a
``severity`` ("info" < "warning" < "error"), the ``layer`` it concerns (a layer name, "loss",
"data", "optimizer" or "model"), the ``evidence`` (numbers, JSON-serialisable), the likely
``cause`` and the ``fix``, in plain words.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

SEVERITIES = ("info", "warning", "error")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


def _plain(value: Any) -> Any:
    """Evidence as JSON-friendly Python values (NumPy scalars, tuples, non-finite floats)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Inf; keep them readable
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


@dataclass
class Finding:
    code: str
    severity: str
    layer: str
    evidence: dict[str, Any]
    cause: str
    fix: str

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        self.evidence = _plain(self.evidence)

    def at_least(self, severity: str) -> bool:
        return _RANK[self.severity] >= _RANK[severity]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self) -> str:
        evidence = ", ".join(f"{k}={_fmt(v)}" for k, v in self.evidence.items())
        return (f"[{self.severity.upper()}] {self.code} at {self.layer}\n"
                f"    evidence: {evidence}\n    cause:    {self.cause}\n    fix:      {self.fix}")


@dataclass
class Report:
    """The doctor's findings, in the order they were found (roughly: data, forward, backward,
    loss, training). ``notes`` record checks that were skipped and why."""
    findings: list[Finding] = field(default_factory=list)
    model: str = "model"
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: What was measured, findings or not (so a clean report shows its evidence too).
    vitals: dict[str, Any] = field(default_factory=dict)

    def add(self, findings: Finding | Iterable[Finding]) -> None:
        if isinstance(findings, Finding):
            findings = [findings]
        self.findings.extend(findings)

    def codes(self, min_severity: str = "info") -> list[str]:
        return [f.code for f in self.findings if f.at_least(min_severity)]

    def find(self, code: str, layer: str | None = None) -> list[Finding]:
        return [f for f in self.findings
                if f.code == code and (layer is None or f.layer == layer)]

    def above(self, severity: str) -> list[Finding]:
        """Findings strictly more severe than ``severity``."""
        return [f for f in self.findings if _RANK[f.severity] > _RANK[severity]]

    @property
    def healthy(self) -> bool:
        return not self.above("info")

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "healthy": self.healthy, "seconds": round(self.seconds, 3),
                "counts": {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES},
                "findings": [f.to_dict() for f in self.findings], "notes": list(self.notes),
                "vitals": _plain(self.vitals)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_text(self) -> str:
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        head = (f"scratchnet doctor: {self.model}: {counts['error']} error(s), "
                f"{counts['warning']} warning(s), {counts['info']} info ({self.seconds:.1f} s)")
        if self.healthy:
            head += "\nNo problems found above info level."
        ordered = sorted(self.findings, key=lambda f: -_RANK[f.severity])
        lines = [head] + [f.to_text() for f in ordered]
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"measured: {key}: {_fmt(_plain(value))}" for key, value in self.vitals.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()
