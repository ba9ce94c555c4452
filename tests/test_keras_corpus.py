"""Real Keras programs by others run on scratchnet with only their imports changed
(tests/keras_corpus: sources, licences and the harness; docs/keras-compat.md: the results)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "keras_corpus"))
import run as corpus  # noqa: E402


def _param(name):
    expected = corpus.PROGRAMS[name].get("expected")
    marks = [pytest.mark.xfail(reason=expected, strict=True)] if expected else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_param(name) for name in corpus.PROGRAMS])
def test_program_runs_with_only_its_imports_changed(name, tmp_path):
    code, output, _ = corpus.run_with_prerequisites(name, tmp_path)
    assert code == 0, output


def test_rename_touches_imports_only():
    source = ("import keras\nfrom tensorflow import keras\nfrom keras.layers import Dense\n"
              "from tensorflow.keras.utils import to_categorical\nimport tensorflow as tf\n"
              "m = tf.keras.models.Sequential()\nkeras_model = 'import keras'\n")
    assert corpus.rename_imports(source) == (
        "import scratchnet as keras\nimport scratchnet as keras\n"
        "from scratchnet.layers import Dense\nfrom scratchnet.utils import to_categorical\n"
        "import scratchnet as tf\nm = tf.models.Sequential()\nkeras_model = 'import keras'\n")


def test_every_program_names_its_source_and_licence():
    for name in corpus.PROGRAMS:
        header = (corpus.HERE / f"{name}.py").read_text(encoding="utf-8")[:1200]
        assert "# Source: https://github.com/" in header, name
        assert any(licence in header for licence in ("MIT", "Apache-2.0", "BSD")), name


def test_readme_keras_example_is_the_corpus_program_with_imports_renamed():
    readme = (corpus.HERE.parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## The Keras example", 1)[1].split("```python\n", 1)[1]
    block = block.split("```", 1)[0]
    program = (corpus.HERE / "keras2_mnist_cnn.py").read_text(encoding="utf-8")
    published = "'''Trains a simple convnet" + program.split("'''Trains a simple convnet", 1)[1]
    assert block == corpus.rename_imports(published).rstrip() + "\n"
