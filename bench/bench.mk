# Benchmarks (issue 5): `make bench` reproduces the tables of BENCHMARKS.md into target/bench/tables.md.
# Included by the Makefile, which defines PYTHON and VENV, puts .venv/bin first on PATH (cargo
# lambda) and has the `venv` target. Nothing here runs under `make test`: timings are never asserted.

BENCH_OUT := target/bench
BENCH_LAMBDA_VENV := $(BENCH_OUT)/lambda-venv
BENCH_RUNS ?= 20
BENCH_PAYLOADS := $(BENCH_OUT)/payloads/manifest.json

.PHONY: bench bench-cpu bench-python bench-coldstart bench-size bench-table bench-profiles bench-state bench-group

# One step after another even under `make -j`: the steps time things, they must not overlap.
bench: ## request path vs floor and Python, cold start, size: the tables of BENCHMARKS.md (~25 min)
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) bench-cpu
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) bench-python
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) bench-state
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) bench-group
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) bench-size
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) bench-coldstart
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) bench-table

bench-cpu: ## criterion: every provider at 1, 16 and 256 KiB, against its floor (also writes the payloads)
	cargo bench --locked --bench request_path

# The payloads and signed events both sides time; the bench writes them before measuring anything.
$(BENCH_PAYLOADS): benches/request_path.rs
	cargo bench --locked --bench request_path -- --list > /dev/null

bench-state: venv ## alert state on and off against moto's DynamoDB: CPU, wall and DynamoDB calls per webhook
	cargo bench --locked --bench state

bench-group: venv ## a Grafana group of 1, 10 and 100 alerts to SNS and DynamoDB on moto: wall time per group
	cargo bench --locked --bench group

bench-python: venv $(BENCH_PAYLOADS) ## the Python reference, timed with timeit on the same payloads
	$(VENV)/bin/python bench/reference.py

$(BENCH_LAMBDA_VENV)/.installed: bench/requirements-lambda.txt
	test -x $(BENCH_LAMBDA_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_LAMBDA_VENV)
	$(BENCH_LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-input -r $<
	touch $@

bench-size: venv ## stripped release bootstrap for x86_64, and arm64 when its Rust target is installed
	cargo lambda build --release --locked --bin alert-relay
	if rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then \
	  cargo lambda build --release --arm64 --locked --bin alert-relay --lambda-dir $(BENCH_OUT)/lambda-arm64; \
	else echo 'arm64 skipped: rustup target add aarch64-unknown-linux-gnu' >&2; fi

bench-coldstart: venv $(BENCH_LAMBDA_VENV)/.installed $(BENCH_PAYLOADS) ## cold starts: release bootstrap vs Python + boto3
	cargo lambda build --release --locked --bin alert-relay
	$(VENV)/bin/python bench/coldstart.py --runs $(BENCH_RUNS) --python $(BENCH_LAMBDA_VENV)/bin/python

bench-table: ## print the tables from the last runs (target/bench/tables.md)
	$(VENV)/bin/python bench/table.py

bench-profiles: venv $(BENCH_PAYLOADS) ## release-profile candidates: size, cold start, throughput (~1 h)
	bench/profiles.sh
