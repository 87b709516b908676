//! Tool-level tests of the logs and traces tools against canned ClickHouse answers: the request that
//! goes out (SQL, parameters, limits) and the shaped result. The same tools run against the real
//! engine in host-test's integration tests.

use std::cell::RefCell;
use std::time::Duration;

use serde_json::{Value, json};

use crate::datasources::{self, DatasourceSet};
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
use crate::tools::{Context, call};

const NOW: f64 = 1_763_719_200.0; // 2025-11-21T10:00:00Z

/// Answers each request with the next canned body; remembers requests.
struct ClickHouse {
    answers: RefCell<Vec<(u16, String)>>,
    seen: RefCell<Vec<HttpRequest>>,
}

impl ClickHouse {
    fn new(answers: Vec<Value>) -> Self {
        ClickHouse {
            answers: RefCell::new(
                answers
                    .into_iter()
                    .rev()
                    .map(|v| (200, v.to_string()))
                    .collect(),
            ),
            seen: RefCell::new(Vec::new()),
        }
    }

    fn body(&self, i: usize) -> String {
        String::from_utf8(self.seen.borrow()[i].body.clone().unwrap_or_default()).unwrap()
    }

    fn url(&self, i: usize) -> String {
        self.seen.borrow()[i].url.clone()
    }
}

impl HttpClient for ClickHouse {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.seen.borrow_mut().push(request.clone());
        let (status, body) = self.answers.borrow_mut().pop().expect("an answer");
        Ok(HttpResponse {
            status,
            body: body.into_bytes(),
        })
    }
}

fn rows(data: Value) -> Value {
    json!({"meta": [], "data": data, "rows": 0})
}

fn set() -> DatasourceSet {
    datasources::parse(
        "datasources:
- name: prom
  type: prometheus
  url: http://127.0.0.1:9090
- name: ch
  type: grafana-clickhouse-datasource
  jsonData: {host: 127.0.0.1, port: 8123, protocol: http, username: reader}
  secureJsonData: {password: s3cret-pw}
",
        "test.yaml",
        &|_| None,
    )
    .unwrap()
}

fn run(ch: &ClickHouse, tool: &str, args: Value) -> Value {
    let set = set();
    let ctx = Context {
        datasources: &set,
        http: ch,
        now: NOW,
        timeout: Duration::from_secs(30),
    };
    call(&ctx, tool, args).unwrap()
}

fn structured(v: &Value) -> &Value {
    assert_eq!(v["isError"], false, "{v}");
    &v["structuredContent"]
}

fn error_text(v: &Value) -> String {
    assert_eq!(v["isError"], true, "{v}");
    v["content"][0]["text"].as_str().unwrap().to_string()
}

#[test]
fn search_logs_sends_parameterised_sql_with_limits_and_shapes_rows() {
    let ch = ClickHouse::new(vec![
        rows(json!([{"total": "42"}])),
        rows(
            json!([{"t": "1763719190123", "c0": "checkout", "c1": "ERROR", "c2": "payments", "c3": "checkout-1", "c4": "x".repeat(2000), "n4": "25000"}]),
        ),
    ]);
    let out = run(
        &ch,
        "search_logs",
        json!({"filters": "namespace = payments AND level = error", "limit": 1}),
    );
    let s = structured(&out);
    assert_eq!(s["datasource"], "ch");
    assert_eq!(s["total"], 42);
    assert_eq!(s["shown"], 1);
    assert!(
        s["truncated"]
            .as_str()
            .unwrap()
            .starts_with("1 of 42 shown")
    );
    let r = &s["records"][0];
    assert_eq!(r["time"], "2025-11-21T09:59:50.123Z");
    assert_eq!(r["level"], "ERROR");
    assert_eq!(r["message_length"], 25000);
    assert!(s["note"].as_str().unwrap().contains("cut"), "{s}");
    assert_eq!(
        s["filters"],
        r#"namespace = "payments" AND level = "error""#
    );
    // The count, then the rows; values only as parameters, limits set, credentials as basic auth.
    let count = ch.body(0);
    assert!(count.starts_with("SELECT count() AS total FROM `otel`.`otel_logs` WHERE `Timestamp` >= fromUnixTimestamp64Nano({p0:Int64})"), "{count}");
    assert!(!count.contains("payments"), "{count}");
    let url = ch.url(1);
    for want in [
        "readonly=2",
        "max_result_rows=",
        "result_overflow_mode=throw",
        "param_p2=payments",
        "param_p3=error",
        "max_execution_time=27",
    ] {
        assert!(url.contains(want), "{want} not in {url}");
    }
    assert!(
        ch.body(1).contains("ORDER BY `Timestamp` DESC LIMIT 1"),
        "{}",
        ch.body(1)
    );
    let auth = ch.seen.borrow()[0]
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .map(|(_, v)| v.clone());
    assert_eq!(auth.as_deref(), Some("Basic cmVhZGVyOnMzY3JldC1wdw=="));
}

#[test]
fn bad_filters_and_unknown_fields_are_positioned_errors_and_nothing_is_sent() {
    let ch = ClickHouse::new(vec![]);
    let msg = error_text(&run(
        &ch,
        "search_logs",
        json!({"filters": "level = = ERROR"}),
    ));
    assert!(msg.contains("position 8"), "{msg}");
    let msg = error_text(&run(
        &ch,
        "search_traces",
        json!({"filters": "colour = red"}),
    ));
    assert!(
        msg.contains("unknown traces field 'colour'") && msg.contains("get_trace_or_log_fields"),
        "{msg}"
    );
    let msg = error_text(&run(
        &ch,
        "analyze_traces",
        json!({"aggregation": {"function": "p95"}}),
    ));
    assert!(msg.contains("needs a field"), "{msg}");
    let msg = error_text(&run(
        &ch,
        "analyze_traces",
        json!({"aggregation": {"function": "median", "field": "duration"}}),
    ));
    assert!(msg.contains("unknown function 'median'"), "{msg}");
    assert!(ch.seen.borrow().is_empty());
}

#[test]
fn families_are_kept_apart() {
    let ch = ClickHouse::new(vec![]);
    let msg = error_text(&run(
        &ch,
        "query_instant",
        json!({"datasource_id": "ch", "promql": "up"}),
    ));
    assert!(
        msg.contains("'ch' is a logs/traces datasource")
            && msg.contains("metrics datasources: prom"),
        "{msg}"
    );
    let msg = error_text(&run(&ch, "search_logs", json!({"datasource_id": "prom"})));
    assert!(
        msg.contains("needs a logs datasource") && msg.contains("logs datasources: ch"),
        "{msg}"
    );
}

#[test]
fn analyze_instant_groups_with_counts_and_percentiles() {
    let ch = ClickHouse::new(vec![rows(json!([
        {"g0": "checkout", "value": 812.5, "total_groups": "3"},
        {"g0": "cart", "value": 40, "total_groups": "3"}
    ]))]);
    let out = run(
        &ch,
        "analyze_traces",
        json!({"aggregation": {"function": "p95", "field": "duration"}, "groupBy": "service", "limit": 2}),
    );
    let s = structured(&out);
    assert_eq!(s["aggregation"], "p95(duration)");
    assert_eq!(
        s["groups"][0],
        json!({"group": {"service": "checkout"}, "value": 812.5})
    );
    assert_eq!(s["total"], 3);
    assert!(
        ch.body(0)
            .contains("quantile(0.95)((toFloat64(`Duration`) * 1 / 1000000))"),
        "{}",
        ch.body(0)
    );
}

#[test]
fn analyze_range_fills_buckets_and_adds_stats() {
    let ch = ClickHouse::new(vec![
        rows(json!([{"g0": "ERROR", "value": "3", "total_groups": "1"}])),
        rows(json!([
            {"g0": "ERROR", "b": "1763718000", "value": "2"},
            {"g0": "ERROR", "b": "1763718600", "value": "1"}
        ])),
    ]);
    let out = run(
        &ch,
        "analyze_logs",
        json!({"queryType": "range", "aggregation": {"function": "count"}, "groupBy": ["level"], "from_time": "now-1h", "step": "10m"}),
    );
    let s = structured(&out);
    assert_eq!(s["step"], "10m");
    assert_eq!(s["start"], "2025-11-21T09:00:00Z");
    let g = &s["groups"][0];
    // 09:40 and 09:50 of seven 10-minute buckets from 09:00; a count is 0 where nothing matched.
    assert_eq!(g["values"], json!([0, 0, 0, 0, 2, 1, 0]));
    assert_eq!(
        (g["min"].as_f64(), g["max"].as_f64(), g["latest"].as_f64()),
        (Some(0.0), Some(2.0), Some(0.0))
    );
    // The range query is restricted to the shown groups, as parameters.
    assert!(
        ch.body(1).contains("(toString(`SeverityText`)) IN (({p"),
        "{}",
        ch.body(1)
    );
}

#[test]
fn get_trace_summarises_with_the_critical_path() {
    let span = |id: &str, parent: &str, service: &str, start: u64, ms: f64, status: &str| {
        json!({"id": id, "parent": parent, "service": service, "operation": format!("op-{id}"),
               "start_ns": (start * 1_000_000).to_string(), "duration_ms": ms, "status": status,
               "status_message": "", "role": "server"})
    };
    let ch = ClickHouse::new(vec![rows(json!([
        span("a", "", "frontend", 1_763_719_000_000, 100.0, "ok"),
        span("b", "a", "cart", 1_763_719_000_010, 20.0, "ok"),
        span("c", "a", "checkout", 1_763_719_000_020, 70.0, "error"),
        span("d", "c", "payments", 1_763_719_000_030, 50.0, "ok"),
    ]))]);
    let out = run(
        &ch,
        "get_trace",
        json!({"trace_id": "ABCDEF0123456789abcdef0123456789", "max_spans": 2}),
    );
    let s = structured(&out);
    assert_eq!(s["span_count"], 4);
    assert_eq!(s["duration_ms"], 100.0);
    assert_eq!(s["error_count"], 1);
    let path: Vec<&str> = s["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["span_id"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["a", "c", "d"]);
    let slowest: Vec<&str> = s["slowest_spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["span_id"].as_str().unwrap())
        .collect();
    assert_eq!(slowest, ["a", "c"]);
    assert!(s["truncated"].as_str().unwrap().contains("2 slowest of 4"));
    assert!(
        ch.url(0)
            .contains("param_p0=abcdef0123456789abcdef0123456789"),
        "{}",
        ch.url(0)
    );
    let msg = error_text(&run(&ch, "get_trace", json!({"trace_id": "x' OR 1=1"})));
    assert!(msg.contains("hex"), "{msg}");
}
