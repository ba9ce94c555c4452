"""The scratchnet command end to end (subprocesses) on small MNIST subsets."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import saving
from scratchnet.datasets import mnist

SCRATCHNET = [sys.executable, "-m", "scratchnet"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def cli(*args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([*SCRATCHNET, *map(str, args)], capture_output=True, text=True,
                            env=ENV, cwd=cwd, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = sn.load_model(a).get_weights(), sn.load_model(b).get_weights()
    return len(wa) == len(wb) and all(np.array_equal(p, q) for p, q in zip(wa, wb))


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory) -> Path:
    """The default model (Keras MNIST CNN), 1 epoch on 256 samples."""
    run = tmp_path_factory.mktemp("cnn") / "run"
    out = cli("train", "--epochs", 1, "--limit", 256, "--seed", 0, "--out", run, "--json")
    result = json.loads(out.stdout)
    assert result["epochs"] == 1 and result["test"]["samples"] == 256
    return run


def test_train_writes_a_complete_run_directory(cnn_run):
    names = {p.name for p in cnn_run.iterdir()}
    assert {"run.json", "model.snet", "history.csv", "history.json", "evaluation.json",
            "curves.png", "confusion_matrix.png", "misclassified.png", "filters.png"} <= names
    for png in ("curves.png", "confusion_matrix.png", "misclassified.png", "filters.png"):
        assert (cnn_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((cnn_run / "history.json").read_text())
    assert history["epoch"] == [0]
    assert set(history["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    rows = (cnn_run / "history.csv").read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss" and len(rows) == 2
    model = sn.load_model(cnn_run / "model.snet")
    assert model.count_params() == 1_199_882 and model.initial_epoch == 1
    assert model.optimizer.get_config()["name"] == "adadelta"
    assert model.optimizer.learning_rate == 1.0


def test_evaluate_matches_an_independent_computation(cnn_run):
    out = cli("evaluate", cnn_run / "model.snet", "--limit", 200, "--json")
    report = json.loads(out.stdout)
    (_, _), (x, labels) = mnist.load_data()
    x, labels = x[:200].reshape(-1, 28, 28, 1).astype(np.float32) / 255, labels[:200]
    predicted = sn.load_model(cnn_run / "model.snet").predict(x).argmax(axis=1)
    matrix = np.zeros((10, 10), int)
    for t, p in zip(labels, predicted):
        matrix[t, p] += 1
    assert report["confusion_matrix"] == matrix.tolist()
    assert report["accuracy"] == pytest.approx(np.mean(predicted == labels))
    for k in range(10):
        if matrix[k].sum():
            assert report["per_class_accuracy"][k] == pytest.approx(matrix[k, k] / matrix[k].sum())
    text = cli("evaluate", cnn_run / "model.snet", "--limit", 200).stdout
    assert "confusion matrix" in text and f"accuracy: {report['accuracy']:.4f}" in text


def test_summary(cnn_run):
    out = cli("summary", cnn_run / "model.snet").stdout
    assert "Total params: 1,199,882" in out and "Epochs trained: 1" in out
    assert json.loads(cli("summary", cnn_run / "model.snet", "--json").stdout)["params"] \
        == 1_199_882


def mlp_train(run: Path, *extra) -> subprocess.CompletedProcess:
    return cli("train", "--model", "mnist-mlp", "--limit", 512, "--seed", 3, "--no-plots",
               "--quiet", "--out", run, *extra)


def test_resume_after_interruption_gives_identical_weights(tmp_path):
    mlp_train(tmp_path / "straight", "--epochs", 3)
    mlp_train(tmp_path / "split", "--epochs", 1)
    assert sn.load_model(tmp_path / "split" / "model.snet").initial_epoch == 1
    done = cli("train", "--resume", tmp_path / "split", "--quiet", check=False)
    assert done.returncode == 2 and "the run is complete (1 of 1 epochs)" in done.stderr
    cli("train", "--resume", tmp_path / "split", "--epochs", 2, "--quiet")   # 2 more
    assert same_weights(tmp_path / "straight" / "model.snet", tmp_path / "split" / "model.snet")
    a = json.loads((tmp_path / "straight" / "history.json").read_text())
    b = json.loads((tmp_path / "split" / "history.json").read_text())
    assert a == b and a["epoch"] == [0, 1, 2]


def test_sigkill_during_training_leaves_a_resumable_checkpoint(tmp_path):
    run = tmp_path / "killed"
    args = ["train", "--model", "mnist-mlp", "--limit", 1024, "--seed", 5, "--no-plots",
            "--quiet"]
    proc = subprocess.Popen([*SCRATCHNET, *map(str, [*args, "--epochs", 200, "--out", run])],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait for checkpoints from a couple of epochs
            if (run / "model.snet").exists() and \
                    saving.read_metadata(run / "model.snet")["training"]["epoch"] >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "training ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    done = sn.load_model(run / "model.snet").initial_epoch  # loadable after a real SIGKILL
    assert 2 <= done < 200
    cli("train", "--resume", run, "--epochs", 1, "--quiet")   # one more epoch
    cli(*args, "--epochs", done + 1, "--out", tmp_path / "straight")
    assert same_weights(run / "model.snet", tmp_path / "straight" / "model.snet")


def test_ctrl_c_saves_and_says_how_to_resume(tmp_path):
    run = tmp_path / "interrupted"
    proc = subprocess.Popen([*SCRATCHNET, "train", "--model", "mnist-mlp", "--limit", "1024",
                             "--no-plots", "--quiet", "--epochs", "200", "--out", str(run)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "model.snet").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "--resume" in err and str(run) in err
    assert sn.load_model(run / "interrupted.snet").count_params() == 101_770
    sn.load_model(run / "model.snet")


def test_help_on_every_command_has_an_example():
    for command in ([], ["train"], ["evaluate"], ["predict"], ["summary"]):
        out = cli(*command, "--help").stdout
        assert "example:" in out and "scratchnet" in out


def test_clear_errors(tmp_path):
    bad = tmp_path / "notes.snet"
    bad.write_text("hello")
    result = cli("evaluate", bad, check=False)
    assert result.returncode == 2 and "notes.snet" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("train", "--resume", tmp_path, check=False)
    assert result.returncode == 2 and "no run.json" in result.stderr
    result = cli("train", "--model", "resnet", "--out", tmp_path / "r", check=False)
    assert result.returncode == 2 and "Unknown built-in model 'resnet'" in result.stderr
