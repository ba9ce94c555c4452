"""Shared by the explorer's tests: one small trained run per test process, a server on a free
port, and a drawn 7."""
from __future__ import annotations

import base64
import contextlib
import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np

_RUN: dict[str, Path] = {}


def trained_run(base: Path) -> Path:
    """``scratchnet train`` (the Keras recipe) for 2 epochs on 5,000 MNIST digits, seed 0:
    about 89% test accuracy in ~15 s, enough to read a clearly drawn 7. Made once per test
    process; tests that change a run work on a copy (:func:`copy_run`)."""
    if "run" not in _RUN:
        from scratchnet import cli
        run = base / "run"
        status = cli.main(["train", "--epochs", "2", "--limit", "5000", "--seed", "0",
                           "--out", str(run), "--no-plots", "--quiet"])
        assert status == 0
        _RUN["run"] = run
    return _RUN["run"]


def one_more_epoch(run: Path) -> None:
    """What ``scratchnet train`` does when an epoch ends, on 64 digits: a history row, then a
    new checkpoint (atomically replaced)."""
    import scratchnet
    from scratchnet import runs
    model = scratchnet.load_model(run / "model.snet")
    data = runs.mnist_arrays(model.input_shape, 64, split="train")
    history = model.fit(data["x_train"], runs.encode_labels(data["y_train"], model.loss.name),
                        epochs=model.initial_epoch + 1, initial_epoch=model.initial_epoch,
                        batch_size=32, verbose=0)
    logs = {key: repr(values[-1]) for key, values in history.history.items()}
    keys = (run / "history.csv").read_text().splitlines()[0].split(",")[1:]
    with open(run / "history.csv", "a") as handle:     # as CSVLogger: NA for what is missing
        handle.write(",".join([str(model.initial_epoch)] + [logs.get(k, "NA") for k in keys])
                     + "\n")
    model.save(run / "model.snet")


def copy_run(run: Path, target: Path) -> Path:
    shutil.copytree(run, target)
    return target


@contextlib.contextmanager
def serving(source: Any, **options: Any) -> Iterator[Any]:
    from scratchnet.explorer import Explorer, ExplorerServer
    server = ExplorerServer(Explorer(source, **options))
    server.start_background()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def get(server: Any, path: str) -> tuple[int, Any]:
    return request(server, path)


def request(server: Any, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, decoded JSON or raw bytes) of one request to the server."""
    data = None if body is None else (body if isinstance(body, bytes) else
                                      json.dumps(body).encode())
    heads = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data,
                                 headers={**heads, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            status, raw, kind = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as err:
        status, raw, kind = err.code, err.read(), err.headers["Content-Type"]
    return status, json.loads(raw) if kind == "application/json" else raw


def drawn_seven(side: int = 140) -> np.ndarray:
    """A 7 as a pen draws it on the page's pad: a top bar and a slanted stroke (uint8)."""
    from PIL import Image, ImageDraw
    image = Image.new("L", (side, side), 0)
    scale = side / 280
    ImageDraw.Draw(image).line([(70 * scale, 60 * scale), (210 * scale, 60 * scale),
                                (120 * scale, 230 * scale)], fill=255, width=int(20 * scale),
                               joint="curve")
    return np.asarray(image)


def canvas_payload(pixels: np.ndarray) -> dict[str, Any]:
    return {"width": int(pixels.shape[1]), "height": int(pixels.shape[0]),
            "pixels": base64.b64encode(np.ascontiguousarray(pixels, np.uint8).tobytes()).decode()}


def decode(b64: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8).reshape(shape)
