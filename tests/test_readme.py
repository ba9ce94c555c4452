"""The README's custom activation and custom layer examples run, pass gradcheck and train."""
import pathlib
import re

import numpy as np

import scratchnet as sn
from scratchnet import optimizers

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def readme_blocks(containing: str) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [block for block in blocks if containing in block]


def test_custom_activation_and_layer_from_readme_train(rng):
    namespace = {"sn": sn}
    for marker in ("swish_derivative", "class Scale"):
        (block,) = readme_blocks(marker)
        exec(block, namespace)
    with sn.backend.floatx_scope("float64"):
        assert sn.gradcheck(namespace["Scale"](), rng.standard_normal((4, 5))).passed()
        assert sn.gradcheck(namespace["swish_act"], rng.standard_normal((4, 5))).passed()
    # The README's Dense(64, "swish") -> Dense(10, softmax), behind the README's custom layer.
    model = sn.Sequential([namespace["Scale"](input_shape=(784,)), *namespace["model"].layers])
    x = rng.standard_normal((256, 784)).astype(np.float32)
    labels = (x[:, :10].argmax(axis=1))
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, labels, epochs=8, batch_size=32, verbose=0, seed=0)
    assert model.evaluate(x, labels, verbose=0)[1] > 0.9
    assert np.any(model.layers[0].params["w"] != 1)  # the custom layer's weight was trained
