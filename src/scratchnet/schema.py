"""One schema for every piece of metadata scratchnet reads back: a model file's JSON metadata
and a run directory's run.json. Checked before anything is used, each error naming the field
(``training.history.epoch[2]: expected an integer >= 0, got 'x' (str)``), so a file that passes
is usable: the checks the schema cannot express as types (optimizer slots against the weights, a
forward pass within a memory budget) are in ``saving.py`` and raise the same MetadataError.

A spec is a small callable ``spec(value, field)`` that returns the cleaned value or raises.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from .errors import MetadataError, describe

Spec = Callable[[Any, str], Any]
MAX_LIST = 1_000_000         # history entries, layers, slots: far beyond any real file
MAX_STRING = 10_000
MAX_EPOCH = 10**9


def fail(field: str, wanted: str, value: Any) -> MetadataError:
    return MetadataError(f"field {field or '(top level)'}: expected {wanted}, got "
                         f"{describe(value)}", field)


def integer(low: int | None = 0, high: int | None = None) -> Spec:
    def check(value: Any, field: str) -> int:
        in_range = isinstance(value, int) and not isinstance(value, bool) and (
            low is None or value >= low) and (high is None or value <= high)
        if not in_range:
            bounds = " and ".join(b for b in (f">= {low}" if low is not None else "",
                                              f"<= {high}" if high is not None else "") if b)
            raise fail(field, f"an integer {bounds}".strip(), value)
        return value
    return check


def number(low: float | None = None, high: float | None = None, below: float | None = None,
           allow_nan: bool = False) -> Spec:
    """A finite real number (JSON's NaN/Infinity extensions refused unless ``allow_nan``)."""
    def check(value: Any, field: str) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            ok = allow_nan and math.isnan(value)
        elif ok:
            ok = (low is None or value >= low) and (high is None or value <= high) and (
                below is None or value < below)
        if not ok:
            parts = [f">= {low}" if low is not None else "", f"<= {high}" if high is not None
                     else "", f"< {below}" if below is not None else ""]
            bounds = " and ".join(p for p in parts if p)
            raise fail(field, f"a finite number {bounds}".strip(), value)
        return value
    return check


def string(choices: Any = None, max_len: int = MAX_STRING) -> Spec:
    def check(value: Any, field: str) -> str:
        if not isinstance(value, str) or not value or len(value) > max_len:
            raise fail(field, f"a non-empty string of at most {max_len} characters", value)
        if choices is not None and value not in choices:
            raise fail(field, f"one of {sorted(choices)}", value)
        return value
    return check


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise fail(field, "true or false", value)
    return value


def optional(spec: Spec) -> Spec:
    return lambda value, field: None if value is None else spec(value, field)


def any_json(value: Any, field: str) -> Any:
    """Any JSON value, numbers finite (the checks of the code that uses it follow)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(field, "a finite number", value)
    if isinstance(value, list):
        return [any_json(v, f"{field}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: any_json(v, f"{field}.{k}") for k, v in value.items()}
    return value


def array(item: Spec, min_len: int = 0, max_len: int = MAX_LIST, length: int | None = None
          ) -> Spec:
    def check(value: Any, field: str) -> list:
        if not isinstance(value, list) or not min_len <= len(value) <= max_len or (
                length is not None and len(value) != length):
            size = f"exactly {length}" if length is not None else f"{min_len} to {max_len}"
            raise fail(field, f"a list of {size} entries", value)
        return [item(v, f"{field}[{i}]") for i, v in enumerate(value)]
    return check


def mapping(key: Spec, item: Spec, max_len: int = MAX_LIST) -> Spec:
    def check(value: Any, field: str) -> dict:
        if not isinstance(value, dict) or len(value) > max_len:
            raise fail(field, f"an object of at most {max_len} entries", value)
        return {key(k, f"{field} key"): item(v, f"{field}.{k}") for k, v in value.items()}
    return check


def record(required: dict[str, Spec], optional_fields: dict[str, Spec] | None = None,
           extra: bool = False) -> Spec:
    """A JSON object with these fields (``extra``: unknown fields are kept, else refused)."""
    optional_fields = optional_fields or {}

    def check(value: Any, field: str) -> dict:
        prefix = f"{field}." if field else ""
        if not isinstance(value, dict):
            raise fail(field, "an object", value)
        for name in required:
            if name not in value:
                raise MetadataError(f"field {prefix}{name}: missing", prefix + name)
        unknown = sorted(set(value) - set(required) - set(optional_fields))
        if unknown and not extra:
            raise MetadataError(f"field {prefix}{unknown[0]}: unknown field (expected "
                                f"{sorted({*required, *optional_fields})})", prefix + unknown[0])
        out = dict(value)
        for name, spec in {**required, **optional_fields}.items():
            if name in value:
                out[name] = spec(value[name], prefix + name)
        return out
    return check


# --- the pieces of a model file --------------------------------------------------------------
def known(resolve: Callable[[str], Any]) -> Spec:
    """A name that ``resolve`` (layers.get_class, optimizers.get, ...) accepts."""
    def check(value: Any, field: str) -> str:
        string(max_len=200)(value, field)
        try:
            resolve(value)
        except (TypeError, ValueError) as err:
            raise MetadataError(f"field {field}: {err}", field) from None
        return value
    return check


def _layer_class(name: str) -> Any:
    from .layers import get_class
    return get_class(name)


def _optimizer(name: str) -> Any:
    from . import optimizers
    return optimizers.get(name)


def _loss(name: str) -> Any:
    from . import losses
    return losses.get(name)


def _metric(name: str) -> None:
    from . import metrics
    if name not in metrics.KNOWN:
        raise ValueError(f"unknown metric {name!r}; expected one of {list(metrics.KNOWN)}")


def metric_entry(value: Any, field: str) -> Any:
    """A metric name, or a Metric object's {"class_name", "config"} (metrics.serialize)."""
    if not isinstance(value, dict):
        return known(_metric)(value, field)
    from . import metrics
    try:
        metrics.check_all([value])
    except (TypeError, ValueError) as err:
        raise MetadataError(f"field {field}: {err}", field) from None
    return value


def activation_name(value: Any, field: str) -> str:
    from . import activations
    string()(value, field)
    try:
        activations.get(value)
    except (TypeError, ValueError):
        raise fail(field, "a registered activation name (relu, softmax, leaky_relu_0.1, ...)",
                   value) from None
    if value.startswith("leaky_relu_") and not math.isfinite(float(value[11:])):
        raise fail(field, "a leaky_relu slope that is a finite number", value)
    return value


def seed(value: Any, field: str) -> int | None:
    return optional(integer(0, 2**63 - 1))(value, field)


LAYER_CONFIG = record({}, {
    "name": string(max_len=200), "trainable": boolean,
    "input_shape": array(integer(1), 1, 8), "activation": optional(activation_name),
    "seed": seed, "rate": number(0, below=1), "axis": integer(None),
}, extra=True)

LAYER = record({"class_name": known(_layer_class), "config": LAYER_CONFIG})

MODEL = record({"layers": array(LAYER, 1, 10_000)}, {
    "name": string(max_len=200), "input_shape": optional(array(integer(1), 1, 8))})

# PCG64, the bit generator np.random.default_rng makes; NumPy checks the numbers themselves.
RNG_STATE = record({"bit_generator": string({"PCG64"}),
                    "state": record({"state": integer(0), "inc": integer(0)}),
                    "has_uint32": integer(0, 1), "uinteger": integer(0, 2**32 - 1)})

HISTORY = record({"epoch": array(integer(0, MAX_EPOCH)),
                  "history": mapping(string(max_len=200),
                                     array(optional(number(allow_nan=True))))})

TRAINING = record({}, {
    "epoch": integer(0, MAX_EPOCH), "iterations": integer(0),
    "history": optional(HISTORY), "fit_rng_state": optional(RNG_STATE),
    "dropout_rng_states": optional(mapping(string(max_len=200), RNG_STATE))})

COMPILE = record({"optimizer": record({"name": known(_optimizer),
                                       "learning_rate": number(0)}, extra=True),
                  "loss": record({"name": known(_loss)}, extra=True)},
                 {"metrics": array(metric_entry, 0, 20)})

SLOT = array(string(max_len=1000), length=3)

MODEL_METADATA = record({"format": string({"scratchnet"}), "format_version": integer(1, 1),
                         "model": MODEL},
                        {"compile": optional(COMPILE), "training": optional(TRAINING),
                         "optimizer_slots": optional(array(SLOT))})


def check_history(history: dict[str, Any], field: str, epochs_done: int) -> None:
    """The history's lists line up: one value (or null) per recorded epoch, epochs increasing
    and below the epochs trained."""
    epochs = history["epoch"]
    for i in range(1, len(epochs)):
        if epochs[i] <= epochs[i - 1]:
            raise fail(f"{field}.epoch[{i}]", f"an epoch after {epochs[i - 1]}", epochs[i])
    if epochs and epochs[-1] >= epochs_done:
        raise fail(f"{field}.epoch[{len(epochs) - 1}]",
                   f"an epoch below the {epochs_done} epochs trained", epochs[-1])
    for key, values in history["history"].items():
        if len(values) != len(epochs):
            raise fail(f"{field}.history.{key}",
                       f"{len(epochs)} values (one per entry of {field}.epoch)", values)


def check_model_metadata(meta: Any) -> dict[str, Any]:
    meta = MODEL_METADATA(meta, "")
    for index, layer in enumerate(meta["model"]["layers"]):
        any_json(layer["config"], f"model.layers[{index}].config")
    if meta.get("compile"):
        any_json(meta["compile"], "compile")
    training = meta.get("training") or {}
    if training.get("history"):
        check_history(training["history"], "training.history", training.get("epoch", 0))
    return meta


# --- run directories -------------------------------------------------------------------------
RUN_SETTINGS = record({}, {
    "model": string(max_len=4096), "epochs": integer(1, MAX_EPOCH),
    "batch_size": integer(1, 2**31), "optimizer": known(_optimizer),
    "learning_rate": number(0), "loss": known(_loss), "seed": seed,
    "validation_split": number(0, below=1), "limit": optional(integer(1))})


def check_run_settings(settings: Any) -> dict[str, Any]:
    return RUN_SETTINGS(settings, "")
