# drawlab: two commands on a fresh machine.
#   make demo   set up .venv, train the default preset (conditional DCGAN on MNIST, 5 CPU minutes), write a sample grid
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN ?= runs/demo

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

demo: install
	@run=$(RUN)-$$(date +%Y%m%d-%H%M%S); \
	  $(VENV)/bin/drawlab train --out $$run && \
	  $(VENV)/bin/drawlab sample $$run --n 100 --out $$run/grid.png && \
	  echo "sample grid of 100 digits: $$run/grid.png"

test: install lint
	$(PY) -m pytest -q -p no:cacheprovider tests

lint: install
	$(VENV)/bin/ruff check src
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/bench_speed.py

clean:
	rm -rf $(VENV) runs
