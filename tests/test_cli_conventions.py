"""CLI conventions (issue 14) and the top-level error handler (issue 13), mostly in-process:
``cli.main(argv)`` with pytest's capture, so each case costs milliseconds, not an interpreter."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scratchnet as sn
from scratchnet import cli

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def run(capsys, *argv: object) -> tuple[int, str, str]:
    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as exit_:   # argparse's own exits (usage errors, --help, --version)
        status = exit_.code
    out = capsys.readouterr()
    return status, out.out, out.err


def mlp_args(out: Path, *extra: object) -> list[object]:
    return ["train", "--model", "mnist-mlp", "--limit", 64, "--batch-size", 32, "--seed", 1,
            "--no-plots", "--out", out, *extra]


def test_version(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"scratchnet {sn.__version__}"


def test_bare_invocation_prints_help(capsys):
    status, out, err = run(capsys)
    assert status == 0 and "usage: scratchnet" in out and "train" in out and err == ""


@pytest.mark.parametrize("typo, suggestion", [("trian", "train"), ("evalute", "evaluate"),
                                              ("summmary", "summary"), ("docter", "doctor")])
def test_did_you_mean_for_a_mistyped_command(capsys, typo, suggestion):
    status, _, err = run(capsys, typo)
    assert status == 2 and f"did you mean '{suggestion}'?" in err


def test_unknown_command_without_a_close_match_lists_the_commands(capsys):
    status, _, err = run(capsys, "xyzzy")
    assert status == 2 and "did you mean" not in err and "commands: train, evaluate" in err


@pytest.mark.parametrize("argv, usage, hint", [
    (["train", "--limt", "5"], "usage: scratchnet train", "did you mean '--limit'?"),
    (["evaluate", "m.snet", "--batchsize", "3"], "usage: scratchnet evaluate",
     "did you mean '--batch-size'?"),
    (["train", "--epochs", "x"], "usage: scratchnet train", "expected an integer >= 1, got 'x'"),
])
def test_a_bad_option_shows_the_subcommand_usage(capsys, argv, usage, hint):
    status, _, err = run(capsys, *argv)
    assert status == 2 and usage in err and hint in err


def test_every_option_of_every_command_has_help_text():
    parser = cli.build_parser()
    missing = []
    for name, sub in cli._subparsers(parser).items():
        for action in sub._actions:
            if action.option_strings and not action.help and action.help != argparse.SUPPRESS:
                missing.append(f"{name} {action.option_strings[0]}")
    assert not missing, f"options without help: {missing}"


def test_closed_pipe_exits_quietly():
    # The reader goes away before we write (as `| head` does once it has its lines).
    proc = subprocess.Popen([sys.executable, "-m", "scratchnet", "doctor", "--list", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == cli.EXIT_BROKEN_PIPE and err == ""


@pytest.mark.parametrize("extra", [
    ["--epochs", "0"], ["--limit", "-1"], ["--batch-size", "0"], ["--learning-rate", "nan"],
    ["--learning-rate", "-1"], ["--validation-split", "1"], ["--seed", "-3"],
    ["--optimizer", "adamz"], ["--loss", "hinge_squared_cubed"], ["--model", "resnet"],
    ["--model", "missing.snet"], ["--validation-split", "0.999"]])
def test_invalid_arguments_create_nothing(capsys, tmp_path, extra):
    out = tmp_path / "run"
    status, _, err = run(capsys, *mlp_args(out, *extra))
    assert status == 2 and "error:" in err and "Traceback" not in err
    assert not out.exists()


def test_out_naming_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    status, _, err = run(capsys, *mlp_args(tmp_path / "f"))
    assert status == 2 and "a file of that name exists" in err


def test_epochs_means_epochs_now_with_model_and_resume(capsys, tmp_path):
    first = tmp_path / "first"
    status, out, _ = run(capsys, *mlp_args(first, "--epochs", 2))
    assert status == 0 and "Training 2 epochs." in out
    status, out, _ = run(capsys, *mlp_args(tmp_path / "more", "--epochs", 1)[:2],
                         first / "model.snet", *mlp_args(tmp_path / "more", "--epochs", 1)[3:])
    assert status == 0 and "(2 epochs trained): training 1 more epoch, epoch 3." in out
    assert sn.load_model(tmp_path / "more" / "model.snet").initial_epoch == 3
    status, out, _ = run(capsys, "train", "--resume", first, "--epochs", 2)
    assert status == 0 and "Resuming after epoch 2: training 2 more epochs, epochs 3-4." in out
    assert sn.load_model(first / "model.snet").initial_epoch == 4
    assert json.loads((first / "run.json").read_text())["epochs"] == 4
    status, _, err = run(capsys, "train", "--resume", first)   # planned total reached
    assert status == 2 and "the run is complete (4 of 4 epochs)" in err


def test_resume_refuses_settings_it_cannot_apply_and_applies_the_rest(capsys, tmp_path):
    out = tmp_path / "run"
    assert run(capsys, *mlp_args(out, "--epochs", 1))[0] == 0
    before = (out / "run.json").read_text()
    for option, value in (("--optimizer", "adam"), ("--loss", "mse"), ("--seed", "9"),
                          ("--model", "mnist-cnn")):
        status, _, err = run(capsys, "train", "--resume", out, option, value, "--epochs", 1)
        assert status == 2 and "cannot apply" in err and f"{option} {value}" in err
        assert (out / "run.json").read_text() == before   # not rewritten to say otherwise
    status, text, _ = run(capsys, "train", "--resume", out, "--learning-rate", "0.25",
                          "--epochs", 1)
    assert status == 0 and "--learning-rate: 1.0 -> 0.25" in text
    assert sn.load_model(out / "model.snet").optimizer.learning_rate == 0.25
    assert json.loads((out / "run.json").read_text())["learning_rate"] == 0.25


def test_out_with_braces_is_a_literal_directory(capsys, tmp_path):
    for name in ("r{epoch}", "run{b}", "runs{}"):
        assert run(capsys, *mlp_args(tmp_path / name, "--epochs", 1))[0] == 0
        assert sn.load_model(tmp_path / name / "model.snet").initial_epoch == 1
    assert {p.name for p in tmp_path.iterdir()} == {"r{epoch}", "run{b}", "runs{}"}


def test_errors_are_one_line_and_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "notes.snet"
    bad.write_text("hello, these are my notes")
    status, _, err = run(capsys, "summary", bad)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "not a scratchnet model file" in err and "It looks like a text file" in err
    assert "-byte header" not in err
    monkeypatch.setenv("SCRATCHNET_DEBUG", "1")
    with pytest.raises(ValueError):
        cli.main(["summary", str(bad)])


def test_an_unexpected_exception_is_one_line_too(capsys, monkeypatch):
    from scratchnet.cli import summary
    monkeypatch.setattr(summary, "load_model_file", lambda path: 1 / 0)
    parser_status, _, err = run(capsys, "summary", "x.snet")
    assert parser_status == 2 and "internal error ZeroDivisionError" in err
    assert "SCRATCHNET_DEBUG=1" in err and len(err.strip().splitlines()) == 1


def test_keyboard_interrupt_outside_training_exits_130(capsys, monkeypatch):
    from scratchnet.cli import summary

    def interrupt(path):
        raise KeyboardInterrupt
    monkeypatch.setattr(summary, "load_model_file", interrupt)
    status, _, err = run(capsys, "summary", "x.snet")
    assert status == 130 and "interrupted" in err


def test_evaluate_exit_status_1_when_below_min_accuracy(capsys, tmp_path):
    out = tmp_path / "run"
    assert run(capsys, *mlp_args(out, "--epochs", 1))[0] == 0
    status, text, _ = run(capsys, "evaluate", out / "model.snet", "--limit", 64,
                          "--min-accuracy", "0.999")
    assert status == 1 and "FAILED: accuracy" in text
    status, text, _ = run(capsys, "evaluate", out / "model.snet", "--limit", 64, "--json",
                          "--min-accuracy", "0")
    assert status == 0 and json.loads(text)["passed"] is True


def test_evaluate_shows_a_progress_bar_on_a_terminal_for_large_inputs(capsys, tmp_path,
                                                                        monkeypatch):
    out = tmp_path / "run"
    assert run(capsys, *mlp_args(out, "--epochs", 1))[0] == 0
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = run(capsys, "evaluate", out / "model.snet", "--limit", 3000)
    assert "evaluate" in err and "sample" in err   # tqdm's bar
    _, _, err = run(capsys, "evaluate", out / "model.snet", "--limit", 100)
    assert err == ""   # small: done before a bar would mean anything
    _, _, err = run(capsys, "evaluate", out / "model.snet", "--limit", 3000, "--quiet")
    assert err == ""
