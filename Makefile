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

# The k8s tests' control plane is built once from pinned Go modules into ~/.cache/wbsupply (not with
# WBSUPPLY_TEST_KUBECONFIG, which names a cluster to test against instead).
test: $(BIN)/.installed lint
	scripts/ensure-system-deps.sh browser postgres redis
	[ -n "$$WBSUPPLY_TEST_KUBECONFIG" ] || scripts/build-controlplane.sh >/dev/null
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/wbsupply bench --all

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
