"""A network written by hand in plain NumPy (no scratchnet import), checked against a trace.

It reads the trace's manifest.json for the architecture, its .bin files for the inputs, the
initial weights and the dropout masks, runs one training step (forward, loss, backward, update)
and writes every tensor under the trace's names, for ``scratchnet compare``::

    scratchnet trace mnist-cnn --loss mean_squared_error --optimizer sgd --out trace
    python numpy_net.py trace mine
    scratchnet compare trace mine

Layers: Conv2D (valid/same, strides), MaxPooling2D (non-overlapping), Dropout (replays the
recorded mask), Flatten, Dense; activations relu, softmax, linear; losses mean_squared_error,
categorical_crossentropy; optimizers sgd and adadelta. ``--bug NAME`` injects a classic bug
(see BUGS); ``--dtype float64`` computes in float64 (the independent check in the tests).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

BUGS = ("relu-0.01", "sum-batch", "transposed-grad", "flipped-kernel", "ce-shortcut")


class Net:
    def __init__(self, trace_dir: str, dtype: str = "float32", bug: str | None = None):
        self.dir, self.dtype, self.bug = trace_dir, np.dtype(dtype), bug
        with open(os.path.join(trace_dir, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.out: dict[str, np.ndarray] = {}

    def read(self, name: str) -> np.ndarray | None:
        entry = self.manifest["tensors"].get(name)
        if entry is None:
            return None
        data = np.fromfile(os.path.join(self.dir, entry["file"]), dtype="<f4")
        return data.reshape(entry["shape"]).astype(self.dtype)

    def save(self, name: str, value: np.ndarray) -> None:
        self.out[name] = np.asarray(value, dtype=self.dtype)

    # --- layers: forward returns (y, backward); backward(g) returns (grad_x, {param: grad}) ---
    def conv2d(self, x, cfg, w):
        k, b = w["kernel"], w.get("bias")
        if self.bug == "flipped-kernel":
            k = k[::-1, ::-1]                      # BUG: a true convolution flips the kernel
        kh, kw, _, _ = k.shape
        sh, sw = cfg["strides"]
        n, h, wd, _ = x.shape
        pads = []
        for size, kk, s in ((h, kh, sh), (wd, kw, sw)):
            out = -(-size // s) if cfg["padding"] == "same" else (size - kk) // s + 1
            total = max((out - 1) * s + kk - size, 0) if cfg["padding"] == "same" else 0
            pads.append((total // 2, total - total // 2, out))   # extra row/col bottom/right
        (top, bottom, oh), (left, right, ow) = pads
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        z = np.zeros((n, oh, ow, k.shape[3]), self.dtype) + (0 if b is None else b)
        windows = {}
        for a in range(kh):
            for c in range(kw):
                patch = xp[:, a:a + sh * (oh - 1) + 1:sh, c:c + sw * (ow - 1) + 1:sw, :]
                windows[a, c] = patch
                z += patch @ k[a, c]

        def backward(g):
            gk, gxp = np.zeros_like(k), np.zeros_like(xp)
            for (a, c), patch in windows.items():
                gk[a, c] = np.einsum("nijc,nijo->co", patch, g)
                gxp[:, a:a + sh * (oh - 1) + 1:sh, c:c + sw * (ow - 1) + 1:sw, :] += g @ k[a, c].T
            grads = {"kernel": gk[::-1, ::-1] if self.bug == "flipped-kernel" else gk}
            if b is not None:
                grads["bias"] = g.sum(axis=(0, 1, 2))
            return gxp[:, top:top + h, left:left + wd, :], grads
        return z, backward

    def dense(self, x, cfg, w):
        k, b = w["kernel"], w.get("bias")
        z = x @ k + (0 if b is None else b)

        def backward(g):
            gk = g.T @ x if self.bug == "transposed-grad" else x.T @ g   # BUG: (out, in)
            grads = {"kernel": gk}
            if b is not None:
                grads["bias"] = g.sum(axis=0)
            return g @ k.T, grads
        return z, backward

    def max_pooling2d(self, x, cfg, w):
        (ph, pw), strides = cfg["pool_size"], cfg["strides"]
        if list(strides) != [ph, pw] or cfg["padding"] != "valid":
            raise SystemExit("this example pools non-overlapping 'valid' windows only")
        n, h, wd, c = x.shape
        oh, ow = h // ph, wd // pw
        view = x[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c)
        view = view.transpose(0, 1, 3, 5, 2, 4).reshape(n, oh, ow, c, ph * pw)
        winner = view.argmax(axis=-1)              # the first maximum in row-major order

        def backward(g):
            routed = (np.arange(ph * pw) == winner[..., None]) * g[..., None]
            routed = routed.reshape(n, oh, ow, c, ph, pw).transpose(0, 1, 4, 2, 5, 3)
            gx = np.zeros_like(x)
            gx[:, :oh * ph, :ow * pw] = routed.reshape(n, oh * ph, ow * pw, c)
            return gx, {}
        return np.take_along_axis(view, winner[..., None], -1)[..., 0], backward

    def dropout(self, x, cfg, w, name=""):
        mask = self.read(f"{name}/mask")
        if mask is None:
            return x, lambda g: (g, {})
        return x * mask, lambda g: (g * mask, {})

    def flatten(self, x, cfg, w):
        return x.reshape(len(x), -1), lambda g: (g.reshape(x.shape), {})

    # --- activations, loss, update ----------------------------------------------------------
    def activate(self, name, z):
        if name == "relu":
            y = np.maximum(z, 0)
            if self.bug == "relu-0.01":
                return y, lambda g: np.where(z > 0, g, 0.01).astype(self.dtype)   # BUG
            return y, lambda g: g * (z > 0)
        if name == "softmax":
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            p = e / e.sum(axis=-1, keepdims=True)
            return p, lambda g: p * (g - (g * p).sum(axis=-1, keepdims=True))
        if name in (None, "linear"):
            return z, lambda g: g
        raise SystemExit(f"this example has no activation {name!r}")

    def loss(self, y, p):
        n = 1 if self.bug == "sum-batch" else len(p)    # BUG: summed over the batch
        name = self.manifest["loss"]["name"]
        if name == "mean_squared_error":
            return np.mean((p - y) ** 2), 2 * (p - y) / (n * p.shape[-1])
        if name == "categorical_crossentropy":
            # Keras renormalises p to sum 1 and clips it; the gradient goes through both.
            total = p.sum(-1, keepdims=True)
            q = p / total
            clipped = np.clip(q, 1e-7, 1 - 1e-7)
            grad_q = np.where(clipped == q, -y / clipped, 0) / n
            grad = (grad_q - (grad_q * q).sum(-1, keepdims=True)) / total
            return -(y * np.log(clipped)).sum() / len(p), grad
        raise SystemExit(f"this example has no loss {name!r}")

    def update(self, name, value, grad, state):
        opt = self.manifest["optimizer"]
        lr = opt["learning_rate"]
        if opt["name"] == "sgd" and not opt.get("momentum"):
            return value - lr * grad
        if opt["name"] == "adadelta":
            rho, eps = opt["rho"], opt["epsilon"]
            acc = (1 - rho) * grad * grad                  # both accumulators start at 0
            delta = -np.sqrt(0 + eps) / np.sqrt(acc + eps) * grad
            return value + lr * delta
        raise SystemExit(f"this example has no optimizer {opt}")

    def step(self) -> dict[str, np.ndarray]:
        x, y = self.read("input/x"), self.read("input/y")
        configs = [entry["config"] for entry in self.manifest["model"]["layers"]]
        kinds = [entry["class_name"] for entry in self.manifest["model"]["layers"]]
        tape = []
        for kind, cfg in zip(kinds, configs):
            name = cfg["name"]
            weights = {k: self.read(f"{name}/{k}") for k in ("kernel", "bias")
                       if self.read(f"{name}/{k}") is not None}
            method = {"Conv2D": self.conv2d, "Dense": self.dense, "Flatten": self.flatten,
                      "MaxPooling2D": self.max_pooling2d, "Dropout": self.dropout}[kind]
            z, back = method(x, cfg, weights, name) if kind == "Dropout" else method(
                x, cfg, weights)
            x, act_back = self.activate(cfg.get("activation"), z)
            if cfg.get("activation") not in (None, "linear"):
                self.save(f"{name}/pre_activation", z)
            self.save(f"{name}/output", x)
            tape.append((name, weights, cfg.get("activation"), back, act_back))
        value, g = self.loss(y, x)
        self.save("loss/value", np.array([value]))
        if self.bug != "ce-shortcut":
            self.save("loss/grad", g)
        for i, (name, weights, activation, back, act_back) in enumerate(reversed(tape)):
            self.save(f"{name}/grad_output", g)
            if i == 0 and self.bug == "ce-shortcut":
                g = (x - y) / len(x)                   # BUG: p - y, right for cross-entropy only
            else:
                g = act_back(g)
            if activation not in (None, "linear"):
                self.save(f"{name}/grad_pre_activation", g)
            g, grads = back(g)
            for key, grad in grads.items():
                self.save(f"{name}/grad_{key}", grad)
                if self.bug == "transposed-grad" and key == "kernel" and grad.ndim == 2:
                    grad = grad.T                      # its own layout, used consistently
                self.save(f"{name}/{key}_after_step", self.update(name, weights[key], grad, {}))
            self.save(f"{name}/grad_input", g)
        return self.out


def write(out: dict[str, np.ndarray], directory: str) -> None:
    for name, value in out.items():
        path = os.path.join(directory, name + ".npy")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trace")
    parser.add_argument("out")
    parser.add_argument("--bug", choices=BUGS)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args()
    write(Net(args.trace, args.dtype, args.bug).step(), args.out)


if __name__ == "__main__":
    main()
