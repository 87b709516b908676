//! Tests of analyze_logs on Loki and analyze_traces on Tempo: the LogQL and TraceQL metric queries
//! each aggregation becomes, and whole tool calls against answers recorded in Loki's and Tempo's
//! documented wire formats (qryn, which the integration tests run, lacks TraceQL metrics and stamps
//! Loki range samples differently).

use std::cell::RefCell;
use std::time::Duration;

use serde_json::{Value, json};

use super::super::{Aggregation, Function};
use super::*;
use crate::datasources::{self, LineParser};
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
use crate::tools::{Context, call};

/// Every aggregation as the LogQL metric query it becomes, with and without a line parser.
#[test]
fn aggregations_become_logql_metric_queries() {
    let labels = Labels::new(["service_name", "level"]);
    let filter = crate::filter::parse("service = cart").unwrap();
    let plain = logql::compile(filter.as_ref(), &labels, LineParser::None).unwrap();
    let json = logql::compile(filter.as_ref(), &labels, LineParser::Json).unwrap();
    let g = ["level".to_string()];
    /// (query, function, field, groupBy labels, LogQL, echo)
    type Case<'a> = (
        &'a logql::LogQuery,
        &'a str,
        Option<&'a str>,
        &'a [String],
        &'a str,
        &'a str,
    );
    let cases: &[Case] = &[
        (
            &plain,
            "count",
            None,
            &g,
            r#"sum by (level) (count_over_time({service_name="cart"} [60s]))"#,
            "count",
        ),
        (
            &plain,
            "count",
            None,
            &[],
            r#"sum(count_over_time({service_name="cart"} [60s]))"#,
            "count",
        ),
        (
            &plain,
            "count_distinct",
            Some("pod"),
            &g,
            r#"count by (level) (count by (level, pod) (count_over_time({service_name="cart"} [60s])))"#,
            "count_distinct(pod)",
        ),
        (
            &plain,
            "sum",
            Some("bytes"),
            &g,
            r#"sum by (level) (sum_over_time({service_name="cart"} | unwrap bytes [60s]))"#,
            "sum(bytes)",
        ),
        (
            &json,
            "avg",
            Some("latency_ms"),
            &g,
            r#"avg_over_time({service_name="cart"} | json | unwrap latency_ms [60s]) by (level)"#,
            "avg(latency_ms)",
        ),
        (
            &plain,
            "min",
            Some("x"),
            &[],
            r#"min(min_over_time({service_name="cart"} | unwrap x [60s]))"#,
            "min(x)",
        ),
        (
            &plain,
            "max",
            Some("x"),
            &g,
            r#"max_over_time({service_name="cart"} | unwrap x [60s]) by (level)"#,
            "max(x)",
        ),
        (
            &plain,
            "p95",
            Some("x"),
            &g,
            r#"quantile_over_time(0.95, {service_name="cart"} | unwrap x [60s]) by (level)"#,
            "p95(x)",
        ),
        (
            &plain,
            "p99.9",
            Some("x"),
            &[],
            r#"quantile_over_time(0.999, {service_name="cart"} | unwrap x [60s]) by ()"#,
            "p99.9(x)",
        ),
    ];
    for (query, function, field, groups, want, echo) in cases {
        let aggregation = Aggregation::new(function, *field, Signal::Logs).unwrap();
        let got = loki_metric(query, &aggregation, *field, groups, "60s");
        assert_eq!(
            (got.text.as_str(), got.echo.as_str()),
            (*want, *echo),
            "{function}"
        );
    }
}

#[test]
fn aggregations_are_checked_once_for_every_backend() {
    let err = |name: &str, field: Option<&str>| match Aggregation::new(name, field, Signal::Traces)
    {
        Err(e) => e.message,
        Ok(_) => panic!("{name} accepted"),
    };
    assert!(err("sum", None).contains("'sum' needs a field"));
    assert!(err("sum", Some(" ")).contains("needs a field"));
    assert!(err("median", Some("x")).contains("unknown function 'median'"));
    assert!(err("p101", Some("x")).contains("unknown function"));
    let p = Aggregation::new("p99.9", Some("duration"), Signal::Traces).unwrap();
    assert_eq!(p.function, Function::Quantile(0.999));
    let count = Aggregation::new("count", Some("ignored"), Signal::Traces).unwrap();
    assert_eq!(count.field, None);
}

/// Every aggregation as the TraceQL metrics query it becomes; durations come back in seconds.
#[test]
fn aggregations_become_traceql_metrics_queries() {
    let set = "{ resource.service.name = \"cart\" }";
    let g = ["resource.service.name".to_string(), "name".to_string()];
    /// (function, TraceQL field, groups, TraceQL, echo, scale)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a [String],
        &'a str,
        &'a str,
        f64,
    );
    let cases: &[Case] = &[
        (
            "count",
            None,
            &g,
            "{ resource.service.name = \"cart\" } | count_over_time() by (resource.service.name, name)",
            "count",
            1.0,
        ),
        (
            "count",
            None,
            &[],
            "{ resource.service.name = \"cart\" } | count_over_time()",
            "count",
            1.0,
        ),
        (
            "p95",
            Some("duration"),
            &g[..1],
            "{ resource.service.name = \"cart\" } | quantile_over_time(duration, 0.95) by (resource.service.name)",
            "p95(duration)",
            1000.0,
        ),
        (
            "avg",
            Some("duration"),
            &[],
            "{ resource.service.name = \"cart\" } | avg_over_time(duration)",
            "avg(duration)",
            1000.0,
        ),
        (
            "sum",
            Some(".bytes"),
            &[],
            "{ resource.service.name = \"cart\" } | sum_over_time(.bytes)",
            "sum(@bytes)",
            1.0,
        ),
        (
            "min",
            Some(".x"),
            &[],
            "{ resource.service.name = \"cart\" } | min_over_time(.x)",
            "min(@x)",
            1.0,
        ),
        (
            "max",
            Some(".x"),
            &[],
            "{ resource.service.name = \"cart\" } | max_over_time(.x)",
            "max(@x)",
            1.0,
        ),
    ];
    for (function, attribute, groups, want, echo, scale) in cases {
        // The echo names the field as the caller wrote it.
        let written = attribute.map(|a| match a.strip_prefix('.') {
            Some(key) => format!("@{key}"),
            None => a.to_string(),
        });
        let aggregation = Aggregation::new(function, written.as_deref(), Signal::Traces).unwrap();
        let got = tempo_metric(set, &aggregation, *attribute, groups).unwrap();
        assert_eq!(
            (got.text.as_str(), got.echo.as_str(), got.scale),
            (*want, *echo, *scale),
            "{function}"
        );
    }
    let distinct = Aggregation::new("count_distinct", Some("@user"), Signal::Traces).unwrap();
    let e = tempo_metric(set, &distinct, Some(".user"), &[]).unwrap_err();
    assert!(
        e.contains("no distinct count") && e.contains("groupBy [\"@user\"]"),
        "{e}"
    );
}

/// Answers by path; remembers every URL asked.
struct Server {
    answers: Vec<(&'static str, u16, String)>,
    seen: RefCell<Vec<String>>,
}

impl HttpClient for Server {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.seen.borrow_mut().push(request.url.clone());
        let (_, status, body) = self
            .answers
            .iter()
            .find(|(path, _, _)| request.url.contains(&format!("{path}?")))
            .unwrap_or_else(|| panic!("no answer for {}", request.url));
        Ok(HttpResponse {
            status: *status,
            body: body.clone().into_bytes(),
        })
    }
}

const NOW: f64 = 1_700_000_000.0;

fn run(server: &Server, tool: &str, args: Value) -> Value {
    let set = datasources::parse(
        "datasources:\n  - name: loki\n    type: loki\n    url: http://loki:3100\n  - name: tempo\n    type: tempo\n    url: http://tempo:3200\n",
        "test.yaml",
        &|_| None,
    )
    .unwrap();
    let ctx = Context {
        datasources: &set,
        http: server,
        now: NOW,
        timeout: Duration::from_secs(30),
    };
    call(&ctx, tool, args).unwrap()
}

fn query_of(url: &str) -> std::collections::BTreeMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    };
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

/// A Loki range answer (samples stamped at each step's end) read back into the buckets they cover;
/// groups ranked by total, empty buckets 0 for a count.
#[test]
fn loki_range_counts_land_in_the_buckets_they_cover() {
    // Window 10:00–10:30 (NOW − 1800 s … NOW), 10-minute buckets: 1699999800 is 10:10 UTC … aligned.
    let first = 1_699_999_800.0 - 600.0 * 3.0; // bucket start at or before the window start
    let series = json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"level": "ERROR"}, "values": [[first + 600.0, "2"], [first + 1800.0, "1"]]},
        {"metric": {"level": "INFO"}, "values": [[first + 1200.0, "7"]]},
        // qryn-style: one group split over two series, summed.
        {"metric": {"level": "ERROR"}, "values": [[first + 600.0, "1"]]}
    ]}});
    let server = Server {
        answers: vec![
            (
                "/loki/api/v1/labels",
                200,
                json!({"status": "success", "data": ["level", "service_name"]}).to_string(),
            ),
            ("/loki/api/v1/query_range", 200, series.to_string()),
        ],
        seen: RefCell::new(Vec::new()),
    };
    let out = run(
        &server,
        "analyze_logs",
        json!({"datasource_id": "loki", "from_time": "now-30m", "to_time": "now", "queryType": "range",
               "step": "10m", "aggregation": {"function": "count"}, "groupBy": ["level"]}),
    );
    assert_eq!(out["isError"], false, "{out}");
    let s = &out["structuredContent"];
    let seen = server.seen.borrow();
    let q = query_of(&seen[1]);
    assert_eq!(
        q["query"],
        r#"sum by (level) (count_over_time({service_name=~".+"} [600s]))"#
    );
    assert_eq!(s["query"], q["query"]);
    // Asked from the first bucket's end to the last bucket's end, every step.
    assert_eq!(q["step"], "600");
    let b0 = (NOW - 1800.0) / 600.0;
    let first = b0.floor() * 600.0;
    assert_eq!(q["start"], format!("{:.0}", (first + 600.0) * 1e9));
    assert_eq!(q["end"], format!("{:.0}", (first + 4.0 * 600.0) * 1e9));
    assert_eq!(s["start"], crate::timespec::format_time(first));
    assert_eq!(s["step"], "10m");
    assert_eq!(s["groupBy"], json!(["level"]));
    assert_eq!(s["groups"][0]["group"], json!({"level": "INFO"}));
    assert_eq!(s["groups"][0]["values"], json!([0, 7, 0, 0]));
    assert_eq!(s["groups"][1]["group"], json!({"level": "ERROR"}));
    // Bucket 0 (first, first+600] got 2 + 1 from the two series; the sample at first+1800 is bucket 2.
    assert_eq!(s["groups"][1]["values"], json!([3, 0, 1, 0]));
    assert_eq!(s["groups"][1]["max"], 3.0);
    assert_eq!(s["total"], 2);
}

/// Tempo's documented TraceQL metrics answers: instant (`/api/metrics/query`, one value per series)
/// and range (samples at each step's start, `timestampMs` as strings), durations in seconds.
#[test]
fn tempo_metrics_answers_become_groups_and_buckets() {
    let instant = json!({"series": [
        {"labels": [{"key": "resource.service.name", "value": {"stringValue": "checkout"}}, {"key": "p", "value": {"doubleValue": 0.95}}], "value": 0.25},
        {"labels": [{"key": "resource.service.name", "value": {"stringValue": "payment"}}, {"key": "p", "value": {"doubleValue": 0.95}}], "value": 1.5},
        {"labels": [{"key": "resource.service.name", "value": {}}, {"key": "p", "value": {"doubleValue": 0.95}}], "value": "NaN"}
    ], "metrics": {"inspectedBytes": "1024"}});
    let server = Server {
        answers: vec![("/api/metrics/query", 200, instant.to_string())],
        seen: RefCell::new(Vec::new()),
    };
    let out = run(
        &server,
        "analyze_traces",
        json!({"datasource_id": "tempo", "from_time": "now-1h", "to_time": "now",
               "filters": "status = error", "aggregation": {"function": "p95", "field": "duration"}, "groupBy": ["service"]}),
    );
    assert_eq!(out["isError"], false, "{out}");
    let s = &out["structuredContent"];
    let q = query_of(&server.seen.borrow()[0]);
    assert_eq!(
        q["q"],
        "{ status = error } | quantile_over_time(duration, 0.95) by (resource.service.name)"
    );
    assert_eq!(
        (q["start"].as_str(), q["end"].as_str()),
        ("1699996400", "1700000000")
    );
    assert_eq!(s["aggregation"], "p95(duration)");
    assert_eq!(
        s["groups"],
        json!([
            {"group": {"service": "payment"}, "value": 1500.0},
            {"group": {"service": "checkout"}, "value": 250.0},
            {"group": {"service": ""}, "value": null}
        ])
    );
    assert!(s["notes"][0].as_str().unwrap().contains("approximate"));

    let range = json!({"series": [
        {"labels": [{"key": "resource.service.name", "value": {"stringValue": "cart"}}],
         "samples": [{"timestampMs": "1699996800000", "value": 4}, {"timestampMs": "1699999200000", "value": 1}]}
    ]});
    let server = Server {
        answers: vec![("/api/metrics/query_range", 200, range.to_string())],
        seen: RefCell::new(Vec::new()),
    };
    let out = run(
        &server,
        "analyze_traces",
        json!({"datasource_id": "tempo", "from_time": "now-1h", "to_time": "now", "queryType": "range",
               "step": "20m", "aggregation": {"function": "count"}, "groupBy": ["service"]}),
    );
    let s = &out["structuredContent"];
    let q = query_of(&server.seen.borrow()[0]);
    assert_eq!(q["q"], "{} | count_over_time() by (resource.service.name)");
    // 1699996400 (now-1h) falls in the bucket starting 1699996800 − 1200 = 1699995600.
    assert_eq!(
        (q["start"].as_str(), q["end"].as_str(), q["step"].as_str()),
        ("1699995600", "1700000000", "1200s")
    );
    assert_eq!(s["start"], crate::timespec::format_time(1_699_995_600.0));
    assert_eq!(s["groups"][0]["values"], json!([0, 4, 0, 1]));
    assert_eq!(s["groups"][0]["group"], json!({"service": "cart"}));
}

/// What Tempo cannot do is an isError naming what to do instead, before anything is sent; a server
/// without TraceQL metrics (404) says so.
#[test]
fn tempo_refusals_say_what_to_write_instead() {
    let server = Server {
        answers: vec![("/api/metrics/query", 404, "404 page not found".into())],
        seen: RefCell::new(Vec::new()),
    };
    let text = |args: Value| {
        let out = run(&server, "analyze_traces", args);
        assert_eq!(out["isError"], true, "{out}");
        out["content"][0]["text"].as_str().unwrap().to_string()
    };
    let e = text(
        json!({"datasource_id": "tempo", "aggregation": {"function": "count"}, "groupBy": ["return_code"]}),
    );
    assert!(
        e.contains("several attributes") && e.contains("@http.response.status_code"),
        "{e}"
    );
    let e = text(
        json!({"datasource_id": "tempo", "aggregation": {"function": "avg", "field": "level"}}),
    );
    assert!(e.contains("unknown field 'level'"), "{e}");
    let e = text(
        json!({"datasource_id": "tempo", "aggregation": {"function": "count_distinct", "field": "@user"}}),
    );
    assert!(e.contains("no distinct count"), "{e}");
    assert!(server.seen.borrow().is_empty());
    let e = text(json!({"datasource_id": "tempo", "aggregation": {"function": "count"}}));
    assert!(
        e.contains("does not offer TraceQL metrics")
            && e.contains("Query sent: {} | count_over_time()"),
        "{e}"
    );
}
