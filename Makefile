# Two commands do everything: `make run` (set up, then serve the app on 127.0.0.1) and
# `make test` (set up, then run the whole suite). `make classroom` serves a class instead: every
# interface, port 8502, shared-server settings (core/classroom.py), the students' URL printed.
# Setup rebuilds .venv only when requirements.txt differs from what was last installed into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/requirements.installed
PORT ?= 8501
CLASSROOM_PORT ?= 8502

.PHONY: setup run classroom test lint bench screenshot clean

setup:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'
	@if [ -x $(BIN)/python ] && cmp -s requirements.txt $(INSTALLED); then \
		echo "setup: .venv is up to date with requirements.txt"; \
	else \
		echo "setup: installing requirements.txt into .venv (first time: a few minutes)"; \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -r requirements.txt && \
		cp requirements.txt $(INSTALLED); \
	fi

run: setup
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

# LAB_TEACHER_KEY=... make classroom: runs above the cost limit then need the teacher's key (README).
classroom: setup
	$(BIN)/python -m core classroom --port $(CLASSROOM_PORT)

# Two workers (pytest-xdist), a test file per worker at a time: most tests are single-threaded Python around tiny
# TensorFlow models, so two processes keep both cores busy; a file's module fixtures (a Ray instance, a server) stay
# in one worker. A plain `.venv/bin/python -m pytest tests/test_x.py` runs in one process, as before.
test: setup lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Lint (ruff.toml: line length 120, rules E, W, F, I); `make test` runs it first, so CI fails on a lint error.
lint: setup
	$(BIN)/ruff check .

# Every bench script end to end in --quick mode (a few minutes; kept out of `make test` to keep CI short).
bench-check: setup
	$(BIN)/python -m pytest -m bench

bench: setup
	@for module in bench/*.py; do \
		name=$$(basename $$module .py); [ "$$name" = "__init__" ] && continue; \
		echo "== bench.$$name"; $(BIN)/python -m bench.$$name || exit 1; \
	done

# Refresh the README's home-page picture from the browser test's latest screenshots.
screenshot: setup
	$(BIN)/python -m pytest tests/test_browser.py -q
	cp artifacts/screenshots/home.png docs/home.png

clean:
	rm -rf $(VENV) artifacts .pytest_cache
