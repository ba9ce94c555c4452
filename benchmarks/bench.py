"""Speed of the Keras MNIST CNN: scratchnet against its peers, each measured alone.

Every measurement runs in a fresh process of its own holding one framework only (as its users
run it: no other framework loaded beside it), pinned to the same cores with the same thread
count. Rounds alternate the order of the frameworks (A B C, B C A, ...) and medians over rounds
are reported, because shared machines are noisy: ratios within one run are the figures that
count. Same network, same initial weights (scratchnet's seed-0 init, moved across in each
framework's layout), batch 128, dropout on in training, Adadelta(lr=1.0, rho=0.95, eps=1e-7).

Measured per framework: training samples/s (batch 128); predict samples/s at batch 128, 1,024
in one call, 1,024 in batches of 128; latency of one sample (ms); the process's peak RSS; and,
in the same rounds, the float32 GEMM peak of this machine (so each rate's share of the ideal:
71.6 MFLOP per training sample, 24.0 per predicted sample).

    make bench                                      # all installed peers, 3 rounds
    .venv/bin/python benchmarks/bench.py --peers scratchnet,torch --rounds 5
    .venv/bin/python benchmarks/bench.py --mnist-epoch   # + one real MNIST epoch, Keras recipe

Results: benchmarks/results/bench-<N>threads.md (or --out), with command, commit, date, machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from report import render  # noqa: E402

TRAIN_FLOP, INFER_FLOP = 71.6e6, 24.0e6
BATCH = 128
# name -> (adapter module, variant, what must be importable)
PEERS = {
    "scratchnet": ("scratchnet_peer", "", "scratchnet"),
    "torch": ("torch_peer", "eager", "torch"),
    "torch-channels_last": ("torch_peer", "channels_last", "torch"),
    "torch.compile": ("torch_peer", "compile", "torch"),
    "onnxruntime": ("onnx_peer", "", "onnxruntime"),
    "jax": ("jax_peer", "jit", "jax"),
    "keras-jax": ("jax_peer", "keras", "keras"),
}
TASKS = ("train", "predict_128", "predict_1024_one_call", "predict_1024_in_128s", "latency_1")


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]


def timed_rate(fn, samples: int, seconds: float, min_calls: int = 3) -> float:
    """Samples per second over calls made until ``seconds`` have passed (at least min_calls)."""
    fn()   # warm-up: caches, lazily built kernels, recompiles for a new shape
    calls, start = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls * samples / (time.perf_counter() - start)


def worker(args: argparse.Namespace) -> None:
    """One framework, alone in this process: print its measurements as one JSON line."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.threads])
    module_name, variant, _ = PEERS[args.worker]
    weights = list(np.load(args.weights).values())
    module = __import__(f"peers.{module_name}", fromlist=["make"])
    extra = {"model_path": args.onnx} if args.worker == "onnxruntime" else {}
    start = time.perf_counter()
    peer = module.make(weights, variant, args.threads, **extra)
    x_train, y_train = synthetic(BATCH, 0)
    x_big = synthetic(1024, 1)[0]
    inputs = {n: peer.native(x_big[:n]) for n in (1, BATCH, 1024)}
    result: dict[str, float] = {}
    if args.worker != "onnxruntime":
        peer.set_train_batch(x_train, y_train)
        peer.train_step()
        result["first_step_s"] = time.perf_counter() - start
        result["train"] = timed_rate(peer.train_step, BATCH, args.seconds)
    result["predict_128"] = timed_rate(lambda: peer.predict(inputs[BATCH], BATCH), BATCH,
                                       args.seconds)
    result["predict_1024_one_call"] = timed_rate(lambda: peer.predict(inputs[1024], 1024), 1024,
                                                 args.seconds)
    result["predict_1024_in_128s"] = timed_rate(lambda: peer.predict(inputs[1024], BATCH), 1024,
                                                args.seconds)
    result["latency_1"] = 1e3 / timed_rate(lambda: peer.predict(inputs[1], 1), 1,
                                           args.seconds / 2, min_calls=20)
    result["peak_rss"] = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
                              if line.startswith("VmHWM:"))
    result["version"] = framework_version(PEERS[args.worker][2])
    print("RESULT " + json.dumps(result))


def framework_version(module: str) -> str:
    return str(getattr(__import__(module), "__version__", "?"))


def gemm_worker(args: argparse.Namespace) -> None:
    from threadpoolctl import threadpool_limits
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.threads])
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    out, best = np.empty_like(a), float("inf")
    with threadpool_limits(args.threads, user_api="blas"):
        for _ in range(5):
            start = time.perf_counter()
            np.matmul(a, a, out=out)
            best = min(best, time.perf_counter() - start)
    print("RESULT " + json.dumps({"gemm_flops": 2 * 2048 ** 3 / best}))


def mnist_epoch_worker(args: argparse.Namespace) -> None:
    from threadpoolctl import threadpool_limits

    from scratchnet import optimizers, zoo
    from scratchnet.datasets import mnist
    from scratchnet.ops import parallel
    from scratchnet.utils import to_categorical
    parallel.set_num_threads(args.threads)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    import scratchnet as sn
    sn.set_random_seed(0)
    model = zoo.mnist_cnn()
    model.compile(loss="categorical_crossentropy",
                  optimizer=optimizers.Adadelta(learning_rate=1.0), metrics=["accuracy"])
    with threadpool_limits(args.threads, user_api="blas"):
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=BATCH, epochs=1, verbose=0, seed=0)
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(x_test, y_test, batch_size=BATCH, verbose=0)
    print("RESULT " + json.dumps({"seconds": seconds, "test_loss": float(loss),
                                  "test_accuracy": float(accuracy)}))


def run_child(flags: list[str], timeout: float) -> dict | str:
    """Run this script as a fresh child process; its RESULT line, or why there is none."""
    try:
        done = subprocess.run([sys.executable, __file__, *flags], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"failed (exit {done.returncode}): {tail[:200]}"


def installed(module: str) -> bool:
    check = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([sys.executable, "-c", check]).returncode == 0


def drive(args: argparse.Namespace) -> None:
    from peers.onnx_peer import write_model
    from peers.scratchnet_peer import initial_weights
    names = [n for n in args.peers.split(",") if n]
    unknown = sorted(set(names) - set(PEERS))
    if unknown:
        sys.exit(f"bench: unknown peers {unknown}; expected some of {list(PEERS)}")
    skipped = {n: f"{PEERS[n][2]} not installed" for n in names if not installed(PEERS[n][2])}
    names = [n for n in names if n not in skipped]
    workdir = Path(tempfile.mkdtemp(prefix="scratchnet-bench-"))
    weights = initial_weights(0)
    np.savez(workdir / "weights.npz", *weights)
    exporter = ""
    if "onnxruntime" in names:
        exporter = write_model(weights, workdir / "mnist_cnn.onnx")
    common = ["--threads", str(args.threads), "--weights", str(workdir / "weights.npz"),
              "--onnx", str(workdir / "mnist_cnn.onnx"), "--seconds", str(args.seconds)]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    failures: dict[str, str] = {}
    gemm: list[float] = []
    for round_index in range(args.rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            result = run_child(["--worker", name, *common], timeout=args.timeout)
            if isinstance(result, str):
                failures[name] = result
                print(f"round {round_index + 1}: {name}: {result}", file=sys.stderr)
            else:
                runs[name].append(result)
                print(f"round {round_index + 1}: {name}: " + ", ".join(
                    f"{k}={v:,.1f}" for k, v in result.items() if isinstance(v, float)),
                    file=sys.stderr)
        peak = run_child(["--gemm", *common], timeout=120)
        if isinstance(peak, dict):
            gemm.append(peak["gemm_flops"])
    medians = {n: {t: statistics.median(r[t] for r in rs) for t in (*TASKS, "peak_rss",
                                                                       "first_step_s")
                   if all(t in r for r in rs)} | {"version": rs[0]["version"],
                                                  "rounds": [r.get("train") for r in rs]}
               for n, rs in runs.items() if rs}
    epoch = run_child(["--mnist-epoch-worker", *common], timeout=900) if args.mnist_epoch \
        else None
    text = render(args, medians, skipped | {n: failures[n] for n in failures if n not in medians},
                  statistics.median(gemm) if gemm else None, exporter, epoch,
                  (TRAIN_FLOP, INFER_FLOP, BATCH))
    print(text)
    out = args.out or HERE / "results" / f"bench-{args.threads}thread{'s' * (args.threads > 1)}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)   # atomic: never a half-written results file
    print(f"written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="time per measurement in each process (default 3)")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help=f"comma-separated, from {', '.join(PEERS)}")
    parser.add_argument("--timeout", type=float, default=600, help="per worker process")
    parser.add_argument("--mnist-epoch", action="store_true")
    parser.add_argument("--out", type=Path)
    for hidden in ("--worker", "--weights", "--onnx"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--gemm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mnist-epoch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.command = " ".join([Path(sys.executable).name, *sys.argv])
    if args.worker:
        worker(args)
    elif args.gemm:
        gemm_worker(args)
    elif args.mnist_epoch_worker:
        mnist_epoch_worker(args)
    else:
        drive(args)


if __name__ == "__main__":
    main()
