# Every target creates/reuses .venv and installs what it needs: nothing is installed by hand.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-reference bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

## Train the Keras MNIST CNN (the Keras recipe, 12 epochs) on the bundled MNIST.
run: $(STAMP)
	$(PY) examples/mnist_cnn.py

## The whole test suite (2 workers: the CI machine has 2 cores), after the linter.
test: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(PY) -m pytest -q -n 2

## The same suite on the readable reference kernels (ops/reference.py): slower (~5 min on 2
## cores); tests marked fast_kernels (fusions, the training plan) are skipped.
test-reference: $(STAMP)
	SCRATCHNET_KERNELS=reference $(PY) -m pytest -q -n 2

## Speed comparison against PyTorch (benchmark-only dependency). The OPENBLAS_* tuning variables
## some machines set slow a current numpy down: unset for the benchmark only, never for tests.
bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench_train.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
