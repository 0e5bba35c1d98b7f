# Two commands set everything up on a fresh clone: `make run` and `make test`.
# `make run` trains gru93 walk-forward on first use (models/ caches the folds) and backtests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint sample clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

sample: $(STAMP)
	$(BIN)/engine data sample --if-missing

run: sample
	$(BIN)/engine backtest --strategy gru93

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check engine tests benchmarks
	$(BIN)/ruff format --check engine tests benchmarks

bench: sample
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) data runs benchmarks/results/*.json
