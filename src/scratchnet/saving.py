"""Model files: ``model.save(path)`` and ``load_model(path)``.

A model file is one safetensors file. Its ``__metadata__`` holds, as JSON under the key
``"scratchnet"``, the architecture (``Sequential.get_config()``), the compile settings (optimizer
config, loss config, metrics) and the training state an exact resume needs (epochs done, the fit
generator's state, history). The tensors are the weights (``weights/<layer>/<param>``, trainable or
not: which ones are trained follows from the layer's own ``add_weight`` calls, so files written
before non-trainable weights existed load unchanged) and the optimizer slots
(``optimizer/<layer>/<param>/<slot>``, trainable weights only).

Safety: loading never unpickles or evaluates anything. The header is parsed and checked before
anything is allocated (header size, dtypes, shapes against byte ranges, total file size), only
registered layer types are constructed, and every weight the config asks for must be in the file
with exactly the shape the layer would build (the layer's ``add_weight`` is redirected to the
file, so a hostile config cannot make a layer allocate a huge tensor). Saves are atomic: a temp
file in the same directory, fsync, then ``os.replace``; a crash leaves the previous file intact.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_write
from .model_file import (
    FORMAT,
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    ModelFileError,
    parse_header,
    read_file,
    tensor,
)

__all__ = ["save_model", "load_model", "read_metadata", "ModelFileError"]

# The class load_model builds, set by scratchnet.model when it is imported: model imports this
# module and never the other way round (model -> training -> callbacks -> saving, no cycle).
MODEL_CLASS: Any = None


# --- save ------------------------------------------------------------------------------------
def history_of(model: Any) -> dict[str, Any]:
    """History so far: epochs loaded from a file before a resume, then this fit's epochs."""
    past = model.loaded_history or {"epoch": [], "history": {}}
    current = getattr(model, "history", None)
    if current is None or not current.epoch:
        return past
    first = min(current.epoch)
    keep = [i for i, e in enumerate(past["epoch"]) if e < first]
    merged = {"epoch": [past["epoch"][i] for i in keep] + list(current.epoch), "history": {}}
    for key in sorted(set(past["history"]) | set(current.history)):
        old = past["history"].get(key, [])
        merged["history"][key] = [old[i] for i in keep if i < len(old)] + [
            float(v) for v in current.history.get(key, [])]
    return merged


def _metadata(model: Any, epoch: int | None) -> dict[str, Any]:
    history = history_of(model)
    if epoch is None:
        epoch = max(history["epoch"]) + 1 if history["epoch"] else 0
    compiled = None
    if model.optimizer is not None and model.loss is not None:
        compiled = {"optimizer": model.optimizer.get_config(), "loss": model.loss.get_config(),
                    "metrics": list(model.metric_names)}
    fit_rng = model.fit_rng or model.resume_rng
    dropout_rngs = {layer.name: layer.rng.bit_generator.state
                    for layer in model.dropout_layers()
                    if layer.seed is not None and layer.rng is not None}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "model": model.get_config(),
            "compile": compiled,
            "training": {"epoch": int(epoch), "history": history,
                         "iterations": model.optimizer.iterations if model.optimizer else 0,
                         "fit_rng_state": fit_rng.bit_generator.state if fit_rng else None,
                         "dropout_rng_states": dropout_rngs}}


def _tensors(model: Any) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    tensors = {f"weights/{layer.name}/{key}": np.ascontiguousarray(value)
               for layer in model.layers for key, value in layer.params.items()}
    slots: list[list[str]] = []
    if model.optimizer is not None:
        for key, named in model.optimizer.slots.items():
            for slot, value in named.items():
                name = f"optimizer/{key}/{slot}"
                tensors[name] = np.ascontiguousarray(value)
                slots.append([key, slot, name])
    return tensors, slots


def save_model(model: Any, path: str | os.PathLike[str], epoch: int | None = None) -> Path:
    """Write ``model`` (architecture, weights, optimizer state, training state) to ``path``
    atomically. ``epoch`` = epochs completed (default: from the history)."""
    from safetensors.numpy import save
    if not model.built:
        raise ValueError("Cannot save a model that is not built: give the first layer an "
                         "input_shape or call model.build(...) first.")
    _check_loadable(model)
    path = Path(path)
    tensors, slots = _tensors(model)
    meta = _metadata(model, epoch)
    meta["optimizer_slots"] = slots
    data = save(tensors, metadata={"format": FORMAT, FORMAT: json.dumps(meta)})
    atomic_write(path, data)
    return path


def _check_loadable(model: Any) -> None:
    """Refuse to write a file that load_model could not read back: every activation, the loss
    and the optimizer must be known by name (loading never runs code from the file)."""
    from . import activations, losses
    for layer in model.layers:
        activation = getattr(layer, "activation", None)
        if activation is None or type(layer).__name__ == "LeakyReLU":
            continue   # LeakyReLU is rebuilt from its slope
        try:   # the name must resolve to this very function (leaky slopes rebuild from it)
            resolved = activations.get(activation.name)
            known = resolved is activation or activation.name.startswith("leaky_relu")
        except ValueError:
            known = False
        if not known:
            raise ValueError(f"Layer {layer.name!r} uses activation {activation.name!r}, which "
                             f"is not registered, so a saved model could not be loaded back: "
                             f"call scratchnet.activations.register(...) on it first.")
    if model.loss is not None:
        try:
            type(losses.get(model.loss.name))
        except ValueError:
            raise ValueError(f"The loss {model.loss.name!r} is not a built-in loss, so a saved "
                             f"model could not be compiled on load; save it uncompiled "
                             f"(model.compile(...) again after loading) or use a built-in "
                             f"loss.") from None


# --- load: validate, then build --------------------------------------------------------------
def _build(path: Path, config: Any, header: dict[str, Any], data: bytes, start: int) -> Any:
    from .layers import get_class
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list) \
            or not config["layers"]:
        raise ModelFileError(f"{path}: the model config must have a non-empty 'layers' list.")
    layers = []
    for index, entry in enumerate(config["layers"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise ModelFileError(f"{path}: layer {index} config is malformed: {entry!r:.200}")
        try:
            cls = get_class(entry.get("class_name"))
            layers.append(cls.from_config(dict(entry["config"])))
        except (TypeError, ValueError) as err:
            raise ModelFileError(f"{path}: layer {index}: {err}") from None
    used: set[str] = set()

    def from_file(layer: Any):
        def add_weight(name: str, shape: tuple[int, ...], initializer: Any,
                       trainable: bool = True) -> np.ndarray:
            key = f"weights/{layer.name}/{name}"
            entry = header.get(key)
            if entry is None:
                raise ModelFileError(f"{path}: the config's layer {layer.name!r} needs weight "
                                     f"{name!r} of shape {tuple(shape)}, which the file lacks.")
            if tuple(entry["shape"]) != tuple(shape):
                raise ModelFileError(f"{path}: weight {key!r} has shape {tuple(entry['shape'])}"
                                     f" but the config's layer builds {tuple(shape)}.")
            used.add(key)
            return layer.attach_weight(name, tensor(data, start, entry), trainable)
        return add_weight

    for layer in layers:  # weights come from the file, sized by it: nothing else is allocated
        layer.add_weight = from_file(layer)
    try:
        model = MODEL_CLASS(name=str(config.get("name", "sequential")))
        for layer in layers:
            model.add(layer)
        if not model.built:
            shape = config.get("input_shape")
            if not (isinstance(shape, list) and all(isinstance(d, int) and d > 0 for d in shape)):
                raise ModelFileError(f"{path}: the model config has no valid input_shape "
                                     f"(got {shape!r}).")
            model.build(tuple(shape))
    except ModelFileError:
        raise
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: the model config does not build: {err}") from None
    finally:
        for layer in layers:
            layer.__dict__.pop("add_weight", None)
    unused = sorted(k for k in header if k.startswith("weights/") and k not in used)
    if unused:
        raise ModelFileError(f"{path}: weights {unused[:5]} are not used by the model config.")
    return model


def _restore_compile(path: Path, model: Any, meta: dict[str, Any], header: dict[str, Any],
                     data: bytes, start: int) -> None:
    from . import losses, optimizers
    compiled = meta.get("compile")
    if compiled is None:
        return
    try:
        optimizer = optimizers.from_config(compiled["optimizer"])
        model.compile(optimizer=optimizer, loss=losses.from_config(compiled["loss"]),
                      metrics=list(compiled.get("metrics") or []))
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: invalid compile settings: {err}") from None
    params = model.trainable_params()
    for item in meta.get("optimizer_slots") or []:
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(s, str)
                                                                   for s in item)):
            raise ModelFileError(f"{path}: malformed optimizer slot entry {item!r:.200}")
        key, slot, name = item
        if key not in params or name not in header:
            raise ModelFileError(f"{path}: optimizer slot {name!r} refers to a missing weight "
                                 f"or tensor.")
        if tuple(header[name]["shape"]) != params[key].shape:
            raise ModelFileError(f"{path}: optimizer slot {name!r} has shape "
                                 f"{tuple(header[name]['shape'])}, expected {params[key].shape}.")
        optimizer.slots.setdefault(key, {})[slot] = tensor(data, start, header[name])
    training = meta.get("training") or {}
    iterations = training.get("iterations", 0)
    if not isinstance(iterations, int) or iterations < 0:
        raise ModelFileError(f"{path}: invalid optimizer iterations {iterations!r}.")
    optimizer.iterations = iterations


def _generator(path: Path, state: Any, what: str) -> np.random.Generator:
    generator = np.random.default_rng()
    try:
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as err:
        raise ModelFileError(f"{path}: invalid {what} random state: {err}") from None
    return generator


def _restore_training(path: Path, model: Any, meta: dict[str, Any]) -> None:
    training = meta.get("training") or {}
    epoch = training.get("epoch", 0)
    if not isinstance(epoch, int) or epoch < 0:
        raise ModelFileError(f"{path}: invalid epoch {epoch!r}.")
    history = training.get("history") or {"epoch": [], "history": {}}
    if not (isinstance(history, dict) and isinstance(history.get("epoch"), list)
            and isinstance(history.get("history"), dict)):
        raise ModelFileError(f"{path}: malformed history.")
    model.initial_epoch = epoch
    model.loaded_history = history
    state = training.get("fit_rng_state")
    # fit(initial_epoch > 0) picks this up so shuffling and dropout continue exactly.
    model.resume_rng = _generator(path, state, "fit") if state is not None else None
    rngs = training.get("dropout_rng_states") or {}
    for layer in model.dropout_layers():
        if layer.name in rngs and layer.seed is not None:
            layer.rng = _generator(path, rngs[layer.name], f"dropout {layer.name!r}")


def load_model(path: str | os.PathLike[str], compile: bool = True,
               max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Load a model written by ``model.save``: built, with its weights, and (``compile=True``)
    compiled with its optimizer state, ready to predict or to resume training.

    ``model.initial_epoch`` is the number of epochs trained; ``model.fit(...,
    initial_epoch=model.initial_epoch)`` continues exactly where the saved run stopped.
    Raises ModelFileError (a ValueError) naming the file and the problem.
    """
    path = Path(path)
    data = read_file(path, max_bytes)
    header, meta, start = parse_header(path, data)
    model = _build(path, meta.get("model"), header, data, start)
    if compile:
        _restore_compile(path, model, meta, header, data, start)
    _restore_training(path, model, meta)
    return model


def read_metadata(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> dict:
    """The validated JSON metadata of a model file (config, compile, training), no tensors."""
    path = Path(path)
    return parse_header(path, read_file(path, max_bytes))[1]
