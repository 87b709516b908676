//! Where each call's CPU goes, at concurrency 8: the host's CPU time per `tools/call` (user plus
//! system over all its threads, from `/proc/<pid>/stat`, divided by the calls answered), the
//! Prometheus CPU behind it, Prometheus' CPU per direct request, and the peer's CPU per call.
//! CPU per call hardly depends on what else the machine is doing, unlike latency and throughput, so
//! these figures compare across runs on a busy machine.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use host_test::dev::backends::Backend;
use host_test::dev::demo_data::DemoData;
use host_test::dev::process::cpu_seconds;

use super::peer::Peer;
use super::{Workload, mcp_call, measure, ok};

/// Concurrency of these runs: enough to keep both cores busy.
const CONCURRENCY: usize = 8;

/// Runs `send` at [`CONCURRENCY`] for the bench's fixed time; returns the CPU seconds each of `pids`
/// used per answered request, in milliseconds.
async fn cpu_per_request<F, Fut>(pids: &[u32], send: F) -> Vec<Option<f64>>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let answered = Arc::new(AtomicU64::new(0));
    let before: Vec<Option<f64>> = pids.iter().map(|p| cpu_seconds(*p)).collect();
    let counter = answered.clone();
    let send = Arc::new(send);
    measure(CONCURRENCY, move || {
        let (send, counter) = (send.clone(), counter.clone());
        async move {
            let ok = send().await;
            if ok {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            ok
        }
    })
    .await;
    let calls = answered.load(Ordering::Relaxed).max(1) as f64;
    pids.iter()
        .zip(before)
        .map(|(pid, before)| Some((cpu_seconds(*pid)? - before?) * 1000.0 / calls))
        .collect()
}

fn cell(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

/// Prints the CPU table for `workloads`; `post` sends a `tools/call` body to our host.
pub async fn table<P, F>(
    workloads: &[Workload],
    post: &P,
    client: &reqwest::Client,
    prometheus: &Backend,
    host_pid: u32,
    peer: Option<&Peer>,
    data: &DemoData,
) where
    P: Fn(String) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    println!();
    println!(
        "| workload (c={CONCURRENCY}) | host CPU ms/call | Prometheus CPU ms/call behind MCP | Prometheus CPU ms/request direct | peer CPU ms/call | Prometheus CPU ms/call behind the peer |"
    );
    println!("|---|---|---|---|---|---|");
    for w in workloads {
        let body = json_call(w);
        let mcp = cpu_per_request(&[host_pid, prometheus.pid()], mcp_call(post, body)).await;
        let direct = {
            let (client, url, form) = (
                client.clone(),
                format!("{}{}", prometheus.url, w.direct.0),
                w.direct.1.clone(),
            );
            let get = url.contains("/label/");
            cpu_per_request(&[prometheus.pid()], move || {
                let request = if get {
                    client.get(&url).query(&form).send()
                } else {
                    client.post(&url).form(&form).send()
                };
                async move { ok(request.await).await }
            })
            .await
        };
        let by_peer = match (peer, peer.and_then(|_| Peer::call_body(w, data))) {
            (Some(peer), Some(body)) => {
                let endpoint = peer.endpoint();
                cpu_per_request(&[peer.process.0.id(), prometheus.pid()], move || {
                    let request = endpoint.post(body.clone()).send();
                    async move { ok(request.await).await }
                })
                .await
            }
            _ => vec![None, None],
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            w.name,
            cell(mcp[0]),
            cell(mcp[1]),
            cell(direct[0]),
            cell(by_peer[0]),
            cell(by_peer[1]),
        );
    }
}

fn json_call(w: &Workload) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": w.tool, "arguments": w.arguments}}).to_string()
}
