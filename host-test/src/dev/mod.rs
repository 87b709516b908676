//! Test and development tooling, not part of the server.
//!
//! What `proms-mcp demo`, `make bench`, `make soak` and the integration tests start and watch:
//! - [`demo_data`]: the deterministic demo data set and what queries on it must return;
//! - [`backends`]: real Prometheus and VictoriaMetrics processes on loopback, loaded with that data;
//! - [`clickhouse`]: ClickHouse's engine behind our HTTP front, with seeded OpenTelemetry logs and spans;
//! - [`qryn`]: qryn (Loki's and Tempo's HTTP APIs over that ClickHouse), loaded with the same logs and spans;
//! - [`demo`]: what `proms-mcp demo` serves: those backends and a datasources file naming them;
//! - [`process`]: child processes stopped on drop, and their `/proc` figures (bench, soak, tests);
//! - [`sizes`]: the calls of every tool whose answer sizes the tests and the bench print;
//! - [`workloads`]: the calls the bench measures and the shipped host's profile is trained on;
//! - `bin/`: the sources of the `bench`, `soak` and `pgo-train` binaries (`[[bin]]` in `Cargo.toml`), not modules.
//!
//! The server (`serve`, `serve-component`) uses none of it; only the `demo` subcommand does.

pub mod backends;
pub mod clickhouse;
pub mod demo;
pub mod demo_data;
pub mod process;
pub mod qryn;
pub mod sizes;
pub mod workloads;
