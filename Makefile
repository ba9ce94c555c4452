# Every target creates/reuses .venv and installs what it needs: nothing is installed by hand.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-reference bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

## Train the Keras MNIST CNN (the Keras recipe, 12 epochs) on the bundled MNIST.
run: $(STAMP)
	$(PY) examples/mnist_cnn.py

## The whole test suite (2 workers: the CI machine has 2 cores), after the linter.
test: $(STAMP) chromium
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(PY) -m pytest -q -n 2

## The same suite on the readable reference kernels (ops/reference.py): slower (~5 min on 2
## cores); tests marked fast_kernels (fusions, the training plan) are skipped.
test-reference: $(STAMP)
	SCRATCHNET_KERNELS=reference $(PY) -m pytest -q -n 2

## Speed against PyTorch, ONNX Runtime, JAX and Keras, each alone in its own process
## (benchmark-only dependencies), then one real MNIST epoch (BENCH_ARGS= skips it). The
## OPENBLAS_* tuning variables some machines set slow a current numpy down: unset for the
## benchmark only, never for tests.
BENCH_ARGS ?= --mnist-epoch
bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench.py $(BENCH_ARGS)

## Debian's chromium for the explorer's browser tests: installed with apt when missing and run as
## root (CI); elsewhere, or if apt cannot, the browser tests skip and say why. SCRATCHNET_NO_APT=1
## skips the attempt. Playwright drives this system browser (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ] && [ -z "$$SCRATCHNET_NO_APT" ] && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests (apt-get)..."; \
	  ( timeout 900 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 \
	    apt-get install -y -qq chromium ) >/tmp/scratchnet-apt-chromium.log 2>&1 \
	    || echo "chromium could not be installed (see /tmp/scratchnet-apt-chromium.log):" \
	            "the browser tests will skip"; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
