"""The explorer's three seams to the rest of scratchnet, each one function so it can be switched:

- :func:`trace_layers`: every layer's output for a batch, and the saliency. It drives the layers
  itself (``y, back = layer.forward(x, training=False)``); switch it to ``scratchnet.runner``
  (hooks ``after_forward(layer, x, y)``) once the runner lands.
- :func:`prepare_canvas`: a drawn canvas to the image the model sees
  (``scratchnet.images.prepare_digit``, as ``scratchnet predict`` prepares pictures).
- :func:`default_model_path`: the bundled pretrained model (``scratchnet.pretrained``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import activations, images, pretrained
from ..layers import ActivatedLayer, Activation, Softmax

Array = np.ndarray

def default_model_path() -> Path | None:
    """The bundled pretrained MNIST CNN, or None when this installation has none."""
    return pretrained.path() if pretrained.DEFAULT in pretrained.available() else None


def _is_softmax(activation: Any) -> bool:
    return activation is activations.get("softmax")


def trace_layers(model: Any, x: Array, saliency: bool = False) -> tuple[list[Array], Array | None]:
    """Run ``model`` layer by layer in inference mode.

    Input shape: (N, *model.input_shape). Returns ``(outputs, saliency)``: ``outputs[i]`` is
    layer i's output (N, *layer.output_shape); ``saliency`` (same shape as x, or None when not
    asked for) is the gradient of each sample's predicted class *score* with respect to its
    input. The score is the pre-softmax value (the logit) when the model ends in a softmax (a
    Dense/Conv2D with activation="softmax", or a Softmax/Activation("softmax") layer): the
    softmax probability of one class also moves when the *other* classes' scores move, so its
    gradient mixes in evidence against the other classes; the logit's gradient is the classic
    saliency map (Simonyan et al., 2014). Models without a final softmax use their output.
    """
    h = x.astype(model.dtype, copy=False)
    outputs: list[Array] = []
    backwards = []
    last = len(model.layers) - 1
    score_at = last          # index in ``backwards`` whose output is the class score
    for index, layer in enumerate(model.layers):
        if index == last and isinstance(layer, ActivatedLayer) and _is_softmax(layer.activation):
            z, back = layer.forward_linear(h, training=False)
            h = layer.activation(z)
        else:
            if index == last and (isinstance(layer, Softmax) or (
                    isinstance(layer, Activation) and _is_softmax(layer.activation))):
                score_at = last - 1
            h, back = layer.forward(h, training=False)
        outputs.append(h)
        backwards.append(back)
    if not saliency:
        return outputs, None
    score = outputs[score_at] if score_at >= 0 else x
    if score.ndim != 2:
        raise ValueError(f"saliency needs a model whose output is (N, classes), got output "
                         f"shape {score.shape[1:]}")
    grad = np.zeros_like(score)
    grad[np.arange(len(score)), outputs[-1].argmax(axis=1)] = 1.0
    for back in reversed(backwards[:score_at + 1]):
        grad = back(grad)
    return outputs, grad


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
