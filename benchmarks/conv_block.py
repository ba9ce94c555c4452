"""Interleaved in-process A/B of the conv block (ops.conv_block) against the layer-by-layer
inference plan it replaced, and of the ReLU against zeros against the ReLU against 0.

Same rounds, ratios and table as benchmarks/inference_kernels.py (whose ``measure`` and
``print_table`` this reuses):
each round runs both variants of a case in rotated order; the ratio is the median over rounds
of (old time / new time) within one round.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/conv_block.py

Cases: the MNIST CNN predicting at batch 128, 1,024 in one call and one sample at a time, with
the inference plan less the conv block rule (conv1 as its own step, then conv2 + ReLU + pool on
F(4x4): ``fusion.conv_relu_max_pool2x2_inference``, as before the block) against the conv block
(``conv_block_inference``); then one ReLU over 65k float32 values in cache (a block's stem
output) against a scalar 0 and against an array of zeros (``ops.elementwise.relu_into``).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

from inference_kernels import header, measure, print_table  # noqa: E402

from scratchnet import fusion, zoo  # noqa: E402
from scratchnet.ops import parallel  # noqa: E402


def layer_plan_model():
    """The MNIST CNN planned without the conv block rule (the plan is kept once made)."""
    model = zoo.mnist_cnn()
    model.build((28, 28, 1))
    rules = fusion.INFERENCE_RULES
    fusion.INFERENCE_RULES = tuple(r for r in rules if r is not fusion.conv_block_inference)
    try:
        steps = model.runner.plan(inference=True).describe()
    finally:
        fusion.INFERENCE_RULES = rules
    assert not any("conv_block" in s for s in steps), steps
    return model


def cases(rng: np.random.Generator) -> dict[str, tuple[int, dict]]:
    old, new = layer_plan_model(), zoo.mnist_cnn()
    new.build((28, 28, 1))
    new.set_weights(old.get_weights())
    assert any("conv_block" in s for s in new.runner.plan(inference=True).describe())
    x = rng.random((1024, 28, 28, 1), dtype=np.float32)
    assert np.abs(old.predict(x[:64], verbose=0) - new.predict(x[:64], verbose=0)).max() < 1e-5

    def one_at_a_time(model):
        return lambda: [model.predict(x[i:i + 1], verbose=0) for i in range(32)]
    z = rng.standard_normal((2028, 32)).astype(np.float32)
    out, zeros = np.empty_like(z), np.zeros_like(z)
    return {
        "predict, batch 128": (128, {
            "layer plan": lambda: old.predict(x[:128], verbose=0),
            "conv block": lambda: new.predict(x[:128], verbose=0)}),
        "predict, 1,024 in one call": (1024, {
            "layer plan": lambda: old.predict(x, batch_size=1024, verbose=0),
            "conv block": lambda: new.predict(x, batch_size=1024, verbose=0)}),
        "predict, batch 1 (32 calls)": (32, {
            "layer plan": one_at_a_time(old), "conv block": one_at_a_time(new)}),
        "ReLU of 2028x32 float32 (x1000)": (1000, {
            "maximum(z, 0)": lambda: [np.maximum(z, 0, out=out) for _ in range(1000)],
            "maximum(z, zeros)": lambda: [np.maximum(z, zeros, out=out) for _ in range(1000)]}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    parallel.set_num_threads(args.threads)
    print(header(args))
    print_table(measure(cases(np.random.default_rng(0)), args.rounds), "old", "new")


if __name__ == "__main__":
    main()
