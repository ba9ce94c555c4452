"""Interleaved in-process A/B of the new inference kernels against the current ones.

Each round runs every variant of a case once, in rotated order; a case's ratio is the median
over rounds of (current time / new time) within the same round, so machine-wide slowdowns
(this machine is shared) hit both sides of a ratio alike.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/inference_kernels.py

Cases: the MNIST CNN's conv2 (128x26x26x32 -> 64, 3x3, ReLU): Winograd F(2x2) (ops.winograd)
against F(4x4) (ops.winograd4), forward, forward + both gradients, and fused with the 2x2 max
pool for inference (ops.conv_block, no stem); then the whole model, the training kernels in
inference mode (model.forward(x, training=False), what predict ran before the inference
plan) against Sequential.predict (the runner's inference plan), at batch 128, 1,024 in one
call, 1,024 in batches of 128, and batch 1.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from scratchnet import zoo  # noqa: E402
from scratchnet.ops import parallel  # noqa: E402
from scratchnet.ops.conv_block import ConvBlock  # noqa: E402
from scratchnet.ops.winograd import winograd_backward, winograd_conv3x3  # noqa: E402
from scratchnet.ops.winograd4 import (  # noqa: E402
    winograd4_backward,
    winograd4_conv3x3,
)
from scratchnet.ops.winograd_pool import winograd_relu_max_pool2x2  # noqa: E402

VALID = ((0, 0), (0, 0))


def conv_cases(rng: np.random.Generator) -> dict[str, tuple[int, dict]]:
    x = rng.random((128, 26, 26, 32), dtype=np.float32)
    k = rng.uniform(-0.07, 0.07, (3, 3, 32, 64)).astype(np.float32)
    b = rng.uniform(-0.05, 0.05, 64).astype(np.float32)
    g = rng.standard_normal((128, 24, 24, 64)).astype(np.float32)
    block = ConvBlock()     # keeps the kernel's transform, as the inference plan does

    def train2():
        z = winograd_conv3x3(x, k, b, VALID, relu=True)
        winograd_backward(x, g, k, VALID, True, True, relu_output=z)

    def train4():
        z = winograd4_conv3x3(x, k, b, VALID, relu=True)
        winograd4_backward(x, g, k, VALID, True, True, relu_output=z)
    return {
        "conv2 forward+ReLU": (128, {
            "F(2x2)": lambda: winograd_conv3x3(x, k, b, VALID, relu=True),
            "F(4x4)": lambda: winograd4_conv3x3(x, k, b, VALID, relu=True)}),
        "conv2 forward+backward": (128, {"F(2x2)": train2, "F(4x4)": train4}),
        "conv2+ReLU+pool, inference": (128, {
            "F(2x2)": lambda: winograd_relu_max_pool2x2(x, k, b, VALID, record_winner=False),
            "F(4x4) block, cached U": lambda: block(x, k, b, VALID)}),
    }


def model_cases(rng: np.random.Generator) -> dict[str, tuple[int, dict]]:
    model = zoo.mnist_cnn()
    model.build((28, 28, 1))
    x = rng.random((1024, 28, 28, 1), dtype=np.float32)
    ones = x[:32]

    def forward(batch, batch_size=None):     # the training plan's kernels, training=False
        size = batch_size or len(batch)
        return np.concatenate([model.forward(batch[a:a + size])[0]
                               for a in range(0, len(batch), size)])

    def predict(batch, batch_size=None):
        return model.predict(batch, batch_size=batch_size or len(batch), verbose=0)

    def one_at_a_time(predict):
        return lambda: [predict(ones[i:i + 1]) for i in range(len(ones))]
    return {
        "predict, batch 128": (128, {
            "forward": lambda: forward(x[:128]), "predict": lambda: predict(x[:128])}),
        "predict, 1,024 in one call": (1024, {
            "forward": lambda: forward(x), "predict": lambda: predict(x)}),
        "predict, 1,024 in batches of 128": (1024, {
            "forward": lambda: forward(x, 128), "predict": lambda: predict(x, 128)}),
        "predict, batch 1 (32 calls)": (32, {
            "forward": one_at_a_time(forward), "predict": one_at_a_time(predict)}),
    }


def measure(cases: dict, rounds: int) -> list[tuple[str, list[str], list[float], list[float]]]:
    rows = []
    for name, (samples, variants) in cases.items():
        labels = list(variants)
        for fn in variants.values():        # warm-up: first-touch memory, thread pool
            fn()
        times = {label: [] for label in labels}
        for r in range(rounds):
            order = labels[r % len(labels):] + labels[:r % len(labels)]
            for label in order:
                start = time.perf_counter()
                variants[label]()
                times[label].append(time.perf_counter() - start)
        base, new = times[labels[0]], times[labels[1]]
        ratios = [a / b for a, b in zip(base, new)]
        rates = [samples / float(np.median(times[label])) for label in labels]
        rows.append((name, labels, rates, ratios))
        print(f"{name}: {labels[0]} {rates[0]:,.0f}/s, {labels[1]} {rates[1]:,.0f}/s, "
              f"ratio {np.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})",
              flush=True)
    return rows


def header(args) -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"- command: `{' '.join(['python'] + sys.argv)}`\n- commit: {commit}\n"
            f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n"
            f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {args.threads} threads, "
            f"numpy {np.__version__}, load average {load:.1f} at start\n"
            f"- {args.rounds} interleaved rounds; ratio = current / new time, median over rounds "
            f"(min-max)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=("conv", "model"), default=None)
    args = parser.parse_args()
    parallel.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    cases = {}
    if args.only in (None, "conv"):
        cases.update(conv_cases(rng))
    if args.only in (None, "model"):
        cases.update(model_cases(rng))
    print(header(args))
    print_table(measure(cases, args.rounds), "current", "new")


def print_table(rows: list[tuple[str, list[str], list[float], list[float]]], base: str,
                new: str) -> None:
    """The rows of ``measure`` as a markdown table (``base`` / ``new`` name the two sides)."""
    print(f"\n| case | {base} | {new} | {base}/s | {new}/s | speed-up (min-max) |")
    print("|---|---|---|---:|---:|---:|")
    for name, labels, rates, ratios in rows:
        print(f"| {name} | {labels[0]} | {labels[1]} | {rates[0]:,.0f} | {rates[1]:,.0f} | "
              f"{np.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
