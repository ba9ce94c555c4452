"""Train and predict speed of the Keras MNIST CNN: scratchnet against PyTorch eager, same CPU.

Same architecture, same initial weights (copied across with the transposes), batch 128, the same
thread count for both, Adadelta(lr=1.0, rho=0.95, eps=1e-7). Measurements are interleaved
(scratchnet, torch, scratchnet, torch, ...) and medians reported, because shared machines are
noisy: the *ratio* within one run is the figure that counts. Also measured in the same run: the
float32 GEMM peak (large matmul), hence the share of the ideal 71.6 MFLOP/sample (train) and
24.0 MFLOP/sample (predict); and, in a child process running scratchnet alone, the peak RSS of
training and the RSS after each round (it must not grow).

    make bench                                   # or:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_train.py
    ... benchmarks/bench_train.py --mnist-epoch  # + one real MNIST epoch, Keras recipe

Results go to benchmarks/results/bench_train-<N>thread(s)[-mnist-epoch].md (or --out).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import scratchnet as sn
from scratchnet import optimizers, zoo
from scratchnet.datasets import mnist
from scratchnet.ops import parallel
from scratchnet.utils import to_categorical

TRAIN_FLOP, INFER_FLOP = 71.6e6, 24.0e6
BATCH = 128
ROOT = Path(__file__).resolve().parents[1]


def scratchnet_model(seed: int = 0) -> sn.Sequential:
    sn.set_random_seed(seed)
    model = zoo.mnist_cnn()   # the Keras MNIST example's network
    model.compile(loss="categorical_crossentropy",
                  optimizer=optimizers.Adadelta(learning_rate=1.0), metrics=["accuracy"])
    return model


def torch_model(weights):
    """The same network in PyTorch, with scratchnet's initial weights transposed across."""
    import torch
    from torch import nn
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128),
                        nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    k1, b1, k2, b2, d1, c1, d2, c2 = weights
    # Keras flattens (H, W, C), PyTorch (C, H, W): reorder the dense kernel's input rows.
    d1_chw = d1.reshape(12, 12, 64, 128).transpose(2, 0, 1, 3).reshape(9216, 128)
    with torch.no_grad():
        for module, w, b in ((net[0], k1.transpose(3, 2, 0, 1), b1),
                             (net[2], k2.transpose(3, 2, 0, 1), b2),
                             (net[7], d1_chw.T, c1), (net[10], d2.T, c2)):
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            module.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.95, eps=1e-7)
    return net, opt


def synthetic_batch(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return x, y


def gemm_peak(threads: int, size: int = 2048, repeats: int = 5) -> float:
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = a.copy()
    out = np.empty_like(a)
    best = float("inf")
    with threadpool_limits(threads, user_api="blas"):
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def time_calls(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - start


def measure(args) -> dict:
    import torch
    torch.set_num_threads(args.threads)
    parallel.set_num_threads(args.threads)
    model = scratchnet_model()
    net, opt = torch_model(model.get_weights())
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = synthetic_batch(BATCH)
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    yt = torch.from_numpy(y.argmax(1))
    xp, _ = synthetic_batch(BATCH * args.steps, seed=1)
    xpt = torch.from_numpy(xp.transpose(0, 3, 1, 2).copy())

    def sn_train():
        model.train_on_batch(x, y)

    def torch_train():
        net.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(net(xt), yt).backward()
        opt.step()

    def sn_predict():
        model.predict(xp, batch_size=BATCH)

    def torch_predict():
        net.eval()
        with torch.no_grad():
            for i in range(0, len(xpt), BATCH):
                torch.softmax(net(xpt[i:i + BATCH]), dim=1)

    res = {k: [] for k in ("sn_train", "torch_train", "sn_predict", "torch_predict", "peak")}
    with threadpool_limits(args.threads, user_api="blas"):
        for fn in (sn_train, torch_train):
            time_calls(fn, args.warmup)
        for _ in range(args.rounds):
            res["peak"].append(gemm_peak(args.threads))
            res["sn_train"].append(args.steps * BATCH / time_calls(sn_train, args.steps))
            res["torch_train"].append(args.steps * BATCH / time_calls(torch_train, args.steps))
            res["sn_predict"].append(args.steps * BATCH / time_calls(sn_predict, 1))
            res["torch_predict"].append(args.steps * BATCH / time_calls(torch_predict, 1))
    return {k: statistics.median(v) for k, v in res.items()} | {"raw": res}


def memory_child(args) -> None:
    """Scratchnet training alone: RSS after each round, and the peak RSS of the process."""
    import psutil
    parallel.set_num_threads(args.threads)
    model = scratchnet_model()
    x, y = synthetic_batch(BATCH)
    proc = psutil.Process()
    rss = []
    with threadpool_limits(args.threads, user_api="blas"):
        for _ in range(args.rounds):
            for _ in range(args.steps):
                model.train_on_batch(x, y)
            rss.append(proc.memory_info().rss)
    # VmHWM is this process's own high-water mark (ru_maxrss would carry over the parent's
    # peak across fork + exec).
    peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
                if line.startswith("VmHWM:"))
    print(json.dumps({"rss_per_round": rss, "peak_rss": peak}))


def mnist_epoch(args) -> dict:
    parallel.set_num_threads(args.threads)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    model = scratchnet_model()
    with threadpool_limits(args.threads, user_api="blas"):
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=BATCH, epochs=1, verbose=0, seed=0)
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(x_test, y_test, batch_size=BATCH, verbose=0)
    return {"seconds": seconds, "test_loss": float(loss), "test_accuracy": float(accuracy)}


def machine() -> dict:
    import torch
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in threadpool_info() if i.get("user_api") == "blas"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__, "blas": blas,
            "commit": commit + ("+dirty" if dirty else ""),
            "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE",
                                                            "OPENBLAS_L2_SIZE")}}


def render(args, m, mem, info, epoch) -> str:
    ideal_train, ideal_infer = m["peak"] / TRAIN_FLOP, m["peak"] / INFER_FLOP
    rows = [("train samples/s", m["sn_train"], m["torch_train"]),
            ("predict samples/s", m["sn_predict"], m["torch_predict"])]
    out = ["| | scratchnet | PyTorch eager | scratchnet / PyTorch |", "|---|---:|---:|---:|"]
    for name, a, b in rows:
        out.append(f"| {name} | {a:,.0f} | {b:,.0f} | **{a / b:.2f}x** |")
    out.append(f"| train: share of GEMM-peak ideal ({ideal_train:,.0f}/s) | "
               f"{m['sn_train'] / ideal_train:.0%} | {m['torch_train'] / ideal_train:.0%} | |")
    out.append(f"| predict: share of GEMM-peak ideal ({ideal_infer:,.0f}/s) | "
               f"{m['sn_predict'] / ideal_infer:.0%} | {m['torch_predict'] / ideal_infer:.0%} | |")
    mib = 1 / 2 ** 20
    out.append(f"| peak RSS, training (scratchnet alone) | {mem['peak_rss'] * mib:,.0f} MiB "
               "| | |")
    lines = ["# Train/predict speed: Keras MNIST CNN, scratchnet vs PyTorch", "",
             f"- command: `{args.command}`",
             f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
             f"- git commit: {info['commit']}",
             f"- machine: {info['cpu']}, {info['cores']} usable cores; threads used: "
             f"{args.threads} (both frameworks)",
             f"- python {info['python']}, numpy {info['numpy']}, torch {info['torch']}; BLAS: "
             f"{info['blas']}; OPENBLAS env: {info['openblas_env']}",
             f"- batch {BATCH}, Adadelta(lr=1.0); {args.rounds} interleaved rounds of "
             f"{args.steps} steps, medians; GEMM peak (float32 2048^3 matmul, same run): "
             f"{m['peak'] / 1e9:.0f} GFLOP/s", "", *out, "",
             f"RSS after each round of {args.steps} steps (MiB): "
             f"{[round(r * mib) for r in mem['rss_per_round']]}", "",
             "Per-round train samples/s: scratchnet "
             f"{[round(v) for v in m['raw']['sn_train']]}, PyTorch "
             f"{[round(v) for v in m['raw']['torch_train']]}"]
    if epoch:
        lines += ["", f"One epoch of real MNIST (Keras recipe, batch 128, Adadelta lr=1.0, "
                  f"{args.threads} threads): **{epoch['seconds']:.1f} s**, test accuracy "
                  f"{epoch['test_accuracy']:.4f} (loss {epoch['test_loss']:.4f})"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--mnist-epoch", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args)
    args.command = " ".join([Path(sys.executable).name, *sys.argv])
    m = measure(args)
    child = subprocess.run([sys.executable, __file__, "--memory-child",
                            f"--threads={args.threads}", f"--rounds={args.rounds}",
                            f"--steps={args.steps}"], capture_output=True, text=True, check=True)
    mem = json.loads(child.stdout)
    epoch = mnist_epoch(args) if args.mnist_epoch else None
    text = render(args, m, mem, machine(), epoch)
    print(text)
    # One file per configuration, overwritten by the next run of it (the date is inside).
    name = (f"bench_train-{args.threads}thread{'s' if args.threads > 1 else ''}"
            f"{'-mnist-epoch' if args.mnist_epoch else ''}.md")
    out = args.out or ROOT / "benchmarks/results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(out)        # atomic: never a half-written results file
    print(f"written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
