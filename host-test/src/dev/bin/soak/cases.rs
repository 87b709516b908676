//! The soak's cases: each call the clients send, how often, and what its answer must be (exact
//! content from the demo data for the normal clients; the error class, and how late it may come,
//! for the failing ones).
//!
//! Not here: sending the calls and judging the answers against these expectations, the bookkeeping
//! and the report (the soak's main file).

use std::time::Duration;

use host_test::dev::demo_data::{DEMO_METRICS, DemoData};
use serde_json::{Value, json};

use super::CALL_DEADLINE;

pub(crate) type Check = Box<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

pub(crate) enum Expect {
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

pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) tool: &'static str,
    pub(crate) arguments: Value,
    /// Relative frequency within its kind of client.
    pub(crate) weight: u32,
    pub(crate) expect: Expect,
    /// An expected error that takes longer than this is counted late (a broken deadline).
    pub(crate) late_after: Option<Duration>,
    /// Needs a big answer from Prometheus and up to the whole 256 MiB of a sandbox: sent by one
    /// client only, one at a time, so every part of the run sees the same peak and the memory
    /// judgement compares like with like.
    pub(crate) heavy: bool,
}

impl Case {
    pub(crate) fn ok(
        name: &'static str,
        tool: &'static str,
        arguments: Value,
        weight: u32,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Case {
        Case::new(
            name,
            tool,
            arguments,
            weight,
            Expect::Result(Box::new(check)),
        )
    }

    pub(crate) fn err(
        name: &'static str,
        tool: &'static str,
        arguments: Value,
        weight: u32,
        needles: &'static [&'static str],
    ) -> Case {
        Case::new(name, tool, arguments, weight, Expect::ToolError(needles))
    }

    /// A light call (see [`Case::heavy`]) with no lateness limit.
    fn new(
        name: &'static str,
        tool: &'static str,
        arguments: Value,
        weight: u32,
        expect: Expect,
    ) -> Case {
        Case {
            name,
            tool,
            arguments,
            weight,
            expect,
            late_after: None,
            heavy: false,
        }
    }

    pub(crate) fn failing(&self) -> bool {
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
pub(crate) fn normal_cases(data: &DemoData) -> Vec<Case> {
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
pub(crate) fn failing_cases(data: &DemoData) -> Vec<Case> {
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
