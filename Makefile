# Every target bootstraps .venv itself; re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python main.py demo

# The suite in parallel worker processes (pytest-xdist; docs/test-speed.md has the measurements).
# Part of a test's time is waiting (database commits, child processes, a browser), so more
# workers than cores help: three measured best on 2 cores. TEST_WORKERS=0: one process.
# Tests go out two at a time (--maxschedchunk 2), so a worker that drew a minute-long test does
# not sit on a queue of others while the rest idle; the slow ones are collected first.
TEST_WORKERS ?= 3
XDIST = -n $(TEST_WORKERS) --maxschedchunk 2

# Every test, on REBILL_DATABASE_URL's database (SQLite when unset).
test: $(STAMP)
	$(BIN)/python -m pytest $(XDIST)

# The inner loop: SQLite, stop at the first failure, without the tests marked `slow` (a real
# browser, real `main.py` processes, the wheel build); `make test` runs those too.
test-fast: $(STAMP)
	env -u REBILL_DATABASE_URL $(BIN)/python -m pytest $(XDIST) -x -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-logo
	$(MAKE) --no-print-directory docs

# The documentation site (mkdocs.yml): strict, so a broken link or anchor fails the build
# (not --quiet: it hides the warnings, and strict mode then passes whatever they say).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir var/site

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
