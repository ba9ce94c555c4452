"""``scratchnet explore``: a local web page to draw a digit and watch the network think."""
from __future__ import annotations

import argparse
from typing import Any

from .common import CommandError


def run_explore(args: argparse.Namespace) -> int:
    from ..explorer import serve
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port: expected 0..65535 (0: a free port), got {args.port}")
    if args.dead_samples < 1:
        raise CommandError(f"--dead-samples: expected a positive count, got {args.dead_samples}")
    try:
        serve(args.source, port=args.port, open_browser=not args.no_browser,
              dead_samples=args.dead_samples, verbose=args.verbose)
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CommandError(str(err)) from None
    return 0


def add_explore(sub: Any) -> None:
    p = sub.add_parser(
        "explore", help="a local web page: draw a digit and watch the network think",
        description="Serve a page on 127.0.0.1: draw a digit and see the 28x28 image the model "
                    "sees, its probabilities, every layer's output (dead units marked), the "
                    "first-layer filters and the saliency; for a run directory also the curves, "
                    "the confusion matrix and the doctor, following a running 'scratchnet "
                    "train' live. Without an argument: the bundled pretrained model.",
        epilog="example:\n  scratchnet train --epochs 1 --limit 5000 --out runs/quick\n"
               "  scratchnet explore runs/quick",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", nargs="?", metavar="RUN_DIR|MODEL",
                   help="a run directory (from 'scratchnet train --out') or a model file")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, open no browser")
    p.add_argument("--dead-samples", type=int, default=1000,
                   help="test images that decide which units are dead (default 1000)")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(run=run_explore)
