"""``scratchnet export``: a model file or built-in model as ONNX, a PyTorch state dict or
Keras 3 weights (see docs/interop.md)."""
from __future__ import annotations

import argparse
from typing import Any

from .common import CommandError, add_parser, emit, load_model_file


def run_export(args: argparse.Namespace) -> int:
    from .. import export, zoo
    model = zoo.get(args.model) if args.model in zoo.MODELS else load_model_file(args.model)
    out = args.out or f"{model.name}{export.SUFFIXES[args.format]}"
    try:
        path = export.export(model, out, format=args.format)
    except ImportError as err:   # the optional extra is missing: its message says what to install
        raise CommandError(str(err)) from None
    except OSError as err:
        raise CommandError(f"cannot write {out!r}: {err.strerror or err}") from None
    data: dict[str, Any] = {"format": args.format, "path": str(path), "model": model.name}
    lines = [f"wrote {path} ({args.format}, model {model.name!r})"]
    if args.format == "torch":
        data["torch_modules"] = export.torch_modules(model)
        lines += ["load it into this torch.nn.Sequential (input (N, C, H, W)):",
                  export.torch_source(model),
                  f"model.load_state_dict(safetensors.torch.load_file({str(path)!r}))"]
    elif args.format == "onnx":
        lines.append(f"input 'input' (batch, {', '.join(map(str, model.input_shape))}) float32, "
                     f"channels-last; output 'output'")
    else:
        lines.append("load it with keras_model.load_weights(path) into the same architecture")
    emit(args, "\n".join(lines), data)
    return 0


def add_export(sub: Any) -> None:
    p = add_parser(sub, "export", "Export a model: ONNX (ONNX Runtime, serving), a PyTorch "
                   "state dict (safetensors, for the printed nn.Sequential) or Keras 3 weights "
                   "(.weights.h5).", "scratchnet export runs/quick/model.snet --format onnx "
                   "--out model.onnx")
    p.add_argument("model", help="model file (.snet) or built-in model name (mnist-cnn, "
                   "mnist-mlp)")
    p.add_argument("--format", choices=("onnx", "torch", "keras"), default="onnx",
                   help="onnx (default), torch (safetensors state dict) or keras (.weights.h5)")
    p.add_argument("--out", metavar="PATH", help="output file (default: <model name>.onnx, "
                   ".safetensors or .weights.h5)")
    p.set_defaults(run=run_export)
