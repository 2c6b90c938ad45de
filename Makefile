# make lab   - set everything up and open demo.ipynb in JupyterLab
# make test  - set everything up and run every test (what CI runs)
# make wheel - build dist/linreg_magic-VERSION-py3-none-any.whl (pip install it anywhere)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS ?= constraints.txt
STAMP := $(VENV)/.installed
# Whatever environment the caller has activated, the tools run in ours.
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv lab test lint typecheck pytest bench browser-deps wheel clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,lab]"
	touch $(STAMP)

# (as root, e.g. in a container, Jupyter needs --allow-root)
lab: venv
	$(BIN)/jupyter lab demo.ipynb $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Debian's Chromium for the browser tests (root only; elsewhere they skip and say why).
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
		 (apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null)) \
		 && echo "installed Debian's chromium"; \
	else echo "no Chromium and no root to install it: browser tests will be skipped"; fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

pytest: venv
	$(BIN)/python -m pytest

test: venv browser-deps lint pytest

# The wheel a student installs into an environment that already has torch and Jupyter
# (tests/test_wheel.py installs it into a clean venv and runs demo.ipynb there).
wheel: venv
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation -q -w dist .
	@ls dist/*.whl

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts dist build
