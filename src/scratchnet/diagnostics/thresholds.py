"""Every threshold the doctor uses, with where it comes from. docs/doctor.md repeats this table.

Sources: cs231n "Neural Networks Part 2/3" (data preprocessing, weight initialisation, gradient
checks, babysitting the learning process: update/weight ratio ~1e-3, "as much as 40% of your
network can be dead"); Karpathy, "A recipe for training neural networks" (2019: verify the loss
at init, e.g. -ln(1/C); overfit one batch; input-independent baselines); AUTOTRAINER (Zhang et
al., ICSE 2021: dying ReLU, vanishing/exploding gradients, oscillating loss, from gradient and
activation statistics); DeepDiagnosis (Wardat et al., ICSE 2022: numerical errors, saturated
activations, dead nodes, large weights, loss not decreasing, with the fix to try). Values were
then tuned on examples/doctor_gallery (faulty) and the healthy MNIST CNN / MLP recipes so that
healthy setups raise nothing above info.
"""

# unnormalized_input: RMS of the inputs. Standardised or [0, 1]-scaled data has RMS ~1; raw
# 0-255 pixels have RMS ~80-100 (cs231n: zero-centre and scale the data).
INPUT_RMS_MAX = 10.0

# exploding_activations: gain of a weighted layer = RMS(pre-activation) / RMS(input). Variance
# preserving initialisers give gain <= sqrt(2) (He) at init (Glorot & Bengio 2010, He et al.
# 2015); weights drawn with std 1 give ~sqrt(fan_in) (17 for a 3x3x32 conv). The layer must also
# produce pre-activations of RMS above ACTIVATION_RMS_MIN to be reported.
GAIN_MAX = 4.0
ACTIVATION_RMS_MIN = 3.0
# Also reported: a final pre-activation (logits) of RMS above this (softmax saturates).
LOGIT_RMS_MAX = 10.0

# dead_relu: share of a ReLU layer's units (Dense units / Conv2D channels) that output 0 for every
# sample of the probe batch. cs231n quotes up to 40% dead as a warning sign; AUTOTRAINER uses a
# high dead ratio. Warning above 50%, error above 90%.
DEAD_WARN, DEAD_ERROR = 0.5, 0.9

# saturation: share of outputs pinned within 1% of their limit (sigmoid < 0.01 or > 0.99,
# |tanh| > 0.99, softmax max probability > 0.99), DeepDiagnosis's "saturated activation".
# Hidden layers always; the output layer only before training (a trained classifier is confident).
SATURATION_LIMIT = 0.01
SATURATION_SHARE = 0.5

# vanishing_gradients / exploding_gradients: relative gradient of a weighted layer
# r = ||dL/dW|| / ||W||. Compared first (input side) with last (output side) weighted layer, as
# AUTOTRAINER compares gradient norms across layers. Healthy nets at init stay within ~30x.
VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 1e3
# ... or any layer whose relative gradient exceeds this: one step of SGD with lr 0.01 would move
# the weights by more than their own size.
EXPLODING_RELATIVE = 100.0

# gradient_mismatch: gradcheck's relative error (float64 central differences, cs231n: < 1e-7 ok,
# > 1e-4 wrong). Here warning above 1e-4, error above 1e-2 (a layer written in float32 would
# land in between).
MISMATCH_WARN, MISMATCH_ERROR = 1e-4, 1e-2

# batch_dependence: a layer's output (inference mode) and parameter gradients for one sample
# alone vs inside the batch; relative difference above this (float32 rounding is ~1e-6).
BATCH_TOLERANCE = 1e-3

# loss_not_averaged: duplicating a batch must leave a mean loss unchanged and halve each
# sample's dL/dprediction. Ratios within this tolerance of 2 (resp. 1) reveal a sum.
AVERAGE_TOLERANCE = 0.05

# initial_loss: loss at init versus the loss of a uniform prediction (ln C for C-class
# cross-entropy, Karpathy's check). Reported when more than this factor above it (or below
# 1 / factor), only before the first update.
INITIAL_LOSS_FACTOR = 1.5

# learning_rate_too_high / _too_low: from LR_STEPS optimizer steps on a copy of the model.
# Update/weight ratio ||dW|| / ||W|| per step: cs231n suggests ~1e-3. Too high when the loss
# diverges (ends above DIVERGENCE_FACTOR x initial, or not finite) with ratios above
# UPDATE_RATIO_HIGH; too low when the loss moves less than STALL_CHANGE relatively and the
# median ratio is below UPDATE_RATIO_LOW.
LR_STEPS = 10
DIVERGENCE_FACTOR = 1.5
UPDATE_RATIO_HIGH = 1e-2
STALL_CHANGE = 0.01
UPDATE_RATIO_LOW = 1e-5

# cannot_overfit: Karpathy's "overfit one batch": OVERFIT_SAMPLES samples, up to OVERFIT_STEPS
# optimizer steps (dropout on, as in fit); it passes once, in inference mode, the loss is below
# OVERFIT_LOSS_FRACTION x its initial value or every sample is classified right.
OVERFIT_SAMPLES = 16
OVERFIT_STEPS = 200
OVERFIT_LOSS_FRACTION = 0.1
