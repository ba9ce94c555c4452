"""``plot_model``: a picture of a Sequential model's layers and shapes, drawn with matplotlib
(Keras needs pydot and Graphviz for this; scratchnet draws the chain itself)."""
from __future__ import annotations

import os
from typing import Any


def plot_model(model: Any, to_file: str | os.PathLike[str] = "model.png",
               show_shapes: bool = False, show_layer_names: bool = True, dpi: int = 96,
               **ignored: Any) -> None:
    """One box per layer, top to bottom: name, class and (``show_shapes``) input -> output
    shapes. Writes ``to_file`` (PNG, PDF or SVG by extension)."""
    if not hasattr(model, "layers"):
        raise TypeError(f"plot_model expects a model, got {type(model).__name__}")
    if not model.layers:
        raise ValueError("plot_model: the model has no layers")
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    rows = []
    for layer in model.layers:
        text = f"{layer.name}: {type(layer).__name__}" if show_layer_names \
            else type(layer).__name__
        if show_shapes:
            shapes = [(None, *(shape or ())) for shape in (layer.input_shape, layer.output_shape)]
            text += f"\n{shapes[0]} -> {shapes[1]}"
        rows.append(text)
    figure, axes = plt.subplots(figsize=(5, 0.9 * len(rows) + 0.3))
    axes.set_axis_off()
    for index, text in enumerate(rows):
        y = 1 - (index + 0.5) / len(rows)
        axes.text(0.5, y, text, ha="center", va="center", fontsize=8, transform=axes.transAxes,
                  bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "black"})
        if index:
            axes.annotate("", xy=(0.5, y + 0.25 / len(rows)), xytext=(0.5, y + 0.75 / len(rows)),
                          xycoords="axes fraction", arrowprops={"arrowstyle": "->"})
    figure.savefig(os.fspath(to_file), dpi=dpi, bbox_inches="tight")
    plt.close(figure)
