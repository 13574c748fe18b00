# Two entry points for a fresh machine (README): `make demo` and `make test`.
# Each creates .venv and installs everything on first use, idempotently.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.scott_mm-installed
PIP_QUIET := sed '/is ignored: it is neither a file nor a directory/d'

.PHONY: setup test demo clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.py tools/install_minkowski.sh tools/minkowski_py310.patch
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt 2>&1 | $(PIP_QUIET)
	bash tools/install_minkowski.sh $(PY)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | $(PIP_QUIET)
	touch $(STAMP)

test: setup
	bash tools/fetch_fashion_mnist.sh >/dev/null  # the embedded real-photo data, offline
	$(PY) -m pytest tests

demo: setup
	bash tools/demo.sh

clean:
	rm -rf $(VENV) work_dirs .pytest_cache
