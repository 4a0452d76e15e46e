# Wirepress. `make run` brings the whole stack up and publishes the demo feed; `make test` tests it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run up down status push test test-unit test-integration test-e2e lint bench bench-enrich bench-tagging clean

$(STAMP): pyproject.toml
	@# Debian's python3 ships venv separately; install it only if it is missing and we may.
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c "import ensurepip" 2>/dev/null || \
	  { echo "python3-venv is missing: installing it with apt-get"; \
	    apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[servers,dev]"
	touch $(STAMP)

install: $(STAMP)

## The whole stack without Docker, the demo feed published, the site's URL printed.
run: up
	@set -a; source var/stack.env; set +a; \
	$(BIN)/wirepress push demo/stories --wait --timeout 180 && \
	echo && echo "The site: $$SITE_URL/index.html" && \
	echo "Push your own: curl -H \"Authorization: Bearer \$$INGEST_TOKEN\" -H 'Content-Type: application/json' --data @story.json $$INGEST_URL/v1/stories  (source var/stack.env first)" && \
	echo "Stop it with: make down"

up: $(STAMP)
	$(BIN)/wirepress stack up

down:
	@if [ -x $(BIN)/wirepress ]; then $(BIN)/wirepress stack down; else echo "stack is down"; fi

status: $(STAMP)
	@$(BIN)/wirepress stack status; set -a; source var/stack.env 2>/dev/null; set +a; $(BIN)/wirepress status

test: $(STAMP)
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest -m unit

test-integration: $(STAMP)
	$(BIN)/pytest -m integration

test-e2e: $(STAMP)
	$(BIN)/pytest -m e2e

lint: $(STAMP)
	$(BIN)/ruff format --check shared services tests bench
	$(BIN)/ruff check shared services tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## 2,000 stories end to end on a fresh local stack; results in bench/results/pipeline.json.
bench: $(STAMP)
	$(BIN)/python bench/bench_pipeline.py --stories 2000 --out bench/results/pipeline.json

# The optional embedding rows need the model (torch, ~1.3 GB): it lives in its own venv so the
# service's stays small. torch==2.13.0 first, so pip takes the CPU build this machine kind has.
EMB_VENV := .venv-embeddings
$(EMB_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(EMB_VENV)
	$(EMB_VENV)/bin/pip install --quiet --upgrade pip
	$(EMB_VENV)/bin/pip install --quiet torch==2.13.0
	$(EMB_VENV)/bin/pip install --quiet -e ".[embeddings]"
	touch $@

bench-enrich: $(STAMP) $(EMB_VENV)/.installed
	$(BIN)/python bench/bench_enrich.py --out bench/results/enrich.json \
	  --embeddings var/bench/reuters-minilm.npz --embedder-python $(EMB_VENV)/bin/python

bench-tagging: $(STAMP)
	$(BIN)/python bench/bench_tagging.py --out bench/results/tagging.json

clean: down
	rm -rf var
