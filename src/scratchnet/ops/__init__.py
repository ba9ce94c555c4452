"""Stateless array operations the layers are built from.

Each op with fast kernels has one dispatch function, which picks the kernel (and owns the
thresholds that decide): ``conv.conv2d`` (+ ``conv2d_relu_max_pool2x2``), ``pool.max_pool2d``,
``dense.dense``, ``dropout.dropout_mask``, ``elementwise.relu_inplace`` /
``relu_backward_from_output``. ``reference`` holds the plain-NumPy kernels they fall back to
with ``SCRATCHNET_KERNELS=reference`` (``kernels``); the rest are the fast kernels.
"""
