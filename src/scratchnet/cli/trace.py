"""``scratchnet trace``: a reference trace of one training step (or N) of a model, or golden
vectors of one layer, loss or optimizer in isolation."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import CommandError, add_parser, emit, load_model_file, recipe_optimizer


def _model(args: argparse.Namespace) -> Any:
    from .. import backend, losses, optimizers, zoo
    backend.set_random_seed(args.seed)     # the zoo models' initial weights
    if args.model in zoo.MODELS:
        model = zoo.get(args.model)
        model.compile(optimizer=recipe_optimizer(), loss="categorical_crossentropy")
    elif Path(args.model).is_file():
        model = load_model_file(args.model)
    else:
        raise CommandError(f"MODEL {args.model!r}: expected one of {sorted(zoo.MODELS)} or a "
                           f"model file (.snet)")
    if args.loss:
        model.loss = losses.get(args.loss)
    if args.optimizer or args.learning_rate is not None:
        config = optimizers.get(args.optimizer or model.optimizer).get_config()
        if args.learning_rate is not None:
            config["learning_rate"] = args.learning_rate
        model.optimizer = optimizers.from_config(config)
    return model


def run_trace(args: argparse.Namespace) -> int:
    try:
        return _run_trace(args)
    except OSError as err:   # an unwritable --out, a full disk: one line, not a traceback
        raise CommandError(f"cannot write the trace: {err}") from None


def _run_trace(args: argparse.Namespace) -> int:
    from ..tracing import cases
    if args.list:
        rows = cases.listing()
        emit(args, "\n".join(f"--layer {kind} --case {case:<28} {about}"
                             for kind, case, about in rows),
             [{"layer": k, "case": c, "about": a} for k, c, a in rows])
        return 0
    if not args.out:
        raise CommandError("--out DIR is required: the directory to write the trace into")
    if args.layer or args.case:
        if not (args.layer and args.case):
            raise CommandError("--layer and --case go together; see 'scratchnet trace --list'")
        path = cases.write_case(args.layer, args.case, args.out)
        emit(args, f"golden case {args.layer}/{args.case} written to {path}",
             {"out": str(path), "layer": args.layer, "case": args.case})
        return 0
    if not args.model:
        raise CommandError("expected MODEL (mnist-cnn, mnist-mlp or a .snet file), or --layer "
                           "with --case, or --list")
    for name in ("batch_size", "steps"):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be >= 1, "
                               f"got {getattr(args, name)}")
    from .. import runs
    from ..tracing import trace
    model = _model(args)
    count = args.batch_size * args.steps
    data = runs.mnist_arrays(model.input_shape, count, split="train")
    y = runs.encode_labels(data["y_train"], model.loss.name)
    path = trace(model, data["x_train"], y, args.out, steps=args.steps,
                 batch_size=args.batch_size, seed=args.seed, source=args.model)
    emit(args, f"trace of {args.steps} step(s) of {args.model} (batch {args.batch_size}, "
               f"{model.loss.name}, {model.optimizer.name}) written to {path}; compare yours "
               f"with: scratchnet compare {path} YOUR_DIR", {"out": str(path)})
    return 0


def add_trace(sub: Any) -> None:
    p = add_parser(sub, "trace", "Write a reference trace: every tensor of one training step "
                   "(inputs, weights, outputs, loss, gradients, updated weights) as raw float32 "
                   "and .npy files with a manifest, for checking an implementation of your own.",
                   "scratchnet trace mnist-cnn --out t && scratchnet compare t mine/")
    p.add_argument("model", nargs="?", help="mnist-cnn, mnist-mlp or a model file (.snet)")
    p.add_argument("--out", help="directory to write (replaced if it holds a trace)")
    p.add_argument("--batch-size", type=int, default=8, help="samples per step (8)")
    p.add_argument("--steps", type=int, default=1, help="training steps to record (1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights and dropout masks (0)")
    p.add_argument("--loss", help="loss to use instead of the model's (e.g. mean_squared_error)")
    p.add_argument("--optimizer", help="optimizer (Keras defaults) instead of the model's")
    p.add_argument("--learning-rate", type=float, default=None, help="the optimizer's rate")
    p.add_argument("--layer", help="golden vectors of one layer, loss or optimizer (see --list)")
    p.add_argument("--case", help="which case of --layer (see --list)")
    p.add_argument("--list", action="store_true", help="list the golden cases")
    p.set_defaults(run=run_trace)
