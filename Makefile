PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: demo test lint bench clean docs

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed-demo: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -e ".[plot]"
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -e ".[test,plot,distributed]"
	touch $@

$(VENV)/.installed-docs: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -e ".[docs]"
	touch $@

demo: $(VENV)/.installed-demo
	$(PY) -m sknnedu demo

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check sknnedu tests examples benchmarks
	MPLBACKEND=Agg $(PY) -m pytest

# The site, from scratch every time (the gallery re-runs every example, so no page can show
# a picture older than the code): open docs/_build/html/index.html, no network needed.
docs: $(VENV)/.installed-docs
	rm -rf docs/_build docs/auto_examples docs/api/generated
	MPLBACKEND=Agg $(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_nn.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
