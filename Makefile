# proms-mcp: the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

WASM_TARGET := wasm32-wasip2
TARGET_DIR  ?= $(or $(CARGO_TARGET_DIR),target)
COMPONENT   := $(TARGET_DIR)/$(WASM_TARGET)/release/proms_mcp.wasm
# The `server` world is the same crate built with another feature: its own target dir, so the two
# builds do not overwrite each other.
SERVER_DIR  := $(TARGET_DIR)/server
SERVER      := $(SERVER_DIR)/$(WASM_TARGET)/release/proms_mcp.wasm
SUDO        := $(if $(filter 0,$(shell id -u)),,sudo)
PYTHON      := $(abspath $(TARGET_DIR))/pyenv/bin/python
WASMTIME    := $(abspath $(TARGET_DIR))/tools/bin/wasmtime

.PHONY: help
help:
	@echo "make run        start a local Prometheus, VictoriaMetrics and ClickHouse with demo data and serve MCP at http://127.0.0.1:8000/mcp"
	@echo "make serve      serve the datasources in GRAFANA_DATASOURCES_PATH"
	@echo "make test       install what is missing, build the component, run every test and lint"
	@echo "make component  build the plugin component ($(COMPONENT))"
	@echo "make server-component  build the server world component ($(SERVER))"
	@echo "make lint       cargo fmt --check and clippy -D warnings, native and $(WASM_TARGET)"
	@echo "make host       the shipped host binary, optimised with a profile of the bench's calls (PGO)"
	@echo "make bench      latency, throughput, RSS and start-up, through MCP next to direct Prometheus"
	@echo "make soak       SOAK_CLIENTS (64) clients for SOAK_SECONDS (300) with failing calls mixed in: every answer checked, memory flat"
	@echo "make fuzz       every fuzz target for FUZZ_SECONDS (60) on nightly"

# The component's compile target: lint needs it too, and a fresh machine lacks it.
.PHONY: wasm-target
wasm-target:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# Everything the build and the tests need on a fresh Debian machine; each step is skipped when present.
.PHONY: deps
deps: wasm-target
	@missing=""; \
	command -v prometheus >/dev/null && command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v victoria-metrics >/dev/null || missing="$$missing victoria-metrics"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  for s in prometheus victoria-metrics; do $(SUDO) service $$s stop >/dev/null 2>&1 || true; done; \
	fi
.PHONY: clickhouse-deps
# ClickHouse's engine (chdb) in the project's Python venv, behind our HTTP front: the demo's logs and
# spans and the logs/traces tests. Its pandas and pyarrow dependencies are not needed by
# chdb.session, hence --no-deps.
clickhouse-deps:
	@test -x $(PYTHON) || python3 -m venv $(abspath $(TARGET_DIR))/pyenv
	@$(PYTHON) -c "import chdb" 2>/dev/null || $(PYTHON) -m pip install -q --disable-pip-version-check --no-deps -r tests/clickhouse/requirements.txt

.PHONY: qryn-deps
# qryn (Loki's and Tempo's HTTP APIs over ClickHouse) for the Loki/Tempo tests, pinned by
# tests/qryn/package-lock.json and installed into the target dir (~15 s, ~125 MB). qryn's own
# postinstall (`patch-package`, which patches its `bnf` parser) runs inside node_modules/qryn and
# fails when npm hoists `bnf` to the top (some npm versions skip it, others run it), so scripts are
# off and the patch is applied here from the top. (protobufjs' postinstall only prints a notice.)
QRYN_DIR := $(abspath $(TARGET_DIR))/qryn
qryn-deps:
	@test -f $(QRYN_DIR)/node_modules/qryn/qryn_node.js && cmp -s tests/qryn/package-lock.json $(QRYN_DIR)/package-lock.json || ( \
	  mkdir -p $(QRYN_DIR) && cp tests/qryn/package.json tests/qryn/package-lock.json $(QRYN_DIR)/ && \
	  cd $(QRYN_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && \
	  node_modules/.bin/patch-package --patch-dir node_modules/qryn/patches >/dev/null )

.PHONY: test-deps
# What only the tests need, on top of `deps`.
test-deps: deps clickhouse-deps qryn-deps
	@# The MCP conformance suite and the Node.js >= 22 it needs, pinned in tests/conformance.
	@test -x tests/conformance/node_modules/.bin/node || (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error)
	@# The official MCP Python SDK, an independent client for the integration tests.
	@test -x $(PYTHON) || python3 -m venv $(abspath $(TARGET_DIR))/pyenv
	@$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/clients/requirements.txt
	@# wasmtime-cli, to run the server component under `wasmtime serve` (48.0.8: newer ones need a newer rustc).
	@test -x $(WASMTIME) || cargo install wasmtime-cli@48.0.8 --locked --quiet --root $(abspath $(TARGET_DIR))/tools

.PHONY: component
component: deps
	cargo build --release --target $(WASM_TARGET) -p proms-mcp --lib
	@ls -l $(COMPONENT) | awk '{printf "component: %s (%.2f MiB)\n", $$9, $$5/1048576}'

.PHONY: server-component
server-component: deps
	CARGO_TARGET_DIR=$(SERVER_DIR) cargo build --release --target $(WASM_TARGET) -p proms-mcp --lib --features server-world
	@ls -l $(SERVER) | awk '{printf "server component: %s (%.2f MiB)\n", $$9, $$5/1048576}'

# Test support: lets `wasmtime serve` run the server component (host-test/tests/spin-adapter).
SPIN_ADAPTER := $(TARGET_DIR)/spin-adapter/$(WASM_TARGET)/release/spin_adapter.wasm
.PHONY: spin-adapter
spin-adapter: deps
	CARGO_TARGET_DIR=$(TARGET_DIR)/spin-adapter cargo build --release --target $(WASM_TARGET) --manifest-path host-test/tests/spin-adapter/Cargo.toml

.PHONY: run
run: component clickhouse-deps
	PROMS_MCP_COMPONENT=$(COMPONENT) PROMS_MCP_PYTHON=$(PYTHON) cargo run -p host-test --bin proms-mcp -- demo

.PHONY: serve
serve: component
	PROMS_MCP_COMPONENT=$(COMPONENT) cargo run -p host-test --bin proms-mcp -- serve

.PHONY: test
test: test-deps component server-component spin-adapter
	PROMS_MCP_COMPONENT=$(abspath $(COMPONENT)) PROMS_MCP_SERVER_COMPONENT=$(abspath $(SERVER)) \
	  PROMS_MCP_SPIN_ADAPTER=$(abspath $(SPIN_ADAPTER)) PROMS_MCP_PYTHON=$(PYTHON) PROMS_MCP_WASMTIME=$(WASMTIME) \
	  PROMS_MCP_QRYN=$(QRYN_DIR)/node_modules/qryn cargo test --workspace --no-fail-fast
	$(MAKE) --no-print-directory lint

# The shipped host (the `host` profile: `make bench`, `make soak` and the image) is optimised with a
# profile of its own serving (profile-guided optimisation): a build instrumented with
# `-Cprofile-generate` serves the bench's calls against a local Prometheus (`pgo-train`),
# `llvm-profdata` merges what it counted, and the shipped build reads it with `-Cprofile-use`. The
# profile is made once per target dir; `make host-profile` makes it again after large changes to the
# host (a stale profile still builds: functions that changed just lose their share of it).
PGO_DIR       := $(abspath $(TARGET_DIR))/pgo
HOST_PROFILE  := $(PGO_DIR)/host.profdata
LLVM_PROFDATA  = $(shell rustc --print sysroot)/lib/rustlib/$(shell rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata
HOST_BUILD     = RUSTFLAGS="-Cprofile-use=$(HOST_PROFILE)" cargo build --profile host -p host-test

.PHONY: host-profile
host-profile: component
	@test -x $(LLVM_PROFDATA) || rustup component add llvm-tools
	@# Build scripts and the trainer are instrumented too; their counts go to $(PGO_DIR)/build, unused.
	CARGO_TARGET_DIR=$(TARGET_DIR)/pgo-train RUSTFLAGS="-Cprofile-generate=$(PGO_DIR)/build" \
	  cargo build --profile host -p host-test --bin proms-mcp --bin pgo-train
	rm -rf $(PGO_DIR)/raw
	LLVM_PROFILE_FILE=$(PGO_DIR)/build/pgo-train-%p.profraw PROMS_MCP_COMPONENT=$(abspath $(COMPONENT)) \
	  $(TARGET_DIR)/pgo-train/host/pgo-train $(TARGET_DIR)/pgo-train/host/proms-mcp $(PGO_DIR)/raw
	$(LLVM_PROFDATA) merge -o $(HOST_PROFILE) $(PGO_DIR)/raw

$(HOST_PROFILE):
	$(MAKE) --no-print-directory host-profile

.PHONY: host
# The shipped host binary, $(TARGET_DIR)/host/proms-mcp (the image runs this).
host: component $(HOST_PROFILE)
	$(HOST_BUILD) --bin proms-mcp

.PHONY: bench
# The peer in the same run: pab1it0's prometheus-mcp-server (pinned in tests/bench) in its own venv.
PEER_ENV := $(abspath $(TARGET_DIR))/peer-pyenv
# The host exactly as `make host` builds it. Not with `CARGO_PROFILE_HOST_STRIP=false`: a setting of
# the profile changes the hashes in every function's name, and the PGO profile, made with the
# profile as it is, would then match almost nothing (the host was 7 % faster instead of 30 %). To
# profile the host with its symbols, make both with it: `CARGO_PROFILE_HOST_STRIP=false make
# host-profile bench`.
bench: component $(HOST_PROFILE)
	@test -x $(PEER_ENV)/bin/prometheus-mcp-server || (python3 -m venv $(PEER_ENV) && $(PEER_ENV)/bin/pip install -q --disable-pip-version-check -r tests/bench/requirements.txt)
	$(HOST_BUILD) --bin proms-mcp --bin bench
	PROMS_MCP_COMPONENT=$(abspath $(COMPONENT)) PROMS_MCP_PEER=$(PEER_ENV)/bin/prometheus-mcp-server $(TARGET_DIR)/host/bench

.PHONY: soak
# SOAK_CLIENTS (64) MCP clients for SOAK_SECONDS (300) against Prometheus and a backend that never
# answers, with failing calls mixed in; fails on a lost or malformed answer or growing memory.
# Built as `bench` builds it, so that one host build serves both.
soak: component $(HOST_PROFILE)
	$(HOST_BUILD) --bin proms-mcp --bin soak
	PROMS_MCP_COMPONENT=$(abspath $(COMPONENT)) $(TARGET_DIR)/host/soak

.PHONY: fuzz
# Each fuzz target for FUZZ_SECONDS (cargo-fuzz on the nightly toolchain), after replaying the inputs
# that once crashed it (fuzz/regressions/<target>/). A crash stops the run and leaves its input in
# fuzz/artifacts/<target>/: fix it and keep the input in fuzz/regressions/<target>/. Hand-written
# seeds live in fuzz/seeds/<target>/; what the fuzzer finds goes to the untracked fuzz/corpus/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := datasources promql filter formula tool_arguments times request_path
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  if [ -d regressions/$$t ]; then cargo +nightly fuzz run $$t regressions/$$t -- -runs=0 || exit 1; fi; \
	  mkdir -p corpus/$$t; \
	  cargo +nightly fuzz run $$t corpus/$$t $$(test -d seeds/$$t && echo seeds/$$t) -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 || exit 1; \
	done

.PHONY: lint
lint: wasm-target
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p proms-mcp --lib --target $(WASM_TARGET) -- -D warnings
	CARGO_TARGET_DIR=$(SERVER_DIR) cargo clippy -p proms-mcp --lib --target $(WASM_TARGET) --features server-world -- -D warnings
	cargo fmt --manifest-path host-test/tests/spin-adapter/Cargo.toml -- --check
	CARGO_TARGET_DIR=$(TARGET_DIR)/spin-adapter cargo clippy --manifest-path host-test/tests/spin-adapter/Cargo.toml --target $(WASM_TARGET) -- -D warnings
