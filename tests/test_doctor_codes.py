"""The doctor's code table: complete, consistent with the thresholds, and docs/doctor.md current."""
from __future__ import annotations

import ast
from pathlib import Path

from scratchnet.diagnostics import codes, docs, thresholds
from scratchnet.diagnostics.gallery import EXPECTED, HEALTHY

SRC = Path(codes.__file__).parent


def _emitted_codes() -> set[str]:
    """Every code literal passed to Finding(...) in the doctor's sources."""
    found = set()
    for path in SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Finding" \
                    and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def test_every_emitted_code_is_in_the_table_and_every_table_code_is_emitted():
    assert _emitted_codes() == set(codes.CODES)


def test_table_entries_are_complete_and_thresholds_exist():
    for code in codes.CODES.values():
        assert code.severity in ("info", "warning", "error")
        assert code.meaning and code.triggers and code.cause and code.fix
        for name in code.thresholds:
            assert hasattr(thresholds, name) and name in thresholds.SOURCES, (code.name, name)


def test_every_threshold_has_a_source():
    constants = {name for name in vars(thresholds) if name.isupper() and name != "SOURCES"
                 and isinstance(getattr(thresholds, name), (int, float))}
    assert constants == set(thresholds.SOURCES)


def test_explained_codes_come_later_in_the_table():
    """The ranking follows the table: a root is always earlier than what it explains."""
    for code in codes.CODES.values():
        for other in code.explained_codes:
            assert codes.RANK[other] > codes.RANK[code.name], (code.name, other)


def test_every_code_has_a_faulty_case_and_a_healthy_near_miss_exists():
    covered = {code for found in EXPECTED.values() for code, _ in found}
    informational = {name for name, code in codes.CODES.items() if code.severity == "info"}
    assert set(codes.CODES) - informational <= covered
    assert len(HEALTHY) >= 12


def test_docs_page_is_current():
    text = docs.DEFAULT_PATH.read_text(encoding="utf-8")
    assert docs.updated(text) == text, "run: python -m scratchnet.diagnostics.docs --write-docs"
    for name in codes.CODES:
        assert f"`{name}`" in text
