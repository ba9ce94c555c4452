"""Losses, each the mean of per-sample losses over the batch (Keras semantics).

``value, backward = loss.forward(y_true, y_pred)``: ``backward()`` returns dL/dy_pred, which
already includes the division by the batch size. This is the only place in the library where
that division happens, so a batch's parameter gradient is the mean of the per-sample gradients
and ``batch_size=1`` is plain SGD.

Final activation and loss are independent: softmax followed by MSE back-propagates through the
softmax Jacobian. The fused softmax + cross-entropy (and sigmoid + binary cross-entropy) path is an
explicit optimisation chosen by :func:`fused_loss`, computed from the logits so that no log(0)
can occur: it gives the same numbers wherever the probabilities are above the 1e-7 clip, and the
exact (unclipped) loss beyond it, as Keras on TensorFlow does.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import activations

Array = np.ndarray
EPSILON = 1e-7  # Keras's backend.epsilon(), used to clip probabilities


def _logsumexp(z: Array) -> Array:
    top = z.max(axis=-1, keepdims=True)
    return top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True))


def _per_sample_count(y_pred: Array) -> int:
    """Number of samples the loss averages over (all axes but the last)."""
    return int(np.prod(y_pred.shape[:-1])) if y_pred.ndim > 1 else y_pred.shape[0]


class Loss:
    name = "loss"
    #: The activation whose output this loss can take as logits instead (see fused_loss).
    fusable_activation: str | None = None

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def forward(self, y_true: Array, y_pred: Array) -> tuple[float, Callable[[], Array]]:
        raise NotImplementedError

    def __call__(self, y_true: Array, y_pred: Array, sample_weight: Any = None) -> float:
        return self.weighted_forward(y_true, y_pred, sample_weight)[0]

    def per_sample(self, y_true: Array, y_pred: Array) -> Array:
        """The loss of each sample, shape (N,): the batch loss is their mean. This default runs
        ``forward`` on one sample at a time, so it holds for any subclass; the common losses
        override it with one vectorised pass."""
        return np.array([self.forward(y_true[i:i + 1], y_pred[i:i + 1])[0]
                         for i in range(len(y_pred))])

    def weighted_forward(self, y_true: Array, y_pred: Array, sample_weight: Array | None
                         ) -> tuple[float, Callable[[], Array]]:
        """``forward`` with per-sample weights w (N,), Keras 3's "sum_over_batch_size":
        sum_i(w_i * loss_i) / N -- divided by the batch size N, *not* by sum(w), so weights 0.5
        halve the loss. Every sample's loss depends on its own row of y_pred only, so the
        gradient is the unweighted one with row i scaled by w_i. The one place sample weights
        (and class weights, converted to them) enter the loss path."""
        value, backward = self.forward(y_true, y_pred)
        if sample_weight is None:
            return value, backward
        weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if len(weights) != len(y_pred):
            raise ValueError(f"sample_weight has {len(weights)} entries for a batch of "
                             f"{len(y_pred)} samples; expected one weight per sample.")
        value = float(np.dot(self.per_sample(y_true, y_pred), weights) / len(weights))
        row_scale = weights.reshape(-1, *([1] * (y_pred.ndim - 1)))

        def weighted_backward() -> Array:
            return (backward() * row_scale).astype(y_pred.dtype, copy=False)
        return value, weighted_backward

    def check_targets(self, y_true: Array, output_shape: tuple[int, ...]) -> None:
        """Raise a clear error if labels (N, ...) cannot go with outputs (N, *output_shape)."""
        if tuple(y_true.shape[1:]) != tuple(output_shape):
            wanted = "(N, " + ", ".join(map(str, output_shape)) + ")"
            raise ValueError(
                f"{type(self).__name__} expects targets of shape {wanted} like the model "
                f"output, got {y_true.shape}."
                + (" Integer class labels? Use to_categorical or sparse_categorical_crossentropy."
                   if y_true.ndim == 1 else ""))

    def with_logits(self) -> "Loss":
        return type(self)(from_logits=True)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits}


class MeanSquaredError(Loss):
    """mean over the last axis of (y_true - y_pred)^2, then over the batch."""
    name = "mean_squared_error"

    def __init__(self) -> None:
        super().__init__(from_logits=False)

    def forward(self, y_true, y_pred):
        diff = y_pred - y_true.astype(y_pred.dtype, copy=False)
        value = float(np.mean(diff * diff))
        return value, lambda: diff * np.asarray(2.0 / diff.size, dtype=y_pred.dtype)

    def per_sample(self, y_true, y_pred):
        diff = y_pred - y_true.astype(y_pred.dtype, copy=False)
        return (diff * diff).reshape(len(diff), -1).mean(axis=1)

    def get_config(self):
        return {"name": self.name}


class CategoricalCrossentropy(Loss):
    """-sum(y_true * log p) per sample. Probabilities are renormalised to sum 1 and clipped to
    [1e-7, 1 - 1e-7] (Keras); with ``from_logits=True`` p = softmax(y_pred), computed stably."""
    name = "categorical_crossentropy"
    fusable_activation = "softmax"

    def forward(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        n = _per_sample_count(y_pred)
        if self.from_logits:
            log_p = y_pred - _logsumexp(y_pred)
            value = float(-(y * log_p).sum() / n)
            return value, lambda: (np.exp(log_p) * y.sum(-1, keepdims=True) - y) / n
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        clipped = np.clip(q, EPSILON, 1 - EPSILON)
        value = float(-(y * np.log(clipped)).sum() / n)

        def backward():
            grad_q = np.where((q >= EPSILON) & (q <= 1 - EPSILON), -y / clipped, 0) / n
            # Through the renormalisation q = p / sum(p).
            return ((grad_q - (grad_q * q).sum(-1, keepdims=True)) / total).astype(y_pred.dtype)
        return value, backward

    def per_sample(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        if self.from_logits:
            terms = -(y * (y_pred - _logsumexp(y_pred))).sum(axis=-1)
        else:
            q = y_pred / y_pred.sum(axis=-1, keepdims=True)
            terms = -(y * np.log(np.clip(q, EPSILON, 1 - EPSILON))).sum(axis=-1)
        return terms.reshape(len(y_pred), -1).mean(axis=1)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer class labels, shape (N,) or (N, 1)."""
    name = "sparse_categorical_crossentropy"

    def forward(self, y_true, y_pred):
        labels = np.asarray(y_true).reshape(-1).astype(np.intp)
        if labels.size and (labels.min() < 0 or labels.max() >= y_pred.shape[-1]):
            # A negative label would silently index from the end.
            raise ValueError(f"{self.name} expects integer labels in [0, {y_pred.shape[-1] - 1}],"
                             f" got values in [{labels.min()}, {labels.max()}].")
        one_hot = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        one_hot[np.arange(labels.size), labels] = 1
        return super().forward(one_hot, y_pred)

    def per_sample(self, y_true, y_pred):
        one_hot = np.eye(y_pred.shape[-1], dtype=y_pred.dtype)[
            np.asarray(y_true).reshape(-1).astype(np.intp)]
        return super().per_sample(one_hot, y_pred)

    def check_targets(self, y_true, output_shape):
        classes = output_shape[-1]
        if len(output_shape) != 1 or not (y_true.ndim == 1 or y_true.shape[1:] == (1,)):
            raise ValueError(f"sparse_categorical_crossentropy expects integer labels of shape "
                             f"(N,) or (N, 1) for outputs (N, classes); got labels {y_true.shape} "
                             f"for outputs (N, {', '.join(map(str, output_shape))}).")
        if y_true.size and (np.any(y_true != np.round(y_true)) or y_true.min() < 0
                            or y_true.max() >= classes):
            raise ValueError(f"sparse_categorical_crossentropy expects integer labels in "
                             f"[0, {classes - 1}], got values in [{y_true.min()}, {y_true.max()}].")


class BinaryCrossentropy(Loss):
    """mean over the last axis of -(y log p + (1 - y) log(1 - p)), p clipped to [1e-7, 1 - 1e-7];
    with ``from_logits=True`` p = sigmoid(y_pred), computed stably."""
    name = "binary_crossentropy"
    fusable_activation = "sigmoid"

    def forward(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        size = y_pred.size
        if self.from_logits:
            z = y_pred
            value = float((np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum() / size)
            return value, lambda: (activations.sigmoid(z) - y) / size
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        value = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / size)

        def backward():
            inside = (y_pred >= EPSILON) & (y_pred <= 1 - EPSILON)
            return (np.where(inside, (p - y) / (p * (1 - p)), 0) / size).astype(y_pred.dtype)
        return value, backward

    def per_sample(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        if self.from_logits:
            z = y_pred
            terms = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(y_pred, EPSILON, 1 - EPSILON)
            terms = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return terms.reshape(len(y_pred), -1).mean(axis=1)

    def check_targets(self, y_true, output_shape):
        super().check_targets(y_true, output_shape)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"binary_crossentropy expects targets in [0, 1], got values in "
                             f"[{y_true.min()}, {y_true.max()}].")


def fused_loss(activation: activations.Activation, loss: Loss) -> Loss | None:
    """The explicit softmax+cross-entropy (or sigmoid+binary cross-entropy) optimisation.

    If the model's last activation is the one ``loss`` expects probabilities from, return the same
    loss taking logits: its gradient (p - y) / N skips the activation's Jacobian and never takes
    log(0). Otherwise None, and the activation back-propagates through its own Jacobian.
    """
    if loss.from_logits or loss.fusable_activation is None:
        return None
    if activation.name != loss.fusable_activation:
        return None
    return loss.with_logits()


_ALIASES: dict[str, Callable[[], Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
}


def get(identifier: str | Loss) -> Loss:
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        return _ALIASES[identifier.lower()]()
    raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(_ALIASES)} or a "
                     f"scratchnet.losses.Loss instance.")


def from_config(config: dict[str, Any]) -> Loss:
    config = dict(config)
    name = config.pop("name")
    loss = get(name)
    return type(loss)(**config) if config else loss


# Keras function-style names.
mean_squared_error = mse = MeanSquaredError()
categorical_crossentropy = CategoricalCrossentropy()
sparse_categorical_crossentropy = SparseCategoricalCrossentropy()
binary_crossentropy = BinaryCrossentropy()

# The rest of Keras 3's losses subclass Loss, so they are defined after it.
from .extra_losses import (  # noqa: E402
    ALIASES as _EXTRA_ALIASES,
)
from .extra_losses import (  # noqa: E402, F401
    CategoricalHinge,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    SquaredHinge,
)

_ALIASES.update(_EXTRA_ALIASES)
mean_absolute_error = mae = MeanAbsoluteError()
mean_absolute_percentage_error = mape = MeanAbsolutePercentageError()
mean_squared_logarithmic_error = msle = MeanSquaredLogarithmicError()
huber = Huber()
log_cosh = logcosh = LogCosh()
poisson = Poisson()
hinge = Hinge()
squared_hinge = SquaredHinge()
categorical_hinge = CategoricalHinge()
kl_divergence = kld = KLDivergence()
