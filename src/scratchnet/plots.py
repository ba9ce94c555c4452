"""PNG plots of a training run and of predictions (matplotlib, Agg; imported only when a plot is
made).

Figures are made with ``matplotlib.figure.Figure`` directly, never pyplot, so no GUI backend
or global figure state is involved. Every plot function returns the Figure it saved, so tests
(and notebooks) can read titles, labels and images from it.

One file past 300 lines on purpose: the plots of a run share the same few figure helpers
(``_figure``, ``_tiles``, ``_bare``) and are made together by ``scratchnet train``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .callbacks import Callback

Path = str | os.PathLike[str]


def _figure(width: float, height: float) -> Any:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


class BatchCurve(Callback):
    """Records each training batch's own loss and metrics for the curves plot.

    The fit loop logs running means over the epoch; the batch's value is recovered from two
    consecutive means. ``points[key]`` is a list of (position in epochs, value), position
    ``epoch + (batch + 1) / steps``."""

    def __init__(self) -> None:
        super().__init__()
        self.points: dict[str, list[tuple[float, float]]] = {}
        self._epoch, self._seen, self._totals = 0, 0, {}

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._epoch, self._seen, self._totals = epoch, 0, {}

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        logs = dict(logs or {})
        size = int(logs.pop("size", 0)) or 1
        self._seen += size
        position = self._epoch + (batch + 1) / max(1, self.params.get("steps", batch + 1))
        for key, mean in logs.items():
            total = mean * self._seen
            value = (total - self._totals.get(key, 0.0)) / size
            self._totals[key] = total
            self.points.setdefault(key, []).append((position, float(value)))


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (shorter at the start, so it starts at the first value)."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums[1:] - sums[np.arange(1, len(values) + 1) - counts]) / counts


def plot_history(history: dict[str, list[float]], path: Path,
                 batches: dict[str, list[tuple[float, float]]] | None = None,
                 validation_label: str = "validation") -> Any:
    """Loss and accuracy against epochs: every batch (faint) and its moving average, the
    epoch's mean over its batches (at mid-epoch, as it is a mean) and the ``val_`` values at
    each epoch's end, labelled ``validation_label`` ("test" when the held-out data is the test
    set). ``history``: History.history; ``batches``: BatchCurve.points. Meaningful at 1 epoch."""
    fig = _figure(10, 4)
    epochs = len(history.get("loss", []))
    for index, metric in enumerate(("loss", "accuracy")):
        ax = fig.add_subplot(1, 2, index + 1)
        shown: list[float] = []
        points = (batches or {}).get(metric, [])
        if points:
            x, y = (np.array(v) for v in zip(*points))
            window = max(1, min(25, len(y) // 40))
            ax.plot(x, y, color="tab:blue", alpha=0.25 if window > 1 else 0.7, linewidth=0.8,
                    label="train, per batch")
            steady = y
            if window > 1:
                steady = _smooth(y, window)
                ax.plot(x, steady, color="tab:blue", linewidth=1.5,
                        label=f"train, mean of {window} batches")
            shown += list(steady)
        ends = np.arange(epochs) + 1.0
        train = history.get(metric) or []
        if train:
            ax.plot(ends[:len(train)] - 0.5, train, "o", color="tab:blue", markersize=6,
                    markeredgecolor="white", label="train, epoch mean")
            shown += list(train)
        held_out = history.get(f"val_{metric}") or []
        if held_out:
            ax.plot(ends[:len(held_out)], held_out, "s-", color="tab:orange", markersize=6,
                    label=f"{validation_label}, end of epoch")
            shown += list(held_out)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        span = max(1, epochs)
        ax.set_xlim(-0.02 * span, 1.02 * span)   # markers on the last epoch stay whole
        ax.xaxis.get_major_locator().set_params(integer=True)
        positive = [v for v in shown if v > 0]
        if metric == "loss" and positive and max(positive) > 20 * min(positive):
            ax.set_yscale("log")   # from ~2.3 down to ~0.03: a linear axis flattens the end
            ax.set_ylim(bottom=0.5 * min(positive))   # single lucky batches do not set it
        if metric == "accuracy" and shown:
            low, high = min(shown), max(shown)
            pad = max(0.01, 0.05 * (high - low))
            ax.set_ylim(max(0.0, low - pad), min(1.0 + pad / 2, high + pad))
        ax.set_title(f"{metric}: last {validation_label} {held_out[-1]:.4g}" if held_out
                     else metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.savefig(path)
    return fig


def plot_confusion_matrix(matrix: np.ndarray, path: Path, data_label: str = "test") -> Any:
    """Rows (true class) normalised to fractions for the colour, with a colour bar; the counts in
    the cells; accuracy in the title. A square-root colour scale keeps 1% mistakes visible."""
    from matplotlib.colors import PowerNorm
    matrix = np.asarray(matrix)
    k = len(matrix)
    totals = matrix.sum(axis=1, keepdims=True)
    rates = matrix / np.maximum(totals, 1)
    correct, total = int(np.trace(matrix)), int(matrix.sum())
    fig = _figure(6.4, 5.4)
    ax = fig.add_subplot()
    image = ax.imshow(rates, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=1))
    colorbar = fig.colorbar(image, ax=ax, shrink=0.85)
    colorbar.set_label("fraction of the true class (square-root scale)")
    colorbar.set_ticks([0, 0.01, 0.05, 0.2, 0.5, 1])
    for i in range(k):
        for j in range(k):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if rates[i, j] > 0.4 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = correct / total if total else float("nan")
    ax.set_title(f"confusion matrix on {data_label}: accuracy {accuracy:.2%} "
                 f"({correct:,} of {total:,})", fontsize=10)
    fig.savefig(path)
    return fig


def most_confident_mistakes(y_true: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Indices of the wrongly classified samples, the most confident first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")]


def plot_misclassified(x: np.ndarray, y_true: np.ndarray, probabilities: np.ndarray, path: Path,
                       limit: int = 24) -> Any:
    """The ``limit`` most confident mistakes (x: (N, H, W, 1) or (N, H, W); probabilities:
    (N, classes)), each titled true -> predicted with the predicted probability and, below, the
    probability given to the true class. ``fig.mistakes`` holds the total count."""
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities)
    order = most_confident_mistakes(y_true, probabilities)
    shown = order[:limit]
    cols = 8
    rows = max(1, -(-len(shown) // cols))
    fig = _figure(cols * 1.25, rows * 1.55 + 0.5)
    fig.suptitle(f"the {len(shown)} most confident of {len(order)} mistakes in {len(y_true):,} "
                 f"(true -> predicted, p = probability)", fontsize=10)
    for position, index in enumerate(shown):
        ax = fig.add_subplot(rows, cols, position + 1)
        guess = int(probabilities[index].argmax())
        ax.imshow(np.asarray(x[index]).squeeze(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{y_true[index]} -> {guess}  p={probabilities[index, guess]:.2f}",
                     fontsize=8, color="tab:red")
        ax.set_xlabel(f"p(true {y_true[index]})={probabilities[index, y_true[index]]:.2f}",
                      fontsize=7)
        _bare(ax)
    if not len(shown):
        fig.add_subplot().text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.mistakes = int(len(order))
    fig.savefig(path)
    return fig


def first_conv(model: Any) -> Any:
    """The first layer with a 4-D kernel (kh, kw, in, out), or None."""
    return next((layer for layer in model.layers
                 if getattr(layer, "params", {}).get("kernel") is not None
                 and layer.params["kernel"].ndim == 4), None)


def plot_filters(model: Any, path: Path) -> Any:
    """First-layer filters (first input channel), one tile each, on one diverging colour scale
    centred at 0, with its colour bar. Returns None (and writes nothing) without a convolution."""
    layer = first_conv(model)
    if layer is None:
        return None
    kernel = layer.params["kernel"]
    filters = kernel[:, :, 0, :]
    count = filters.shape[-1]
    cols = min(8, count)
    rows = -(-count // cols)
    fig = _figure(cols * 0.95 + 1.2, rows * 0.95 + 0.6)
    fig.suptitle(f"first-layer filters: {layer.name}, {count} of {kernel.shape[0]}x"
                 f"{kernel.shape[1]} (input channel 0)", fontsize=10)
    limit = float(np.abs(filters).max()) or 1.0
    _tiles(fig, fig.add_gridspec(rows, cols), 0, filters, "RdBu_r", (-limit, limit), "weight")
    fig.savefig(path)
    return fig


def _tiles(fig: Any, grid: Any, first_column: int, maps: np.ndarray, cmap: str,
           limits: tuple[float, float], label: str) -> None:
    """maps (H, W, C) as tiles, row by row from ``first_column`` of ``grid``, all on one
    colour scale, with one colour bar labelled ``label``."""
    cols = grid.ncols - first_column
    axes = []
    for index in range(maps.shape[-1]):
        ax = _bare(fig.add_subplot(grid[index // cols, first_column + index % cols]))
        image = ax.imshow(maps[:, :, index], cmap=cmap, vmin=limits[0], vmax=limits[1])
        axes.append(ax)
    fig.colorbar(image, ax=axes, shrink=0.9).set_label(label)


def _bare(ax: Any) -> Any:
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def first_layer_output(model: Any, x: np.ndarray) -> tuple[Any, np.ndarray]:
    """(layer, its output for x (1, H, W, C)) of the first convolution, in inference mode. The
    one place that drives a layer directly (to switch to the engine's runner hooks later)."""
    layer = first_conv(model)
    for current in model.layers:
        x, _ = current.forward(x, training=False)
        if current is layer:
            return layer, x
    raise ValueError("the model has no convolution")


def plot_activation_map(model: Any, digit: np.ndarray, path: Path, label: int | None = None) -> Any:
    """The first convolution's output channels for one digit (H, W, 1), beside the digit, on one
    colour scale with a colour bar. Returns None (and writes nothing) without a convolution."""
    if first_conv(model) is None:
        return None
    layer, output = first_layer_output(model, np.asarray(digit, np.float32)[None])
    maps = output[0]
    count = maps.shape[-1]
    cols = min(8, count)
    rows = -(-count // cols)
    fig = _figure(cols * 1.05 + 2.6, rows * 1.05 + 0.6)
    named = f" (label {label})" if label is not None else ""
    fig.suptitle(f"first-layer activations: {layer.name} output, {count} channels of "
                 f"{maps.shape[0]}x{maps.shape[1]}, for one test digit{named}", fontsize=10)
    grid = fig.add_gridspec(rows, cols + 2)
    digit_ax = _bare(fig.add_subplot(grid[:min(rows, 2), :2]))
    digit_ax.imshow(np.asarray(digit).squeeze(), cmap="gray", vmin=0, vmax=1)
    digit_ax.set_title(f"input{named}", fontsize=9)
    limits = (float(min(0.0, maps.min())), float(maps.max()) or 1.0)
    _tiles(fig, grid, 2, maps, "magma", limits, "activation")
    fig.savefig(path)
    return fig


def plot_prediction(grey: np.ndarray | None, digit: Any, probabilities: np.ndarray, path: Path,
                    title: str = "") -> Any:
    """What ``predict`` did with one picture: the picture (when given), the 28x28 image the
    model saw, and its probabilities. ``digit``: an images.PreparedDigit."""
    probabilities = np.asarray(probabilities)
    best = int(probabilities.argmax())
    panels = 3 if grey is not None else 2
    fig = _figure(3.2 * panels, 3.4)
    fig.suptitle(f"{title}: {best} ({probabilities[best]:.1%})" if title else
                 f"{best} ({probabilities[best]:.1%})", fontsize=11)
    column = 1
    if grey is not None:
        ax = fig.add_subplot(1, panels, column)
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"picture, {grey.shape[1]}x{grey.shape[0]}", fontsize=9)
        if digit.ink_box is not None:
            from matplotlib.patches import Rectangle
            top, left, bottom, right = digit.ink_box
            scale = grey.shape[0] / digit.source_size[0]
            ax.add_patch(Rectangle((left * scale - 0.5, top * scale - 0.5),
                                   (right - left) * scale, (bottom - top) * scale,
                                   fill=False, edgecolor="tab:red", linewidth=1))
        _bare(ax)
        column += 1
    ax = fig.add_subplot(1, panels, column)
    ax.imshow(digit.pixels, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"seen by the model, {digit.pixels.shape[1]}x{digit.pixels.shape[0]}",
                 fontsize=9)
    _bare(ax)
    if digit.warnings:
        ax.set_xlabel("\n".join(w.split(":")[0] for w in digit.warnings), color="tab:red",
                      fontsize=9)
    ax = fig.add_subplot(1, panels, column + 1)
    colours = ["tab:blue"] * len(probabilities)
    colours[best] = "tab:orange"
    ax.bar(range(len(probabilities)), probabilities, color=colours)
    ax.set_xticks(range(len(probabilities)))
    ax.set_ylim(0, 1)
    ax.set_xlabel("class")
    ax.set_title("probabilities", fontsize=9)
    fig.savefig(path)
    return fig
