# Quick start: `make demo` serves the demo campaign; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench mutate check translations clean

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

# axe-core for tests/test_a11y_browser.py, pinned by tests/a11y/package-lock.json (needs npm; without it the
# accessibility test skips, and fails under CI=true).
AXE := tests/a11y/node_modules/axe-core/axe.min.js
$(AXE): tests/a11y/package-lock.json
	npm ci --prefix tests/a11y --no-audit --no-fund
	touch $@

test: $(VENV)/.installed-test $(if $(shell command -v npm),$(AXE))  ## run the whole suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(VENV)/.installed  ## validate and lint the bundled question banks
	$(BIN)/quizapp bank check question_bank
	$(BIN)/quizapp bank lint --strict question_bank

# Catalogs of the player side: Simplified Chinese source strings are the msgids (no catalog needed);
# zh_Hant and en are updated from the source, then compiled to the .mo files that are committed.
CATALOGS := quizapp/translations
translations: $(VENV)/.installed  ## extract player strings, update the zh_Hant and en catalogs, compile them
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --no-location --sort-output -w 120 -o $(CATALOGS)/messages.pot .
	for lang in zh_Hant en; do \
	  if [ -f $(CATALOGS)/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) -l $$lang -w 120 --no-fuzzy-matching --ignore-obsolete; \
	  else \
	    $(BIN)/pybabel init -i $(CATALOGS)/messages.pot -d $(CATALOGS) -l $$lang -w 120; \
	  fi; \
	done
	$(BIN)/pybabel compile -d $(CATALOGS) --statistics

bench: $(VENV)/.installed-test  ## busiest requests against bare Flask, same gunicorn (needs wrk); BENCH_ARGS="--db both"
	$(BIN)/python bench/bench_http.py $(BENCH_ARGS)

mutate: $(VENV)/.installed-test  ## mutation check of the play loop's queries and engine.py (prints survivors)
	$(BIN)/python bench/mutate.py

clean:
	rm -rf $(VENV) instance .pytest_cache
