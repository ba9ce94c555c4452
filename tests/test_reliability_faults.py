"""Fault injection: SIGKILL at random points of saving and training (real subprocesses), a full
disk and unwritable directories (a failing writer: monkeypatched fsync/mkstemp, so no root or
tmpfs is needed; a real read-only directory when not running as root). Each asserts: no
traceback, the old checkpoint loadable, no partial file left, the documented exit status."""
from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import cli, files, layers

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
RANDOM = random.Random(13)   # fixed: a failure is reproducible


def temps(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def small_model() -> sn.Sequential:
    sn.set_random_seed(0)
    model = sn.Sequential([layers.Dense(64, activation="relu", input_shape=(256,)),
                           layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


SAVER = """
import sys, numpy as np, scratchnet as sn
from scratchnet import layers
sn.set_random_seed(0)
model = sn.Sequential([layers.Dense(512, activation="relu", input_shape=(1024,)),
                       layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.save(sys.argv[1])
print("ready", flush=True)
while True:
    model.layers[0].params["bias"] += 1
    model.save(sys.argv[1])
"""


@pytest.mark.parametrize("trial", range(3))
def test_sigkill_at_a_random_point_of_a_save(tmp_path, trial):
    target = tmp_path / "model.snet"
    proc = subprocess.Popen([sys.executable, "-c", SAVER, str(target)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(RANDOM.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    model = sn.load_model(target)               # the last complete save, never a partial one
    bias = model.layers[0].params["bias"]
    assert np.all(bias == bias[0])              # one consistent version
    small_model().save(tmp_path / "model.snet")  # the next save sweeps the killed one's temp
    assert temps(tmp_path) == []


def test_sigkill_at_a_random_point_of_training_then_resume(tmp_path):
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "scratchnet", "train", "--model", "mnist-mlp", "--limit",
            "512", "--batch-size", "16", "--seed", "2", "--no-plots", "--quiet", "--epochs",
            "500", "--out", str(run)]
    proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not (run / "model.snet").exists() and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(RANDOM.uniform(0.0, 1.0))
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    done = sn.load_model(run / "model.snet").initial_epoch
    assert done >= 1
    stale = run / f".model.snet.{proc.pid}.killed1.tmp"   # as a kill mid-save leaves it
    stale.write_bytes(b"partial")
    assert cli.main(["train", "--resume", str(run), "--epochs", "1", "--quiet"]) == 0
    assert sn.load_model(run / "model.snet").initial_epoch == done + 1
    assert temps(run) == []


def _failing_after(calls: int, error: int):
    real = os.fsync
    count = {"n": 0}

    def fsync(fd: int) -> None:
        count["n"] += 1
        if count["n"] > calls:
            raise OSError(error, os.strerror(error))
        real(fd)
    return fsync


def test_disk_full_during_a_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = small_model()
    model.save(tmp_path / "m.snet")
    before = (tmp_path / "m.snet").read_bytes()
    model.layers[0].params["bias"] += 1
    monkeypatch.setattr(files.os, "fsync", _failing_after(0, errno.ENOSPC))
    with pytest.raises(OSError, match="could not write .*m.snet: the disk is full; the "
                                      "previous version"):
        model.save(tmp_path / "m.snet")
    assert (tmp_path / "m.snet").read_bytes() == before and temps(tmp_path) == []


def test_disk_full_during_training_is_one_line_and_keeps_the_last_checkpoint(
        tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    # run.json and epoch 1's checkpoint are written (a file and a directory fsync each)
    monkeypatch.setattr(files.os, "fsync", _failing_after(4, errno.ENOSPC))
    status = cli.main(["train", "--model", "mnist-mlp", "--limit", "64", "--epochs", "3",
                       "--no-plots", "--quiet", "--out", str(run)])
    err = capsys.readouterr().err
    assert status == 2 and "the disk is full" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert sn.load_model(run / "model.snet").initial_epoch == 1
    assert temps(run) == []


def test_unwritable_directory_via_a_failing_writer(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    status = cli.main(["train", "--model", "mnist-mlp", "--limit", "64", "--epochs", "1",
                       "--no-plots", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2 and "Permission denied" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "model.snet").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_really_read_only_directory(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        status = cli.main(["train", "--model", "mnist-mlp", "--limit", "64", "--epochs", "1",
                           "--no-plots", "--out", str(locked / "run")])
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err
    assert status == 2 and "Permission denied" in err and "Traceback" not in err


def test_out_below_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    status = cli.main(["train", "--model", "mnist-mlp", "--limit", "64", "--epochs", "1",
                       "--no-plots", "--out", str(tmp_path / "file" / "run")])
    err = capsys.readouterr().err
    assert status == 2 and "Not a directory" in err and len(err.strip().splitlines()) == 1


def test_evaluate_of_an_unreadable_file_is_one_line(tmp_path, capsys, monkeypatch):
    small_model().save(tmp_path / "m.snet")
    real_open = open

    def failing_open(path, *args, **kwargs):
        if str(path).endswith("m.snet"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    import builtins
    monkeypatch.setattr(builtins, "open", failing_open)
    status = cli.main(["summary", str(tmp_path / "m.snet")])
    err = capsys.readouterr().err
    assert status == 2 and "m.snet: Permission denied" in err
