"""PyTorch weights both ways, without torch: a safetensors state dict for ``torch.nn.Sequential``.

``torch_modules(model)`` lists the modules of the equivalent ``nn.Sequential`` as Python source
(``nn.Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(0, 0))``, ...); index ``i`` of that
list owns the state-dict keys ``"i.weight"``, ``"i.bias"``, ... written by ``save_torch_state_dict``
and read back by ``load_torch_state_dict``. The file's metadata repeats the module list.

Layouts. The torch model takes channels-first images (N, C, H, W) as PyTorch does
(``x_nhwc.permute(0, 3, 1, 2)``) and returns what scratchnet returns (image outputs come back
(N, C, H, W)). Conv kernels go from Keras's (kh, kw, C, F) to (F, C, kh, kw); Dense kernels from
(in, out) to nn.Linear's (out, in). Keras flattens an image (H, W, C) in channels-last order while
``nn.Flatten`` on (C, H, W) is channels-first: instead of a permute module (torch.nn has none),
the rows of the Dense kernel after the Flatten are reordered from (h, w, c) to (c, h, w), so
plain ``nn.Flatten()`` + ``nn.Linear`` compute exactly the same outputs.
Keras's "same" padding puts an odd extra row/column at the bottom/right: it becomes
``nn.ZeroPad2d((left, right, top, bottom))`` before the conv (-inf padding before a max pool).

TORCH_CONVERTERS maps a layer class to ``convert(layer, context) -> [TorchModule]``; a new
layer type adds an entry (``register(cls)`` as a decorator).
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..files import atomic_write
from .common import (
    InteropError,
    input_path,
    named_weights,
    output_path,
    set_named_weights,
    shape_mismatch_report,
)
from .torch_convert import (  # noqa: F401  (the converter table is reachable from here too)
    TORCH_CONVERTERS,
    Context,
    Tensor,
    TorchModule,
    modules_of,
    register,
    torch_modules,
    torch_source,
)

Array = np.ndarray


def torch_state_dict(model: Any) -> dict[str, Array]:
    state = {}
    for index, module in enumerate(modules_of(model)):
        weights = named_weights(module.layer) if module.layer is not None else {}
        for key, tensor in module.tensors.items():
            value = tensor.constant if tensor.source is None else tensor.to_torch(
                weights[tensor.source])
            state[f"{index}.{key}"] = np.ascontiguousarray(value, dtype=(
                value.dtype if value.dtype.kind == "i" else np.float32))
    return state


def save_torch_state_dict(model: Any, path: Any) -> Any:
    """Write the state dict of ``torch_modules(model)`` as a safetensors file (atomically)."""
    from safetensors.numpy import save
    target = output_path(path, (".safetensors", ".pt.safetensors"), "torch state dict")
    metadata = {"format": "pt", "producer": "scratchnet", "model": model.name,
                "torch_modules": json.dumps(torch_modules(model)),
                "input_layout": "NCHW" if len(model.input_shape) == 3 else "NC"}
    atomic_write(target, save(torch_state_dict(model), metadata=metadata))
    return target


def _read_state(path: Any) -> dict[str, Array]:
    from safetensors import SafetensorError
    from safetensors.numpy import load
    source = input_path(path, "torch state dict")
    try:
        state = load(source.read_bytes())
    except (SafetensorError, ValueError) as err:
        raise InteropError(f"{str(source)!r} is not a readable safetensors state dict "
                           f"(truncated or another format?): {err}") from None
    prefix = "module."   # a DistributedDataParallel model's state dict
    if state and all(key.startswith(prefix) for key in state):
        state = {key[len(prefix):]: value for key, value in state.items()}
    return state


def load_torch_state_dict(model: Any, path: Any) -> Any:
    """Set ``model``'s weights from a safetensors state dict of its ``torch_modules`` (as saved
    by ``torch.save_file(torch_model.state_dict(), path)`` or ``save_torch_state_dict``).
    Names and shapes must match exactly; the error lists every difference."""
    state = _read_state(path)
    modules = modules_of(model)
    expected, torch_only = {}, set()
    for index, module in enumerate(modules):
        weights = named_weights(module.layer) if module.layer is not None else {}
        for key, tensor in module.tensors.items():
            if tensor.source is None:   # torch's own bookkeeping: optional, ignored here
                torch_only.add(f"{index}.{key}")
            else:
                expected[f"{index}.{key}"] = tuple(tensor.to_torch(weights[tensor.source]).shape)
    found = {k: v.shape for k, v in state.items() if k not in torch_only}
    report = shape_mismatch_report(expected, found, f"torch state dict {str(path)!r}",
                                   model.name)
    if report:
        raise InteropError(report + "\n  (the torch modules: " + ", ".join(
            f"{i}: {m.code}" for i, m in enumerate(modules)) + ")")
    for index, module in enumerate(modules):
        if module.layer is None:
            continue
        weights = named_weights(module.layer)
        for key, tensor in module.tensors.items():
            if tensor.source is not None:
                value = tensor.from_torch(state[f"{index}.{key}"])
                weights[tensor.source] = value.astype(weights[tensor.source].dtype)
        set_named_weights(module.layer, weights)
    return model

