# Two commands for a fresh machine: `make demo` and `make test`.
# Each one bootstraps the virtual environment from pyproject.toml the first time.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= demo-workspace

.PHONY: demo test lint bench bench-ingest bench-live bench-webhooks bench-activation bench-web bench-scale bench-spark bench-backends docs messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cible demo --workspace $(WORKSPACE) --force

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

# The web UI's browser tests drive Debian's Chromium (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# tests/backends runs the pipeline on PySpark, which needs Java (Debian's OpenJDK).
JAVA ?= /usr/bin/java
$(JAVA):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless

# Whole files to a worker: a module's served workspace or shop is built once, not once
# per worker that gets some of its tests (and tests/backends starts one Spark session).
test: lint $(CHROMIUM) $(JAVA)
	$(BIN)/pytest -n 2 --dist loadfile --durations=25

docs: $(STAMP)
	$(BIN)/python -m cible.cli.reference cli > docs/cli.md
	$(BIN)/python -m cible.cli.reference data-model > docs/data-model.md
	$(BIN)/python -m cible.cli.reference traits > docs/traits.md

# Messages printed for people: extract the English ones marked with _() or N_(), then
# add the new ones to the French catalog (translate the entries left empty).
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --add-location=file --sort-by-file -w 100 \
		-o $(VENV)/cible.pot src/cible/cli src/cible/locale src/cible/activation/experiments.py \
		src/cible/server/web
	$(BIN)/pybabel -q update -i $(VENV)/cible.pot -d src/cible/locale -D cible -l fr \
		-w 100 --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py

# Live events through `cible serve` (docs/performance.md). The load comes from wrk, a
# Debian package (a Python client cannot send as fast as the server answers).
bench-ingest: $(STAMP)
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python benchmarks/bench_ingest.py

# Event to segment transition through `cible serve` on 1,000,000 customers (generates
# and imports the shop the first time, about 5 minutes; kept in bench-data/).
bench-live: $(STAMP)
	$(BIN)/python benchmarks/bench_live.py --folder bench-data/live --sweep

# 10,000 signed webhooks through `cible serve` to a local receiver (docs/performance.md).
bench-webhooks: $(STAMP)
	$(BIN)/python benchmarks/bench_webhooks.py

# The loop through `cible serve`: 10,000 customers tagged, entering a segment, one
# webhook each; and single page views to their webhook (docs/performance.md).
bench-activation: $(STAMP)
	$(BIN)/python benchmarks/bench_activation.py

# Server time of every web page on 1,000,000 customers (generates, imports and runs
# the shop the first time, about 15 minutes; kept in bench-data/web).
bench-web: $(STAMP)
	$(BIN)/python benchmarks/bench_web.py --folder bench-data/web

# Import, run and live updates at 1M, 3M, 10M and 100M orders, DuckDB held to 6 GB
# (about two hours and 70 GB of free disk; docs/performance.md, "Scale").
# 100M orders: make bench-scale SIZES=100 LIVE=100 (50 GB of free disk, docs/performance.md).
SIZES ?= 1,3,10,30
LIVE ?= 30
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py --sizes $(SIZES) --live "$(LIVE)" --folder bench-data/scale

# The run's traits on Spark local[1] and local[2] beside DuckDB (needs Java).
bench-spark: $(STAMP) $(JAVA)
	$(BIN)/python benchmarks/bench_spark.py --folder bench-data/spark

# The same shop imported and run on DuckDB and in PostgreSQL (the local server).
bench-backends: $(STAMP)
	$(BIN)/python benchmarks/bench_backends.py

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache
