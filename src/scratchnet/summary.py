"""A Keras-style summary table: layer, output shape, parameter count."""
from __future__ import annotations

from typing import Any


def _shape(shape: Any) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")" if shape is not None else "?"


def summary_table(model: Any, width: int = 65) -> str:
    rows = [(f"{layer.name} ({type(layer).__name__})", _shape(layer.output_shape),
             f"{layer.count_params():,}") for layer in model.layers]
    col1 = max([28, *(len(r[0]) + 2 for r in rows)])
    col2 = max([26, *(len(r[1]) + 2 for r in rows)])
    width = max(width, col1 + col2 + 12)
    line = lambda a, b, c: f" {a:<{col1 - 1}}{b:<{col2}}{c:>10}"  # noqa: E731
    total = model.count_params()
    trainable = sum(layer.count_trainable_params() for layer in model.layers)
    out = [f'Model: "{model.name}"', "_" * width, line("Layer (type)", "Output Shape", "Param #"),
           "=" * width]
    for index, row in enumerate(rows):
        out.append(line(*row))
        out.append("_" * width if index < len(rows) - 1 else "=" * width)
    out += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}", "_" * width]
    return "\n".join(out)
