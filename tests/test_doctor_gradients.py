"""The doctor's gradient check over the whole gallery, both ways: no correct layer is accused
(huge activations, saturated tanh/sigmoid, wide layers, float32 models trained or not), and a
wrong backward planted in the numerically hardest layer of every case is caught: the story's
constant-0.01 ReLU derivative, a missing factor, an input gradient in the wrong order (what a
transposed kernel gives).

The planted layer is the weighted layer with the largest input RMS where the bug changes the
layer's local gradient at all (half of an exact zero is still right); for the ReLU bug, the
ReLU layer with the largest input RMS that has negative pre-activations.
"""
from __future__ import annotations

import numpy as np
import pytest

from scratchnet import gradcheck
from scratchnet.backend import floatx_scope
from scratchnet.diagnostics.checks_data import check_labels
from scratchnet.diagnostics.checks_numeric import check_gradients
from scratchnet.diagnostics.gallery import EXPECTED, GALLERY, HEALTHY
from scratchnet.diagnostics.probes import Trace, rms, trace
from scratchnet.diagnostics.story import user_relu

CASES = {**GALLERY, **HEALTHY}


def sn_float64():
    return floatx_scope("float64")
_BUGGY_BACKWARD = {name for name, found in EXPECTED.items()
                   if any(code == "gradient_mismatch" for code, _ in found)}


def _setup(name: str):
    model, x, y = CASES[name](samples=32, small=True)
    if check_labels(model, np.asarray(y)):
        pytest.skip(f"{name}: labels the loss cannot take, the doctor stops before gradients")
    model.ensure_built(x)
    return model, x, y, trace(model, x, y)


def _is_relu(rec) -> bool:
    return getattr(getattr(rec.layer, "activation", None), "name", None) == "relu"


def _garble(grad_x: np.ndarray, bug: str) -> np.ndarray:
    if bug == "missing_factor":
        return grad_x * 0.5
    flat = grad_x.reshape(len(grad_x), -1)
    return flat[:, ::-1].reshape(grad_x.shape)  # "transposed": features out of order


def _visible(rec, bug: str) -> bool:
    """Whether the bug can be seen at all on the checked samples: half of an exactly-zero
    gradient (a saturated softmax), features reversed among identical units (constant weights),
    a ReLU derivative at inputs that are all positive (or all exactly at the kink), or a
    gradient ~1e-21 far below the objective's rounding are still 'right'."""
    x = np.asarray(rec.x[:2], dtype=np.float64)
    if bug == "constant_relu":
        return _is_relu(rec) and bool(np.any(rec.z[:2] < 0))
    with sn_float64(), np.errstate(all="ignore"):
        out, back = rec.layer.forward(x, True)
        grad_x = back(np.random.default_rng(0).standard_normal(out.shape))
    if np.linalg.norm(_garble(grad_x, bug) - grad_x) <= 1e-3 * np.linalg.norm(grad_x):
        return False
    check = gradcheck(rec.layer, x, max_entries=16)["input"]  # the correct layer
    return check.checked > 0 and check.unresolved <= check.checked // 4


def _target(tr: Trace, bug: str):
    candidates = [rec for rec in tr.layers if rec.layer.params and np.all(np.isfinite(rec.x))
                  and _visible(rec, bug)]
    return max(candidates, key=lambda rec: rms(rec.x), default=None)


def _plant(layer, bug: str) -> None:
    if bug == "constant_relu":
        layer.activation = user_relu
        return
    forward = layer.forward

    def buggy(x, training=False):
        out, back = forward(x, training)
        return out, lambda grad_y: _garble(back(grad_y), bug)
    layer.forward = buggy


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_correct_layer_is_accused(name):
    model, x, y, tr = _setup(name)
    found = [f for f in check_gradients(model, tr, y) if f.code == "gradient_mismatch"]
    if name in _BUGGY_BACKWARD:
        assert found
    else:
        assert found == [], f"{name}: " + "; ".join(f"{f.layer}: {f.evidence}" for f in found)


@pytest.mark.parametrize("bug", ["constant_relu", "missing_factor", "transposed"])
@pytest.mark.parametrize("name", sorted(set(CASES) - _BUGGY_BACKWARD))
def test_a_planted_wrong_backward_is_caught(name, bug):
    model, x, y, tr = _setup(name)
    rec = _target(tr, bug)
    if rec is None:
        pytest.skip(f"{name}: no layer where {bug} can show (a ReLU with negative inputs, "
                    "a weighted layer receiving a gradient)")
    _plant(rec.layer, bug)
    tr = trace(model, x, y)  # the planted bug shapes what reaches the layer, as in a real run
    only = Trace([r for r in tr.layers if r.layer is rec.layer], tr.loss, tr.output,
                 tr.grad_output, tr.fused)
    found = [f for f in check_gradients(model, only, y) if f.code == "gradient_mismatch"
             and f.layer == rec.name]
    assert found, f"{name}: {bug} in {rec.name} (input RMS {rms(rec.x):.3g}) not caught"
    assert found[0].severity in ("warning", "error")
