"""The markdown report of benchmarks/bench.py: machine, table, ratios to each peer."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (("train", "train samples/s"), ("predict_128", "predict, batch 128"),
           ("predict_1024_one_call", "1,024 in one call"),
           ("predict_1024_in_128s", "1,024 in batches of 128"),
           ("latency_1", "latency, 1 sample (ms)"))


def machine() -> dict:
    from threadpoolctl import threadpool_info
    cpu = platform.processor()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True,  # noqa: E731
                                    text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": ", ".join(blas),
            "commit": git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")}


def cell(value: float | None, task: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if task == "latency_1" else f"{value:,.0f}"


def ratio(ours: float | None, theirs: float | None, task: str) -> str:
    if ours is None or theirs is None:
        return "—"
    r = theirs / ours if task == "latency_1" else ours / theirs   # > 1: scratchnet is faster
    return f"{r:.2f}x"


def render(args, medians: dict, missing: dict, gemm: float | None, exporter: str,
           epoch, constants: tuple[float, float, int]) -> str:
    train_flop, infer_flop, batch = constants
    info = machine()
    lines = ["# Keras MNIST CNN: scratchnet and its peers, each alone in its own process", "",
             f"- command: `{args.command}`",
             f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
             f"- git commit: {info['commit']}",
             f"- machine: {info['cpu']}, {info['cores']} cores; every framework pinned to "
             f"{args.threads} core(s) with {args.threads} thread(s)",
             f"- python {info['python']}, numpy {info['numpy']}, BLAS {info['blas']}",
             f"- {args.rounds} rounds, framework order rotated each round, {args.seconds:g} s "
             f"per measurement; medians over rounds; batch {batch}, Adadelta(lr=1.0)", ""]
    header = "| framework | version | " + " | ".join(t for _, t in COLUMNS) + " | peak RSS |"
    lines += [header, "|---|---|" + "---:|" * (len(COLUMNS) + 1)]
    for name, m in medians.items():
        lines.append(f"| {name} | {m['version']} | " + " | ".join(
            cell(m.get(task), task) for task, _ in COLUMNS)
            + f" | {m['peak_rss'] / 2 ** 20:,.0f} MiB |")
    ours = medians.get("scratchnet")
    if ours:
        lines += ["", "scratchnet / peer (above 1: scratchnet is faster; latency: peer time / "
                  "scratchnet time):", "",
                  "| peer | " + " | ".join(t for _, t in COLUMNS) + " |",
                  "|---|" + "---:|" * len(COLUMNS)]
        for name, m in medians.items():
            if name != "scratchnet":
                lines.append(f"| {name} | " + " | ".join(
                    ratio(ours.get(task), m.get(task), task) for task, _ in COLUMNS) + " |")
    if gemm:
        lines += ["", f"GEMM peak (float32 2048^3, same rounds): {gemm / 1e9:.0f} GFLOP/s, so "
                  f"the ideal is {gemm / train_flop:,.0f} training / {gemm / infer_flop:,.0f} "
                  "predicted samples/s. Share of it:", "",
                  "| framework | train | predict, batch 128 |", "|---|---:|---:|"]
        for name, m in medians.items():
            share = (f"{m['train'] * train_flop / gemm:.0%}" if "train" in m else "—")
            lines.append(f"| {name} | {share} | {m['predict_128'] * infer_flop / gemm:.0%} |")
    lines += ["", "Training samples/s per round: " + "; ".join(
        f"{n} {[round(v) for v in m['rounds'] if v]}" for n, m in medians.items()
        if any(m["rounds"]))]
    firsts = {n: m["first_step_s"] for n, m in medians.items() if "first_step_s" in m}
    if firsts:
        lines.append("Set-up and first training step (s, includes compilation): " + ", ".join(
            f"{n} {v:.1f}" for n, v in firsts.items()))
    if exporter:
        lines.append(f"ONNX model: {exporter}.")
    for name, why in missing.items():
        lines.append(f"Not measured: {name}: {why}.")
    if isinstance(epoch, dict):
        lines += ["", f"One epoch of real MNIST (Keras recipe, batch {batch}, Adadelta lr=1.0, "
                  f"{args.threads} threads, scratchnet alone): **{epoch['seconds']:.1f} s**, test "
                  f"accuracy {epoch['test_accuracy']:.4f} (loss {epoch['test_loss']:.4f})"]
    elif epoch:
        lines.append(f"MNIST epoch: {epoch}")
    return "\n".join(lines) + "\n"
