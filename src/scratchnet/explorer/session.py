"""What the explorer knows: the model (reloaded when its checkpoint changes), its dead units on
test images, the run directory's history (read by ``run_directory``), the confusion matrix and
the doctor report.

Every computation with the model holds ``self._lock``: a layer's backward closure writes the
layer's ``grads``, so two requests must not run the same model at once.
"""
from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import run_directory, views
from .adapters import image_size, prepare_canvas, trace_layers
from .run_directory import resolve_source

Array = np.ndarray
MAX_CANVAS_SIDE = 1024
CELL_DIGITS = 64        # test digits returned for one confusion-matrix cell
BATCH = 100            # a prediction from the page waits at most one batch


class NotReady(Exception):
    """The run directory has no checkpoint yet (training has not finished its first epoch)."""


@dataclass
class Loaded:
    """One checkpoint's model and what was derived from it."""
    model: Any
    signature: tuple[int, int]
    epoch: int | None
    size: tuple[int, int]
    dead: list[list[int]] | None = None
    predictions: Array | None = None          # on the run's test samples
    doctor: dict[bool, dict[str, Any]] = field(default_factory=dict)


class Explorer:
    def __init__(self, source: str | Path | None = None, dead_samples: int = 1000):
        self.model_path, self.run_dir = resolve_source(source)
        self.dead_samples = int(dead_samples)
        self._lock = threading.RLock()
        self._doctor_lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._test: tuple[Array, Array] | None = None
        try:
            self.current()   # a bad model file fails here, before the server starts
        except NotReady:
            pass             # a run directory whose training has just begun: the page waits

    # --- the model, following its checkpoint ------------------------------------------------
    def _signature(self) -> tuple[int, int] | None:
        try:
            stat = self.model_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def current(self) -> Loaded:
        from ..saving import load_model
        with self._lock:
            signature = self._signature()
            if signature is None:
                if self.run_dir is None:
                    raise FileNotFoundError(f"{self.model_path}: no such model file.")
                raise NotReady(f"{self.run_dir} has no checkpoint yet: the first epoch of "
                               f"training has not finished.")
            if self._loaded is None or self._loaded.signature != signature:
                model = load_model(self.model_path, compile=False)
                size = image_size(model.input_shape)
                self._loaded = Loaded(model, signature, model.initial_epoch, size)
            return self._loaded

    def _test_set(self) -> tuple[Array, Array]:
        """The run's test samples (the first ``limit`` when the run used a limit), in [0, 1]."""
        if self._test is None:
            from ..datasets import mnist
            (_, _), (x, y) = mnist.load_data()
            limit = self._settings().get("limit")
            self._test = (x[:limit].astype(np.float32) / 255, y[:limit].astype(np.int64))
        return self._test

    def _batches(self, loaded: Loaded, x: Array) -> Iterator[list[Array]]:
        """Every layer's outputs, batch by batch; the lock is taken per batch so that the
        page's predictions get in between."""
        shape = loaded.model.input_shape
        for start in range(0, len(x), BATCH):
            with self._lock:
                outputs = trace_layers(loaded.model, x[start:start + BATCH].reshape(-1, *shape))
            yield outputs[0]

    def _dead(self, loaded: Loaded) -> list[list[int]]:
        if loaded.dead is None:
            x = self._test_set()[0][:self.dead_samples]
            loaded.dead = views.dead_units(list(self._batches(loaded, x)))
        return loaded.dead

    def warm_up(self) -> None:
        """Find the dead units now (a second or two), so the page's first request is quick."""
        try:
            self._dead(self.current())
        except NotReady:
            pass

    # --- what the page asks for -------------------------------------------------------------
    def model_info(self) -> dict[str, Any]:
        loaded = self.current()
        model = loaded.model
        dead = self._dead(loaded)
        layers = [{"name": layer.name, "class": type(layer).__name__,
                   "output_shape": list(layer.output_shape), "params": layer.count_params(),
                   "units": views.units_of(layer.output_shape), "dead": dead[i]}
                  for i, layer in enumerate(model.layers)]
        return {"name": model.name, "source": str(self.model_path),
                "run_dir": str(self.run_dir) if self.run_dir else None,
                "checkpoint": _tag(loaded.signature), "epoch": loaded.epoch,
                "input_size": list(loaded.size), "input_shape": list(model.input_shape),
                "dead_samples": min(self.dead_samples, len(self._test_set()[0])),
                "layers": layers, "filters": views.first_layer_filters(model, loaded.size)}

    def predict(self, payload: Any) -> dict[str, Any]:
        gray = _canvas_pixels(payload)
        arrived = time.perf_counter()
        with self._lock:     # waits while a batch of a confusion/dead-unit pass runs
            start = time.perf_counter()
            loaded = self.current()
            image = prepare_canvas(gray, loaded.size)
            outputs, saliency = trace_layers(
                loaded.model, image.reshape(1, *loaded.model.input_shape), saliency=True)
        probabilities = outputs[-1][0].reshape(-1)
        result = {"checkpoint": _tag(loaded.signature), "digit": int(probabilities.argmax()),
                  "probabilities": [float(p) for p in probabilities],
                  "image": views.gray_image(image),
                  "saliency": views.signed_image(saliency[0].reshape(loaded.size)),
                  "layers": [views.layer_view(output[0]) for output in outputs]}
        # server_ms: preprocessing, every layer, the saliency and the encoding of the views.
        result["server_ms"] = round((time.perf_counter() - start) * 1000, 2)
        result["waited_ms"] = round((start - arrived) * 1000, 2)
        return result

    def _settings(self) -> dict[str, Any]:
        return run_directory.settings(self.run_dir)

    def run_info(self) -> dict[str, Any]:
        if self.run_dir is None:
            return {"run_dir": None}
        signature = self._signature()
        evaluation = run_directory.read_json(self.run_dir / "evaluation.json")
        return {"run_dir": str(self.run_dir), "settings": self._settings(),
                "status": run_directory.status(self.run_dir, signature),
                "history": run_directory.history(self.run_dir),
                "checkpoint": _tag(signature) if signature else None,
                "evaluation": evaluation and {k: evaluation.get(k)
                                              for k in ("samples", "loss", "accuracy")},
                "files": self.run_files()}

    def run_files(self) -> list[str]:
        return run_directory.files(self.run_dir)

    def run_file(self, name: str) -> Path:
        """A file directly in the run directory, by a name listed in :meth:`run_files`."""
        if name not in self.run_files():
            raise FileNotFoundError(name)
        return self.run_dir / name

    def confusion(self) -> dict[str, Any]:
        loaded = self.current()
        x, labels = self._test_set()
        if loaded.predictions is None:
            loaded.predictions = np.concatenate([outputs[-1].argmax(axis=1)
                                                 for outputs in self._batches(loaded, x)])
        from ..evaluation import confusion_matrix
        matrix = confusion_matrix(labels, loaded.predictions, 10)
        return {"checkpoint": _tag(loaded.signature), "samples": int(len(labels)),
                "accuracy": float(np.mean(loaded.predictions == labels)),
                "matrix": matrix.tolist()}

    def confusion_cell(self, true: int, predicted: int) -> dict[str, Any]:
        if not all(isinstance(v, int) and 0 <= v < 10 for v in (true, predicted)):
            raise ValueError(f"expected a true and a predicted class in 0..9, got "
                             f"{true!r} and {predicted!r}")
        self.confusion()
        loaded = self.current()
        x, labels = self._test_set()
        where = np.flatnonzero((labels == true) & (loaded.predictions == predicted))
        shown = where[:CELL_DIGITS]
        return {"true": true, "predicted": predicted, "count": int(len(where)),
                "indices": shown.tolist(), "height": int(x.shape[1]), "width": int(x.shape[2]),
                "images": [views.gray_image(x[i]) for i in shown]}

    def doctor(self, training_checks: bool = False, samples: int = 256) -> dict[str, Any]:
        """``scratchnet.doctor`` on MNIST training samples, run on a fresh copy of the
        checkpoint (the doctor back-propagates; the page's model stays untouched)."""
        loaded = self.current()
        with self._doctor_lock:
            if training_checks not in loaded.doctor:
                from ..cli.common import model_and_training_data
                from ..diagnostics.doctor import doctor
                model, x, y = model_and_training_data(str(self.model_path), samples)
                report = doctor(model, x, y, max_samples=samples,
                                training_checks=training_checks)
                loaded.doctor[training_checks] = report.to_dict()
            return loaded.doctor[training_checks]


def _tag(signature: tuple[int, int]) -> str:
    return f"{signature[0]}-{signature[1]}"


def _canvas_pixels(payload: Any) -> Array:
    """{"width": W, "height": H, "pixels": base64 of W*H bytes, 0 = background, 255 = ink}."""
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object with width, height and pixels, got "
                         f"{type(payload).__name__}")
    width, height, pixels = payload.get("width"), payload.get("height"), payload.get("pixels")
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool) \
                or not 1 <= value <= MAX_CANVAS_SIDE:
            raise ValueError(f"expected {name} an integer in 1..{MAX_CANVAS_SIDE}, got {value!r}")
    if not isinstance(pixels, str):
        raise ValueError(f"expected pixels as a base64 string, got {type(pixels).__name__}")
    try:
        raw = base64.b64decode(pixels, validate=True)
    except ValueError:
        raise ValueError("expected pixels as base64, got characters outside its alphabet") \
            from None
    if len(raw) != width * height:
        raise ValueError(f"expected {width}x{height} = {width * height} pixel bytes, got "
                         f"{len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width).astype(np.float32) / 255
