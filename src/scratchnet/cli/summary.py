"""``scratchnet summary``: layers, shapes, parameter counts, training state of a file."""
from __future__ import annotations

import argparse
from typing import Any

from .common import add_parser, emit, load_model_file


def run_summary(args: argparse.Namespace) -> int:
    from ..saving import read_metadata
    model = load_model_file(args.model)
    meta = read_metadata(args.model)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    compiled, training = meta.get("compile") or {}, meta.get("training") or {}
    lines.append(f"Optimizer: {compiled.get('optimizer')}  Loss: {compiled.get('loss')}")
    lines.append(f"Epochs trained: {training.get('epoch', 0)}  Optimizer steps: "
                 f"{training.get('iterations', 0)}")
    emit(args, "\n".join(lines), {"config": meta["model"], "params": model.count_params(),
                                   "compile": compiled, "epochs": training.get("epoch", 0)})
    return 0


def add_summary(sub: Any) -> None:
    p = add_parser(sub, "summary", "Layers, output shapes, parameter counts and training state of "
                   "a model file.", "scratchnet summary runs/quick/model.snet")
    p.add_argument("model", help="model file (.snet)")
    p.set_defaults(run=run_summary)
