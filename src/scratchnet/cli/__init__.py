"""The ``scratchnet`` command: a thin shell over the library (argparse).

One module per subcommand, each with an ``add_<name>(subparsers)`` that adds its parser and sets
``run``; COMMANDS lists them in the order ``--help`` shows. A new subcommand is a new module and
one entry here.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from typing import Any, Callable

from .compare import add_compare
from .doctor import add_doctor
from .evaluate import add_evaluate
from .explore import add_explore
from .export import add_export
from .predict import add_predict
from .profile import add_profile
from .summary import add_summary
from .trace import add_trace
from .train import add_train

COMMANDS: list[Callable[[Any], None]] = [add_train, add_evaluate, add_predict, add_summary,
                                         add_doctor, add_profile, add_export, add_trace,
                                         add_compare, add_explore]
# Exit statuses (docs/cli.md): 0 success, 1 a check that failed (evaluation, doctor,
# comparison), 2 a usage error or any other error (one line on stderr), 130 Ctrl-C, 141 the
# reader of our output went away (``| head``), as a process killed by SIGPIPE reports.
EXIT_ERROR, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 2, 130, 141


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = argparse.ArgumentParser(
        prog="scratchnet", description="Train, evaluate and use scratchnet models on MNIST.",
        epilog="example:\n  scratchnet train --epochs 1 --limit 2000 --out runs/quick\n"
               "  scratchnet evaluate runs/quick/model.snet",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"scratchnet {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | None:
    """argparse, plus what users of git and pip expect: None (print help) on a bare command,
    "did you mean" for a mistyped command or option, and a bad option reported with the usage
    of the subcommand it was given to."""
    commands = _subparsers(parser)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None and not any(a in ("-h", "--help", "--version") for a in argv):
        return None
    if first is not None and first not in commands:
        parser.error(f"unknown command {first!r}{_did_you_mean(first, list(commands))} "
                     f"(commands: {', '.join(commands)})")
    args, extras = parser.parse_known_args(argv)
    if extras:
        sub = commands[args.command]
        options = [o for action in sub._actions for o in action.option_strings]
        hints = [_did_you_mean(e.split("=")[0], options) for e in extras if e.startswith("-")]
        sub.error(f"unrecognized arguments: {' '.join(extras)}"
                  f"{next((h for h in hints if h), '')}")
    return args


def describe(err: BaseException) -> str:
    """One line for any exception: what went wrong, for the user, not a traceback."""
    from ..errors import ScratchnetError
    if isinstance(err, OSError) and not isinstance(err, ScratchnetError):
        where = f"{err.filename}: " if err.filename else ""
        text = f"{where}{err.strerror or err}"
    elif isinstance(err, KeyError) and err.args:
        text = str(err.args[0])
    elif isinstance(err, (ScratchnetError, ValueError, TypeError, OSError)):
        text = str(err.strerror if isinstance(err, OSError) and err.strerror else err)
    elif isinstance(err, MemoryError):
        text = "out of memory (try a smaller --batch-size or --limit)"
    else:   # a bug in scratchnet: still one line, with how to get the traceback
        text = (f"internal error {type(err).__name__}: {err} (run again with "
                f"SCRATCHNET_DEBUG=1 for the traceback, and please report it)")
    return " ".join(text.split())


def _debug() -> bool:
    return os.environ.get("SCRATCHNET_DEBUG", "") not in ("", "0")


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is
    silent too (the documented Python recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """The ``scratchnet`` command. Every exception ends as one line on stderr and an exit
    status (see EXIT_*); SCRATCHNET_DEBUG=1 re-raises it for the traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = "scratchnet"
    try:
        parser = build_parser()
        args = parse(parser, argv)
        if args is None:
            parser.print_help()
            return 0
        command = f"scratchnet {args.command}"
        status = args.run(args)
        sys.stdout.flush()   # a closed pipe shows here, inside the handler
        return status
    except KeyboardInterrupt:
        if _debug():
            raise
        print(f"\n{command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as err:
        if _debug():
            raise
        if isinstance(err, OSError) and getattr(err, "errno", None) == 32:  # EPIPE, wrapped
            _quiet_stdout()
            return EXIT_BROKEN_PIPE
        print(f"{command}: error: {describe(err)}", file=sys.stderr)
        return EXIT_ERROR
