//! Where each call's CPU goes, at concurrency 8: the host's CPU time per `tools/call` (user plus
//! system over all its threads, from `/proc/<pid>/stat`, divided by the calls answered), the
//! Prometheus CPU behind it, Prometheus' CPU per direct request (at 8 and at 1: a Go server that
//! sleeps between requests pays for waking up, and behind MCP it sleeps between most of them), and
//! the peer's CPU per call; and how much of the machine sat idle or was taken by the hypervisor
//! (steal) during the MCP run, which says whether a throughput ratio was bound by CPU and how
//! noisy the run was. CPU per call hardly depends on what else the machine is doing, unlike
//! latency and throughput, so these figures compare across runs on a busy machine.
//!
//! It also prints the machine's busy CPU time (all cores, less idle and steal) per answered
//! request, through MCP and direct: the whole budget of a call. What it holds beyond the host and
//! Prometheus is the bench's own client and kernel work charged to neither; at a given throughput
//! ratio, what the two cores leave the host follows from it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use host_test::dev::backends::Backend;
use host_test::dev::demo_data::DemoData;
use host_test::dev::process::{clock_ticks_per_second, cpu_seconds};

use super::peer::Peer;
use super::{Workload, mcp_call, measure, ok};

/// Concurrency of these runs: enough to keep both cores busy.
const CONCURRENCY: usize = 8;

/// What one run cost.
struct Run {
    /// CPU milliseconds per answered request, for each pid asked about.
    per_request: Vec<Option<f64>>,
    /// The machine over the run: idle and steal time in percent of all its CPU time, and its busy
    /// CPU milliseconds (neither idle nor steal) per answered request.
    machine: Option<Machine>,
}

/// The whole machine's CPU over one run.
struct Machine {
    idle_percent: f64,
    steal_percent: f64,
    busy_ms_per_request: f64,
}

/// The machine's CPU time so far from `/proc/stat`'s first line: (all, idle, steal), in ticks.
fn machine_ticks() -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let all: u64 = fields.iter().take(8).sum();
    Some((all, *fields.get(3)? + *fields.get(4)?, *fields.get(7)?))
}

/// Runs `send` at `concurrency` for the bench's fixed time; returns the CPU each of `pids` used per
/// answered request and the machine's idle and steal shares.
async fn cpu_per_request<F, Fut>(pids: &[u32], concurrency: usize, send: F) -> Run
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let answered = Arc::new(AtomicU64::new(0));
    let before: Vec<Option<f64>> = pids.iter().map(|p| cpu_seconds(*p)).collect();
    let machine_before = machine_ticks();
    let counter = answered.clone();
    let send = Arc::new(send);
    measure(concurrency, move || {
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
    let machine = machine_before.zip(machine_ticks()).and_then(|(b, a)| {
        let all = a.0.checked_sub(b.0).filter(|t| *t > 0)? as f64;
        let (idle, steal) = (
            a.1.saturating_sub(b.1) as f64,
            a.2.saturating_sub(b.2) as f64,
        );
        Some(Machine {
            idle_percent: 100.0 * idle / all,
            steal_percent: 100.0 * steal / all,
            busy_ms_per_request: (all - idle - steal).max(0.0) * 1000.0
                / clock_ticks_per_second()
                / calls,
        })
    });
    Run {
        per_request: pids
            .iter()
            .zip(before)
            .map(|(pid, before)| Some((cpu_seconds(*pid)? - before?) * 1000.0 / calls))
            .collect(),
        machine,
    }
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
        "| workload (c={CONCURRENCY}) | host CPU ms/call | Prometheus CPU ms/call behind MCP | Prometheus CPU ms/request direct | same, direct at c=1 | machine busy CPU ms per call / per direct request | machine idle / steal % (MCP run) | peer CPU ms/call | Prometheus CPU ms/call behind the peer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for w in workloads {
        let body = json_call(w);
        let mcp = cpu_per_request(
            &[host_pid, prometheus.pid()],
            CONCURRENCY,
            mcp_call(post, body),
        )
        .await;
        let prometheus_pid = [prometheus.pid()];
        let direct = |concurrency| {
            let (client, url, form) = (
                client.clone(),
                format!("{}{}", prometheus.url, w.direct.0),
                w.direct.1.clone(),
            );
            let get = url.contains("/label/");
            cpu_per_request(&prometheus_pid, concurrency, move || {
                let request = if get {
                    client.get(&url).query(&form).send()
                } else {
                    client.post(&url).form(&form).send()
                };
                async move { ok(request.await).await }
            })
        };
        let (direct, one_at_a_time) = (direct(CONCURRENCY).await, direct(1).await);
        let by_peer = match (peer, peer.and_then(|_| Peer::call_body(w, data))) {
            (Some(peer), Some(body)) => {
                let endpoint = peer.endpoint();
                cpu_per_request(
                    &[peer.process.0.id(), prometheus.pid()],
                    CONCURRENCY,
                    move || {
                        let request = endpoint.post(body.clone()).send();
                        async move { ok(request.await).await }
                    },
                )
                .await
                .per_request
            }
            _ => vec![None, None],
        };
        let busy = |run: &Run| cell(run.machine.as_ref().map(|m| m.busy_ms_per_request));
        println!(
            "| {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
            w.name,
            cell(mcp.per_request[0]),
            cell(mcp.per_request[1]),
            cell(direct.per_request[0]),
            cell(one_at_a_time.per_request[0]),
            busy(&mcp),
            busy(&direct),
            mcp.machine.as_ref().map_or("–".into(), |m| format!(
                "{:.0} / {:.0}",
                m.idle_percent, m.steal_percent
            )),
            cell(by_peer[0]),
            cell(by_peer[1]),
        );
    }
}

fn json_call(w: &Workload) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": w.tool, "arguments": w.arguments}}).to_string()
}
