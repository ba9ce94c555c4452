"""`scratchnet doctor` and `scratchnet profile` end to end: the user's story in one report,
healthy models clean, a profile row per layer."""
from __future__ import annotations

import json

from tests.test_cli import cli

STORY_BUGS = {
    ("gradient_mismatch", "conv2d"),         # ReLU backward returning the constant 0.01
    ("exploding_activations", "conv2d_1"),   # weights drawn with std 1
    ("loss_activation_mismatch", "dense_1"),  # softmax followed by a squared error
    ("loss_not_averaged", "loss"),           # a summed, not averaged, mini-batch gradient
}


def test_user_story_prints_all_its_problems_in_one_report():
    result = cli("doctor", "--example", "user-story", "--samples", "64", check=False)
    assert result.returncode == 1, result.stderr
    for code, layer in STORY_BUGS:
        assert f"{code} at {layer}" in result.stdout
    as_json = cli("doctor", "--example", "user-story", "--samples", "64", "--json", check=False)
    found = {(f["code"], f["layer"]) for f in json.loads(as_json.stdout)["findings"]}
    assert STORY_BUGS <= found


def test_healthy_keras_cnn_has_no_findings():
    result = cli("doctor", "mnist-cnn", "--samples", "64", "--json", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [f for f in report["findings"] if f["severity"] != "info"] == []


def test_doctor_needs_a_model_or_an_example():
    result = cli("doctor", check=False)
    assert result.returncode == 2 and "--example" in result.stderr
    listing = cli("doctor", "--list")
    assert "user-story" in listing.stdout and "keras-mnist-cnn" in listing.stdout


def test_profile_command_lists_every_layer():
    result = cli("profile", "mnist-mlp", "--batch-size", "16", "--repeat", "1", "--json")
    report = json.loads(result.stdout)
    assert report["training"] and report["batch_size"] == 16
    assert [row["name"] for row in report["layers"]][:2] == ["flatten", "dense"]
    assert all(row["forward_ms"] >= 0 and row["backward_ms"] >= 0 for row in report["layers"])
    bad = cli("profile", "--batch-size", "0", check=False)
    assert bad.returncode == 2 and "--batch-size: expected an integer >= 1" in bad.stderr
