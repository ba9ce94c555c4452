"""Take a model anywhere: ONNX, PyTorch state dicts and Keras 3 weight files.

    model.export("model.onnx")                         # ONNX (pip install scratchnet[onnx])
    sn.export.save_torch_state_dict(model, "m.safetensors")  # nn.Sequential state dict
    sn.load_torch_state_dict(model, "m.safetensors")   # ... and back
    sn.export.save_keras_weights(model, "m.weights.h5")      # Keras 3 (scratchnet[keras])
    sn.load_keras_weights(model, "m.weights.h5")

Each format keeps a table keyed by layer class (onnx.CONVERTERS, torch_state.TORCH_CONVERTERS;
keras_h5 needs none for layers with Keras's name and weight order). See docs/interop.md.
"""
from __future__ import annotations

from typing import Any

from .common import InteropError
from .keras_h5 import load_keras_weights, save_keras_weights
from .onnx import export_onnx, to_onnx
from .torch_state import (
    load_torch_state_dict,
    save_torch_state_dict,
    torch_modules,
    torch_source,
)

FORMATS = {"onnx": export_onnx, "torch": save_torch_state_dict, "keras": save_keras_weights}
SUFFIXES = {"onnx": ".onnx", "torch": ".safetensors", "keras": ".weights.h5"}


def export(model: Any, path: Any, format: str = "onnx") -> Any:
    """Write ``model`` to ``path`` as ``format`` ("onnx", "torch" or "keras"); returns the path."""
    if format not in FORMATS:
        raise InteropError(f"export format must be one of {sorted(FORMATS)}, got {format!r}")
    return FORMATS[format](model, path)


__all__ = ["export", "export_onnx", "to_onnx", "save_torch_state_dict", "load_torch_state_dict",
           "torch_modules", "torch_source", "save_keras_weights", "load_keras_weights",
           "InteropError", "FORMATS", "SUFFIXES"]
