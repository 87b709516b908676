//! Integration tests: the real `proms-mcp` binary serving the real `plugin` component, driven by rmcp's
//! MCP client over Streamable HTTP, against a real Prometheus and a real VictoriaMetrics started on
//! 127.0.0.1 with deterministic data. Every process a test starts is stopped when its fixture drops.
//!
//! The component must be built first (`make test` does it; the path comes from `PROMS_MCP_COMPONENT`
//! or the default build location).

mod auth;
mod clients;
mod compiled_code;
mod conformance;
mod contract;
mod deploy;
mod egress;
mod errors;
mod faults;
mod fixture;
mod loki_tempo;
mod records;
mod server_world;
mod spin_manifest;
mod telemetry;
mod tools;
mod toolset;
