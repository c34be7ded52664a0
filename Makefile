# Answerdesk: `make run` starts it, `make test` tests it. Each sets itself up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/answerdesk/admin/static/vendor
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-sqlite test-postgres test-deploy lint bench assets deps dev-deps clean

run: deps assets
	$(BIN)/answerdesk migrate
	$(BIN)/answerdesk demo
	$(BIN)/answerdesk serve

test: dev-deps assets
	scripts/ensure-services.sh
	scripts/ensure-chromium.sh
	$(MAKE) --no-print-directory lint
	@echo "Testing on SQLite and on PostgreSQL at once (most tests wait, not compute); each prints when it ends."
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite:
	ANSWERDESK_TEST_DATABASE=sqlite $(BIN)/pytest -q -p no:cacheprovider

test-postgres:
	ANSWERDESK_TEST_DATABASE=postgres $(BIN)/pytest -q -p no:cacheprovider

# The Docker Compose stack for real, through the built image (README "Deploy with Docker Compose"); as root.
# Installs Docker from Debian and starts dockerd if need be; base image, wheels and layers are cached.
test-deploy: dev-deps assets
	scripts/ensure-services.sh
	deploy/ensure-docker.sh
	deploy/build-base-image.sh answerdesk-base:bookworm
	BASE_IMAGE=answerdesk-base:bookworm PYTHON=$(BIN)/python deploy/build-image.sh answerdesk:test
	ANSWERDESK_IMAGE=answerdesk:test $(BIN)/pytest -q -p no:cacheprovider tests_deploy

lint: dev-deps
	$(BIN)/ruff check src tests
	$(BIN)/mypy

$(BIN)/python:
	$(shell command -v $(PYTHON) || echo python3) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned to the CPU build on disk: any other spec pulls GBs of CUDA packages.
$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev-deps: pyproject.toml $(VENV)/.deps
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

# Admin assets come from the npm registry (pinned in frontend/package-lock.json), never a CDN.
$(VENDOR)/.stamp: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp frontend/node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/
	cp frontend/node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp frontend/node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	touch $@

assets: $(VENDOR)/.stamp

# Figures for the closing notes: run by hand, not in CI (they read ../shared/data and take minutes).
bench: deps
	$(BIN)/pip install -q -e '.[bench]'
	PYTHONPATH=. $(BIN)/python bench/search_latency.py
	PYTHONPATH=. $(BIN)/python bench/embedding_throughput.py
	PYTHONPATH=. $(BIN)/python bench/retrieval_quality.py
	PYTHONPATH=. $(BIN)/python bench/sentiment_eval.py
	PYTHONPATH=. $(BIN)/python bench/answer_overhead.py
	PYTHONPATH=. $(BIN)/python bench/chat_concurrency.py
	PYTHONPATH=. $(BIN)/python bench/load_test.py

clean:
	rm -rf $(VENV) frontend/node_modules $(VENDOR)
