//! First answer of a fresh start on the shipped image: the component compiled ahead of time by
//! `proms-mcp compile` (as the Containerfile does at image build) and an empty compiled-code cache,
//! as a new pod of a new version starts.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use host_test::dev::process::Stopped;
use serde_json::json;

/// Compiles `component` into a fresh directory, then starts `exe serve` with it and an empty cache
/// and returns the time from spawning the server to its first `tools/call` answer.
pub async fn first_answer(
    exe: &Path,
    component: &Path,
    datasources: &Path,
    port: u16,
    health: u16,
) -> anyhow::Result<Duration> {
    let compiled = tempfile::tempdir()?;
    let shipped = compiled.path().join("compiled");
    let status = Command::new(exe)
        .arg("compile")
        .arg(&shipped)
        .env("PROMS_MCP_COMPONENT", component)
        .env("GRAFANA_DATASOURCES_PATH", datasources)
        .env("AUTH_MODE", "none")
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "proms-mcp compile failed");
    let cache = tempfile::tempdir()?;
    let client = reqwest::Client::new();
    let first = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/call", "params": {"name": "list_datasources", "arguments": {}}}).to_string();
    let spawned = Instant::now();
    let _host = Stopped(
        Command::new(exe)
            .arg("serve")
            .env("GRAFANA_DATASOURCES_PATH", datasources)
            .env("PROMS_MCP_COMPONENT", component)
            .env("PROMS_MCP_COMPILED_DIR", &shipped)
            .env("PROMS_MCP_CACHE_DIR", cache.path())
            .env("AUTH_MODE", "none")
            .env("PORT", port.to_string())
            .env("HEALTH_METRICS_PORT", health.to_string())
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    loop {
        if let Ok(r) = client
            .post(format!("http://127.0.0.1:{port}/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(first.clone())
            .send()
            .await
            && r.status().is_success()
        {
            return Ok(spawned.elapsed());
        }
        anyhow::ensure!(
            spawned.elapsed() < Duration::from_secs(60),
            "the host did not answer"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
