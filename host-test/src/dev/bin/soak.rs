//! `make soak`: many concurrent MCP clients against the host for minutes, with deliberate failures
//! mixed in, checking every answer, the isolation of failing calls and the host's memory.
//!
//! Starts a local Prometheus with the demo data, a loopback "trouble" backend that accepts
//! connections and never answers, and the host (`proms-mcp serve`, the binary next to this one or
//! `SOAK_HOST_BIN`) with `QUERY_TIMEOUT=2s` and `AUTH_MODE=none`, both backends as datasources. Then:
//!
//! 1. a probe: every case once, one after the other, so a wrong expectation shows at once;
//! 2. a baseline: the normal clients alone for `SOAK_BASELINE_SECONDS` (10), for their latency;
//! 3. the soak: `SOAK_CLIENTS` (64) clients for `SOAK_SECONDS` (300). `SOAK_TROUBLE_CLIENTS`
//!    (an eighth of them) send only calls that must fail — a datasource that never answers (the
//!    deadline), invalid PromQL, bad arguments, an unknown datasource or tool, a Prometheus execution
//!    error, a range answer over the 20 MiB limit, and an 18 MB answer that must come back capped
//!    at 50,000 points (it used to exhaust the sandbox's memory) — while the others send only
//!    calls that must succeed, across every tool, with exact expected content from the demo data.
//!
//! Every answer is checked: HTTP 200, JSON-RPC 2.0 with the request's id, a `result` (or, for an
//! unknown tool, error `-32602`), `isError` as expected, and the expected content or error class.
//! Outcomes are counted as ok, expected error, lost (transport error, client timeout, HTTP status
//! other than 200) and malformed (anything else). The host's RSS, threads and open descriptors are
//! sampled every second. Each minute prints counts, latency percentiles of normal and of failing
//! calls, and RSS; the end prints per-case results, the trouble backend's connections, the host's
//! `/metrics` tool outcomes and log summary, and the verdict.
//!
//! Memory is "flat" when, after a 30 s warm-up, the highest RSS in the last third of the rest of
//! the run is at most 10 % (or 8 MiB, whichever is larger) above the highest RSS in its first
//! third. The exit status is non-zero when any answer was lost or malformed, memory was not flat,
//! or the run was interrupted (Ctrl-C, SIGTERM). Every process started here is stopped on the way
//! out, also on a panic or a signal.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use host_test::dev::backends;
use host_test::dev::demo_data::DemoData;
use host_test::dev::process::Stopped;
use serde_json::{Value, json};

// The cases and the bookkeeping live in `soak/` beside this file (a binary's root looks in its own
// directory).
#[path = "soak/cases.rs"]
mod cases;
#[path = "soak/record.rs"]
mod record;
#[path = "soak/trouble.rs"]
mod trouble;
use cases::{Case, Check, Expect, failing_cases, normal_cases};
use record::{MINUTE_HEADER, Record, Sample, mib, ms, print_minute, quantile_ms, sample};
use trouble::Trouble;

/// The host's `QUERY_TIMEOUT`: each backend request is bounded by it.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// The host stops a whole call after `2 × QUERY_TIMEOUT + 2 s` (see `runtime.rs`).
const CALL_DEADLINE: Duration = Duration::from_secs(2 * 2 + 2);
/// How long this client waits for an answer before counting it lost.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2 * 2 + 2 + 10);
/// Memory samples before this are not judged (the pool, caches and allocator settle).
const WARM_UP: Duration = Duration::from_secs(30);
/// Allowed RSS growth from the first to the last third: this fraction or [`RSS_SLACK_KIB`].
const RSS_GROWTH: f64 = 0.10;
const RSS_SLACK_KIB: u64 = 8 * 1024;

// ---------------------------------------------------------------------------------------------------------
// One call
// ---------------------------------------------------------------------------------------------------------

enum Outcome {
    Ok,
    Expected(&'static str),
    Lost(String),
    Malformed(String),
}

struct Mcp {
    client: reqwest::Client,
    url: String,
}

impl Mcp {
    async fn call(&self, id: u64, case: &Case) -> Outcome {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": case.tool, "arguments": case.arguments}})
        .to_string();
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Outcome::Lost(format!("transport: {e}")),
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Outcome::Lost(format!("HTTP {status}, reading the body: {e}")),
        };
        if status != 200 {
            return Outcome::Lost(format!(
                "HTTP {status}: {}",
                excerpt(&String::from_utf8_lossy(&bytes))
            ));
        }
        match judge(id, case, &bytes) {
            Ok(outcome) => outcome,
            Err(why) => Outcome::Malformed(why),
        }
    }
}

fn excerpt(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        s.to_string()
    } else {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} bytes)", &s[..cut], s.len())
    }
}

/// Checks one HTTP 200 body against what `case` expects.
fn judge(id: u64, case: &Case, bytes: &[u8]) -> Result<Outcome, String> {
    let text = || excerpt(&String::from_utf8_lossy(bytes));
    let answer: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e}): {}", text()))?;
    if answer["jsonrpc"] != "2.0" || answer["id"] != json!(id) {
        return Err(format!("not the JSON-RPC answer to id {id}: {}", text()));
    }
    if let Expect::RpcError(code) = case.expect {
        return if answer["error"]["code"] == json!(code) && answer.get("result").is_none() {
            Ok(Outcome::Expected("json-rpc error"))
        } else {
            Err(format!("want JSON-RPC error {code}: {}", text()))
        };
    }
    let result = answer
        .get("result")
        .ok_or_else(|| format!("no result: {}", text()))?;
    let content = result["content"][0]["text"]
        .as_str()
        .ok_or_else(|| format!("no text content: {}", text()))?;
    let tool_result = |check: &Check| {
        if result["isError"] != false {
            return Err(format!("isError: {}", text()));
        }
        let structured = &result["structuredContent"];
        let parsed: Value = serde_json::from_str(content)
            .map_err(|e| format!("text content is not JSON ({e}): {}", text()))?;
        if parsed != *structured {
            return Err(format!(
                "text content differs from structuredContent: {}",
                text()
            ));
        }
        check(structured).map_err(|e| format!("{e}; answer: {}", text()))?;
        Ok(Outcome::Ok)
    };
    let tool_error = |needles: &'static [&'static str]| {
        if result["isError"] != true {
            return Err(format!("want isError true: {}", text()));
        }
        let lower = content.to_lowercase();
        match needles.iter().find(|n| lower.contains(*n)) {
            Some(n) => Ok(Outcome::Expected(n)),
            None => Err(format!(
                "error of another class (want {needles:?}): {content}"
            )),
        }
    };
    match &case.expect {
        Expect::Result(check) => tool_result(check),
        Expect::ToolError(needles) => tool_error(needles),
        Expect::ResultOrError(check, needles) if result["isError"] == true => tool_error(needles),
        Expect::ResultOrError(check, _) => tool_result(check),
        Expect::RpcError(_) => unreachable!("handled above"),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------

fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

/// The plugin component: `PROMS_MCP_COMPONENT`, else the release build in this target dir.
fn component_path(exe: &Path) -> PathBuf {
    std::env::var_os("PROMS_MCP_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            exe.parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new("target"))
                .join("wasm32-wasip2/release/proms_mcp.wasm")
        })
}

/// A small deterministic PRNG (SplitMix64): no dependency, reproducible with `SOAK_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An index into `cases` drawn by weight.
    fn pick(&mut self, cases: &[(usize, u32)], total: u32) -> usize {
        let mut r = (self.next() % total as u64) as u32;
        for &(index, weight) in cases {
            if r < weight {
                return index;
            }
            r -= weight;
        }
        cases[cases.len() - 1].0
    }
}

// ---------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------

/// Set by Ctrl-C or SIGTERM.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn stopping(shared: &Shared) -> bool {
    shared.stop.load(Ordering::Relaxed) || INTERRUPTED.load(Ordering::Relaxed)
}

struct Shared {
    mcp: Mcp,
    cases: Vec<Case>,
    record: Mutex<Record>,
    stop: AtomicBool,
    next_id: AtomicU64,
}

/// Runs one client per entry of `clients` (the case indices, with weights, that client draws from)
/// until `until` or a stop. Returns once every client has finished its last call.
async fn run_clients(
    shared: &Arc<Shared>,
    clients: &[Vec<(usize, u32)>],
    started: Instant,
    until: Instant,
    seed: u64,
) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for (n, mix) in clients.iter().enumerate() {
        let shared = shared.clone();
        let mix = mix.clone();
        let total: u32 = mix.iter().map(|(_, w)| w).sum();
        let mut rng = Rng(seed ^ (n as u64).wrapping_mul(0x1000_0000_01B3));
        tasks.push(tokio::spawn(async move {
            while !stopping(&shared) && Instant::now() < until {
                let index = rng.pick(&mix, total);
                let case = &shared.cases[index];
                let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let outcome = shared.mcp.call(id, case).await;
                let took = t.elapsed();
                // After a signal the backends may be gone (the terminal signals the whole group):
                // what completes then says nothing about the server.
                if INTERRUPTED.load(Ordering::Relaxed) {
                    break;
                }
                shared
                    .record
                    .lock()
                    .unwrap()
                    .add(started.elapsed(), index, case, took, outcome);
            }
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| anyhow::anyhow!("a client failed: {e}"))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(soak()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("soak: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn soak() -> anyhow::Result<ExitCode> {
    let seconds = env_number("SOAK_SECONDS", 300)?;
    let clients = env_number("SOAK_CLIENTS", 64)?.max(2) as usize;
    let trouble_clients = env_number("SOAK_TROUBLE_CLIENTS", (clients / 8).max(1) as u64)?
        .clamp(1, clients as u64 - 1) as usize;
    let baseline_seconds = env_number("SOAK_BASELINE_SECONDS", 10)?;
    let seed = env_number("SOAK_SEED", 0x50a4)?;
    let exe = std::env::current_exe()?;
    let host_bin = std::env::var_os("SOAK_HOST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| exe.with_file_name("proms-mcp"));
    let component = component_path(&exe);
    anyhow::ensure!(
        host_bin.is_file(),
        "no host binary at {} (build it with `cargo build -p host-test --bins`, or set SOAK_HOST_BIN)",
        host_bin.display()
    );
    anyhow::ensure!(
        component.is_file(),
        "no plugin component at {} (build it with `make component`, or set PROMS_MCP_COMPONENT)",
        component.display()
    );

    // Stop cleanly on Ctrl-C or SIGTERM: the clients finish, the summary prints, the guards run.
    tokio::spawn(async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
        eprintln!("soak: interrupted; stopping the clients");
        INTERRUPTED.store(true, Ordering::SeqCst);
    });

    let data = DemoData::new_ending_near_now();
    let prometheus = tokio::task::block_in_place(|| backends::start_prometheus(&data))?;
    let trouble = Trouble::start()?;
    let dir = tempfile::tempdir()?;
    let datasources = dir.path().join("datasources.yaml");
    std::fs::write(
        &datasources,
        format!(
            "{}  - name: trouble\n    type: prometheus\n    url: http://127.0.0.1:{}\n",
            prometheus.datasources_file(),
            trouble.port
        ),
    )?;
    let port = backends::free_loopback_port()?;
    let health = backends::free_loopback_port()?;
    let log_path = dir.path().join("host.log");
    let host = Stopped(
        Command::new(&host_bin)
            .arg("serve")
            .env("GRAFANA_DATASOURCES_PATH", &datasources)
            .env("PROMS_MCP_COMPONENT", &component)
            .env("AUTH_MODE", "none")
            .env("QUERY_TIMEOUT", format!("{}s", QUERY_TIMEOUT.as_secs()))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("HEALTH_METRICS_PORT", health.to_string())
            .env("LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path)?)
            // Its own process group: a Ctrl-C in the terminal reaches this program, which then
            // stops the host itself after the last answer.
            .process_group(0)
            .spawn()?,
    );
    let pid = host.0.id();
    let mcp = Mcp {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(clients * 2)
            .timeout(CLIENT_TIMEOUT)
            .build()?,
        url: format!("http://127.0.0.1:{port}/mcp"),
    };

    // Ready: the host answers, and Prometheus has scraped itself (metadata exists).
    let spawned = Instant::now();
    let mut cases = normal_cases(&data);
    let normal_count = cases.len();
    cases.extend(failing_cases(&data));
    let ready = Case::ok("ready", "list_datasources", json!({}), 1, |_| Ok(()));
    loop {
        if let Outcome::Ok = mcp.call(0, &ready).await {
            break;
        }
        anyhow::ensure!(!INTERRUPTED.load(Ordering::SeqCst), "interrupted");
        anyhow::ensure!(
            spawned.elapsed() < Duration::from_secs(60),
            "the host did not answer within 60 s; its log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::task::block_in_place(|| prometheus.wait_for_self_scrape(Duration::from_secs(30)))?;
    println!(
        "soak: Prometheus at {}, trouble backend at 127.0.0.1:{}, host (pid {pid}) at {} with QUERY_TIMEOUT={}s; {} clients ({} sending failing calls) for {seconds} s",
        prometheus.url,
        trouble.port,
        mcp.url,
        QUERY_TIMEOUT.as_secs(),
        clients,
        trouble_clients,
    );

    // Probe: every case once, so a wrong expectation stops the run before the soak.
    println!("\n## Probe: every case once\n");
    println!("| case | kind | ms | outcome |\n|---|---|---|---|");
    let mut probe_failed = false;
    for (i, case) in cases.iter().enumerate() {
        let t = Instant::now();
        let outcome = mcp.call(1_000 + i as u64, case).await;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        let (text, bad) = match &outcome {
            Outcome::Ok => ("ok".to_string(), false),
            Outcome::Expected(class) => (format!("expected error: {class}"), false),
            Outcome::Lost(why) => (format!("LOST: {why}"), true),
            Outcome::Malformed(why) => (format!("MALFORMED: {why}"), true),
        };
        probe_failed |= bad;
        println!(
            "| {} | {} | {took:.0} | {} |",
            case.name,
            if case.failing() { "failing" } else { "normal" },
            text.replace('|', "\\|")
        );
    }
    if probe_failed {
        println!("\nsoak: the probe failed; not starting the soak");
        return Ok(ExitCode::FAILURE);
    }

    let shared = Arc::new(Shared {
        mcp,
        record: Mutex::new(Record::new(
            cases.len(),
            Duration::from_secs(baseline_seconds.max(1)),
        )),
        cases,
        stop: AtomicBool::new(false),
        next_id: AtomicU64::new(10_000),
    });
    let normal_mix: Vec<(usize, u32)> = (0..normal_count)
        .map(|i| (i, shared.cases[i].weight))
        .collect();
    let mix = |heavy: bool| -> Vec<(usize, u32)> {
        (normal_count..shared.cases.len())
            .filter(|&i| trouble_clients == 1 || shared.cases[i].heavy == heavy)
            .map(|i| (i, shared.cases[i].weight))
            .collect()
    };
    // One failing client sends the heavy calls (when there are two or more), the others the rest.
    let (heavy_mix, failing_mix) = (mix(true), mix(false));

    // Baseline: the normal clients alone.
    let mut baseline = Vec::new();
    if baseline_seconds > 0 && !stopping(&shared) {
        let mixes = vec![normal_mix.clone(); clients - trouble_clients];
        let started = Instant::now();
        run_clients(
            &shared,
            &mixes,
            started,
            started + Duration::from_secs(baseline_seconds),
            seed.wrapping_add(1),
        )
        .await?;
        let mut record = shared.record.lock().unwrap();
        for m in &mut record.minutes {
            baseline.append(&mut m.normal);
        }
        let (lost, malformed): (u64, u64) = record
            .cases
            .iter()
            .fold((0, 0), |(l, m), c| (l + c.lost, m + c.malformed));
        println!(
            "\n## Baseline: {} normal clients alone for {baseline_seconds} s\n\n{} calls ({:.0}/s), p50 {} ms, p99 {} ms, lost {lost}, malformed {malformed}",
            clients - trouble_clients,
            baseline.len(),
            baseline.len() as f64 / started.elapsed().as_secs_f64(),
            ms(quantile_ms(&mut baseline, 0.50)),
            ms(quantile_ms(&mut baseline, 0.99)),
        );
        // The soak is judged on its own calls; the baseline's failures still count.
        let carried: Vec<(u64, u64, Vec<String>)> = record
            .cases
            .iter_mut()
            .map(|c| (c.lost, c.malformed, std::mem::take(&mut c.examples)))
            .collect();
        *record = Record::new(shared.cases.len(), Duration::from_secs(seconds.max(1)));
        for (c, (lost, malformed, examples)) in record.cases.iter_mut().zip(carried) {
            c.lost = lost;
            c.malformed = malformed;
            c.examples = examples;
        }
    }

    // The soak.
    println!(
        "\n## Soak: {} normal and {trouble_clients} failing clients for {seconds} s\n",
        clients - trouble_clients
    );
    println!("{MINUTE_HEADER}");
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let sampler = {
        let (samples, shared) = (samples.clone(), shared.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while !stopping(&shared) && Instant::now() < until {
                tick.tick().await;
                if let Some(s) = sample(pid, started.elapsed()) {
                    samples.lock().unwrap().push(s);
                }
            }
        })
    };
    let printed = Arc::new(AtomicUsize::new(0));
    let reporter = {
        let (samples, shared, printed) = (samples.clone(), shared.clone(), printed.clone());
        tokio::spawn(async move {
            let mut m = 0;
            loop {
                // A minute is printed a second after it ends, when its last answers are in.
                let at = started + Duration::from_secs(60 * (m as u64 + 1) + 1);
                if at >= until {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                if stopping(&shared) {
                    break;
                }
                let samples = samples.lock().unwrap().clone();
                let mut record = shared.record.lock().unwrap();
                if let Some(minute) = record.minutes.get_mut(m) {
                    print_minute(m, minute, &samples);
                }
                m += 1;
                printed.store(m, Ordering::SeqCst);
            }
        })
    };
    let mut mixes = vec![normal_mix; clients - trouble_clients];
    mixes.push(heavy_mix);
    mixes.extend(vec![failing_mix; trouble_clients - 1]);
    run_clients(&shared, &mixes, started, until, seed).await?;
    let ran = started.elapsed().min(Duration::from_secs(seconds));
    shared.stop.store(true, Ordering::SeqCst);
    reporter.abort();
    let _ = reporter.await;
    let _ = sampler.await;
    let interrupted = INTERRUPTED.load(Ordering::SeqCst);

    let samples = samples.lock().unwrap().clone();
    let mut record = std::mem::take(&mut *shared.record.lock().unwrap());
    for m in printed.load(Ordering::SeqCst)..record.minutes.len() {
        print_minute(m, &mut record.minutes[m], &samples);
    }

    // Per case.
    println!("\n## Per case\n");
    println!(
        "| case | kind | calls | ok | expected | lost | malformed | late | p50 ms | p99 ms | max ms | error classes |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let (mut ok, mut expected, mut lost, mut malformed, mut late) = (0, 0, 0, 0, 0);
    for (case, stats) in shared.cases.iter().zip(record.cases.iter_mut()) {
        ok += stats.ok;
        expected += stats.expected;
        lost += stats.lost;
        malformed += stats.malformed;
        late += stats.late;
        let classes: Vec<String> = stats
            .classes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.name,
            if case.failing() { "failing" } else { "normal" },
            stats.latencies.len(),
            stats.ok,
            stats.expected,
            stats.lost,
            stats.malformed,
            stats.late,
            ms(quantile_ms(&mut stats.latencies, 0.50)),
            ms(quantile_ms(&mut stats.latencies, 0.99)),
            ms(quantile_ms(&mut stats.latencies, 1.0)),
            classes.join(", "),
        );
    }
    let examples: Vec<String> = shared
        .cases
        .iter()
        .zip(&record.cases)
        .flat_map(|(c, s)| s.examples.iter().map(move |e| format!("- {}: {e}", c.name)))
        .collect();
    if !examples.is_empty() {
        println!("\nExamples of lost, malformed and late answers:");
        for e in examples {
            println!("{e}");
        }
    }

    // The trouble backend: every connection the host gave up on should be closed by now.
    let settle = Instant::now();
    while trouble.open.load(Ordering::SeqCst) > 0 && settle.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let still_open = trouble.open.load(Ordering::SeqCst);
    println!(
        "\ntrouble backend: {} connections accepted, {still_open} still open {:.1} s after the last call",
        trouble.accepted.load(Ordering::SeqCst),
        settle.elapsed().as_secs_f64()
    );

    // The host's own view.
    if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{health}/metrics")).await
        && let Ok(text) = r.text().await
    {
        println!("\nhost /metrics:");
        for line in text.lines().filter(|l| {
            l.starts_with("mcp_tool_calls_total")
                || l.starts_with("mcp_egress_denied_total")
                || (l.starts_with("mcp_http_requests_total") && !l.contains("status=\"200\""))
        }) {
            println!("  {line}");
        }
    }
    let end_sample = sample(pid, started.elapsed());
    drop(host);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut messages: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
    for line in log.lines() {
        let (level, message) = match serde_json::from_str::<Value>(line) {
            Ok(v) => (
                v["level"].as_str().unwrap_or("?").to_string(),
                v["fields"]["message"].as_str().unwrap_or("?").to_string(),
            ),
            Err(_) => ("text".to_string(), excerpt(line)),
        };
        let entry = messages
            .entry((level, message))
            .or_insert_with(|| (0, line.to_string()));
        entry.0 += 1;
    }
    println!("\nhost log (warn and above), by message, with the first of each:");
    for ((level, message), (n, first)) in &messages {
        println!("  {n:>7} {level} {message}\n          {}", excerpt(first));
    }

    // Memory.
    let judged: Vec<&Sample> = samples.iter().filter(|s| s.at >= WARM_UP).collect();
    let span = ran.saturating_sub(WARM_UP);
    let third = span / 3;
    let flat = if third < Duration::from_secs(5) || judged.is_empty() {
        println!(
            "\nmemory: not judged (a run of {:.0} s leaves less than 15 s after the {} s warm-up)",
            ran.as_secs_f64(),
            WARM_UP.as_secs()
        );
        true
    } else {
        let first: Vec<u64> = judged
            .iter()
            .filter(|s| s.at < WARM_UP + third)
            .map(|s| s.rss_kib)
            .collect();
        let last: Vec<u64> = judged
            .iter()
            .filter(|s| s.at >= ran - third)
            .map(|s| s.rss_kib)
            .collect();
        let max = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
        let min = |v: &[u64]| v.iter().copied().min().unwrap_or(0);
        let (first_max, last_max) = (max(&first), max(&last));
        let allowed = first_max + ((first_max as f64 * RSS_GROWTH) as u64).max(RSS_SLACK_KIB);
        let flat = last_max <= allowed;
        println!(
            "\nmemory: RSS max {} MiB (min {}) in {:.0}–{:.0} s, max {} MiB (min {}) in {:.0}–{:.0} s; allowed max {} MiB: {}",
            mib(first_max),
            mib(min(&first)),
            WARM_UP.as_secs_f64(),
            (WARM_UP + third).as_secs_f64(),
            mib(last_max),
            mib(min(&last)),
            (ran - third).as_secs_f64(),
            ran.as_secs_f64(),
            mib(allowed),
            if flat { "flat" } else { "GROWING" }
        );
        flat
    };
    if let (Some(first), Some(last)) = (samples.first(), end_sample) {
        println!(
            "host threads {} → {}, open descriptors {} → {}",
            first.threads, last.threads, first.fds, last.fds
        );
    }

    // Isolation: the normal calls next to the failing ones.
    let mut normal: Vec<u32> = record
        .minutes
        .iter_mut()
        .flat_map(|m| std::mem::take(&mut m.normal))
        .collect();
    let normal_calls = normal.len();
    let normal_ok: u64 = record.cases[..normal_count].iter().map(|c| c.ok).sum();
    println!(
        "isolation: {normal_ok} of {normal_calls} normal calls ok next to the failing clients; p50 {} ms, p99 {} ms (baseline alone: p50 {} ms, p99 {} ms)",
        ms(quantile_ms(&mut normal, 0.50)),
        ms(quantile_ms(&mut normal, 0.99)),
        ms(quantile_ms(&mut baseline, 0.50)),
        ms(quantile_ms(&mut baseline, 0.99)),
    );

    let requests = ok + expected + lost + malformed;
    println!(
        "\nsummary: {requests} requests in {:.0} s ({:.0}/s): {ok} ok, {expected} expected errors, {lost} lost, {malformed} malformed, {late} late",
        ran.as_secs_f64(),
        requests as f64 / ran.as_secs_f64().max(1.0),
    );
    let passed = lost == 0 && malformed == 0 && flat && !interrupted;
    println!(
        "verdict: {}{}",
        if passed { "PASS" } else { "FAIL" },
        [
            (lost > 0, "answers lost"),
            (malformed > 0, "answers malformed"),
            (!flat, "memory not flat"),
            (interrupted, "interrupted"),
        ]
        .iter()
        .filter(|(bad, _)| *bad)
        .map(|(_, why)| format!(" ({why})"))
        .collect::<String>()
    );
    drop(prometheus);
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
