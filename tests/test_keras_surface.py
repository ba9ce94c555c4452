"""`import scratchnet as keras` gives the Keras namespaces without further imports, and the
Keras 2 spellings that cost nothing work."""
import subprocess
import sys

import numpy as np
import pytest


def test_namespaces_are_attributes_after_one_import():
    # A fresh interpreter: no other test's imports can make an attribute appear.
    code = ("import scratchnet as keras\n"
            "names = ['datasets', 'utils', 'layers', 'optimizers', 'losses', 'metrics',\n"
            "         'callbacks', 'regularizers', 'activations', 'initializers', 'backend',\n"
            "         'models']\n"
            "missing = [n for n in names if not hasattr(keras, n)]\n"
            "assert not missing, missing\n"
            "assert keras.datasets.mnist.load_data\n"
            "assert keras.utils.np_utils.to_categorical\n"
            "assert keras.models.Sequential is keras.Sequential\n"
            "assert keras.models.load_model is keras.load_model\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_from_keras_models_import_sequential():
    from scratchnet.models import Sequential, load_model  # noqa: F401
    from scratchnet.utils.np_utils import to_categorical
    np.testing.assert_array_equal(to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])


def test_backend_functions():
    import scratchnet as keras
    assert keras.backend.image_data_format() == "channels_last"
    keras.backend.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="channels_last"):
        keras.backend.set_image_data_format("channels_first")
    assert keras.backend.epsilon() == 1e-7
    keras.backend.clear_session()


def test_dense_input_dim_is_input_shape():
    import scratchnet as keras
    model = keras.Sequential([keras.layers.Dense(4, input_dim=7), keras.layers.Dense(2)])
    assert model.input_shape == (7,) and model.count_params() == 7 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(ValueError, match="not both"):
        keras.layers.Dense(4, input_dim=7, input_shape=(7,))
    with pytest.raises(ValueError, match="input_shape"):
        keras.layers.Dense(4, input_dim=0)


def test_normalize():
    from scratchnet import utils
    np.testing.assert_allclose(utils.normalize([[3.0, 4.0], [0.0, 0.0]]), [[0.6, 0.8], [0, 0]])
    np.testing.assert_allclose(utils.normalize([[1.0, -3.0]], order=1), [[0.25, -0.75]])


def test_conv2d_dilation_rate_default_accepted_other_values_refused_clearly():
    import pytest

    from scratchnet import layers
    assert layers.Conv2D(4, 3, dilation_rate=(1, 1)).kernel_size == (3, 3)
    with pytest.raises(NotImplementedError, match=r"dilation_rate other than 1.*got 2"):
        layers.Conv2D(4, 3, dilation_rate=2)
