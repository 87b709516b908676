//! `make bench`: proms-mcp against the same Prometheus queried directly, in one run.
//!
//! Starts a local Prometheus with the demo data and the host (`proms-mcp serve`, the binary next to
//! this one) on loopback, then for each workload and concurrency sends requests for a fixed time
//! through MCP (`tools/call` over Streamable HTTP) and directly to Prometheus' HTTP API, and prints
//! latency percentiles, throughput and their ratio, where a call's time goes at c=1 layer by layer
//! (`bench/stages.rs`), plus the host's peak RSS, time from start to first
//! answer, component size, the cost of a call that only instantiates the component, and the bytes of
//! tool content per call; then the answer size of every tool on the demo data (`dev::sizes`; the
//! logs and traces tools when ClickHouse's engine is installed) and of `tools/list`; with ClickHouse,
//! also `search_logs` and `analyze_traces` against the same SQL sent directly (`bench/records.rs`).
//! Numbers, not assertions: targets are judged by a person.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use host_test::dev::backends;
use host_test::dev::clickhouse::ClickHouse;
use host_test::dev::demo_data::DemoData;
use host_test::dev::process::{self, Stopped};
use host_test::dev::sizes::size_calls;
use host_test::dev::workloads::{Workload, workloads};
use serde_json::{Value, json};

// The bench's own modules live in `bench/` beside this file (a binary's root looks in its own
// directory, which the soak shares).
#[path = "bench/cpu.rs"]
mod cpu;
#[path = "bench/peer.rs"]
mod peer;
#[path = "bench/records.rs"]
mod records;
#[path = "bench/shipped.rs"]
mod shipped;
#[path = "bench/stages.rs"]
mod stages;

const SECONDS_PER_POINT: f64 = 3.0;
const CONCURRENCY: [usize; 3] = [1, 8, 64];

struct Stats {
    mean: Duration,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    per_second: f64,
    errors: usize,
}

/// Runs `send` from `concurrency` tasks for a fixed time.
async fn measure<F, Fut>(concurrency: usize, send: F) -> Stats
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let send = Arc::new(send);
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(SECONDS_PER_POINT);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < until {
                let t = Instant::now();
                if send().await {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let total: Duration = all.iter().sum();
    Stats {
        mean: total / (all.len().max(1) as u32),
        p50: pick(0.50),
        p95: pick(0.95),
        p99: pick(0.99),
        per_second: all.len() as f64 / elapsed,
        errors,
    }
}

/// Sends `body` with `post` and reads the answer to its end: the MCP side of every measurement.
fn mcp_call<P, F>(
    post: &P,
    body: String,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + Sync + 'static
where
    P: Fn(String) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let post = post.clone();
    move || {
        let request = post(body.clone());
        Box::pin(async move { ok(request.await).await })
    }
}

/// A successful answer, read to the end.
async fn ok(response: reqwest::Result<reqwest::Response>) -> bool {
    match response {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// A table row's note of failed requests (MCP / direct), empty when none failed.
fn failures(mcp: &Stats, direct: &Stats) -> String {
    if mcp.errors + direct.errors > 0 {
        format!(" errors: {}/{}", mcp.errors, direct.errors)
    } else {
        String::new()
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    process::status_field(pid, "VmHWM:")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let component = std::env::var("PROMS_MCP_COMPONENT").map(PathBuf::from)?;
    let data = DemoData::new_ending_near_now();
    let prometheus = backends::start_prometheus(&data)?;
    // For the logs and traces tools: their answer sizes, and their calls against the same SQL.
    let clickhouse = ClickHouse::start("now", &[])
        .inspect_err(|e| eprintln!("ClickHouse not started, logs and traces sizes skipped: {e:#}"))
        .ok();
    let dir = tempfile::tempdir()?;
    let datasources = dir.path().join("datasources.yaml");
    let datasources_text = format!(
        "{}{}",
        prometheus.datasources_file(),
        clickhouse
            .as_ref()
            .map(|ch| ch.datasource_entry("otel", ""))
            .unwrap_or_default()
    );
    std::fs::write(&datasources, &datasources_text)?;
    let port = backends::free_loopback_port()?;
    let health = backends::free_loopback_port()?;
    let exe = std::env::current_exe()?.with_file_name("proms-mcp");
    let mcp_url = format!("http://127.0.0.1:{port}/mcp");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let call_body = |id: u64, tool: &str, arguments: &Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}).to_string()
    };
    let post = {
        let (client, url) = (client.clone(), mcp_url.clone());
        move |body: String| {
            client
                .post(&url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .body(body)
                .send()
        }
    };

    // Compiled code goes to a fresh cache: the first start compiles, the second (at the end) loads.
    let cache = tempfile::tempdir()?;
    let start_host = || {
        let (post, exe, datasources, component, cache) = (
            post.clone(),
            exe.clone(),
            datasources.clone(),
            component.clone(),
            cache.path().to_path_buf(),
        );
        async move {
            let spawned = Instant::now();
            let host = Stopped(
                Command::new(&exe)
                    .arg("serve")
                    .env("GRAFANA_DATASOURCES_PATH", &datasources)
                    .env("PROMS_MCP_COMPONENT", &component)
                    .env("PROMS_MCP_CACHE_DIR", &cache)
                    .env("AUTH_MODE", "none")
                    .env("PORT", port.to_string())
                    .env("HEALTH_METRICS_PORT", health.to_string())
                    .env("LOG_LEVEL", "warn")
                    .stdout(Stdio::null())
                    .spawn()?,
            );
            let first = call_body(0, "list_datasources", &json!({}));
            loop {
                if let Ok(r) = post(first.clone()).await
                    && r.status().is_success()
                {
                    return anyhow::Ok((host, spawned.elapsed()));
                }
                anyhow::ensure!(
                    spawned.elapsed() < Duration::from_secs(60),
                    "the host did not answer"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    let (host, first_answer) = start_host().await?;
    let compiling_rss = peak_rss_kib(host.0.id());
    // What a server that compiled at start keeps for the rest of its life.
    let compiled_rss = process::status_field(host.0.id(), "VmRSS:");
    drop(host);
    // The measured host starts as a restarted pod would: with the compiled code cached.
    let (host, warm) = start_host().await?;
    let idle_rss = peak_rss_kib(host.0.id());
    let peer = peer::start(&prometheus.url, &client).await;

    println!(
        "| workload | c | MCP p50 ms | p95 | p99 | MCP req/s | direct p50 ms | p95 | p99 | direct req/s | overhead p50 ms | throughput ratio | content bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut stages = Vec::new();
    for w in workloads(&data) {
        let body = call_body(1, w.tool, &w.arguments);
        let sample: Value = post(body.clone()).await?.json().await?;
        let content = sample["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .len();
        anyhow::ensure!(sample["result"]["isError"] == false, "{}: {sample}", w.name);
        let direct_url = format!("{}{}", prometheus.url, w.direct.0);
        let form = w.direct.1.clone();
        for c in CONCURRENCY {
            let before = if c == 1 {
                stages::scrape(&client, health).await
            } else {
                None
            };
            let mcp = measure(c, mcp_call(&post, body.clone())).await;
            let after = match before {
                Some(_) => stages::scrape(&client, health).await,
                None => None,
            };
            let direct = {
                let (client, url, form) = (client.clone(), direct_url.clone(), form.clone());
                let get = url.contains("/label/");
                measure(c, move || {
                    let request = if get {
                        client.get(&url).query(&form).send()
                    } else {
                        client.post(&url).form(&form).send()
                    };
                    async move { ok(request.await).await }
                })
                .await
            };
            println!(
                "| {} | {c} | {} | {} | {} | {:.0} | {} | {} | {} | {:.0} | {} | {:.0}% | {content} |{}",
                w.name,
                ms(mcp.p50),
                ms(mcp.p95),
                ms(mcp.p99),
                mcp.per_second,
                ms(direct.p50),
                ms(direct.p95),
                ms(direct.p99),
                direct.per_second,
                ms(mcp.p50.saturating_sub(direct.p50)),
                100.0 * mcp.per_second / direct.per_second.max(1.0),
                failures(&mcp, &direct),
            );
            if let Some(peer) = &peer {
                peer.row(&w, &data, c, &direct).await;
            }
            if let (Some(before), Some(after)) = (&before, &after) {
                stages.push(stages::Stages::new(
                    w.name,
                    w.tool,
                    before,
                    after,
                    mcp.mean,
                    direct.mean,
                ));
            }
        }
    }
    // Where a c=1 call's time goes, layer by layer, from the host's own histograms.
    stages::table(&stages);
    // Where each call's CPU goes: host, Prometheus behind it, and the peer, per call at c=8.
    cpu::table(
        &workloads(&data),
        &post,
        &client,
        &prometheus,
        host.0.id(),
        peer.as_ref(),
        &data,
    )
    .await;
    if clickhouse.is_some() {
        records::table(&post, &client, &datasources_text).await?;
    }
    // A call that only instantiates the component and answers from configuration.
    let body = call_body(2, "list_datasources", &json!({}));
    let instantiate = measure(1, mcp_call(&post, body)).await;
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    let mib = |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    println!(
        "| start to first answer, compiling the component | {} ms |",
        ms(first_answer)
    );
    println!(
        "| start to first answer, compiled code cached | {} ms |",
        ms(warm)
    );
    println!(
        "| host peak RSS, first start (compiling) | {} MiB |",
        mib(compiling_rss)
    );
    println!(
        "| host RSS after the first answer, first start (compiling) | {} MiB |",
        mib(compiled_rss)
    );
    println!(
        "| host peak RSS after the first answer (cached start) | {} MiB |",
        mib(idle_rss)
    );
    println!(
        "| host peak RSS over the whole run (c up to 64) | {} MiB |",
        mib(peak_rss_kib(host.0.id()))
    );
    println!(
        "| plugin component | {:.2} MiB |",
        std::fs::metadata(&component)?.len() as f64 / 1048576.0
    );
    println!(
        "| list_datasources (instantiate + answer, no backend) p50 | {} ms |",
        ms(instantiate.p50)
    );
    // Answer sizes: the text block a model reads, and the whole result (text plus
    // structuredContent) the client receives.
    println!();
    println!("| answer of | text bytes | result bytes |");
    println!("|---|---|---|");
    for call in size_calls(&data) {
        if call.needs_clickhouse() && clickhouse.is_none() {
            continue;
        }
        let answer: Value = post(call_body(3, call.tool, &call.arguments))
            .await?
            .json()
            .await?;
        let result = &answer["result"];
        anyhow::ensure!(result["isError"] == false, "{}: {answer}", call.name);
        println!(
            "| {} | {} | {} |",
            call.name,
            result["content"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .len(),
            result.to_string().len()
        );
    }
    let list = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}).to_string();
    let tools: Value = post(list).await?.json().await?;
    println!("| tools/list | | {} |", tools["result"].to_string().len());
    drop(host);
    drop(peer);
    // The shipped image's first start: code compiled at image build, empty cache.
    match shipped::first_answer(&exe, &component, &datasources, port, health).await {
        Ok(t) => println!(
            "| start to first answer, compiled at image build (`proms-mcp compile`), empty cache | {} ms |",
            ms(t)
        ),
        Err(e) => println!("| start to first answer, compiled at image build | failed: {e:#} |"),
    }
    Ok(())
}
