# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/.installed: pyproject.toml
	PYTHON=$(PYTHON) scripts/ensure-system-deps.sh venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	scripts/ensure-system-deps.sh browser
	$(BIN)/wbsupply up

lint: $(BIN)/.installed
	$(BIN)/ruff check wbsupply tests bench
	$(BIN)/mypy

test: $(BIN)/.installed lint
	scripts/ensure-system-deps.sh browser postgres redis
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/wbsupply bench --list

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
