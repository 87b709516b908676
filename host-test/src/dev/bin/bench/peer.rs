//! The peer in the same run: pab1it0's `prometheus-mcp-server` (PyPI, the version pinned in
//! `tests/bench/requirements.txt`), started against the same Prometheus and measured with the same
//! requests, so that its figures sit in the same table as ours.
//!
//! It is started with its own settings for MCP over Streamable HTTP (`PROMETHEUS_MCP_SERVER_TRANSPORT=http`),
//! stateless and answering with JSON rather than SSE, as our host does; everything else is its
//! default (logging at info, to a discarded stderr). `make bench` installs it; without it
//! (`PROMS_MCP_PEER` unset or not executable) the bench prints a note and skips these rows.
//!
//! Its tools map onto ours: `execute_query`, `execute_range_query`, `list_metrics` (which it
//! answers from a cache of the metric names after the first call, so only the first call reaches
//! Prometheus). It has no tool for a label's values, so `get_label_values` has no peer row.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use host_test::dev::backends;
use host_test::dev::demo_data::DemoData;
use host_test::dev::process::Stopped;
use serde_json::{Value, json};

use super::{Stats, Workload, measure, ms, ok};

/// Environment variable: the peer's `prometheus-mcp-server` executable.
pub const PEER_ENV: &str = "PROMS_MCP_PEER";

/// The running peer and how to call it.
pub struct Peer {
    /// The process, stopped on drop.
    pub process: Stopped,
    endpoint: Endpoint,
}

/// Where the peer's MCP endpoint is.
#[derive(Clone)]
pub struct Endpoint {
    url: String,
    client: reqwest::Client,
}

impl Endpoint {
    /// A `tools/call` (or any JSON-RPC) request with `body`, with the headers our host gets too.
    pub fn post(&self, body: String) -> reqwest::RequestBuilder {
        self.client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body)
    }
}

/// Starts the peer against `prometheus_url` and waits for its first answer; `None` (with a note on
/// stderr) when it is not installed or does not answer.
pub async fn start(prometheus_url: &str, client: &reqwest::Client) -> Option<Peer> {
    let Some(exe) = std::env::var_os(PEER_ENV) else {
        eprintln!("bench: {PEER_ENV} is not set: no rows for pab1it0's prometheus-mcp-server");
        return None;
    };
    let port = backends::free_loopback_port().ok()?;
    let process = match Command::new(&exe)
        .env("PROMETHEUS_URL", prometheus_url)
        .env("PROMETHEUS_MCP_SERVER_TRANSPORT", "http")
        .env("PROMETHEUS_MCP_BIND_HOST", "127.0.0.1")
        .env("PROMETHEUS_MCP_BIND_PORT", port.to_string())
        .env("PROMETHEUS_MCP_STATELESS_HTTP", "true")
        .env("FASTMCP_JSON_RESPONSE", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => Stopped(child),
        Err(e) => {
            eprintln!("bench: cannot start {}: {e}", exe.to_string_lossy());
            return None;
        }
    };
    let peer = Peer {
        process,
        endpoint: Endpoint {
            url: format!("http://127.0.0.1:{port}/mcp"),
            client: client.clone(),
        },
    };
    let started = Instant::now();
    let probe = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list"}).to_string();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = peer.endpoint.post(probe.clone()).send().await
            && r.status().is_success()
        {
            return Some(peer);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("bench: pab1it0's prometheus-mcp-server did not answer within 60 s");
    None
}

impl Peer {
    /// How to call the peer.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint.clone()
    }

    /// The peer's `tools/call` body doing what workload `w` does, if it has such a tool.
    pub fn call_body(w: &Workload, data: &DemoData) -> Option<String> {
        let end = data.end.to_string();
        let arguments = &w.arguments;
        let (tool, arguments) = match w.tool {
            "query_instant" => (
                "execute_query",
                json!({"query": arguments["promql"], "time": end}),
            ),
            "query_range" => (
                "execute_range_query",
                json!({"query": arguments["promql"], "start": arguments["start"], "end": end, "step": arguments["step"]}),
            ),
            "list_metrics" => ("list_metrics", json!({})),
            _ => return None,
        };
        Some(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
                .to_string(),
        )
    }

    /// Sends `body` for the fixed time at concurrency `c`.
    pub async fn measure(&self, body: String, c: usize) -> Stats {
        let endpoint = self.endpoint.clone();
        measure(c, move || {
            let request = endpoint.post(body.clone()).send();
            async move { ok(request.await).await }
        })
        .await
    }

    /// Prints the peer's row for workload `w` at concurrency `c`, next to the same `direct` figures
    /// as our row, or nothing when the peer has no such tool.
    pub async fn row(&self, w: &Workload, data: &DemoData, c: usize, direct: &Stats) {
        let Some(body) = Self::call_body(w, data) else {
            return;
        };
        let content = match self.endpoint.post(body.clone()).send().await {
            Ok(r) => match r.json::<Value>().await {
                Ok(v) if v["result"]["isError"] != true => v["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .len(),
                Ok(v) => {
                    println!("| {} (pab1it0) | {c} | failed: {v} |", w.name);
                    return;
                }
                Err(e) => {
                    println!("| {} (pab1it0) | {c} | failed: {e} |", w.name);
                    return;
                }
            },
            Err(e) => {
                println!("| {} (pab1it0) | {c} | failed: {e} |", w.name);
                return;
            }
        };
        let peer = self.measure(body, c).await;
        println!(
            "| {} (pab1it0 prometheus-mcp-server) | {c} | {} | {} | {} | {:.0} | {} | {} | {} | {:.0} | {} | {:.0}% | {content} |{}",
            w.name,
            ms(peer.p50),
            ms(peer.p95),
            ms(peer.p99),
            peer.per_second,
            ms(direct.p50),
            ms(direct.p95),
            ms(direct.p99),
            direct.per_second,
            ms(peer.p50.saturating_sub(direct.p50)),
            100.0 * peer.per_second / direct.per_second.max(1.0),
            if peer.errors > 0 {
                format!(" errors: {}", peer.errors)
            } else {
                String::new()
            },
        );
    }
}
