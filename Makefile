# Quick start: `make demo` serves the demo campaign; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed  ## set up instance/quizapp.db with the bundled banks and serve /q/demo
	$(BIN)/quizapp demo $(DEMO_ARGS)

test: $(VENV)/.installed-test  ## run the whole suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(VENV)/.installed  ## validate the bundled question banks
	$(BIN)/quizapp bank check question_bank

bench: $(VENV)/.installed-test  ## load benchmark of the player API under gunicorn
	$(BIN)/python bench/bench_api.py

clean:
	rm -rf $(VENV) instance .pytest_cache
