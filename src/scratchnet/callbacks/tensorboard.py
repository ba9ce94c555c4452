"""TensorBoard: epoch scalars (loss, metrics, learning rate) as TensorBoard event files.

Written without TensorFlow: an event file is a TFRecord stream (length, masked CRC-32C, data,
masked CRC-32C) of ``Event`` protocol buffers, each holding ``Summary.Value(tag,
simple_value)``. Graphs, histograms, images and profiling are not written.
"""
from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any

from .base import Callback, Logs


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TFRecord uses."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def event(step: int, wall_time: float, scalars: dict[str, float] | None = None,
          file_version: str | None = None) -> bytes:
    """One serialized ``Event``: wall_time (1, double), step (2, int64), file_version (3) or
    summary (5) of values with tag (1) and simple_value (2, float)."""
    body = _field(1, 1, struct.pack("<d", wall_time)) + _field(2, 0, _varint(step))
    if file_version is not None:
        body += _field(3, 2, file_version.encode())
    if scalars:
        values = b"".join(_field(1, 2, _field(1, 2, tag.encode()) +
                                 _field(2, 5, struct.pack("<f", float(value))))
                          for tag, value in scalars.items())
        body += _field(5, 2, values)
    return body


def record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", _masked(crc32c(length))) + data
            + struct.pack("<I", _masked(crc32c(data))))


class TensorBoard(Callback):
    """Keras's ``TensorBoard(log_dir="logs")``: per-epoch scalars under ``log_dir/train`` and
    ``log_dir/validation`` (the ``val_`` logs), tagged ``epoch_<name>`` as Keras does."""

    def __init__(self, log_dir: str | os.PathLike[str] = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 update_freq: Any = "epoch", **ignored: Any) -> None:
        super().__init__()
        if update_freq not in ("epoch", "batch") and not isinstance(update_freq, int):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or an int, "
                             f"got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self._files: dict[str, Any] = {}

    def _write(self, split: str, step: int, scalars: dict[str, float]) -> None:
        if split not in self._files:
            folder = os.path.join(self.log_dir, split)
            os.makedirs(folder, exist_ok=True)
            name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.scratchnet"
            handle = open(os.path.join(folder, name), "wb")
            handle.write(record(event(0, time.time(), file_version="brain.Event:2")))
            self._files[split] = handle
        self._files[split].write(record(event(step, time.time(), scalars)))
        self._files[split].flush()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        train = {f"epoch_{k}": v for k, v in logs.items() if not k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["epoch_learning_rate"] = float(optimizer.learning_rate)
        self._write("train", epoch, train)
        validation = {f"epoch_{k[4:]}": v for k, v in logs.items() if k.startswith("val_")}
        if validation:
            self._write("validation", epoch, validation)

    def on_train_end(self, logs: Logs | None = None) -> None:
        for handle in self._files.values():
            handle.close()
        self._files = {}
