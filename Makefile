# Two commands set everything up on a fresh clone: `make run` and `make test`.
# `make run` trains gru93 walk-forward on first use (models/ caches the folds) and backtests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint sample clean system-deps

# Debian packages the tests use for real: a browser to view reports, a PostgreSQL server for Optuna.
# Installed only when missing (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium postgresql >/dev/null; }

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

sample: $(STAMP)
	$(BIN)/engine data sample --if-missing

run: sample
	$(BIN)/engine backtest --strategy gru93

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

lint: $(STAMP)
	$(BIN)/ruff check engine tests benchmarks plugins
	$(BIN)/ruff format --check engine tests benchmarks plugins

bench: sample
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) data runs benchmarks/results/*.json
