//! host-test: the native wasmtime host of proms-mcp, shipped as the `proms-mcp` binary (`src/main.rs`).
//!
//! It serves MCP over Streamable HTTP at `/mcp` (and `/mcp/`), runs every tool call in the `plugin`
//! WebAssembly component, and exposes `/health` and `/metrics` on a second port. The MCP protocol
//! itself is `proms_mcp::front` (target-independent); this crate is the glue around it.
//!
//! The server:
//! - [`config`]: host settings from the environment (`PORT`, `HEALTH_METRICS_PORT`, `LOG_LEVEL`, …).
//! - [`runtime`]: wasmtime: engine, pooling, deadlines, the per-call store; implements `ToolProvider`.
//! - [`auth`]: the HTTP client to the Kubernetes API behind bearer authentication (`AUTH_MODE=active`).
//! - [`egress`]: the outbound-HTTP policy (configured datasource origins only, their TLS settings).
//! - [`server`]: the HTTP listeners; the MCP port itself is `proms_mcp::front::serve`.
//! - [`metrics`]: the `/metrics` exposition.
//! - [`platform`]: the key-value store and variables the `server` component imports (as Spin has).
//!
//! Not the server: [`dev`], test and development tooling — the demo data and the local Prometheus and
//! VictoriaMetrics of `proms-mcp demo` and the tests, process helpers, and the `bench` and `soak`
//! binaries' sources.
#![deny(missing_docs)]

pub mod auth;
mod bindings;
pub mod config;
pub mod egress;
pub mod metrics;
pub mod platform;
pub mod runtime;
pub mod server;

pub mod dev;
