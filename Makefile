# Wirepress. `make run` brings the whole stack up and publishes the demo feed; `make test` tests it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := shared services cli tests bench

.PHONY: install site-tools lock run up down status push test test-unit test-integration test-e2e lint format \
	ops-tools docs bench bench-site bench-enrich bench-tagging bench-durability bench-desk bench-formats chaos clean

# Every machine installs the same versions: requirements/dev.lock pins each package with its
# hashes (pip-tools; `make lock` writes it from pyproject.toml), and pip refuses anything else.
$(STAMP): pyproject.toml requirements/dev.lock
	@# Debian's python3 ships venv separately; install it only if it is missing and we may.
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c "import ensurepip" 2>/dev/null || \
	  { echo "python3-venv is missing: installing it with apt-get"; \
	    apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## What the site checks need beside Python: Debian's chromium, Java, vnu.jar and axe-core.
SITE_TOOLS_STAMP := tests/site/node_modules/.installed
$(SITE_TOOLS_STAMP): infra/install-site-tools.sh infra/apt-install.sh tests/site/package-lock.json
	infra/install-site-tools.sh

site-tools: $(SITE_TOOLS_STAMP)

## What the ops checks need beside Python: promtool (alerting rules) and kubectl (Kustomize).
ops-tools:
	infra/install-ops-tools.sh

## Re-pin every dependency (after editing pyproject.toml's dependencies); takes a few minutes.
lock: $(STAMP)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
	  --strip-extras --allow-unsafe --extra servers --extra dev --extra bench -o requirements/dev.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
	  --strip-extras --allow-unsafe -o requirements/runtime.lock pyproject.toml

## The whole stack without Docker, the demo feed published, the site's and the desk's URLs printed.
run: up
	@set -a; source var/stack.env; set +a; \
	$(BIN)/wirepress push demo/stories --wait --timeout 180 && \
	echo && echo "The site: $$SITE_URL/index.html" && \
	echo "The desk: $$DESK_URL/signin (user $$DESK_ADMIN_USER, password $$DESK_ADMIN_PASSWORD)" && \
	echo "Push your own: curl -H \"Authorization: Bearer \$$INGEST_TOKEN\" -H 'Content-Type: application/json' --data @story.json $$INGEST_URL/v1/stories  (source var/stack.env first)" && \
	echo "Stop it with: make down"

up: $(STAMP)
	$(BIN)/wirepress stack up

down:
	@if [ -x $(BIN)/wirepress ]; then $(BIN)/wirepress stack down; else echo "stack is down"; fi

status: $(STAMP)
	@$(BIN)/wirepress stack status; set -a; source var/stack.env 2>/dev/null; set +a; $(BIN)/wirepress status

# Under `make test` a missing site or ops tool fails its test rather than skipping it.
test: $(STAMP) $(SITE_TOOLS_STAMP) ops-tools
	WIREPRESS_SITE_TOOLS=required WIREPRESS_OPS_TOOLS=required $(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest -m unit

test-integration: $(STAMP)
	$(BIN)/pytest -m integration

test-e2e: $(STAMP) $(SITE_TOOLS_STAMP)
	WIREPRESS_SITE_TOOLS=required $(BIN)/pytest -m e2e

lint: $(STAMP)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/wirepress asyncapi --check

format: $(STAMP)
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

## The streams' AsyncAPI document, generated from the code.
docs: $(STAMP)
	$(BIN)/wirepress asyncapi > docs/asyncapi.json

## 2,000 stories end to end on a fresh local stack, then the same stories through the same
## essential steps with no streams (the floor, bench/pipeline/floor.py) against the same servers:
## on an empty site (bench/results/pipeline.json) and on a site of 10,000 stories, the headline
## (bench/results/pipeline-10k.json). About 45 minutes here (most of it pushing the 10k archive).
bench: $(STAMP)
	$(BIN)/python -m bench.pipeline --stories 2000 --out bench/results/pipeline.json
	$(BIN)/python -m bench.pipeline --stories 2000 --archive 10000 --out bench/results/pipeline-10k.json

## The site kept current: cost per new story at 1k, 10k and 50k archives, freshness at 2, 10 and 50
## stories/s on a 10k archive, `wirepress site rebuild` beside Debian's hugo (installed here if
## missing); results in bench/results/site.json. About half an hour.
bench-site: $(STAMP)
	@command -v hugo >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] && echo "" || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends hugo >/dev/null; }
	$(BIN)/python -m bench.site --out bench/results/site.json

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
	$(BIN)/python -m bench.enrich --out bench/results/enrich.json \
	  --embeddings var/bench/reuters-minilm.npz --embedder-python $(EMB_VENV)/bin/python
	$(BIN)/python -m bench.enrich --dataset bench/data/general-news.jsonl --skip-speed \
	  --skip-ablation --embeddings var/bench/general-news-minilm.npz \
	  --embedder-python $(EMB_VENV)/bin/python --out bench/results/enrich-general-news.json

## Faults under load: kill -9 of every process, Valkey and SeaweedFS killed, SeaweedFS frozen
## 20 s, a poison story; every accepted story checked in the bucket. bench/results/chaos.json.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos --out bench/results/chaos.json

## What a durable 202 costs: the emit with and without fsync; bench/results/durability.json.
bench-durability: $(STAMP)
	$(BIN)/python -m bench.durability --stories 400 --out bench/results/durability.json

## The desk with 100k stories (list and search p95) and an action to the page changed in the
## bucket (p95), on a fresh local stack; bench/results/desk.json. About ten minutes.
bench-desk: $(STAMP)
	$(BIN)/python -m bench.desk --stories 100000 --actions 40 --out bench/results/desk.json

## What parsing a story costs per wire format, on the real samples; bench/results/formats.json.
bench-formats: $(STAMP)
	$(BIN)/python -m bench.formats --rounds 300 --out bench/results/formats.json

## Tagging precision and recall: on Reuters' own index terms (bench/results/tagging.json) and on
## the hand-labelled demo feed and long test stories (bench/results/tagging-handchecked.json).
bench-tagging: $(STAMP)
	$(BIN)/python -m bench.tagging --out bench/results/tagging.json
	$(BIN)/python -m bench.tagging_handchecked --out bench/results/tagging-handchecked.json

clean: down
	rm -rf var
