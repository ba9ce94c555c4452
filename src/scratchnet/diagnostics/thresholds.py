"""Every threshold the doctor uses, with where it comes from (``SOURCES``, rendered in
docs/doctor.md next to the codes that use it).

References: cs231n "Neural Networks Part 2/3" (data preprocessing, weight initialisation, gradient
checks, babysitting the learning process: update/weight ratio ~1e-3, "as much as 40% of your
network can be dead"); Karpathy, "A recipe for training neural networks" (2019: verify the loss
at init, e.g. -ln(1/C); overfit one batch); AUTOTRAINER (Zhang et al., ICSE 2021: dying ReLU,
vanishing/exploding gradients, oscillating loss, from gradient and activation statistics);
DeepDiagnosis (Wardat et al., ICSE 2022: numerical errors, saturated activations, dead nodes,
loss not decreasing); UMLAUT (Schoop et al., CHI 2021: overfitting, validation/training gaps,
learning-rate heuristics); Goodfellow et al., "Deep Learning" ch. 7/8 (early stopping,
symmetry breaking). Values were then checked on examples/doctor_gallery (faulty setups and
healthy near-misses) so that healthy setups raise nothing above info.
"""

INPUT_RMS_MAX = 10.0
GAIN_MAX = 4.0
ACTIVATION_RMS_MIN = 3.0
LOGIT_RMS_MAX = 10.0
TRAINED_LOSS_FRACTION = 0.5
TRAINED_ACTIVATION_RMS_MAX = 1e3
DEAD_WARN, DEAD_ERROR = 0.5, 0.9
SATURATION_LIMIT = 0.01
SATURATION_SHARE = 0.5
VANISHING_RATIO = 1e-3
VANISHING_RELATIVE_MIN = 1e-5
EXPLODING_RATIO = 1e3
EXPLODING_RELATIVE = 100.0
SYMMETRY_TOLERANCE = 1e-6
MISMATCH_WARN, MISMATCH_ERROR = 1e-4, 1e-2
BATCH_TOLERANCE = 1e-3
AVERAGE_TOLERANCE = 0.05
INITIAL_LOSS_FACTOR = 1.5
LR_STEPS = 10
DIVERGENCE_FACTOR = 1.5
UPDATE_RATIO_HIGH = 1e-2
STALL_CHANGE = 0.01
UPDATE_RATIO_LOW = 1e-5
SLOW_UPDATE_RATIO = 1e-4
SLOW_PROGRESS = 0.5
OVERFIT_SAMPLES = 16
OVERFIT_STEPS = 200
OVERFIT_LOSS_FRACTION = 0.1
TRAIN_INFERENCE_GAP = 0.2
MODE_SCALE_TOLERANCE = 0.1
HISTORY_MIN_EPOCHS = 3
OVERFIT_RISE = 0.1
UNDERFIT_DECREASE = 0.1
PLATEAU_CHANGE = 0.01
OSCILLATION_SHARE = 0.4
VALIDATION_GAP = 0.15

#: name -> (what it measures and why this value, source).
SOURCES: dict[str, tuple[str, str]] = {
    "INPUT_RMS_MAX": ("RMS of the inputs; standardised or [0, 1] data has RMS ~1, raw 0-255 "
                      "pixels ~80-100", "cs231n part 2, data preprocessing"),
    "GAIN_MAX": ("RMS(W x) / RMS(x) of a weighted layer; variance-preserving inits give <= "
                 "sqrt(2), std-1 weights ~sqrt(fan_in)", "Glorot & Bengio 2010; He et al. 2015"),
    "ACTIVATION_RMS_MIN": ("pre-activation RMS a layer must also exceed to be reported "
                           "(small signals may be amplified harmlessly)", "cs231n part 2"),
    "LOGIT_RMS_MAX": ("RMS of the final pre-activation above which softmax/sigmoid saturate",
                      "DeepDiagnosis, saturated activation"),
    "TRAINED_LOSS_FRACTION": ("a model whose loss is below this fraction of the chance-level "
                              "loss (or whose optimizer has stepped) counts as trained: "
                              "init-time rules do not apply to it", "Karpathy 2019, loss at init"),
    "TRAINED_ACTIVATION_RMS_MAX": ("pre-activation RMS reported on a trained model (weights "
                                   "grown by training, not by the initialiser)",
                                   "DeepDiagnosis, large weights"),
    "DEAD_WARN": ("share of a ReLU layer's units that output 0 for every probe sample: warning",
                  "cs231n part 1 (up to 40% dead); AUTOTRAINER dying ReLU"),
    "DEAD_ERROR": ("the same share: error", "AUTOTRAINER dying ReLU"),
    "SATURATION_LIMIT": ("distance from the limit counted as saturated (sigmoid < 0.01 or > "
                         "0.99, |tanh| > 0.99, softmax max > 0.99)", "DeepDiagnosis"),
    "SATURATION_SHARE": ("share of saturated outputs that is reported", "DeepDiagnosis"),
    "VANISHING_RATIO": ("relative gradient ||dW||/||W|| of the first weighted layer over the "
                        "last's", "AUTOTRAINER, gradient norms across layers"),
    "VANISHING_RELATIVE_MIN": ("the largest relative gradient of any layer below this while the "
                               "loss is still above chance/2: uniformly vanished (healthy nets "
                               "at init: 1e-3..1e-1)", "cs231n part 3, update/weight ~1e-3"),
    "EXPLODING_RATIO": ("first/last relative-gradient ratio above which gradients explode",
                        "AUTOTRAINER"),
    "EXPLODING_RELATIVE": ("any layer's relative gradient above which one SGD step of 0.01 "
                           "would move the weights by more than their size", "cs231n part 3"),
    "SYMMETRY_TOLERANCE": ("relative spread below which a layer's units count as identical "
                           "(weights, outputs and gradients)",
                           "Goodfellow et al. 2016, 8.4 (breaking symmetry)"),
    "MISMATCH_WARN": ("gradcheck relative error: warning (float64 central differences)",
                      "cs231n part 3, gradient checks (> 1e-4 usually wrong)"),
    "MISMATCH_ERROR": ("gradcheck relative error: error", "cs231n part 3"),
    "BATCH_TOLERANCE": ("relative difference of a sample's output or gradient alone vs in a "
                        "batch (float32 rounding ~1e-6)", "DeepFD, batch-dependent layers"),
    "AVERAGE_TOLERANCE": ("tolerance on the value/gradient ratios of a doubled batch (1 and 0.5 "
                          "for a mean)", "the Keras loss reduction 'sum_over_batch_size'"),
    "INITIAL_LOSS_FACTOR": ("loss at init vs the loss of a uniform prediction (ln C)",
                            "Karpathy 2019, verify loss at init"),
    "LR_STEPS": ("optimizer steps on a copy for the learning-rate checks", "cs231n part 3"),
    "DIVERGENCE_FACTOR": ("loss after LR_STEPS steps above this x its start: diverged",
                          "AUTOTRAINER, oscillating/exploding loss"),
    "UPDATE_RATIO_HIGH": ("update/weight ratio per step above which a diverging loss is blamed "
                          "on the learning rate", "cs231n part 3 (healthy ~1e-3)"),
    "STALL_CHANGE": ("relative loss change in LR_STEPS steps below which the loss stalls",
                     "DeepDiagnosis, loss not decreasing"),
    "UPDATE_RATIO_LOW": ("median update/weight ratio below which a stalled loss is blamed on "
                         "the learning rate", "cs231n part 3 (healthy ~1e-3)"),
    "SLOW_UPDATE_RATIO": ("median update/weight ratio below which a copy that could not "
                          "memorise one batch is blamed on the learning rate",
                          "cs231n part 3 (10x under 1e-3)"),
    "SLOW_PROGRESS": ("... when the loss fell by less than this share over the whole run",
                      "Karpathy 2019, overfit one batch"),
    "OVERFIT_SAMPLES": ("samples in the overfit-one-batch check", "Karpathy 2019"),
    "OVERFIT_STEPS": ("steps allowed to memorise them", "Karpathy 2019"),
    "OVERFIT_LOSS_FRACTION": ("memorised once the loss is below this x its start (or all "
                              "samples are right)", "Karpathy 2019"),
    "TRAIN_INFERENCE_GAP": ("accuracy on the same training samples, training mode minus "
                            "inference mode, above which the two modes disagree",
                            "DeepFD / Humbatova et al. 2020, wrong layer behaviour at inference"),
    "MODE_SCALE_TOLERANCE": ("a random training-mode layer's mean output (over masks) over its "
                             "inference output, away from 1 by more than this (a dropout "
                             "that does not rescale: 1 - rate)",
                             "Srivastava et al. 2014, dropout: expected output kept at test"),
    "HISTORY_MIN_EPOCHS": ("epochs a history needs before trends are judged", "UMLAUT"),
    "OVERFIT_RISE": ("validation loss rising this share above its minimum while the training "
                     "loss falls", "Goodfellow et al. 2016, 7.8 (early stopping); UMLAUT"),
    "UNDERFIT_DECREASE": ("training loss falling by less than this share over the run",
                          "DeepDiagnosis, loss not decreasing; UMLAUT"),
    "PLATEAU_CHANGE": ("relative change per epoch over the last epochs below which the loss "
                       "has plateaued", "UMLAUT, training plateau"),
    "OSCILLATION_SHARE": ("share of epochs whose training loss rose, with no net progress",
                          "AUTOTRAINER, oscillating loss"),
    "VALIDATION_GAP": ("validation accuracy above training accuracy by more than this from the "
                       "first to the last epoch", "UMLAUT, validation/training gap"),
}

#: The learning rate each optimizer is usually run with (Keras defaults; Adadelta: Zeiler 2012
#: and Keras 2 use 1.0, Keras 3's default 0.001 barely moves the weights). Named in the fix of
#: learning_rate_too_low / _too_high; the rules themselves measure the updates.
USUAL_LEARNING_RATE: dict[str, float] = {"SGD": 0.01, "Adam": 1e-3, "AdamW": 1e-3,
                                         "RMSprop": 1e-3, "Adadelta": 1.0, "Adagrad": 0.01,
                                         "Adamax": 2e-3, "Nadam": 1e-3}
