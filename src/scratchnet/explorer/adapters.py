"""The explorer's three seams to the rest of scratchnet, each one function so it can be switched:

- :func:`trace_layers`: every layer's output for a batch, and the saliency, through the model's
  runner (``model.forward(..., hooks=[...])``: an ``after_forward`` hook keeps each output).
- :func:`prepare_canvas`: a drawn canvas to the image the model sees
  (``scratchnet.images.prepare_digit``, as ``scratchnet predict`` prepares pictures).
- :func:`default_model_path`: the bundled pretrained model (``scratchnet.pretrained``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import activations, images, pretrained, runner

Array = np.ndarray

def default_model_path() -> Path | None:
    """The bundled pretrained MNIST CNN, or None when this installation has none."""
    return pretrained.path() if pretrained.DEFAULT in pretrained.available() else None


class _Outputs:
    """Runner hook: every layer's output, in order."""

    def __init__(self) -> None:
        self.outputs: list[Array] = []

    def after_forward(self, layer: Any, x: Array, y: Array) -> None:
        self.outputs.append(y)


def trace_layers(model: Any, x: Array, saliency: bool = False) -> tuple[list[Array], Array | None]:
    """Run ``model`` in inference mode through its runner, keeping every layer's output.

    Input shape: (N, *model.input_shape). Returns ``(outputs, saliency)``: ``outputs[i]`` is
    layer i's output (N, *layer.output_shape); ``saliency`` (same shape as x, or None when not
    asked for) is the gradient of each sample's predicted class *score* with respect to its
    input. The score is the pre-softmax value (the logit) when the model ends in a softmax (a
    Dense/Conv2D with activation="softmax", or a Softmax/Activation("softmax") layer): the
    softmax probability of one class also moves when the *other* classes' scores move, so its
    gradient mixes in evidence against the other classes; the logit's gradient is the classic
    saliency map (Simonyan et al., 2014). Models without a final softmax use their output.
    """
    # The runner's logits path leaves out exactly that final softmax: its output is the score,
    # while the hook still sees the last layer's real output (the probabilities).
    logits = runner.final_activation(model.layers) is activations.get("softmax")
    hook = _Outputs()
    score, backward = model.forward(model.cast_input(x), training=False, logits=logits,
                                    input_gradient=saliency, hooks=[hook])
    outputs = hook.outputs
    if not saliency:
        return outputs, None
    if score.ndim != 2:
        raise ValueError(f"saliency needs a model whose output is (N, classes), got output "
                         f"shape {score.shape[1:]}")
    grad = np.zeros_like(score)
    grad[np.arange(len(score)), outputs[-1].argmax(axis=1)] = 1.0
    return outputs, backward(grad)


def image_size(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(H, W) of the grayscale image an input shape (H, W, 1) or (H*W,) takes."""
    if len(input_shape) == 3 and input_shape[2] == 1:
        return int(input_shape[0]), int(input_shape[1])
    if len(input_shape) == 2:
        return int(input_shape[0]), int(input_shape[1])
    if len(input_shape) == 1:
        side = int(round(input_shape[0] ** 0.5))
        if side * side == input_shape[0]:
            return side, side
    raise ValueError(f"expected a model of grayscale images, input shape (H, W, 1), "
                     f"(H, W) or (H*W,), got {tuple(input_shape)}")


def prepare_canvas(gray: Array, size: tuple[int, int] = (28, 28)) -> Array:
    """A drawing (H, W) float in [0, 1], light ink on black, as MNIST presents digits: the
    library's own preparation (``scratchnet.images.prepare_digit``: crop to the ink, fit into
    20x20 keeping the aspect ratio, centre of mass at the centre), the same as ``predict``'s.

    Output shape: ``size`` float32 in [0, 1].
    """
    return images.prepare_digit(np.asarray(gray, dtype=np.float32), tuple(size)).pixels
