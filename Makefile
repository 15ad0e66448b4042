# Two commands do everything on a fresh clone (Python 3.11+, git and make):
#   make book   build the HTML book into _build/html and say where it is
#   make test   the whole verification, ending in pytest's summary line
# Both create .venv from requirements.txt first when it is missing or out of date.
# make check is the fast loop: unit tests, doctests and nbval, no site build or browser.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
READY := $(VENV)/.ready
JOBS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(JOBS) --dist loadscope
RUFF := $(BIN)/ruff check lib tests benchmarks _ext
# JupyterLab refuses to start as root (containers, CI images) unless told it may.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=

# Identical runs give identical outputs: no hash randomisation.
export PYTHONHASHSEED := 0
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help book pdf check test second-machine lab execute bench clean

help:
	@echo "make book     build the book into _build/html (warnings are errors)"
	@echo "make pdf      the whole book as one PDF, printed by Chromium (needs Debian's chromium, fonts-noto-cjk)"
	@echo "make check    the fast loop: ruff, unit tests, doctests, nbval on every chapter (about a minute)"
	@echo "make test     everything: make check, nbval again as other CPUs, the site build, its links, a browser"
	@echo "make second-machine   only the re-run of every chapter at lower NumPy SIMD dispatch levels"
	@echo "make lab      JupyterLab on chapters/ with nnmath importable"
	@echo "make execute  re-run every chapter top to bottom and store its outputs"
	@echo "make bench    time nnmath against np.exp, scipy.special (and PyTorch, if installed)"
	@echo "make clean    remove _build (keep .venv)"

$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: make PYTHON=/path/to/python3.11")'
	@if [ ! -x "$(BIN)/python" ]; then echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); fi
	@echo "Installing requirements.txt into $(VENV) (the first time takes a few minutes)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

book: $(READY)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

# The single-page build, printed by Chromium: MathJax's numbered equations, the figures, the
# CJK font of the Chinese quotations. The site links to nnmath-book.pdf at its root.
pdf: $(READY)
	rm -rf _build/pdf-source
	$(BIN)/jupyter-book build . --builder custom --custom-builder singlehtml -W -n --keep-going --path-output _build/pdf-source
	$(BIN)/python _ext/print_pdf.py _build/pdf-source/_build/singlehtml _build/pdf/nnmath-book.pdf
	@if [ -d _build/html ]; then cp _build/pdf/nnmath-book.pdf _build/html/; fi
	@echo "The PDF is built: $(CURDIR)/_build/pdf/nnmath-book.pdf"

check: $(READY)
	$(RUFF)
	$(PYTEST) -m "not slow"

# The longest units first, in this order (each runs whole on one worker): the site check, the
# second-machine passes; then everything else, which the two workers share as they free up.
test: $(READY)
	$(RUFF)
	$(PYTEST) --no-loadscope-reorder tests/test_book.py tests/test_second_machine.py tests lib/nnmath chapters

second-machine: $(READY)
	$(PYTEST) tests/test_second_machine.py

lab: $(READY)
	$(BIN)/jupyter lab $(LAB_FLAGS) $(LAB_ARGS) chapters/

execute: $(READY)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False chapters/*.ipynb

bench: $(READY)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf _build
