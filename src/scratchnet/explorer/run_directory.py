"""Reading a training run directory (``scratchnet train --out DIR``) while it may still be written:
the settings (run.json), the status, the per-epoch history and the files the page may show.

Every reader tolerates a file being written: a half-written JSON file reads as missing, a CSV row
being written is skipped.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from .adapters import default_model_path

RUN_FILE_SUFFIXES = (".png", ".json", ".csv")


def resolve_source(source: str | Path | None) -> tuple[Path, Path | None]:
    """(model file, run directory or None) for ``scratchnet explore [RUN_DIR|MODEL]``."""
    if source is None:
        bundled = default_model_path()
        if bundled is None:
            raise ValueError("no model given and this installation has no bundled pretrained "
                             "model; expected a run directory or a model file, e.g. "
                             "'scratchnet train --epochs 1 --limit 5000 --out runs/quick' then "
                             "'scratchnet explore runs/quick'.")
        return bundled, None
    path = Path(source)
    if path.is_dir():
        marks = ("model.snet", "run.json", "history.csv")
        if not any((path / mark).exists() for mark in marks):
            raise ValueError(f"{path} is not a run directory: expected one made by "
                             f"'scratchnet train --out DIR' (with model.snet or run.json), "
                             f"or a model file.")
        return path / "model.snet", path
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such run directory or model file.")
    return path, None


def settings(run_dir: Path | None) -> dict[str, Any]:
    """The run's settings (run.json), {} when there are none (yet)."""
    if run_dir is None or not (run_dir / "run.json").is_file():
        return {}
    try:
        return json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def status(run_dir: Path, signature: tuple[int, int] | None) -> str:
    """How the run stands, given its checkpoint's (mtime_ns, size) signature or None."""
    if signature is None:
        return "waiting for the first checkpoint"
    newer = [name for name in ("evaluation.json", "interrupted.snet")
             if (run_dir / name).exists()
             and (run_dir / name).stat().st_mtime_ns >= signature[0]]
    if "evaluation.json" in newer:
        return "finished"
    return "interrupted" if newer else "training (or stopped)"


def history(run_dir: Path) -> dict[str, Any]:
    """Per-epoch metrics: history.csv (written every epoch) unless history.json (written at
    the end) is newer."""
    csv_path, json_path = run_dir / "history.csv", run_dir / "history.json"
    csv_time = csv_path.stat().st_mtime_ns if csv_path.exists() else -1
    json_time = json_path.stat().st_mtime_ns if json_path.exists() else -1
    if json_time >= csv_time and json_time >= 0:
        found = read_json(json_path)
        if found and "epoch" in found and "history" in found:
            return found
    if csv_time < 0:
        return {"epoch": [], "history": {}}
    return read_history_csv(csv_path.read_text(errors="replace"))


def files(run_dir: Path | None) -> list[str]:
    """The run's plots, JSON and CSV files (directly in it), by name."""
    if run_dir is None:
        return []
    return sorted(p.name for p in run_dir.iterdir()
                  if p.is_file() and p.suffix in RUN_FILE_SUFFIXES)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_history_csv(text: str) -> dict[str, Any]:
    """CSVLogger's file; a row being written (wrong field count, not numbers) is skipped."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {"epoch": [], "history": {}}
    keys = rows[0][1:]
    history: dict[str, Any] = {"epoch": [], "history": {k: [] for k in keys}}
    for row in rows[1:]:
        if len(row) != len(keys) + 1:
            continue
        try:
            epoch, values = int(row[0]), [float(v) if v != "NA" else None for v in row[1:]]
        except ValueError:
            continue
        history["epoch"].append(epoch)
        for key, value in zip(keys, values):
            history["history"][key].append(value)
    return history
