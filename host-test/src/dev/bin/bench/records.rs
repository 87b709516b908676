//! The logs and traces tools against the same SQL sent straight to ClickHouse (our HTTP front over
//! ClickHouse's engine, `dev::clickhouse`). The SQL is what the tool itself sends: each call is run
//! once natively through `proms_mcp::tools::call` with an HTTP client that forwards every request
//! to ClickHouse and records it, and the direct side replays those requests in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proms_mcp::datasources::DatasourceSet;
use proms_mcp::http::{HttpClient, HttpError, HttpRequest, HttpResponse, Method};
use serde_json::{Value, json};

use super::{failures, mcp_call, measure, ms, ok};

/// The calls measured: (name, tool, arguments).
fn calls() -> Vec<(&'static str, &'static str, Value)> {
    let window = |mut v: Value| {
        v["datasource_id"] = json!("otel");
        v["from_time"] = json!("now-1h");
        v["to_time"] = json!("now");
        v
    };
    vec![
        (
            "search_logs level = ERROR",
            "search_logs",
            window(json!({"filters": "level = ERROR", "limit": 20})),
        ),
        (
            "analyze_traces count by service",
            "analyze_traces",
            window(json!({"aggregation": {"function": "count"}, "groupBy": ["service"]})),
        ),
        (
            "analyze_traces p95(duration) by service",
            "analyze_traces",
            window(
                json!({"aggregation": {"function": "p95", "field": "duration"}, "groupBy": ["service"]}),
            ),
        ),
    ]
}

/// Forwards each request to the real server and keeps a copy of it.
struct Recorder {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    seen: Mutex<Vec<HttpRequest>>,
}

impl HttpClient for Recorder {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.seen.lock().unwrap().push(request.clone());
        let answer = self.runtime.block_on(async {
            let response = send(&self.client, request).await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>(HttpResponse {
                status,
                body: response.bytes().await?.to_vec(),
            })
        });
        answer.map_err(|e| HttpError::Connect(e.to_string()))
    }
}

fn send(
    client: &reqwest::Client,
    request: &HttpRequest,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + use<> {
    let mut builder = match request.method {
        Method::Get => client.get(&request.url),
        Method::Post => client.post(&request.url),
    };
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    builder.send()
}

/// The requests `tool` sends for `arguments`, recorded while it runs against the real server.
async fn recorded(
    set: Arc<DatasourceSet>,
    client: &reqwest::Client,
    tool: &'static str,
    arguments: Value,
) -> anyhow::Result<Vec<HttpRequest>> {
    let recorder = Arc::new(Recorder {
        client: client.clone(),
        runtime: tokio::runtime::Handle::current(),
        seen: Mutex::new(Vec::new()),
    });
    let r = recorder.clone();
    let result = tokio::task::spawn_blocking(move || {
        let ctx = proms_mcp::tools::Context {
            datasources: &set,
            http: r.as_ref(),
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default(),
            timeout: Duration::from_secs(30),
        };
        proms_mcp::tools::call(&ctx, tool, arguments).map_err(|e| anyhow::anyhow!("{e:?}"))
    })
    .await??;
    anyhow::ensure!(result["isError"] == false, "{tool}: {result}");
    let seen = std::mem::take(&mut *recorder.seen.lock().unwrap());
    Ok(seen)
}

/// Prints MCP against direct SQL for each call at concurrency 1 and 8. `post` sends one JSON-RPC
/// body to the host; `datasources` is the file the host serves.
pub async fn table<P, F>(
    post: &P,
    client: &reqwest::Client,
    datasources: &str,
) -> anyhow::Result<()>
where
    P: Fn(String) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let set = Arc::new(proms_mcp::datasources::parse(
        datasources,
        "bench",
        &|_| None,
    )?);
    println!();
    println!(
        "| logs/traces call (ClickHouse) | c | MCP p50 ms | MCP req/s | same SQL direct p50 ms | direct req/s | SQL requests per call | overhead p50 ms | throughput ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, tool, arguments) in calls() {
        let requests = recorded(set.clone(), client, tool, arguments.clone()).await?;
        let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}})
        .to_string();
        for c in [1, 8] {
            let mcp = measure(c, mcp_call(post, body.clone())).await;
            let direct = {
                let (client, requests) = (client.clone(), Arc::new(requests.clone()));
                measure(c, move || {
                    let (client, requests) = (client.clone(), requests.clone());
                    async move {
                        for r in requests.iter() {
                            if !ok(send(&client, r).await).await {
                                return false;
                            }
                        }
                        true
                    }
                })
                .await
            };
            println!(
                "| {name} | {c} | {} | {:.0} | {} | {:.0} | {} | {} | {:.0}% |{}",
                ms(mcp.p50),
                mcp.per_second,
                ms(direct.p50),
                direct.per_second,
                requests.len(),
                ms(mcp.p50.saturating_sub(direct.p50)),
                100.0 * mcp.per_second / direct.per_second.max(1.0),
                failures(&mcp, &direct),
            );
        }
    }
    Ok(())
}
