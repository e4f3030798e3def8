# The verbs a user types. Every Python tool (cargo-lambda and its zig, moto, pytest, cfn-lint, sam)
# comes from .venv, installed with the pins in requirements-dev.txt by `make venv`.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# cargo finds `cargo lambda` (and cargo-lambda finds zig) on PATH, so the venv goes first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

FUNCTION := alert-relay
# Where cargo puts its builds (the scripts and tests read CARGO_TARGET_DIR the same way).
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
SIGNER := alert-relay-sign
REGION ?= us-east-1
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 20
# The provider registry template.yaml's generated parts come from: the signer's own
# (`alert-relay-sign providers --json`), or PROVIDERS_JSON=FILE, a copy of it (no Rust build).
PROVIDERS_JSON ?=
REGISTRY := $(if $(PROVIDERS_JSON),--providers-json $(PROVIDERS_JSON),$(TARGET_DIR)/debug/$(SIGNER))
# The checked-in copy of `alert-relay-sign providers --json` the script tests read (make providers-json).
PROVIDERS_FILE := tests/scripts/data/providers.json
# Every Rust file of the crate, for rustfmt: cargo fmt misses a file whose `mod` it cannot see
# (one declared inside a macro), so nothing is listed by hand; the providers' `mod` lines sit
# outside `registry!` so that `cargo fmt` reaches them too.
RUST_SOURCES = $(shell find src -name '*.rs' | LC_ALL=C sort)

.PHONY: help venv fmt lint check oracles test e2e events events-check template template-check docs docs-check providers-json providers-json-check generate run sam-run sam-local sam-local-if-docker script-tests build package-check deploy template-lint fuzz fuzz-smoke clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv with the pinned local tools (idempotent)

$(STAMP): requirements-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-input -r requirements-dev.txt
	touch $@

fmt: ## format the Rust sources
	cargo fmt --all
	rustfmt --edition 2024 $(RUST_SOURCES)

lint: ## rustfmt check and clippy with warnings denied
	cargo fmt --all -- --check
	rustfmt --edition 2024 --check $(RUST_SOURCES)  # every file under src/, reached by a `mod` cargo fmt sees or not
	cargo clippy --all-targets --locked --features oracles -- -D warnings  # the slow tier's tests too
	cargo clippy --lib --locked --no-default-features -- -D warnings  # the library without the AWS SDK

check: lint ## lint, then unit and integration tests: no Python, moto or network needed
	cargo test --locked
	cargo test --locked -p alert-relay --lib --no-default-features  # the library without the AWS SDK: tested, not only linted
	$(MAKE) --no-print-directory providers-json-check

# The slow tier of `cargo test`: the crate against its references, CPython (python3 on PATH) and
# moto's filter policies (from .venv), and the Atlas API client against scripts/atlas_api_standin.py.
# Whole test files, and the signer's tests that run python3, are behind the `oracles` feature, so
# plain `cargo test` does not build them.
oracles: venv ## differential tests against CPython and moto (part of `make test`)
	cargo test --locked -p alert-relay --features oracles --test pyform_differential --test route_differential --test signature_differential --test atlas_api_standin --test state_table_moto
	cargo test --locked -p alert-relay-sign --features oracles

test: check oracles events-check docs-check script-tests e2e template-lint package-check sam-local-if-docker fuzz-smoke ## everything CI runs

e2e: venv ## end-to-end tests: moto + the function under `cargo lambda watch`
	cargo build --locked --bin $(FUNCTION) --bin $(SIGNER)
	$(VENV)/bin/python -m pytest tests/e2e

events: ## regenerate events/ through the signer
	cargo build --locked --quiet --bin $(SIGNER)
	scripts/gen-events $(TARGET_DIR)/debug/$(SIGNER)

events-check: ## fail if events/ is not what `make events` generates
	cargo build --locked --quiet --bin $(SIGNER)
	rm -rf .run/events-check
	scripts/gen-events $(TARGET_DIR)/debug/$(SIGNER) .run/events-check
	diff -r --exclude=payloads events .run/events-check || { echo 'events/ is stale or hand-edited: run `make events`' >&2; exit 1; }

providers-json: ## write tests/scripts/data/providers.json, the registry the script tests read, from the signer
	cargo build --locked --quiet --bin $(SIGNER)
	$(TARGET_DIR)/debug/$(SIGNER) providers --json > $(PROVIDERS_FILE).tmp
	mv $(PROVIDERS_FILE).tmp $(PROVIDERS_FILE)

providers-json-check: ## fail if tests/scripts/data/providers.json is not the signer's `providers --json` (part of `make check`)
	cargo build --locked --quiet --bin $(SIGNER)
	$(TARGET_DIR)/debug/$(SIGNER) providers --json | diff $(PROVIDERS_FILE) - \
	    || { echo '$(PROVIDERS_FILE) is stale or hand-edited: run `make providers-json`' >&2; exit 1; }

docs: ## regenerate the docs' provider lists (between `<!-- generated: providers … -->` markers) from the registry
	$(if $(PROVIDERS_JSON),,cargo build --locked --quiet --bin $(SIGNER))
	scripts/gen-docs $(REGISTRY)

docs-check: ## fail if a provider list in README.md or docs/ is not what `make docs` generates
	$(if $(PROVIDERS_JSON),,cargo build --locked --quiet --bin $(SIGNER))
	scripts/gen-docs --check $(REGISTRY)

generate: events docs providers-json template ## regenerate everything derived from the provider registry

template: ## regenerate template.yaml's per-provider parts from the signer's provider registry
	$(if $(PROVIDERS_JSON),,cargo build --locked --quiet --bin $(SIGNER))
	scripts/gen-template $(REGISTRY)

template-check: ## fail if template.yaml is not what `make template` generates
	$(if $(PROVIDERS_JSON),,cargo build --locked --quiet --bin $(SIGNER))
	scripts/gen-template $(REGISTRY) .run/template-check.yaml
	diff template.yaml .run/template-check.yaml || { echo 'template.yaml is stale or hand-edited: run `make template`' >&2; exit 1; }

run: venv ## local stack: moto + the function on :9000, replays events/, serves until Ctrl-C (SAM=1: as sam-run)
	$(VENV)/bin/python scripts/run-local $(if $(SAM),--sam)

sam-run: venv ## the same stack served by `sam local start-api` on :3000 (Docker)
	$(VENV)/bin/python scripts/run-local --sam

sam-local: venv ## sam build, `sam local invoke` of every event, `sam local start-api` with signed requests (Docker)
	cargo build --locked --quiet --bin $(SIGNER)
	$(VENV)/bin/python scripts/sam-local

# In `make test`: sam-local wherever `docker info` works. CI must not skip it without saying so: there
# it fails instead (.ci/run provisions Docker when it runs as root).
sam-local-if-docker:
	@if docker info >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory sam-local; \
	else \
	    why=$$(command -v docker >/dev/null && echo '`docker info` fails (no Docker daemon reachable)' || echo 'there is no docker command'); \
	    if [ "$${CI:-}" = true ]; then \
	        echo "sam-local FAILED: CI=true and $$why (.ci/run installs and starts Docker when run as root)" >&2; exit 1; \
	    fi; \
	    echo "sam-local SKIPPED: $$why; install and start Docker to test the SAM path (make sam-local)"; \
	fi

script-tests: venv ## unit tests of the Python scripts (glibc check, generated and derived templates, printed commands)
	$(VENV)/bin/python -m pytest tests/scripts

build: venv ## release build for Lambda arm64 (one-time: rustup target add aarch64-unknown-linux-gnu)
	cargo lambda build --release --arm64 --locked --bin $(FUNCTION)

package-check: venv ## x86_64 release build; the bootstrap serves the Runtime API and needs no glibc past 2.34
	cargo lambda build --release --locked --bin $(FUNCTION)
	if out=$$(env -i timeout 30 $(TARGET_DIR)/lambda/$(FUNCTION)/bootstrap 2>&1); then \
	    echo "bootstrap started without ALERT_TOPIC_ARN" >&2; exit 1; fi; \
	grep -q ALERT_TOPIC_ARN <<<"$$out" || { echo "bootstrap's error does not name ALERT_TOPIC_ARN: $$out" >&2; exit 1; }
	$(VENV)/bin/python scripts/runtime_smoke.py $(TARGET_DIR)/lambda/$(FUNCTION)/bootstrap
	$(VENV)/bin/python scripts/glibc_check.py $(TARGET_DIR)/lambda/$(FUNCTION)/bootstrap  # AL2023's glibc

deploy: venv ## sam build && sam deploy --guided
	sam build
	sam deploy --guided

# checkov has a venv of its own: its pins would downgrade boto3 and networkx in .venv (requirements-checkov.txt).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-input -r requirements-checkov.txt
	touch $@

# checkov: every check it skips is skipped in template.yaml, beside the resource, with its reason
# (`# checkov:skip=CKV_AWS_…:why`); --skip-download keeps it off the network.
template-lint: venv $(CHECKOV_STAMP) template-check ## template-check, then cfn-lint, sam validate --lint and checkov on template.yaml
	cfn-lint template.yaml
	sam validate --lint --region $(REGION)
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

fuzz: ## fuzzing campaign: each target for FUZZ_SECONDS (default 600) with cargo-fuzz
	scripts/fuzz $(FUZZ_SECONDS)

fuzz-smoke: ## short bounded fuzzing run (part of `make test`): each target for 20 s
	scripts/fuzz $(FUZZ_SMOKE_SECONDS)

clean: ## remove build outputs and the venv
	cargo clean
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .run

include bench/bench.mk
