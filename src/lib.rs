//! proms-mcp: read-only MCP tools over Prometheus-compatible datasources.
//!
//! This crate is the logic of the `plugin` WebAssembly component (see `wit/proms-mcp.wit`). It compiles
//! for `wasm32-wasip2`, where [`bindings`] exports the tools through the WIT contract and backends are
//! reached through `wasi:http/outgoing-handler`, and natively, where unit tests cover the same code and
//! `host-test` reuses the datasource parser and (with the `front` feature) the MCP front.
//!
//! - [`datasources`]: the Grafana provisioning file (YAML/JSON) → [`datasources::Datasource`]s, each of
//!   a kind that serves a family (metrics, logs, traces).
//! - [`promql`]: PromQL validation before anything is sent.
//! - [`prompts`]: the MCP prompts, troubleshooting workflows that name the tools.
//! - [`filter`]: the SQL-like filter language of the logs and traces tools, parsed into a tree that
//!   backend compilers walk.
//! - [`timespec`]: times (`now-1h`, RFC 3339, Unix seconds) and durations (`30s`, `1h30m`).
//! - [`http`]: the one HTTP abstraction ([`http::HttpClient`]) every backend is reached through.
//! - [`backends`]: the one request path ([`backends::Connection`]) and a client per backend
//!   ([`backends::prometheus`]), each with its own classified errors.
//! - [`settings`]: `GRAFANA_DATASOURCES_PATH` and `QUERY_TIMEOUT`, read the same way by component and host.
//! - [`tools`]: the table of MCP tools (by family), their schemas, handlers and docs.
//! - `arena` (the component only): its allocator, a bump arena in front of `malloc`, since each
//!   call's instance is thrown away after it.
//! - `front` (feature `front`): the MCP protocol front built on rmcp, independent of any transport.
//! - `auth` (feature `front`): the bearer-token decision (Kubernetes `TokenReview`, OpenShift
//!   `users/~`), its cache, and what a refused request is told.
#![deny(missing_docs)]

#[cfg(any(target_arch = "wasm32", test))]
mod arena;
pub mod backends;
pub mod datasources;
pub mod filter;
pub mod formula;
pub mod http;
pub mod prompts;
pub mod promql;
pub mod settings;
pub mod timespec;
pub mod tools;

#[cfg(feature = "front")]
pub mod auth;
#[cfg(feature = "front")]
pub mod front;

#[cfg(target_arch = "wasm32")]
mod bindings;
