"""Golden vectors: one built-in layer, loss or optimizer in isolation, with small shapes and
its edge cases (``scratchnet trace --layer conv2d --case padding-same-stride-2``).

Every case is a bundle like a model trace. A layer case records input/x, the layer's weights,
its output (and pre-activation), a given upstream gradient ``<layer>/grad_output``, and the
gradients the layer must return. A loss case records targets, predictions, the value and
d loss / d prediction. An optimizer case records two steps of one parameter. The tables live
in ``layer_cases`` (+ ``keras_layer_cases``) and ``loss_optimizer_cases``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .layer_cases import LAYER_CASES, SEED, _layer_case
from .loss_optimizer_cases import LOSS_CASES, OPTIMIZER_CASES, _loss_case, _optimizer_case

__all__ = ["LAYER_CASES", "LOSS_CASES", "OPTIMIZER_CASES", "SEED", "listing", "write_case"]


def listing() -> list[tuple[str, str, str]]:
    rows = [(k, c, v[0]) for k, cs in LAYER_CASES.items() for c, v in cs.items()]
    rows += [(k, c, v[0]) for k, cs in LOSS_CASES.items() for c, v in cs.items()]
    rows += [(k, c, v[0]) for k, cs in OPTIMIZER_CASES.items() for c, v in cs.items()]
    return rows


def write_case(kind: str, case: str, path: str | os.PathLike[str]) -> Path:
    """Write golden case ``kind``/``case`` (see ``listing()``) as a bundle at ``path``."""
    rng = np.random.default_rng(SEED)
    table: dict[str, Any] = {**LAYER_CASES, **LOSS_CASES, **OPTIMIZER_CASES}
    if kind not in table:
        raise ValueError(f"unknown --layer {kind!r}; expected one of {sorted(table)}")
    if case not in table[kind]:
        raise ValueError(f"unknown --case {case!r} for {kind}; expected one of "
                         f"{sorted(table[kind])}")
    entry = table[kind][case]
    if kind in LAYER_CASES:
        writer, meta = _layer_case(entry[1], entry[2], entry[3], rng)
    elif kind in LOSS_CASES:
        writer, meta = _loss_case(kind, entry[1], entry[2], rng)
    else:
        writer, meta = _optimizer_case(entry[1], rng)
    meta = {"model": None, "loss": None, "optimizer": None, **meta,
            "case": {"layer": kind, "case": case, "about": entry[0]}, "computed_in": "float64"}
    return writer.write(path, meta)
