PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: demo test lint bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed-demo: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -e ".[plot]"
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -e ".[test,plot,distributed]"
	touch $@

demo: $(VENV)/.installed-demo
	$(PY) -m sknnedu demo

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check sknnedu tests examples benchmarks
	MPLBACKEND=Agg $(PY) -m pytest

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_nn.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
