"""PyTorch and Keras round trips of a trained MNIST CNN, recorded in benchmarks/results/.

Run once in a separate venv (torch and keras are references, never scratchnet dependencies):

    python -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy safetensors keras h5py
    /tmp/torchvenv/bin/pip install -e .
    KERAS_BACKEND=torch /tmp/torchvenv/bin/python benchmarks/interop_roundtrip.py

1. scratchnet trains the Keras MNIST CNN briefly on real MNIST.
2. torch: `scratchnet export --format torch` state dict -> the printed nn.Sequential (strict
   load) -> predictions on the MNIST test images; then torch trains it a few steps, saves its
   state_dict with safetensors, and sn.load_torch_state_dict brings it back.
3. Keras 3 (torch backend): save_keras_weights -> keras model.load_weights -> predictions; then
   Keras trains a few steps, model.save_weights, and sn.load_keras_weights brings it back.
   Also writes tests/data/keras3_small_cnn.weights.h5 (a file written by Keras itself) with
   Keras's predictions, which tests/test_export_keras_file.py checks without Keras.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

import scratchnet as sn  # noqa: E402
from scratchnet import export, runs, zoo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DROP = ("name", "trainable", "input_shape", "kernel_initializer", "bias_initializer")


def keras_model(model: sn.Sequential) -> keras.Sequential:
    """The same architecture in Keras 3, from scratchnet's config (Keras's names and args)."""
    stack: list = [keras.Input(model.input_shape)]
    for layer in model.layers:
        entry = {"class_name": type(layer).__name__, "config": layer.get_config()}
        if entry["class_name"] == "Input":
            continue
        config = {k: v for k, v in entry["config"].items() if k not in DROP}
        stack.append(getattr(keras.layers, entry["class_name"])(**config))
    return keras.Sequential(stack)


def torch_model(model: sn.Sequential) -> torch.nn.Sequential:
    return torch.nn.Sequential(*[eval(code, {"nn": torch.nn})
                                 for code in export.torch_modules(model)])


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    return {"max_abs_diff": float(np.abs(a - b).max()),
            "same_class": int((a.argmax(1) == b.argmax(1)).sum()), "n": len(a),
            "bit_identical": bool(np.array_equal(a, b))}


def weights_equal(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


def torch_round_trip(model, x, x_train, y_train, tmp: Path) -> dict:
    path = export.save_torch_state_dict(model, tmp / "cnn.safetensors")
    net = torch_model(model)
    net.load_state_dict(load_file(str(path)), strict=True)
    with torch.no_grad():
        there = net.eval()(nchw(x)).numpy()
    out = {"sn_to_torch": compare(there, model.predict(x))}
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    net.train()
    for start in range(0, 512, 128):   # torch continues the training
        optimizer.zero_grad()
        probs = net(nchw(x_train[start:start + 128]))
        loss = torch.nn.functional.nll_loss(torch.log(probs + 1e-7),
                                            torch.from_numpy(y_train[start:start + 128]).long())
        loss.backward()
        optimizer.step()
    save_file(net.state_dict(), str(tmp / "torch_trained.safetensors"))
    back = zoo.mnist_cnn()
    sn.load_torch_state_dict(back, tmp / "torch_trained.safetensors")
    with torch.no_grad():
        there = net.eval()(nchw(x)).numpy()
    out["torch_to_sn"] = compare(back.predict(x), there)
    again = zoo.mnist_cnn()
    export.save_torch_state_dict(back, tmp / "again.safetensors")
    sn.load_torch_state_dict(again, tmp / "again.safetensors")
    out["weights_bit_identical_after_sn_torch_sn"] = weights_equal(again.get_weights(),
                                                                   back.get_weights())
    return out


def keras_round_trip(model, x, x_train, y_train, tmp: Path) -> dict:
    path = export.save_keras_weights(model, tmp / "cnn.weights.h5")
    km = keras_model(model)
    km.load_weights(str(path))
    out = {"sn_to_keras": compare(np.asarray(km.predict(x, verbose=0)), model.predict(x))}
    km.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    km.fit(x_train[:512], y_train[:512], batch_size=128, epochs=1, verbose=0)
    km.save_weights(str(tmp / "keras_trained.weights.h5"))
    back = zoo.mnist_cnn()
    sn.load_keras_weights(back, tmp / "keras_trained.weights.h5")
    out["keras_to_sn"] = compare(back.predict(x), np.asarray(km.predict(x, verbose=0)))
    out["weights_bit_identical_keras_to_sn"] = weights_equal(
        back.get_weights(), [np.asarray(w) for w in km.get_weights()])
    return out


def small_keras_fixture() -> dict:
    """A small model with Keras's asymmetric 'same' padding, written by Keras itself."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_export_weights import small_cnn
    model = small_cnn()
    km = keras_model(model)
    rng = np.random.default_rng(7)
    km.set_weights([rng.normal(0, 0.3, np.shape(w)).astype(np.float32)
                    for w in km.get_weights()])
    data = ROOT / "tests" / "data"
    data.mkdir(exist_ok=True)
    km.save_weights(str(data / "keras3_small_cnn.weights.h5"))
    x = rng.normal(size=(4, *model.input_shape)).astype(np.float32)
    expected = np.asarray(km.predict(x, verbose=0))
    np.savez(data / "keras3_small_cnn.npz", x=x, keras_predictions=expected)
    sn.load_keras_weights(model, data / "keras3_small_cnn.weights.h5")
    return compare(model.predict(x), expected)


def machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return {"commit": commit + ("+dirty" if dirty else ""), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__, "keras": keras.__version__,
            "keras_backend": keras.backend.backend(), "cores": len(os.sched_getaffinity(0))}


def row(name: str, r: dict) -> str:
    return (f"| {name} | {r['max_abs_diff']:.2e} | {r['same_class']}/{r['n']} | "
            f"{'yes' if r['bit_identical'] else 'no'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=2000, help="MNIST samples to train on")
    parser.add_argument("--test", type=int, default=1000, help="MNIST test images to compare")
    args = parser.parse_args()
    torch.set_num_threads(2)
    sn.set_random_seed(0)
    torch.manual_seed(0)
    model = zoo.mnist_cnn()
    model.compile(optimizer=sn.optimizers.Adadelta(learning_rate=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = runs.mnist_arrays(model.input_shape, max(args.train, args.test))
    x_train, y_train = data["x_train"][:args.train], data["y_train"][:args.train]
    model.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0)
    x = data["x_test"][:args.test]
    accuracy = float((model.predict(x).argmax(1) == data["y_test"][:args.test]).mean())
    with tempfile.TemporaryDirectory() as tmp:
        t = torch_round_trip(model, x, x_train, y_train, Path(tmp))
        k = keras_round_trip(model, x, x_train, y_train, Path(tmp))
    fixture = small_keras_fixture()
    info = machine()
    lines = [
        "# Interop round trips: scratchnet <-> PyTorch state dict, scratchnet <-> Keras 3",
        "",
        "- command: `KERAS_BACKEND=torch /tmp/torchvenv/bin/python benchmarks/"
        f"interop_roundtrip.py --train {args.train} --test {args.test}`",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- git commit: {info['commit']}",
        f"- python {info['python']}, numpy {info['numpy']}, torch {info['torch']}, keras "
        f"{info['keras']} (backend {info['keras_backend']}), {info['cores']} cores",
        f"- model: Keras MNIST CNN trained 1 epoch on {args.train} MNIST images here (test "
        f"accuracy on {args.test}: {accuracy:.1%}); predictions on {args.test} MNIST test images",
        "- the other side then trains 4 SGD steps (batch 128) and its weights come back",
        "",
        "| direction | max abs diff of probabilities | same class | bit-identical |",
        "|---|---:|---:|---|",
        row("scratchnet -> torch nn.Sequential", t["sn_to_torch"]),
        row("torch-trained -> scratchnet", t["torch_to_sn"]),
        row("scratchnet -> Keras 3 load_weights", k["sn_to_keras"]),
        row("Keras-trained save_weights -> scratchnet", k["keras_to_sn"]),
        row("Keras-written small CNN fixture (asymmetric same padding)", fixture),
        "",
        f"- weights bit-identical after scratchnet -> torch file -> scratchnet: "
        f"{t['weights_bit_identical_after_sn_torch_sn']}",
        f"- weights bit-identical, Keras model.get_weights() vs scratchnet after loading its "
        f"file: {k['weights_bit_identical_keras_to_sn']}",
        "- probabilities differ only by float32 rounding: the frameworks sum convolutions "
        "in different orders; the weights themselves move exactly.",
        "",
        "torch modules (printed by `scratchnet export mnist-cnn --format torch`):",
        "",
        "```python", export.torch_source(model), "```",
    ]
    text = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "results" / "interop_roundtrip.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
