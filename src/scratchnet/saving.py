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

One file past 300 lines on purpose: the save and the checked load are each other's inverse and
are read side by side (the byte format is ``model_file.py``, the metadata checks ``schema.py``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics, schema
from .errors import MetadataError, ModelFileError
from .files import atomic_write
from .model_file import FORMAT, FORMAT_VERSION, MAX_FILE_BYTES, parse_header, read_file, tensor

__all__ = ["save_model", "load_model", "read_metadata", "ModelFileError"]
# Values per sample that the input or any layer's output may hold: a file declaring a larger
# input (a 10^6 x 10^6 image for a small convolution) is refused before anything runs on it.
MAX_SAMPLE_VALUES = 2**25

# The class load_model builds, set by scratchnet.model when it is imported: model imports this
# module and never the other way round (model -> training -> callbacks -> saving, no cycle).
MODEL_CLASS: Any = None


# --- save ------------------------------------------------------------------------------------
def history_of(model: Any) -> dict[str, Any]:
    """History so far: epochs loaded from a file before a resume, then this fit's epochs. Every
    list has one entry per epoch; a metric an epoch did not log (validation, say) is None."""
    past = model.loaded_history or {"epoch": [], "history": {}}
    current = getattr(model, "history", None)
    if current is None or not current.epoch:
        return past
    first = min(current.epoch)
    keep = [i for i, e in enumerate(past["epoch"]) if e < first]
    merged = {"epoch": [past["epoch"][i] for i in keep] + list(current.epoch), "history": {}}
    for key in sorted(set(past["history"]) | set(current.history)):
        old = past["history"].get(key, [])
        new = current.history.get(key, [])
        merged["history"][key] = [old[i] if i < len(old) else None for i in keep] + [
            float(new[i]) if i < len(new) else None for i in range(len(current.epoch))]
    return merged


def _metadata(model: Any, epoch: int | None) -> dict[str, Any]:
    history = history_of(model)
    if epoch is None:
        epoch = max(history["epoch"]) + 1 if history["epoch"] else 0
    compiled = None
    if model.optimizer is not None and model.loss is not None:
        compiled = {"optimizer": model.optimizer.get_config(), "loss": model.loss.get_config(),
                    "metrics": metrics.serialize(model.compiled_metrics)}
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
def _field_error(field: str, message: str) -> MetadataError:
    return MetadataError(f"field {field}: {message}", field)


def _build(config: dict[str, Any], header: dict[str, Any], data: bytes, start: int) -> Any:
    from .layers import get_class
    layers = []
    for index, entry in enumerate(config["layers"]):
        try:
            layers.append(get_class(entry["class_name"]).from_config(dict(entry["config"])))
        except (TypeError, ValueError, OverflowError) as err:
            raise _field_error(f"model.layers[{index}].config", str(err)) from None
    used: set[str] = set()

    def from_file(layer: Any):
        def add_weight(name: str, shape: tuple[int, ...], initializer: Any,
                       trainable: bool = True) -> np.ndarray:
            key = f"weights/{layer.name}/{name}"
            entry = header.get(key)
            if entry is None:
                raise ModelFileError(f"the config's layer {layer.name!r} needs weight "
                                     f"{name!r} of shape {tuple(shape)}, which the file lacks.")
            if tuple(entry["shape"]) != tuple(shape):
                raise ModelFileError(f"weight {key!r} has shape {tuple(entry['shape'])} but the "
                                     f"config's layer builds {tuple(shape)}.")
            used.add(key)
            return layer.attach_weight(name, tensor(data, start, entry), trainable)
        return add_weight

    for layer in layers:  # weights come from the file, sized by it: nothing else is allocated
        layer.add_weight = from_file(layer)
    try:
        model = MODEL_CLASS(name=str(config.get("name", "sequential")))
        for index, layer in enumerate(layers):
            if index == 0 and layer.input_shape_arg is not None:
                _check_budget(layer.input_shape_arg, "model.layers[0].config.input_shape")
            model.add(layer)
            if layer.output_shape is not None:
                _check_budget(layer.output_shape, f"model.layers[{index}] (its output)")
        if not model.built:
            shape = config.get("input_shape")
            if shape is None:
                raise _field_error("model.input_shape", "missing; the first layer has no "
                                   "input_shape either, so the model cannot be built.")
            _check_budget(shape, "model.input_shape")
            model.build(tuple(shape))
            for index, layer in enumerate(model.layers):
                _check_budget(layer.output_shape, f"model.layers[{index}] (its output)")
    except ModelFileError:
        raise
    except (TypeError, ValueError, OverflowError) as err:
        raise _field_error("model.layers", f"the model does not build: {err}") from None
    finally:
        for layer in layers:
            layer.__dict__.pop("add_weight", None)
    unused = sorted(k for k in header if k.startswith("weights/") and k not in used)
    if unused:
        raise ModelFileError(f"weights {unused[:5]} are not used by the model config.")
    _probe(model)
    return model


def _check_budget(shape: Any, field: str) -> None:
    values = int(np.prod([int(d) for d in shape], dtype=object))
    if values > MAX_SAMPLE_VALUES:
        raise _field_error(field, f"{tuple(shape)} is {values:,} values per sample; the limit "
                           f"is {MAX_SAMPLE_VALUES:,} (not a model for this machine, or "
                           f"corrupted).")


def _probe(model: Any) -> None:
    """One inference pass on one zero sample: a config whose arguments are accepted by the
    constructors but cannot run (a Softmax over an axis the data lacks) fails here, at load."""
    x = np.zeros((1, *model.input_shape), dtype=model.dtype)
    try:
        with np.errstate(all="ignore"):
            model.forward(x, training=False)
    except Exception as err:  # any failure here means the file's config cannot be used
        raise _field_error("model.layers", f"the model cannot run on an input of shape "
                           f"{model.input_shape}: {type(err).__name__}: {err}") from None


def _check_finite(model: Any, allow_nonfinite: bool) -> None:
    bad = [f"weights/{layer.name}/{key}" for layer in model.layers
           for key, value in layer.params.items() if not np.isfinite(value).all()]
    if model.optimizer is not None:
        bad += [f"optimizer/{key}/{slot}" for key, named in model.optimizer.slots.items()
                for slot, value in named.items() if not np.isfinite(value).all()]
    if not bad:
        return
    message = (f"tensors {bad[:5]} hold NaN or Inf values: the model would predict NaN. "
               f"Pass allow_nonfinite=True to load it anyway, for inspection.")
    if not allow_nonfinite:
        raise ModelFileError(message)
    import warnings
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _restore_compile(model: Any, meta: dict[str, Any], header: dict[str, Any], data: bytes,
                     start: int) -> None:
    from . import losses, optimizers
    compiled = meta.get("compile")
    if compiled is None:
        return
    try:
        optimizer = optimizers.from_config(compiled["optimizer"])
    except (TypeError, ValueError) as err:
        raise _field_error("compile.optimizer", str(err)) from None
    try:
        loss = losses.from_config(compiled["loss"])
    except (TypeError, ValueError) as err:
        raise _field_error("compile.loss", str(err)) from None
    try:
        model.compile(optimizer=optimizer, loss=loss, metrics=list(compiled.get("metrics") or []))
    except (TypeError, ValueError) as err:
        raise _field_error("compile", str(err)) from None
    params = model.trainable_params()
    seen: set[tuple[str, str]] = set()
    referenced: set[str] = set()
    for index, (key, slot, name) in enumerate(meta.get("optimizer_slots") or []):
        field = f"optimizer_slots[{index}]"
        if key not in params:
            raise _field_error(field, f"expected a trainable weight name, got {key!r}")
        if slot not in optimizer.slot_names:
            raise _field_error(field, f"{optimizer.name} keeps slots {optimizer.slot_names}, "
                               f"got {slot!r}")
        if (key, slot) in seen or name in referenced:
            raise _field_error(field, f"slot {slot!r} of {key!r} is given twice")
        if name not in header or not name.startswith("optimizer/"):
            raise _field_error(field, f"names tensor {name!r}, which the file lacks")
        if tuple(header[name]["shape"]) != params[key].shape:
            raise _field_error(field, f"tensor {name!r} has shape {tuple(header[name]['shape'])}"
                               f", expected {params[key].shape} (the weight's)")
        seen.add((key, slot))
        referenced.add(name)
        optimizer.slots.setdefault(key, {})[slot] = tensor(data, start, header[name])
    partial = sorted(k for k in optimizer.slots if len(optimizer.slots[k]) !=
                     len(optimizer.slot_names))
    if partial:
        raise _field_error("optimizer_slots", f"weight {partial[0]!r} has slots "
                           f"{sorted(optimizer.slots[partial[0]])}, expected all of "
                           f"{optimizer.slot_names}")
    training = meta.get("training") or {}
    optimizer.iterations = training.get("iterations", 0)
    if optimizer.slots and optimizer.iterations == 0:
        raise _field_error("training.iterations", "0, but the file has optimizer slots; "
                           "expected the number of optimizer steps taken")


def _generator(state: Any, field: str) -> np.random.Generator:
    generator = np.random.default_rng()
    try:
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise _field_error(field, f"invalid random state: {err}") from None
    return generator


def _restore_training(model: Any, meta: dict[str, Any]) -> None:
    training = meta.get("training") or {}
    model.initial_epoch = training.get("epoch", 0)
    model.loaded_history = training.get("history") or {"epoch": [], "history": {}}
    state = training.get("fit_rng_state")
    # fit(initial_epoch > 0) picks this up so shuffling and dropout continue exactly.
    model.resume_rng = (_generator(state, "training.fit_rng_state")
                        if state is not None else None)
    rngs = training.get("dropout_rng_states") or {}
    seeded = {layer.name: layer for layer in model.dropout_layers() if layer.seed is not None}
    for name, state in rngs.items():
        if name not in seeded:
            raise _field_error(f"training.dropout_rng_states.{name}", f"expected the name of a "
                               f"Dropout layer with a seed, one of {sorted(seeded)}")
        seeded[name].rng = _generator(state, f"training.dropout_rng_states.{name}")


def _unreferenced(header: dict[str, Any], meta: dict[str, Any]) -> None:
    slots = {item[2] for item in meta.get("optimizer_slots") or []}
    for name in header:
        if not (name.startswith("weights/") or name in slots):
            raise ModelFileError(f"tensor {name!r} is neither a weight nor an optimizer slot "
                                 f"named in optimizer_slots.")


def _validated(path: Path, max_bytes: int) -> tuple[dict[str, Any], dict[str, Any], bytes, int]:
    data = read_file(path, max_bytes)
    header, meta, start = parse_header(path, data)
    try:
        meta = schema.check_model_metadata(meta)
        _unreferenced(header, meta)
    except ModelFileError as err:
        raise type(err)(f"{path}: {err}", *(err.field,) if isinstance(err, MetadataError)
                        else ()) from None
    return header, meta, data, start


def load_model(path: str | os.PathLike[str], compile: bool = True,
               max_bytes: int = MAX_FILE_BYTES, allow_nonfinite: bool = False) -> Any:
    """Load a model written by ``model.save``: built, with its weights, and (``compile=True``)
    compiled with its optimizer state, ready to predict or to resume training.

    ``model.initial_epoch`` is the number of epochs trained; ``model.fit(...,
    initial_epoch=model.initial_epoch)`` continues exactly where the saved run stopped.
    Every metadata field is checked first (``scratchnet.schema``) and the model is run once on
    a zero sample, so a file that loads is usable. Weights or optimizer slots holding NaN/Inf
    are refused unless ``allow_nonfinite=True`` (then a RuntimeWarning names them).
    Raises ModelFileError (a ValueError) naming the file, the field and the problem.
    """
    path = Path(path)
    header, meta, data, start = _validated(path, max_bytes)
    try:
        model = _build(meta["model"], header, data, start)
        if compile:
            _restore_compile(model, meta, header, data, start)
        _restore_training(model, meta)
        _check_finite(model, allow_nonfinite)
    except ModelFileError as err:
        raise type(err)(f"{path}: {err}", *(err.field,) if isinstance(err, MetadataError)
                        else ()) from None
    return model


def read_metadata(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> dict:
    """The validated JSON metadata of a model file (config, compile, training), no tensors."""
    return _validated(Path(path), max_bytes)[1]
