"""PNG plots of a training run (matplotlib, Agg; imported only when a plot is made).

Figures are made with ``matplotlib.figure.Figure`` directly, never pyplot, so no GUI backend
or global figure state is involved.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

Path = str | os.PathLike[str]


def _figure(width: float, height: float) -> Any:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    """Loss and accuracy per epoch, train and validation. ``history`` as History.history."""
    fig = _figure(9, 3.5)
    for index, metric in enumerate(("loss", "accuracy")):
        ax = fig.add_subplot(1, 2, index + 1)
        for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.savefig(path)


def plot_confusion_matrix(matrix: np.ndarray, path: Path) -> None:
    """Counts with true class down, predicted class across."""
    k = len(matrix)
    fig = _figure(5.5, 5)
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > threshold else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix")
    fig.savefig(path)


def plot_misclassified(x: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, path: Path,
                       limit: int = 36) -> int:
    """A grid of wrongly classified images (x: (N, H, W, 1) or (N, H, W)) titled true/predicted.
    Returns how many are wrong in total."""
    wrong = np.flatnonzero(y_true != y_pred)
    shown = wrong[:limit]
    cols = 6
    rows = max(1, -(-len(shown) // cols))
    fig = _figure(cols * 1.3, rows * 1.5)
    fig.suptitle(f"misclassified: {len(wrong)} of {len(y_true)} (true -> predicted)")
    for position, index in enumerate(shown):
        ax = fig.add_subplot(rows, cols, position + 1)
        ax.imshow(np.asarray(x[index]).squeeze(), cmap="gray")
        ax.set_title(f"{y_true[index]} -> {y_pred[index]}", fontsize=9,
                     color="tab:red")
        ax.axis("off")
    fig.savefig(path)
    return int(len(wrong))


def plot_filters(model: Any, path: Path) -> bool:
    """The first layer with a 4-D kernel (kh, kw, in, out): one tile per output filter (first
    input channel). Returns False when the model has no convolution."""
    kernel = next((layer.params["kernel"] for layer in model.layers
                   if getattr(layer, "params", {}).get("kernel") is not None
                   and layer.params["kernel"].ndim == 4), None)
    if kernel is None:
        return False
    filters = kernel[:, :, 0, :]
    count = filters.shape[-1]
    cols = min(8, count)
    rows = -(-count // cols)
    fig = _figure(cols * 0.9, rows * 0.9 + 0.4)
    fig.suptitle(f"first-layer filters ({kernel.shape[0]}x{kernel.shape[1]}, {count})")
    limit = float(np.abs(filters).max()) or 1.0
    for index in range(count):
        ax = fig.add_subplot(rows, cols, index + 1)
        ax.imshow(filters[:, :, index], cmap="bwr", vmin=-limit, vmax=limit)
        ax.axis("off")
    fig.savefig(path)
    return True
