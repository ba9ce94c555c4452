"""The ``scratchnet`` command: a thin shell over the library (argparse).

One module per subcommand, each with an ``add_<name>(subparsers)`` that adds its parser and sets
``run``; COMMANDS lists them in the order ``--help`` shows. A new subcommand is a new module and
one entry here.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from .common import CommandError
from .doctor import add_doctor
from .evaluate import add_evaluate
from .explore import add_explore
from .predict import add_predict
from .profile import add_profile
from .summary import add_summary
from .train import add_train

COMMANDS: list[Callable[[Any], None]] = [add_train, add_evaluate, add_predict, add_summary,
                                         add_doctor, add_profile, add_explore]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchnet", description="Train, evaluate and use scratchnet models on MNIST.",
        epilog="example:\n  scratchnet train --epochs 1 --limit 2000 --out runs/quick\n"
               "  scratchnet evaluate runs/quick/model.snet",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CommandError, ValueError, FileNotFoundError, KeyError) as err:
        if os.environ.get("SCRATCHNET_DEBUG"):  # the full traceback, for bug reports
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"scratchnet {args.command}: error: {message}", file=sys.stderr)
        return 2
