"""``scratchnet compare REF YOURS``: the first of your tensors that differs from a trace, why."""
from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_parser


def run_compare(args: argparse.Namespace) -> int:
    from ..tracing.compare import Tolerance, compare
    tolerance = Tolerance(rtol=args.rtol, atol=args.atol, atol_scale=args.atol_scale)
    result = compare(args.reference, args.yours, dtype=args.dtype, tolerance=tolerance,
                     all_divergences=args.all)
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    elif not args.quiet:
        print(result.report())
    return result.exit_code


def add_compare(sub: Any) -> None:
    p = add_parser(sub, "compare", "Compare your implementation's tensors with a reference "
                   "trace: the first that differs, where, by how much and the likely bug "
                   "(exit 0: all match, 1: a divergence, 2: bad input).",
                   "scratchnet compare trace/ mine/")
    p.add_argument("reference", help="the trace directory (from 'scratchnet trace')")
    p.add_argument("yours", help="your tensors, saved under the trace's names as .bin, .npy, "
                   ".txt or .csv (e.g. mine/dense/grad_kernel.bin)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="the type of your .bin files (default float32)")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (1e-4)")
    p.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance (default: --atol-scale x the tensor's max |ref|)")
    p.add_argument("--atol-scale", type=float, default=1e-5,
                   help="absolute tolerance relative to each tensor's largest value (1e-5)")
    p.add_argument("--all", action="store_true",
                   help="list every divergent tensor instead of stopping at the first")
    p.set_defaults(run=run_compare)
