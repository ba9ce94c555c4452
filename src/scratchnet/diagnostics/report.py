"""Findings and the report that collects them (text and JSON renderings), ranked.

A :class:`Finding` is one diagnosed problem: a ``code`` from :mod:`.codes` (docs/doctor.md), a
``severity`` ("info" < "warning" < "error"), the ``layer`` it concerns (a layer name, "input",
"labels", "loss", "optimizer", "model" or "history"), the ``evidence`` (numbers,
JSON-serialisable), the likely ``cause`` and the ``fix``, in plain words, and ``caused_by``
(set by the ranking: the root finding it is a consequence of, as "code at layer", or None).

Ranking: a finding is a consequence of another when the code table says the other's code
``explains`` it; each consequence is grouped under its root (the table's order decides which
root), so a user reads one fix first. ``Report.to_dict()`` (read by the explorer page), stable:

    {"model": str, "healthy": bool, "seconds": float,
     "counts": {"info": int, "warning": int, "error": int},
     "findings": [Finding.to_dict(), ...]   # ranked: each root, then its consequences
     "root_causes": [{"code": str, "layer": str, "consequences": [{"code", "layer"}, ...]}],
     "notes": [str], "vitals": {name: value}}

    Finding.to_dict() = {"code", "severity", "layer", "evidence", "cause", "fix", "caused_by"}
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from . import codes as code_table

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
    caused_by: str | None = None

    def __post_init__(self) -> None:
        code_table.get(self.code)  # every code is in the table (and so in docs/doctor.md)
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        self.evidence = _plain(self.evidence)

    def at_least(self, severity: str) -> bool:
        return _RANK[self.severity] >= _RANK[severity]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        return f"{self.code} at {self.layer}"

    def evidence_text(self) -> str:
        return ", ".join(f"{k}={_fmt(v)}" for k, v in self.evidence.items())

    def to_text(self) -> str:
        return (f"[{self.severity.upper()}] {self.label}\n"
                f"    evidence: {self.evidence_text()}\n    cause:    {self.cause}\n"
                f"    fix:      {self.fix}")


def _root_key(finding: Finding) -> tuple[int, int]:
    return -_RANK[finding.severity], code_table.RANK[finding.code]


def rank(findings: list[Finding]) -> list[tuple[Finding, list[Finding]]]:
    """Group findings as (root, consequences): a finding's direct cause is the finding whose
    code explains it that comes first in the code table; its root is that cause's root. Sets
    each consequence's ``caused_by``. Roots: most severe first, then in table order."""
    direct: dict[int, Finding] = {}
    for i, finding in enumerate(findings):
        causes = [other for other in findings if other is not finding
                  and code_table.CODES[other.code].explains_finding(finding.code,
                                                                    finding.layer)]
        if causes:
            direct[i] = min(causes, key=lambda f: code_table.RANK[f.code])
    position = {id(f): i for i, f in enumerate(findings)}
    groups: dict[int, list[Finding]] = {}
    for i, finding in enumerate(findings):
        root, seen = finding, {id(finding)}
        while position[id(root)] in direct and id(direct[position[id(root)]]) not in seen:
            root = direct[position[id(root)]]  # the table's ranks fall: no cycle (tested)
            seen.add(id(root))
        finding.caused_by = None if root is finding else root.label
        if root is not finding:
            groups.setdefault(position[id(root)], []).append(finding)
    roots = sorted((f for f in findings if f.caused_by is None), key=_root_key)
    return [(root, sorted(groups.get(position[id(root)], []),
                          key=lambda f: code_table.RANK[f.code])) for root in roots]


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

    def ranked(self) -> list[tuple[Finding, list[Finding]]]:
        """(root finding, its consequences) pairs, the most severe root first."""
        return rank(self.findings)

    def to_dict(self) -> dict[str, Any]:
        groups = self.ranked()
        return {"model": self.model, "healthy": self.healthy, "seconds": round(self.seconds, 3),
                "counts": {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES},
                "findings": [f.to_dict() for root, rest in groups for f in (root, *rest)],
                "root_causes": [{"code": root.code, "layer": root.layer,
                                 "consequences": [{"code": f.code, "layer": f.layer}
                                                  for f in rest]} for root, rest in groups],
                "notes": list(self.notes), "vitals": _plain(self.vitals)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_text(self) -> str:
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        head = (f"scratchnet doctor: {self.model}: {counts['error']} error(s), "
                f"{counts['warning']} warning(s), {counts['info']} info ({self.seconds:.1f} s)")
        if self.healthy:
            head += "\nNo problems found above info level."
        lines = [head]
        for root, consequences in self.ranked():
            lines.append(root.to_text())
            if consequences:
                lines.append("    consequences (fix the cause above first):")
            lines += [f"      [{f.severity.upper()}] {f.label}: {f.evidence_text()}\n"
                      f"        caused by: {root.label}" for f in consequences]
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"measured: {key}: {_fmt(_plain(value))}" for key, value in self.vitals.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()
