"""Every code the doctor can report, as data: what it means, when it fires, its usual cause and
fix, the thresholds it uses, and which other codes it explains.

The table's order is the ranking: a finding earlier in the table can be the root cause of a
later one (``explains``). The report groups each consequence under its root
(:meth:`Report.ranked`); docs/doctor.md's code table is generated from here::

    python -m scratchnet.diagnostics.docs --write-docs   # rewrite docs/doctor.md's table
    python -m scratchnet.diagnostics.docs --check-docs   # exit 1 if it is stale
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    name: str
    severity: str            # the usual severity (some rules raise or lower it; see triggers)
    stage: str               # data | configuration | forward | numeric | training | history
    meaning: str
    triggers: str            # when it fires, in terms of the thresholds
    cause: str               # the usual cause (findings state the specific one they saw)
    fix: str
    thresholds: tuple[str, ...] = ()
    # codes that are its consequences when both are found; "code at layer" limits one to a
    # layer (a summed loss explains the loss's gradient mismatch, not a layer's backward)
    explains: tuple[str, ...] = ()

    def explains_finding(self, code: str, layer: str) -> bool:
        return code in self.explains or f"{code} at {layer}" in self.explains

    @property
    def explained_codes(self) -> tuple[str, ...]:
        return tuple(entry.split(" at ")[0] for entry in self.explains)


_TABLE = (
    Code("label_mismatch", "error", "data", "The labels do not fit the model output or loss.",
         "labels the loss cannot take (shape, integer vs one-hot, range), or one-hot rows not "
         "summing to 1; later stages are skipped",
         "integer labels with categorical_crossentropy, one-hot with the sparse loss, a wrong "
         "number of output units", "`to_categorical(y, C)` or `sparse_categorical_crossentropy`"),
    Code("unnormalized_input", "warning", "data", "The inputs are far from unit scale.",
         "input RMS > INPUT_RMS_MAX (warning); every sample of the batch identical, e.g. all "
         "zeros (error)", "raw 0-255 pixels or unstandardised features; a preprocessing bug "
         "that erases the inputs",
         "`x / 255`, or `(x - mean) / std` of the training set", ("INPUT_RMS_MAX",),
         ("exploding_activations", "initial_loss", "saturation", "dead_relu",
          "exploding_gradients", "vanishing_gradients", "learning_rate_too_low",
          "learning_rate_too_high", "nonfinite", "cannot_overfit",
          "loss_diverged")),
    Code("no_trainable_weights", "error", "configuration", "Nothing in the model can learn.",
         "the model has no trainable parameter (every layer frozen, or no weighted layer)",
         "`trainable=False` on every layer, or a model of activations and reshapes only",
         "unfreeze at least one layer (`layer.trainable = True`) or add a Dense/Conv2D layer",
         (), ("learning_rate_too_low", "cannot_overfit", "underfitting")),
    Code("loss_activation_mismatch", "error", "configuration",
         "The final activation and the loss do not go together.",
         "softmax + a non-cross-entropy loss (warning), softmax + binary CE, sigmoid + "
         "categorical CE, a probability loss on logits, `from_logits=True` after "
         "softmax/sigmoid, softmax over one unit",
         "a loss chosen for another output (e.g. the squared error of a regression)",
         "`categorical_crossentropy` after softmax, or no softmax and `from_logits=True`", (),
         ("initial_loss", "saturation", "vanishing_gradients", "learning_rate_too_low",
          "nonfinite", "cannot_overfit", "underfitting")),
    Code("softmax_twice", "error", "configuration",
         "Softmax is applied twice: a softmax output goes through another softmax.",
         "a layer with a softmax activation followed (through shape-only layers) by a "
         "Softmax layer or Activation('softmax')",
         "`activation='softmax'` on the last Dense *and* a Softmax layer after it: the "
         "outputs are squashed towards uniform and the loss cannot fall below a floor",
         "keep one softmax: drop the layer's activation or the extra Softmax layer", (),
         ("vanishing_gradients", "learning_rate_too_low", "cannot_overfit", "underfitting",
          "saturation")),
    Code("loss_not_averaged", "error", "numeric",
         "The loss or its gradient is a sum over the batch, not a mean.",
         "duplicating the batch changes the value or does not halve each sample's gradient "
         "(off by > AVERAGE_TOLERANCE)", "a custom loss whose backward forgets to divide by N",
         "value = per_sample.mean(); gradient = d(per_sample) / N, once", ("AVERAGE_TOLERANCE",),
         ("gradient_mismatch at loss", "exploding_gradients", "learning_rate_too_high",
          "dead_relu", "nonfinite", "cannot_overfit")),
    Code("gradient_mismatch", "error", "numeric",
         "A backward disagrees with central differences of its forward.",
         "gradcheck (float64, steps scaled to each value) of a layer on 2 samples, confirmed with "
         "a second seed, or of the loss on 8: relative error > MISMATCH_WARN (error > "
         "MISMATCH_ERROR); names the activation when it is the culprit",
         "hand-written backward code (a ReLU derivative returned as a constant, a missing "
         "factor)", "a derivative multiplies the upstream gradient (`grad_y * (x > 0)`)",
         ("MISMATCH_WARN", "MISMATCH_ERROR"),
         ("exploding_gradients", "vanishing_gradients", "dead_relu", "saturation",
          "learning_rate_too_high", "learning_rate_too_low", "cannot_overfit", "loss_diverged",
          "underfitting")),
    Code("batch_dependence", "error", "numeric",
         "A sample's output or gradient depends on the other samples in the batch.",
         "per layer, inference mode: a sample alone vs in a batch of 4 differs by > "
         "BATCH_TOLERANCE; 'divides by the batch size' when a parameter gradient is 1/4 of "
         "the sum", "statistics over axis 0, or a layer dividing its gradient by N",
         "reduce over feature axes only; only the loss divides by N", ("BATCH_TOLERANCE",),
         ("train_inference_mismatch", "exploding_gradients", "learning_rate_too_high",
          "cannot_overfit")),
    Code("train_inference_mismatch", "error", "forward",
         "A layer behaves differently in training and inference mode than it should: its "
         "activations change scale between modes, or the model is much worse in inference "
         "mode on its own training samples.",
         "a layer whose training-mode output is random has a mean over 8 masks of other "
         "than 1x its inference output (off by > MODE_SCALE_TOLERANCE); or, on a trained "
         "model, accuracy in training mode minus accuracy in inference mode > "
         "TRAIN_INFERENCE_GAP (or the inference loss > 2x the training-mode loss)",
         "a dropout that does not rescale, batch statistics that differ from the moving ones",
         "inverted dropout (scale kept units by 1/(1 - rate)); update and use moving "
         "statistics", ("MODE_SCALE_TOLERANCE", "TRAIN_INFERENCE_GAP"),
         ("learning_rate_too_low", "cannot_overfit", "overfitting", "underfitting")),
    Code("loss_diverged", "error", "history", "The training loss became NaN/Inf or blew up.",
         "a non-finite training loss at epoch k, or a loss > 10 x its minimum so far or > 10 x "
         "the loss of a uniform prediction",
         "a learning rate too high, an unstable loss (log(0)), exploding gradients",
         "lower the learning rate; from_logits losses; gradient clipping; TerminateOnNaN",
         (), ("nonfinite", "exploding_activations", "dead_relu", "saturation",
              "exploding_gradients", "vanishing_gradients", "cannot_overfit", "underfitting")),
    Code("nonfinite", "error", "forward", "NaN or Inf in the data, weights, a forward, a "
         "backward or the loss.",
         "the first place where finite values turn non-finite (data, weights, first forward, "
         "first backward from the output, the loss, or the loss during training)",
         "log/division of values out of domain, overflow, a diverged update",
         "stable computations (subtract the max before exp, clip before log); lower the "
         "learning rate", (), ("learning_rate_too_high", "cannot_overfit")),
    Code("symmetric_weights", "error", "forward",
         "Every unit of a layer is identical, and training keeps them identical.",
         "a hidden layer whose units have the same incoming weights (relative spread < "
         "SYMMETRY_TOLERANCE) and the same kernel-gradient columns",
         "a constant or zero kernel initializer: the units compute, and learn, the same thing",
         "random initial weights (glorot_uniform / he_normal); constants only for biases",
         ("SYMMETRY_TOLERANCE",),
         ("vanishing_gradients", "dead_relu", "saturation", "learning_rate_too_low",
          "cannot_overfit", "underfitting")),
    Code("exploding_activations", "error", "forward",
         "A layer multiplies the activation scale: outputs grow layer after layer.",
         "untrained model: gain RMS(W x)/RMS(x) > GAIN_MAX with pre-activation RMS > "
         "ACTIVATION_RMS_MIN (error above LOGIT_RMS_MAX), or logits RMS > LOGIT_RMS_MAX; "
         "trained model (loss < TRAINED_LOSS_FRACTION x chance or optimizer stepped): only "
         "pre-activation RMS > TRAINED_ACTIVATION_RMS_MAX, without blaming the initialiser",
         "weights too large for their fan-in (std 1)", "`kernel_initializer='he_normal'` "
         "(ReLU) or `'glorot_uniform'`",
         ("GAIN_MAX", "ACTIVATION_RMS_MIN", "LOGIT_RMS_MAX", "TRAINED_LOSS_FRACTION",
          "TRAINED_ACTIVATION_RMS_MAX"),
         ("initial_loss", "saturation", "dead_relu", "exploding_gradients",
          "vanishing_gradients", "learning_rate_too_high", "learning_rate_too_low",
          "cannot_overfit")),
    Code("initial_loss", "warning", "forward",
         "The loss at initialisation is far from that of a uniform prediction.",
         "untrained model: loss > INITIAL_LOSS_FACTOR x (error > 2x that) or < 1 / "
         "INITIAL_LOSS_FACTOR of the uniform prediction's loss (ln C)",
         "confident wrong outputs from the start (large weights or output biases)",
         "glorot/he init, zero biases, normalised inputs", ("INITIAL_LOSS_FACTOR",),
         ("saturation",)),
    Code("exploding_gradients", "error", "forward",
         "The gradient grows on its way back, or dwarfs the weights.",
         "relative gradient ||dW||/||W|| of the first weighted layer > EXPLODING_RATIO x the "
         "last's, or any layer's > EXPLODING_RELATIVE",
         "too large weights, a backward that adds gradient, a summed loss",
         "glorot/he init, check custom backward code, mean loss, gradient clipping",
         ("EXPLODING_RATIO", "EXPLODING_RELATIVE"),
         ("learning_rate_too_high", "dead_relu", "cannot_overfit")),
    Code("learning_rate_too_high", "error", "training",
         "The learning rate is too high: the loss diverges or oscillates.",
         "on a copy, LR_STEPS steps on OVERFIT_SAMPLES samples: the loss ends > "
         "DIVERGENCE_FACTOR x its start (or non-finite) and an update reaches "
         "UPDATE_RATIO_HIGH of the weights' norm; from a history: the training loss rose in "
         "more than OSCILLATION_SHARE of the epochs with no net progress",
         "a learning rate 10x or more too large for the optimizer",
         "lower the learning rate by 10, then tune by factors of 3",
         ("LR_STEPS", "DIVERGENCE_FACTOR", "UPDATE_RATIO_HIGH", "OSCILLATION_SHARE"),
         ("dead_relu", "saturation", "cannot_overfit", "underfitting")),
    Code("dead_relu", "warning", "forward", "Most ReLU units output 0 for every sample.",
         "share of a ReLU layer's units (Dense units / Conv2D channels) that are 0 for every "
         "probe sample > DEAD_WARN (error > DEAD_ERROR)",
         "a large negative bias, too large weights or a too high learning rate",
         "he/glorot init, zero biases, a lower learning rate, LeakyReLU",
         ("DEAD_WARN", "DEAD_ERROR"),
         ("vanishing_gradients", "learning_rate_too_low", "cannot_overfit", "underfitting")),
    Code("saturation", "warning", "forward", "sigmoid/tanh/softmax outputs are pinned at their "
         "limits, where the derivative is ~0.",
         "> SATURATION_SHARE of outputs within SATURATION_LIMIT of a limit (the output layer "
         "only on an untrained model)",
         "pre-activations too large (inputs, weights, learning rate)",
         "normalised inputs, glorot init, ReLU in hidden layers",
         ("SATURATION_LIMIT", "SATURATION_SHARE"),
         ("vanishing_gradients", "learning_rate_too_low", "cannot_overfit", "underfitting")),
    Code("vanishing_gradients", "warning", "forward",
         "The gradient is too small for the early (or all) layers to learn.",
         "relative gradient of the first weighted layer < VANISHING_RATIO x the last's; or every "
         "layer's < VANISHING_RELATIVE_MIN while the loss is still above half of chance",
         "saturating sigmoid/tanh stacks, weights far too small, a backward that drops gradient",
         "ReLU with he_normal/glorot init, fewer layers or residual connections; raising the "
         "learning rate does not help", ("VANISHING_RATIO", "VANISHING_RELATIVE_MIN"),
         ("learning_rate_too_low", "cannot_overfit", "underfitting")),
    Code("learning_rate_too_low", "warning", "training",
         "The learning rate is too small for its optimizer: the loss barely moves.",
         "on a copy: the loss moves < STALL_CHANGE in LR_STEPS steps with median update/weight "
         "ratio < UPDATE_RATIO_LOW; or it cannot memorise one batch, the loss fell < "
         "SLOW_PROGRESS and the median ratio is < SLOW_UPDATE_RATIO",
         "a rate far below its optimizer's usual range (Keras 3's Adadelta default 0.001)",
         "raise the learning rate to the optimizer's usual value",
         ("STALL_CHANGE", "UPDATE_RATIO_LOW", "SLOW_UPDATE_RATIO", "SLOW_PROGRESS"),
         ("cannot_overfit", "underfitting")),
    Code("validation_mismatch", "warning", "history",
         "Validation accuracy is far above training accuracy from the first epoch on.",
         "val_accuracy - accuracy > VALIDATION_GAP at the first and the last epoch",
         "validation data not from the training distribution (easier, duplicated or leaked), "
         "or a very strong regulariser", "draw validation data from the same source as the "
         "training data (a random split), check for duplicates; check dropout rates",
         ("VALIDATION_GAP", "HISTORY_MIN_EPOCHS")),
    Code("overfitting", "warning", "history",
         "The model memorises the training data: validation loss rises while training loss "
         "falls.", "validation loss > (1 + OVERFIT_RISE) x its minimum at the last epoch while "
         "the training loss kept falling; names the epoch it started",
         "too many epochs for the data, too little regularisation",
         "EarlyStopping(restore_best_weights=True) at the epoch named, dropout/weight decay, "
         "more data or augmentation", ("OVERFIT_RISE", "HISTORY_MIN_EPOCHS")),
    Code("underfitting", "warning", "history",
         "Training stopped making progress at a high loss.",
         "the training loss fell by < UNDERFIT_DECREASE over the run, or plateaued (< "
         "PLATEAU_CHANGE per epoch over the last 3) above half its first value",
         "a model too small, a learning rate too low, or a bug that prevents learning",
         "run the doctor on the model (gradients, learning rate); a bigger model; more epochs "
         "with a tuned learning rate", ("UNDERFIT_DECREASE", "PLATEAU_CHANGE",
                                        "HISTORY_MIN_EPOCHS")),
    Code("cannot_overfit", "warning", "training", "The model cannot memorise one small batch.",
         "a copy cannot bring the loss on OVERFIT_SAMPLES samples to OVERFIT_LOSS_FRACTION of "
         "its start (or classify all right) in OVERFIT_STEPS steps",
         "wrong gradients, dead or saturated units, a bad loss pairing or learning rate, no "
         "signal in the inputs", "fix the findings above; then overfit one batch first",
         ("OVERFIT_SAMPLES", "OVERFIT_STEPS", "OVERFIT_LOSS_FRACTION")),
    Code("gradcheck_unreliable", "info", "numeric",
         "A gradient check could not be made reliably, so no verdict is given.",
         "most checked entries of a tensor are more uncertain than a mismatch (their central "
         "differences at h and h/2 disagree, or the objective's float64 rounding / step is "
         "that large, even with 1e6x larger steps), and no error shows beyond that noise",
         "values so large (e.g. ~1e11) that no step resolves them",
         "nothing to fix in the layer; shrink the activations (see other findings) and re-check",
         ()),
)

CODES: dict[str, Code] = {code.name: code for code in _TABLE}
RANK: dict[str, int] = {code.name: index for index, code in enumerate(_TABLE)}


def get(name: str) -> Code:
    if name not in CODES:
        raise ValueError(f"unknown doctor code {name!r}; expected one of {sorted(CODES)}")
    return CODES[name]
