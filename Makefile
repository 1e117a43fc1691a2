# Every target sets up what it needs: a virtual environment with the locked Python packages
# (.venv/, from requirements.lock) and the pinned CDK CLI (node_modules/, from package-lock.json).
# Nothing global.
PYTHON ?= python3
# Extra arguments for the CDK CLI, e.g. CDK_ARGS="-c start_time=2026-11-28T10:00:00Z".
CDK_ARGS ?=
# Extra arguments for bench/run.py, e.g. BENCH_ARGS="--quick" or "--output docs/BENCHMARKS.md".
BENCH_ARGS ?=
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CDK := $(CURDIR)/node_modules/.bin/cdk
CDK_STAMP := node_modules/.installed
# Offline and quiet: no telemetry, no version check, no notices, no end-of-life banner.
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# cdk.json runs `python3 app.py`: the venv's python3 comes first.
export PATH := $(BIN):$(PATH)

.PHONY: demo demo-failure synth deploy test bench lock clean

# The main job, offline: synthesize the example app, then create its harvest jobs (v1 and v2) on the local AWS.
demo: synth
	$(BIN)/python -m local_aws.demo --cdk-out cdk.out

# The same, with a job MediaPackage fails: what `cdk deploy` shows (MediaPackage's reason, the rollback).
demo-failure: synth
	$(BIN)/python -m local_aws.demo --cdk-out cdk.out --stack HarvestStack --fail

synth: $(VENV)/.installed $(CDK_STAMP)
	$(CDK) synth --no-notices --quiet $(CDK_ARGS)
	@echo "Synthesized offline: cdk.out/HarvestStack.template.json"

deploy: $(VENV)/.installed $(CDK_STAMP)
	$(CDK) deploy --no-notices $(CDK_ARGS) HarvestStack

test: $(VENV)/.installed $(CDK_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# Benchmarks print figures (median of several runs, ratios against AwsCustomResource); not tests.
bench: $(VENV)/.installed $(CDK_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/handover_latency.py $(BENCH_ARGS)

# Exactly the locked packages (each checked against its hashes), then the library itself, editable,
# built by the locked hatchling.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# Regenerate requirements.lock from requirements.txt and pyproject.toml (needs PyPI): every package,
# transitive ones included, pinned with the hashes of its files. Pins already in the lock are kept;
# LOCK_ARGS=--upgrade takes the newest versions that the inputs allow.
LOCK_ARGS ?=
lock: $(VENV)/.installed
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links $(LOCK_ARGS) --output-file requirements.lock requirements.txt pyproject.toml

$(CDK_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
