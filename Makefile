# drawlab: two commands on a fresh machine.
#   make demo   set up .venv, train the default preset (conditional DCGAN on MNIST, 5 CPU minutes), write a sample grid
#   make test   set up .venv and run the whole test suite
#   make docs   build the manual (MkDocs, strict) into site/
#   make pretrained   (maintainers) train, evaluate and export the models that ship in src/drawlab/pretrained/
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN ?= runs/demo

.PHONY: install demo test lint docs bench clean pretrained pretrained-mnist-cgan pretrained-mnist-flow pretrained-faces

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
	$(PY) -m pytest -q -p no:cacheprovider -n auto --maxprocesses 4 tests

docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict
	@echo "the manual: site/index.html"

lint: install
	$(VENV)/bin/ruff check src
	$(VENV)/bin/ruff format --check src tests benchmarks docs notebooks/make_notebooks.py
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/bench_speed.py

clean:
	rm -rf $(VENV) runs

# The pretrained models that ship with drawlab, each made by exactly these commands (on a quiet 2-core CPU; the
# model card in each folder says on which machine, in how many steps, and what `drawlab evaluate` measured).
PRE ?= runs/pretrained
FACES ?= ../shared/data/celeba-10k
SHIP := src/drawlab/pretrained
pretrained: pretrained-mnist-cgan pretrained-mnist-flow pretrained-faces

# $(call ship,NAME,TRAIN OPTIONS,AS THE CARD SAYS THEM): train, evaluate and export one model into the package
define ship
	rm -rf $(PRE)/$(1) $(SHIP)/$(1)
	$(VENV)/bin/drawlab train $(2) --seed 0 --no-progress --out $(PRE)/$(1)
	$(VENV)/bin/drawlab evaluate $(PRE)/$(1)
	$(VENV)/bin/drawlab export $(PRE)/$(1) $(SHIP)/$(1) --command "drawlab train $(3) --seed 0 (make pretrained-$(1))"
endef

pretrained-mnist-cgan: install
	$(call ship,mnist-cgan,--preset mnist-cgan --data mnist-5k --minutes 5,--preset mnist-cgan --data mnist-5k --minutes 5)

pretrained-mnist-flow: install
	$(call ship,mnist-flow,--preset mnist-flow --data mnist-5k --minutes 5,--preset mnist-flow --data mnist-5k --minutes 5)

pretrained-faces: install
	$(call ship,faces,--preset faces-dcgan --data folder:$(FACES) --minutes 10,--preset faces-dcgan --data folder:celeba-10k --minutes 10)
