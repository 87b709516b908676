//! `make host`'s training run for profile-guided optimisation (README, "Building the shipped host").
//!
//! Usage: `pgo-train <instrumented proms-mcp> <profile dir>`, with `PROMS_MCP_COMPONENT` set. Starts a
//! local Prometheus with the demo data and the instrumented host (built with `-Cprofile-generate`) on
//! loopback, then sends through MCP what the shipped host spends its time on: every tool once on the
//! demo data (`dev::sizes`, metrics tools only: no ClickHouse here), the bench's four workloads
//! (`dev::workloads`) at concurrency 1, 8 and 64, and the requests rmcp answers (`initialize`,
//! `tools/list`, `prompts/list`, `ping`, a few times each). Then it stops the host with SIGTERM, so that
//! the host writes its counts to `<profile dir>/host-<pid>.profraw` as it exits; `make host` merges
//! them with `llvm-profdata` and builds the shipped host with `-Cprofile-use`. A first start, whose
//! counts are not kept, compiles the component into the cache the trained host then loads.
//!
//! It fails when the host answers an error or writes no profile: a profile of failing calls would
//! optimise the wrong paths. Loopback only; every process it starts is stopped when it returns.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use host_test::dev::backends;
use host_test::dev::demo_data::DemoData;
use host_test::dev::process::Stopped;
use host_test::dev::sizes::size_calls;
use host_test::dev::workloads::workloads;
use serde_json::{Value, json};

/// How long each workload is sent at each concurrency.
const SECONDS_PER_POINT: f64 = 2.0;
const CONCURRENCY: [usize; 3] = [1, 8, 64];
/// The protocol version of the plain calls (the host's direct path); `initialize` goes to rmcp.
const PROTOCOL_VERSION: &str = "2025-11-25";

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(host_binary), Some(profile_dir), None) = (args.next(), args.next(), args.next())
    else {
        anyhow::bail!("usage: pgo-train <instrumented proms-mcp> <profile dir>");
    };
    let (host_binary, profile_dir) = (PathBuf::from(host_binary), PathBuf::from(profile_dir));
    let component = std::env::var("PROMS_MCP_COMPONENT").map(PathBuf::from)?;
    std::fs::create_dir_all(&profile_dir)?;

    let data = DemoData::new_ending_near_now();
    let prometheus = backends::start_prometheus(&data)?;
    let dir = tempfile::tempdir()?;
    let datasources = dir.path().join("datasources.yaml");
    std::fs::write(&datasources, prometheus.datasources_file())?;
    let port = backends::free_loopback_port()?;
    let health = backends::free_loopback_port()?;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let post = move |body: String| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .body(body)
            .send()
    };
    let call = |tool: &str, arguments: &Value| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}).to_string()
    };
    let start_host = |counts: PathBuf| {
        let host = Command::new(&host_binary)
            .arg("serve")
            .env("GRAFANA_DATASOURCES_PATH", &datasources)
            .env("PROMS_MCP_COMPONENT", &component)
            .env("PROMS_MCP_CACHE_DIR", dir.path().join("cache"))
            .env("AUTH_MODE", "none")
            .env("PORT", port.to_string())
            .env("HEALTH_METRICS_PORT", health.to_string())
            .env("LOG_LEVEL", "warn")
            // Where the instrumented host writes its counts (this overrides the build's path).
            .env("LLVM_PROFILE_FILE", counts.as_os_str())
            .stdout(Stdio::null())
            .spawn()
            .map(Stopped);
        let post = post.clone();
        async move {
            let host = host?;
            let started = Instant::now();
            loop {
                let sent = post(call("list_datasources", &json!({}))).await;
                if matches!(sent, Ok(r) if r.status().is_success()) {
                    return anyhow::Ok(host);
                }
                anyhow::ensure!(
                    started.elapsed() < Duration::from_secs(120),
                    "the host did not answer"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    // A first start compiles the component into the cache; its counts are left out, or the
    // compiler (run once per component and host, not per call) would outweigh serving in the
    // profile and the serving code would be optimised as if it were rarely run.
    drop(start_host(dir.path().join("compile-%p.profraw")).await?);
    let host = start_host(profile_dir.join("host-%p.profraw")).await?;

    let mut calls = 0;
    for c in size_calls(&data).iter().filter(|c| !c.needs_clickhouse()) {
        let answer: Value = post(call(c.tool, &c.arguments)).await?.json().await?;
        anyhow::ensure!(answer["result"]["isError"] == false, "{}: {answer}", c.name);
        calls += 1;
    }
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "pgo-train", "version": "0"}}});
    // As often as a client sends them: once per session, not under load.
    for request in [
        initialize,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "prompts/list"}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
    ] {
        for _ in 0..20 {
            let answer: Value = post(request.to_string()).await?.json().await?;
            anyhow::ensure!(answer.get("result").is_some(), "{request}: {answer}");
            calls += 1;
        }
    }
    for w in workloads(&data) {
        for c in CONCURRENCY {
            calls += send_for(&post, call(w.tool, &w.arguments), c, SECONDS_PER_POINT).await?;
        }
    }

    let pid = host.0.id();
    drop(host); // SIGTERM: the host drains, exits and writes its profile.
    let written = profile_dir.join(format!("host-{pid}.profraw"));
    anyhow::ensure!(
        written.metadata().is_ok_and(|m| m.len() > 0),
        "the host wrote no profile to {} (was it built with -Cprofile-generate?)",
        written.display()
    );
    eprintln!(
        "pgo-train: {calls} requests answered; profile {}",
        written.display()
    );
    Ok(())
}

/// Sends `body` from `concurrency` tasks for `seconds`; the requests answered, or an error if any
/// answer was not a success.
async fn send_for<P, F>(
    post: &P,
    body: String,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<usize>
where
    P: Fn(String) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (post, body, answered) = (post.clone(), body.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let response = post(body.clone()).await?;
                let status = response.status();
                let answer: Value = response.json().await?;
                anyhow::ensure!(
                    status.is_success()
                        && answer.get("result").is_some()
                        && answer["result"]["isError"] != true,
                    "{status}: {answer}"
                );
                answered.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(answered.load(Ordering::Relaxed))
}
