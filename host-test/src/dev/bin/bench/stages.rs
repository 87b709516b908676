//! Where one call's time goes at concurrency 1, from the host's own duration histograms
//! (`/metrics` on the health port, scraped before and after each c=1 MCP run): the whole MCP
//! request as the host served it, the tool call inside it (the sandbox and the guest), and the
//! backend request inside that (per request to Prometheus: the host's pooled client up to the
//! response headers, plus Prometheus' own time), next to the same request sent directly. Each
//! step's difference is what that layer adds: the MCP front (HTTP, JSON-RPC, rmcp), the sandbox
//! and guest, and the outbound path with Prometheus' cost of waking up between a proxy's
//! requests. Means, not percentiles: the histograms keep only sums and counts exactly.

use std::collections::HashMap;
use std::time::Duration;

/// The host's duration histograms at one moment: (sum seconds, count) by series.
pub struct Durations(HashMap<String, (f64, f64)>);

/// The host's histograms now; `None` if `/metrics` cannot be read.
pub async fn scrape(client: &reqwest::Client, health: u16) -> Option<Durations> {
    let url = format!("http://127.0.0.1:{health}/metrics");
    let text = client.get(url).send().await.ok()?.text().await.ok()?;
    let mut series = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (metric, labels) = name.split_at(name.find('{').unwrap_or(name.len()));
        let (base, is_sum) = match metric.strip_suffix("_sum") {
            Some(base) => (base, true),
            None => match metric.strip_suffix("_count") {
                Some(base) => (base, false),
                None => continue,
            },
        };
        let (sum, count) = series
            .entry(format!("{base}{labels}"))
            .or_insert((0.0, 0.0));
        *if is_sum { sum } else { count } = value;
    }
    Some(Durations(series))
}

/// One workload's c=1 figures.
pub struct Stages {
    workload: &'static str,
    /// Mean of each host histogram over the run: MCP request, tool call, backend request.
    host: [Option<f64>; 3],
    /// Mean latency the load generator saw, through MCP and directly.
    client_mcp: Duration,
    client_direct: Duration,
}

impl Stages {
    /// The means between `before` and `after` for a run of `tool` against the `prometheus`
    /// datasource.
    pub fn new(
        workload: &'static str,
        tool: &str,
        before: &Durations,
        after: &Durations,
        client_mcp: Duration,
        client_direct: Duration,
    ) -> Stages {
        let mean = |key: String| {
            let (s0, c0) = before.0.get(&key).copied().unwrap_or_default();
            let (s1, c1) = after.0.get(&key)?;
            (c1 - c0 > 0.0).then(|| (s1 - s0) / (c1 - c0))
        };
        Stages {
            workload,
            host: [
                mean("mcp_http_request_duration_seconds{path=\"/mcp\"}".into()),
                mean(format!("mcp_tool_call_duration_seconds{{tool=\"{tool}\"}}")),
                mean("mcp_backend_request_duration_seconds{datasource=\"prometheus\"}".into()),
            ],
            client_mcp,
            client_direct,
        }
    }
}

/// Prints the table of `rows`.
pub fn table(rows: &[Stages]) {
    let ms = |s: Option<f64>| s.map_or("?".into(), |s| format!("{:.3}", s * 1000.0));
    let minus = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
    println!();
    println!(
        "| workload (c=1, means, ms) | client: MCP | host: MCP request | tool call | backend request | client: direct | front (request - tool call) | sandbox and guest (tool call - backend) | outbound and wake-up (backend - direct) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let [request, call, backend] = r.host;
        let direct = Some(r.client_direct.as_secs_f64());
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.workload,
            ms(Some(r.client_mcp.as_secs_f64())),
            ms(request),
            ms(call),
            ms(backend),
            ms(direct),
            ms(minus(request, call)),
            ms(minus(call, backend)),
            ms(minus(backend, direct)),
        );
    }
}
