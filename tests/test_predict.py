"""``scratchnet predict`` and the bundled pretrained model, end to end (subprocesses)."""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from drawn_digits import Variant, draw, write_drawn_digits
from PIL import Image

from scratchnet import images, pretrained
from scratchnet.datasets import mnist

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def predict(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scratchnet", "predict", *map(str, args)],
                          capture_output=True, text=True, env=ENV, timeout=300)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> list[tuple[Path, int, str]]:
    return write_drawn_digits(tmp_path_factory.mktemp("drawn"))


def test_the_bundled_model_reads_the_drawn_digits(drawn):
    """The acceptance figure of issue 14: >= 95% of the drawn set, through the command."""
    result = predict(*(path for path, _, _ in drawn), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [entry["image"] for entry in out] == [str(path) for path, _, _ in drawn]
    wrong = collections.Counter(variant for (_, digit, variant), entry in zip(drawn, out)
                                if entry["digit"] != digit)
    accuracy = 1 - sum(wrong.values()) / len(drawn)
    print(f"drawn digits: {accuracy:.1%} of {len(drawn)}; wrong by variant: {dict(wrong)}")
    assert accuracy >= 0.95, wrong


def test_the_issue_s_seven_and_a_non_square_digit(tmp_path):
    for name, variant in (("seven", Variant("thick", height=0.8, pen=22 / 160)),
                          ("wide", Variant("wide", canvas=(300, 200), width_ratio=0.9))):
        draw(7, variant).save(tmp_path / f"{name}.png")
    out = json.loads(predict(tmp_path / "seven.png", tmp_path / "wide.png", "--json").stdout)
    for entry in out:
        assert entry["digit"] == 7 and max(entry["probabilities"]) > 0.9, entry


def test_mnist_digits_survive_the_preparation():
    """Prepared again, MNIST's own test digits are read as well as the raw ones."""
    (_, _), (x, y) = mnist.load_data()
    x, y = x[:1000], y[:1000]
    model = pretrained.load()
    raw = model.predict(x.reshape(-1, 28, 28, 1).astype(np.float32) / 255).argmax(axis=1)
    prepared = np.stack([images.prepare_digit(digit).pixels for digit in x])[..., None]
    again = model.predict(prepared).argmax(axis=1)
    assert np.mean(raw == y) >= 0.98
    assert np.mean(again == y) >= np.mean(raw == y) - 0.01


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    draw(3, Variant("a")).save(tmp_path / "three.png")
    draw(1, Variant("b", ink=(255,) * 3, paper=(0,) * 3)).save(tmp_path / "one.jpg")
    (tmp_path / "notes.txt").write_text("shopping list")
    Image.new("L", (60, 40), 255).save(tmp_path / "blank.png")
    result = predict(tmp_path / "three.png", tmp_path / "notes.txt", tmp_path / "gone.png",
                     tmp_path / "one.jpg", tmp_path / "blank.png")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'three.png'}: 3 (")
    assert lines[1].startswith(f"{tmp_path / 'one.jpg'}: 1 (")
    assert lines[2].startswith(f"{tmp_path / 'blank.png'}: ") and lines[2].endswith("[blank]")
    errors = result.stderr.splitlines()
    assert f"scratchnet predict: error: {tmp_path / 'notes.txt'}: not an image file" in errors[0]
    assert errors[1] == f"scratchnet predict: error: {tmp_path / 'gone.png'}: no such image file"
    assert errors[2].startswith(f"scratchnet predict: warning: {tmp_path / 'blank.png'}: blank")
    out = json.loads(predict(tmp_path / "notes.txt", tmp_path / "blank.png", "--json").stdout)
    assert "error" in out[0] and out[1]["warnings"][0].startswith("blank")
    none = predict(tmp_path / "notes.txt", tmp_path / "gone.png")
    assert none.returncode == 2 and none.stdout == "" and "Traceback" not in none.stderr


def test_show_writes_what_the_model_saw(tmp_path):
    draw(5, Variant("a")).save(tmp_path / "five.png")
    sub = tmp_path / "b"
    sub.mkdir()
    draw(6, Variant("b")).save(sub / "five.png")   # same name, other folder: both kept
    result = predict(tmp_path / "five.png", sub / "five.png", "--show", tmp_path / "seen",
                     "--json")
    assert result.returncode == 0, result.stderr
    shown = [Path(entry["shown"]) for entry in json.loads(result.stdout)]
    assert [p.name for p in shown] == ["five.png", "five-2.png"]
    for path in shown:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (960, 340)
    (tmp_path / "file").write_text("")
    clash = predict(tmp_path / "five.png", "--show", tmp_path / "file")
    assert clash.returncode == 2 and "expected a directory" in clash.stderr


def test_the_model_argument_is_optional_and_unambiguous(tmp_path):
    draw(2, Variant("a")).save(tmp_path / "two.png")
    bundled = json.loads(predict(tmp_path / "two.png", "--json").stdout)
    named = json.loads(predict(pretrained.path(), tmp_path / "two.png", "--json").stdout)
    assert bundled == named and bundled[0]["digit"] == 2
    copy = tmp_path / "weights.bin"
    copy.write_bytes(pretrained.path().read_bytes())
    flagged = json.loads(predict("--model", copy, tmp_path / "two.png", "--json").stdout)
    assert flagged == bundled
    alone = predict(pretrained.path())
    assert alone.returncode == 2 and "no images given" in alone.stderr
    usage = predict("--help").stdout
    assert "[MODEL.snet] IMAGE [IMAGE ...]" in usage and "exit status: 0 when every" in usage


def test_pretrained_model_and_its_record():
    assert pretrained.available() == ["mnist-cnn"]
    model = pretrained.load("mnist-cnn")
    assert model.count_params() == 1_199_882 and model.optimizer.learning_rate == 1.0
    readme = (pretrained.MODELS_DIR / "README.md").read_text()
    assert "benchmarks/make_pretrained.py" in readme and "test accuracy" in readme
    with pytest.raises(ValueError, match="Unknown pretrained model 'resnet'"):
        pretrained.load("resnet")
