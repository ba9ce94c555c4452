"""Check a scratchnet trace against PyTorch (float64 autograd), once; not a test.

    scratchnet trace mnist-cnn --loss mean_squared_error --optimizer sgd --out /tmp/trace
    /tmp/torchvenv/bin/python benchmarks/trace_vs_pytorch.py /tmp/trace [--out results.json]

Needs only torch and numpy (torch==2.13.0 in its own venv); imports nothing from scratchnet.
Rebuilds the manifest's model (Conv2D, MaxPooling2D, Dropout with the recorded masks, Flatten,
Dense; relu/softmax), runs the recorded batch forward and backward with autograd, applies the
SGD step, and reports the largest error of every tensor relative to the tensor's scale.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from datetime import datetime, timezone

import numpy as np
import torch
import torch.nn.functional as F


def load(trace: str, manifest: dict, name: str) -> torch.Tensor:
    entry = manifest["tensors"][name]
    data = np.fromfile(os.path.join(trace, entry["file"]), dtype="<f4").reshape(entry["shape"])
    return torch.tensor(data.astype(np.float64))


def same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def run(trace: str) -> dict[str, float]:
    with open(os.path.join(trace, "manifest.json")) as f:
        manifest = json.load(f)
    get = lambda name: load(trace, manifest, name)   # noqa: E731
    x, y = get("input/x"), get("input/y")
    ours: dict[str, torch.Tensor] = {}
    params: dict[str, torch.Tensor] = {}
    h = x
    for entry in manifest["model"]["layers"]:
        kind, cfg = entry["class_name"], entry["config"]
        name = cfg["name"]
        if kind in ("Conv2D", "Dense"):
            for key in ("kernel", "bias"):
                if f"{name}/{key}" in manifest["tensors"]:
                    params[f"{name}/{key}"] = get(f"{name}/{key}").requires_grad_(True)
        if kind == "Conv2D":
            kh, kw = cfg["kernel_size"]
            sh, sw = cfg["strides"]
            nchw = h.permute(0, 3, 1, 2)
            if cfg["padding"] == "same":
                top, bottom = same_pads(h.shape[1], kh, sh)
                left, right = same_pads(h.shape[2], kw, sw)
                nchw = F.pad(nchw, (left, right, top, bottom))
            weight = params[f"{name}/kernel"].permute(3, 2, 0, 1)          # HWIO -> OIHW
            z = F.conv2d(nchw, weight, params.get(f"{name}/bias"), stride=(sh, sw))
            z = z.permute(0, 2, 3, 1)
        elif kind == "Dense":
            z = h @ params[f"{name}/kernel"] + params[f"{name}/bias"]
        elif kind == "MaxPooling2D":
            z = F.max_pool2d(h.permute(0, 3, 1, 2), cfg["pool_size"],
                             cfg["strides"]).permute(0, 2, 3, 1)
        elif kind == "Dropout":
            mask = f"{name}/mask"
            z = h * get(mask) if mask in manifest["tensors"] else h
        elif kind == "Flatten":
            z = h.reshape(h.shape[0], -1)          # NHWC order, as Keras
        else:
            raise SystemExit(f"no PyTorch rebuild of {kind}")
        activation = cfg.get("activation")
        if activation not in (None, "linear"):
            z.retain_grad()
            ours[f"{name}/pre_activation"] = z
        h = {"relu": torch.relu, "softmax": lambda t: torch.softmax(t, -1)}.get(
            activation, lambda t: t)(z) if activation not in (None, "linear") else z
        h.retain_grad()
        ours[f"{name}/output"] = h
    loss_name = manifest["loss"]["name"]
    if loss_name == "mean_squared_error":
        loss = ((h - y) ** 2).mean()
    elif loss_name == "categorical_crossentropy":
        q = torch.clamp(h / h.sum(-1, keepdim=True), 1e-7, 1 - 1e-7)
        loss = -(y * torch.log(q)).sum() / h.shape[0]
    else:
        raise SystemExit(f"no PyTorch rebuild of {loss_name}")
    loss.backward()
    errors: dict[str, float] = {"loss/value": abs(loss.item() - get("loss/value").item())
                                / abs(get("loss/value").item())}
    pairs = {**{k: v.detach() for k, v in ours.items()},
             **{k.replace("/output", "/grad_output"): v.grad for k, v in ours.items()
                if k.endswith("/output")},
             **{k.replace("/pre_activation", "/grad_pre_activation"): v.grad
                for k, v in ours.items() if k.endswith("/pre_activation")},
             **{f"{k.split('/')[0]}/grad_{k.split('/')[1]}": v.grad for k, v in params.items()}}
    if manifest["optimizer"]["name"] == "sgd" and not manifest["optimizer"].get("momentum"):
        lr = manifest["optimizer"]["learning_rate"]
        pairs.update({f"{k}_after_step": (v - lr * v.grad).detach() for k, v in params.items()})
    for name, value in pairs.items():
        if name in manifest["tensors"] and value is not None:
            ref = get(name)
            scale = float(ref.abs().max()) or 1.0
            errors[name] = float((value - ref).abs().max()) / scale
    return errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--out")
    args = parser.parse_args()
    errors = run(args.trace)
    worst = max(errors.values())
    for name, error in errors.items():
        print(f"{name:40s} {error:.3g}")
    print(f"{len(errors)} tensors, worst error relative to the tensor's scale: {worst:.3g}")
    if args.out:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        record = {"command": f"python benchmarks/trace_vs_pytorch.py {args.trace}",
                  "commit": commit, "date": datetime.now(timezone.utc).isoformat(),
                  "machine": f"{platform.machine()} {platform.processor()} "
                             f"{os.cpu_count()} cpus", "torch": torch.__version__,
                  "tensors": len(errors), "worst_relative_error": worst, "errors": errors}
        with open(args.out, "w") as f:
            json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
