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
use std::io::{self, Read};
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use host_test::dev::backends;
use host_test::dev::demo_data::{DEMO_METRICS, DemoData};
use host_test::dev::process::{self, Stopped};
use serde_json::{Value, json};

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
/// Example messages kept per case and kind, for the summary.
const EXAMPLES: usize = 3;

// ---------------------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------------------

type Check = Box<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

enum Expect {
    /// `isError: false`, `structuredContent` equal to the text block, and this check of it.
    Result(Check),
    /// `isError: true` with a text containing one of these (case-insensitive); the match is the
    /// error's class.
    ToolError(&'static [&'static str]),
    /// A JSON-RPC error with this code.
    RpcError(i64),
    /// A heavy call: a result that passes the check, or, when the machine is too busy to move the
    /// answer in time, a tool error of one of these classes.
    ResultOrError(Check, &'static [&'static str]),
}

struct Case {
    name: &'static str,
    tool: &'static str,
    arguments: Value,
    /// Relative frequency within its kind of client.
    weight: u32,
    expect: Expect,
    /// An expected error that takes longer than this is counted late (a broken deadline).
    late_after: Option<Duration>,
    /// Needs a big answer from Prometheus and up to the whole 256 MiB of a sandbox: sent by one
    /// client only, one at a time, so every part of the run sees the same peak and the memory
    /// judgement compares like with like.
    heavy: bool,
}

impl Case {
    fn ok(
        name: &'static str,
        tool: &'static str,
        arguments: Value,
        weight: u32,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Case {
        Case {
            name,
            tool,
            arguments,
            weight,
            expect: Expect::Result(Box::new(check)),
            late_after: None,
            heavy: false,
        }
    }

    fn err(
        name: &'static str,
        tool: &'static str,
        arguments: Value,
        weight: u32,
        needles: &'static [&'static str],
    ) -> Case {
        Case {
            name,
            tool,
            arguments,
            weight,
            expect: Expect::ToolError(needles),
            late_after: None,
            heavy: false,
        }
    }

    fn failing(&self) -> bool {
        !matches!(self.expect, Expect::Result(_))
    }
}

fn same(what: &str, got: &Value, want: Value) -> Result<(), String> {
    if *got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, want {want}"))
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `(label, value)` of each sample of a shaped instant vector.
fn samples(result: &Value, label: &str) -> Vec<(String, Option<f64>)> {
    result
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["metric"][label].as_str().unwrap_or_default().to_string(),
                        s["value"].as_f64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn same_samples(got: Vec<(String, Option<f64>)>, want: &[(&str, f64)]) -> Result<(), String> {
    let want: Vec<(String, Option<f64>)> = want
        .iter()
        .map(|(l, v)| (l.to_string(), Some(*v)))
        .collect();
    if got == want {
        Ok(())
    } else {
        Err(format!("samples: got {got:?}, want {want:?}"))
    }
}

/// Calls that must succeed, with exact content from the demo data. Every window is explicit, so
/// the answers stay the same however long the soak runs.
fn normal_cases(data: &DemoData) -> Vec<Case> {
    let end = data.end.to_string();
    let start = data.start.to_string();
    let hour_ago = (data.end - 3600).to_string();
    let p = "prometheus";
    vec![
        Case::ok("list_datasources", "list_datasources", json!({}), 4, |r| {
            same("total", &r["total"], json!(2))?;
            same("default", &r["default"], json!("prometheus"))?;
            same("second", &r["datasources"][1]["id"], json!("trouble"))
        }),
        Case::ok(
            "list_metrics",
            "list_metrics",
            json!({"datasource_id": p, "start": hour_ago, "end": end}),
            6,
            |r| {
                let got = strings(&r["metrics"]);
                match DEMO_METRICS.iter().find(|m| !got.contains(m)) {
                    Some(m) => Err(format!("{m} missing from {got:?}")),
                    None => Ok(()),
                }
            },
        ),
        Case::ok(
            "get_metric_metadata",
            "get_metric_metadata",
            json!({"datasource_id": p, "metric_name": "prometheus_http_requests_total"}),
            6,
            |r| {
                same("type", &r["metadata"][0]["type"], json!("counter"))?;
                same(
                    "help",
                    &r["metadata"][0]["help"],
                    json!("Counter of HTTP requests."),
                )
            },
        ),
        Case::ok(
            "query_instant gauge",
            "query_instant",
            json!({"datasource_id": p, "promql": "demo_temperature_celsius", "time": end}),
            12,
            |r| {
                same("resultType", &r["resultType"], json!("vector"))?;
                same_samples(
                    samples(&r["result"], "room"),
                    &[("kitchen", 22.25), ("office", 23.75), ("server", 23.0)],
                )
            },
        ),
        Case::ok(
            "query_instant rate",
            "query_instant",
            json!({"datasource_id": p, "promql": "sum by (instance) (rate(demo_http_requests_total[5m]))", "time": end}),
            12,
            |r| {
                same_samples(
                    samples(&r["result"], "instance"),
                    &[("app-1:8080", 28.0), ("app-2:8080", 31.0)],
                )
            },
        ),
        Case::ok(
            "query_instant limit",
            "query_instant",
            json!({"datasource_id": p, "promql": "demo_items_info", "time": end, "limit": 5}),
            4,
            |r| {
                same("total", &r["total"], json!(150))?;
                same("shown", &r["shown"], json!(5))?;
                same("item", &r["result"][0]["metric"]["item"], json!("item-000"))
            },
        ),
        Case::ok(
            "query_range 6h@60s",
            "query_range",
            json!({"datasource_id": p, "promql": "demo_temperature_celsius{room=\"kitchen\"}", "start": start, "end": end, "step": "60s"}),
            10,
            |r| {
                same("step", &r["step"], json!("1m"))?;
                same("points", &r["points"], json!(361))?;
                same("max", &r["result"][0]["stats"]["max"], json!(22.5))?;
                same("min", &r["result"][0]["stats"]["min"], json!(21.0))?;
                let n = r["result"][0]["values"].as_array().map_or(0, Vec::len);
                same("values", &json!(n), json!(361))
            },
        ),
        Case::ok(
            "query_range auto step",
            "query_range",
            json!({"datasource_id": p, "promql": "sum(rate(demo_http_requests_total[5m]))", "start": start, "end": end}),
            8,
            |r| {
                same("step", &r["step"], json!("5m"))?;
                same("last", &r["result"][0]["stats"]["last"], json!(59.0))
            },
        ),
        Case::ok(
            "get_metric_labels",
            "get_metric_labels",
            json!({"datasource_id": p, "metric_name": "demo_http_requests_total", "start": hour_ago, "end": end}),
            6,
            |r| {
                same(
                    "labels",
                    &r["labels"],
                    json!(["code", "instance", "job", "method"]),
                )
            },
        ),
        Case::ok(
            "get_label_values",
            "get_label_values",
            json!({"datasource_id": p, "label_name": "room", "metric_name": "demo_temperature_celsius", "start": hour_ago, "end": end}),
            6,
            |r| {
                same(
                    "values",
                    &r["values"],
                    json!(["kitchen", "office", "server"]),
                )
            },
        ),
        Case::ok(
            "get_label_values limit",
            "get_label_values",
            json!({"datasource_id": p, "label_name": "item", "metric_name": "demo_items_info", "limit": 10, "start": hour_ago, "end": end}),
            3,
            |r| {
                same("total", &r["total"], json!(150))?;
                same("shown", &r["shown"], json!(10))?;
                same("first", &r["values"][0], json!("item-000"))
            },
        ),
        Case::ok(
            "find_metrics_by_pattern",
            "find_metrics_by_pattern",
            json!({"datasource_id": p, "pattern": "demo_request.*", "start": hour_ago, "end": end}),
            4,
            |r| {
                same(
                    "metrics",
                    &r["metrics"],
                    json!([
                        "demo_request_duration_seconds_bucket",
                        "demo_request_duration_seconds_count",
                        "demo_request_duration_seconds_sum"
                    ]),
                )
            },
        ),
    ]
}

/// Calls that must fail, each with the class of error it must give.
fn failing_cases(data: &DemoData) -> Vec<Case> {
    let end = data.end.to_string();
    let start = data.start.to_string();
    let (p, t) = ("prometheus", "trouble");
    let deadline = |mut c: Case| {
        c.late_after = Some(CALL_DEADLINE + Duration::from_secs(1));
        c
    };
    let heavy = |mut c: Case| {
        c.heavy = true;
        c.late_after = Some(CALL_DEADLINE + Duration::from_secs(1));
        c
    };
    vec![
        // The trouble backend never answers: the component's request deadline (QUERY_TIMEOUT).
        deadline(Case::err(
            "deadline query_instant",
            "query_instant",
            json!({"datasource_id": t, "promql": "up"}),
            20,
            &["timed out"],
        )),
        deadline(Case::err(
            "deadline query_range",
            "query_range",
            json!({"datasource_id": t, "promql": "up", "start": "now-1h", "end": "now"}),
            5,
            &["timed out"],
        )),
        deadline(Case::err(
            "deadline list_metrics",
            "list_metrics",
            json!({"datasource_id": t}),
            5,
            &["timed out"],
        )),
        deadline(Case::err(
            "deadline get_label_values",
            "get_label_values",
            json!({"datasource_id": t, "label_name": "job"}),
            5,
            &["timed out"],
        )),
        Case::err(
            "invalid promql",
            "query_instant",
            json!({"datasource_id": p, "promql": "sum(rate(demo_http_requests_total[5m])"}),
            12,
            &["invalid promql"],
        ),
        Case::err(
            "invalid promql range",
            "query_range",
            json!({"datasource_id": p, "promql": "demo_queue_depth{queue=", "start": start, "end": end}),
            6,
            &["invalid promql"],
        ),
        Case::err(
            "invalid regex",
            "find_metrics_by_pattern",
            json!({"datasource_id": p, "pattern": "demo_(("}),
            4,
            &["pattern"],
        ),
        Case::err(
            "unknown datasource",
            "query_instant",
            json!({"datasource_id": "nope", "promql": "up"}),
            6,
            &["unknown datasource_id 'nope'"],
        ),
        Case::err(
            "limit out of range",
            "query_instant",
            json!({"datasource_id": p, "promql": "up", "limit": 10_000_000}),
            4,
            &["from 1 to"],
        ),
        Case::err(
            "too many points",
            "query_range",
            json!({"datasource_id": p, "promql": "up", "start": "now-7d", "end": "now", "step": "15s"}),
            4,
            &["11,000"],
        ),
        Case::err(
            "execution error",
            "query_instant",
            json!({"datasource_id": p, "promql": "demo_items_info * on(job) demo_items_info", "time": end}),
            4,
            &["many-to-many"],
        ),
        // 150 series × 10,801 points: about 27 MB from Prometheus, past the 20 MiB read limit. On a
        // busy machine the transfer may outlast QUERY_TIMEOUT first, or the call its deadline.
        heavy(Case::err(
            "answer over 20 MiB",
            "query_range",
            json!({"datasource_id": p, "promql": "demo_items_info", "start": start, "end": end, "step": "2s"}),
            1,
            &["larger than 20 mib", "timed out", "did not finish within"],
        )),
        // 150 series × 7,201 points: about 18 MB, under the read limit. Only the series shown are
        // parsed, and the answer stops at 50,000 points (6 series), not a trap; then the 40,000-byte
        // answer budget keeps 2 of those (14,402 points) and says so.
        heavy(Case {
            name: "answer capped at 50,000 points",
            tool: "query_range",
            arguments: json!({"datasource_id": p, "promql": "demo_items_info", "start": start, "end": end, "step": "3s", "limit": 1000}),
            weight: 1,
            expect: Expect::ResultOrError(
                Box::new(|r| {
                    same("total", &r["total"], json!(150))?;
                    same("shown", &r["shown"], json!(2))?;
                    same("points", &r["points"], json!(14_402))?;
                    let note = r["truncated"].as_str().unwrap_or_default();
                    if note.starts_with("2 of 150 shown; answer cut to fit 40000 bytes") {
                        Ok(())
                    } else {
                        Err(format!("truncated: {note}"))
                    }
                }),
                &["timed out", "did not finish within"],
            ),
            late_after: None,
            heavy: false,
        }),
        Case {
            name: "unknown tool",
            tool: "no_such_tool",
            arguments: json!({}),
            weight: 2,
            expect: Expect::RpcError(-32602),
            late_after: None,
            heavy: false,
        },
    ]
}

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
// Bookkeeping
// ---------------------------------------------------------------------------------------------------------

#[derive(Default)]
struct Minute {
    requests: u64,
    ok: u64,
    expected: u64,
    lost: u64,
    malformed: u64,
    /// Latencies in µs of calls that must succeed, and of calls that must fail.
    normal: Vec<u32>,
    failing: Vec<u32>,
}

#[derive(Default)]
struct CaseStats {
    ok: u64,
    expected: u64,
    lost: u64,
    malformed: u64,
    late: u64,
    latencies: Vec<u32>,
    classes: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
}

#[derive(Default)]
struct Record {
    minutes: Vec<Minute>,
    cases: Vec<CaseStats>,
    /// Length of the run: later answers count in its last minute.
    length: Duration,
}

impl Record {
    fn new(cases: usize, length: Duration) -> Record {
        Record {
            length,
            minutes: Vec::new(),
            cases: (0..cases).map(|_| CaseStats::default()).collect(),
        }
    }

    /// Counts one answer that came `at` after the start (the last minute takes the stragglers).
    fn add(&mut self, at: Duration, index: usize, case: &Case, took: Duration, outcome: Outcome) {
        let at = at.min(self.length.saturating_sub(Duration::from_millis(1)));
        let m = (at.as_secs() / 60) as usize;
        if self.minutes.len() <= m {
            self.minutes.resize_with(m + 1, Minute::default);
        }
        let minute = &mut self.minutes[m];
        let stats = &mut self.cases[index];
        let micros = took.as_micros().min(u32::MAX as u128) as u32;
        minute.requests += 1;
        stats.latencies.push(micros);
        if case.failing() {
            minute.failing.push(micros);
        } else {
            minute.normal.push(micros);
        }
        let mut example = |kind: &str, why: String| {
            if stats.examples.len() < EXAMPLES {
                stats
                    .examples
                    .push(format!("{kind} after {took:.1?}: {}", excerpt(&why)));
            }
        };
        match outcome {
            Outcome::Ok => {
                minute.ok += 1;
                stats.ok += 1;
            }
            Outcome::Expected(class) => {
                minute.expected += 1;
                stats.expected += 1;
                *stats.classes.entry(class).or_default() += 1;
                if case.late_after.is_some_and(|limit| took > limit) {
                    stats.late += 1;
                    example("late", class.to_string());
                }
            }
            Outcome::Lost(why) => {
                minute.lost += 1;
                stats.lost += 1;
                example("lost", why);
            }
            Outcome::Malformed(why) => {
                minute.malformed += 1;
                stats.malformed += 1;
                example("malformed", why);
            }
        }
    }
}

/// The `q` quantile of `v` (sorted in place), in milliseconds.
fn quantile_ms(v: &mut [u32], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i] as f64 / 1000.0)
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    threads: u64,
    fds: u64,
}

fn sample(pid: u32, at: Duration) -> Option<Sample> {
    let field = |name: &str| process::status_field(pid, name);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Some(Sample {
        at,
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:")?,
        fds,
    })
}

const MINUTE_HEADER: &str = "| minute | requests | ok | expected errors | lost | malformed | normal p50 ms | normal p99 ms | failing p50 ms | failing p99 ms | RSS min MiB | RSS max MiB | threads max | fds max |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

fn print_minute(m: usize, minute: &mut Minute, samples: &[Sample]) {
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at.as_secs() / 60 == m as u64)
        .collect();
    let rss_min = window.iter().map(|s| s.rss_kib).min();
    let rss_max = window.iter().map(|s| s.rss_kib).max();
    println!(
        "| {}–{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        m,
        m + 1,
        minute.requests,
        minute.ok,
        minute.expected,
        minute.lost,
        minute.malformed,
        ms(quantile_ms(&mut minute.normal, 0.50)),
        ms(quantile_ms(&mut minute.normal, 0.99)),
        ms(quantile_ms(&mut minute.failing, 0.50)),
        ms(quantile_ms(&mut minute.failing, 0.99)),
        rss_min.map_or("–".into(), mib),
        rss_max.map_or("–".into(), mib),
        window
            .iter()
            .map(|s| s.threads)
            .max()
            .map_or("–".into(), |v| v.to_string()),
        window
            .iter()
            .map(|s| s.fds)
            .max()
            .map_or("–".into(), |v| v.to_string()),
    );
}

// ---------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------

/// A loopback backend that reads requests and never answers; it counts connections so a connection
/// the host keeps after giving up shows.
struct Trouble {
    port: u16,
    accepted: Arc<AtomicU64>,
    open: Arc<AtomicUsize>,
}

impl Trouble {
    fn start() -> io::Result<Trouble> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicU64::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (a, o) = (accepted.clone(), open.clone());
        std::thread::Builder::new()
            .name("trouble-backend".into())
            .spawn(move || {
                for mut stream in listener.incoming().flatten() {
                    a.fetch_add(1, Ordering::Relaxed);
                    o.fetch_add(1, Ordering::Relaxed);
                    let open = o.clone();
                    let spawned = std::thread::Builder::new().spawn(move || {
                        // Read (and ignore) whatever comes until the peer closes; never write.
                        let mut buf = [0u8; 4096];
                        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                        open.fetch_sub(1, Ordering::Relaxed);
                    });
                    if spawned.is_err() {
                        o.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            })?;
        Ok(Trouble {
            port,
            accepted,
            open,
        })
    }
}

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
            "apiVersion: 1\ndatasources:\n  - name: prometheus\n    type: prometheus\n    url: {}\n    isDefault: true\n    jsonData:\n      timeInterval: 15s\n  - name: trouble\n    type: prometheus\n    url: http://127.0.0.1:{}\n",
            prometheus.url, trouble.port
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
