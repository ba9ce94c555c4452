"""Server time of one explorer prediction with every layer view, on the MNIST CNN.

One POST /api/predict = preprocessing of the drawn canvas, every layer's output, the saliency
(a backward pass to the input) and the encoding of all views as JSON. The server reports its own
time (``server_ms``); the round trip through HTTP on the loopback is measured here as well.
The weights do not change the cost: without a MODEL the Keras MNIST CNN is used as initialised.

    .venv/bin/python benchmarks/bench_explorer.py [MODEL] [--requests 200]

Results go to benchmarks/results/bench_explorer.md (or --out).
"""
from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scratchnet import backend, zoo
from scratchnet.explorer import Explorer, ExplorerServer

ROOT = Path(__file__).resolve().parent.parent


def drawn_seven(side: int = 140) -> bytes:
    image = Image.new("L", (side, side), 0)
    scale = side / 280
    ImageDraw.Draw(image).line([(70 * scale, 60 * scale), (210 * scale, 60 * scale),
                                (120 * scale, 230 * scale)], fill=255, width=int(20 * scale))
    return json.dumps({"width": side, "height": side, "pixels": base64.b64encode(
        np.asarray(image).tobytes()).decode()}).encode()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", help="model file (default: the MNIST CNN, fresh)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            backend.set_random_seed(0)
            model_path = Path(tmp) / "mnist_cnn.snet"
            zoo.mnist_cnn().save(model_path)
        server = ExplorerServer(Explorer(model_path, dead_samples=100))
        server.start_background()
        body = drawn_seven()
        served, round_trip, size = [], [], 0
        for index in range(args.requests + 5):
            request = urllib.request.Request(server.url + "api/predict", data=body,
                                             headers={"Content-Type": "application/json"})
            start = time.perf_counter()
            with urllib.request.urlopen(request) as response:
                raw = response.read()
            elapsed = (time.perf_counter() - start) * 1000
            if index >= 5:                       # the first few warm the caches up
                served.append(json.loads(raw)["server_ms"])
                round_trip.append(elapsed)
                size = len(raw)
        server.shutdown()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    lines = [
        f"## `{' '.join(['benchmarks/bench_explorer.py', *sys.argv[1:]])}`", "",
        f"- commit {commit}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}",
        f"- model: {args.model or 'Keras MNIST CNN (zoo.mnist_cnn)'}; {args.requests} requests "
        f"of a drawn 7 (140x140 canvas), response {size / 1024:.0f} KiB", "",
        "| ms per prediction with every layer view | median | p90 | max |", "|---|---|---|---|",
        f"| server (preprocess, all layers, saliency, encoding) | "
        f"{statistics.median(served):.1f} | {percentile(served, 90):.1f} | {max(served):.1f} |",
        f"| round trip over HTTP on the loopback | {statistics.median(round_trip):.1f} | "
        f"{percentile(round_trip, 90):.1f} | {max(round_trip):.1f} |", ""]
    text = "\n".join(lines)
    print(text)
    out = args.out or ROOT / "benchmarks/results/bench_explorer.md"
    previous = out.read_text() if out.exists() else (
        "# Explorer: server time of a prediction with every layer view\n\n"
        "Reproduce: `.venv/bin/python benchmarks/bench_explorer.py`. Oldest first.\n\n")
    tmp_out = out.with_suffix(".tmp")
    tmp_out.write_text(previous + text + "\n")
    tmp_out.replace(out)


if __name__ == "__main__":
    main()
