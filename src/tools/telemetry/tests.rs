//! `analyze_telemetry` over fake backends: Prometheus answers by the PromQL it is sent, ClickHouse by
//! canned rows; the joins, the buckets and the notes are checked. The same tool runs against real
//! Prometheus and ClickHouse in host-test's integration tests.

use std::cell::RefCell;
use std::time::Duration;

use serde_json::{Value, json};

use crate::datasources;
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, url_encode};
use crate::tools::{Context, call};

const NOW: f64 = 1_763_719_200.0; // 2025-11-21T10:00:00Z

/// Prometheus on :9090 answers `(promql, data)` pairs; ClickHouse on :8123 the rows in turn.
struct Backends {
    promql: Vec<(&'static str, Value)>,
    rows: RefCell<Vec<Value>>,
    sent: RefCell<Vec<String>>,
}

impl HttpClient for Backends {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let body = String::from_utf8(request.body.clone().unwrap_or_default()).unwrap();
        self.sent
            .borrow_mut()
            .push(format!("{} {body}", request.url));
        let answer = if request.url.contains(":9090") {
            let (_, data) = self
                .promql
                .iter()
                .find(|(q, _)| body.contains(&format!("query={}&", url_encode(q))))
                .unwrap_or_else(|| panic!("unexpected PromQL in {body}"));
            json!({"status": "success", "data": data})
        } else {
            let data = self.rows.borrow_mut().remove(0);
            json!({"meta": [], "data": data, "rows": 0})
        };
        Ok(HttpResponse {
            status: 200,
            body: answer.to_string().into_bytes(),
        })
    }
}

fn call_with(backends: &Backends, args: Value) -> Value {
    let set = datasources::parse(
        "datasources:\n- name: prom\n  type: prometheus\n  url: http://127.0.0.1:9090\n- name: ch\n  type: grafana-clickhouse-datasource\n  jsonData: {host: 127.0.0.1, port: 8123, protocol: http}\n",
        "test.yaml",
        &|_| None,
    )
    .unwrap();
    let ctx = Context {
        datasources: &set,
        http: backends,
        now: NOW,
        timeout: Duration::from_secs(5),
    };
    call(&ctx, "analyze_telemetry", args).unwrap()
}

fn vector(series: &[(&str, f64)]) -> Value {
    let result: Vec<Value> = series
        .iter()
        .map(|(service, v)| json!({"metric": {"service": service}, "value": [NOW, v.to_string()]}))
        .collect();
    json!({"resultType": "vector", "result": result})
}

fn backends(promql: Vec<(&'static str, Value)>, rows: Vec<Value>) -> Backends {
    Backends {
        promql,
        rows: RefCell::new(rows),
        sent: RefCell::new(Vec::new()),
    }
}

fn structured(out: &Value) -> &Value {
    assert_eq!(out["isError"], false, "{out}");
    &out["structuredContent"]
}

fn error_text(out: &Value) -> String {
    assert_eq!(out["isError"], true, "{out}");
    out["content"][0]["text"].as_str().unwrap().to_string()
}

#[test]
fn a_ratio_of_two_metrics_per_service() {
    let b = backends(
        vec![
            (
                "sum by (service) (errors)",
                vector(&[("api", 5.0), ("db", 0.0)]),
            ),
            (
                "sum by (service) (requests)",
                vector(&[("api", 20.0), ("db", 0.0), ("web", 4.0)]),
            ),
        ],
        vec![],
    );
    let out = call_with(
        &b,
        json!({"queries": {
            "A": {"datasource": "metrics", "promql": "sum by (service) (errors)"},
            "B": {"datasource": "metrics", "promql": "sum by (service) (requests)"},
            "C": {"datasource": "formula", "expression": "(A / B) * 100"}
        }}),
    );
    let s = structured(&out);
    assert_eq!(s["queryType"], "instant");
    let c = &s["results"]["C"];
    assert_eq!(c["groupBy"], json!(["service"]));
    assert_eq!(
        c["groups"][0],
        json!({"group": {"service": "api"}, "value": 25.0})
    );
    // db divides by zero, web has no errors series: both null, and the note says why.
    assert_eq!(c["groups"][1]["value"], Value::Null);
    assert_eq!(
        c["note"],
        "2 of 3 values are null: A has no value for the group (1), division by zero (1)"
    );
    assert_eq!(s["results"]["A"]["datasource"], "prom");
    assert_eq!(s["results"]["B"]["total"], 3);
}

#[test]
fn logs_counts_join_metrics_and_absent_groups_count_zero() {
    let b = backends(
        vec![(
            "sum by (service) (increase(requests[3600s]))",
            vector(&[("api", 200.0), ("db", 50.0)]),
        )],
        vec![json!([{"g0": "api", "value": 10, "total_groups": 1}])],
    );
    let out = call_with(
        &b,
        json!({"queries": {
            "E": {"datasource": "logs", "filters": "level = ERROR", "aggregation": {"function": "count"}, "groupBy": "service"},
            "R": {"datasource": "metrics", "promql": "sum by (service) (increase(requests[$__range]))"},
            "ratio": {"datasource": "formula", "expression": "round(E / R * 100, 2)"}
        }}),
    );
    let s = structured(&out);
    let ratio = &s["results"]["ratio"]["groups"];
    assert_eq!(ratio[0], json!({"group": {"service": "api"}, "value": 5.0}));
    assert_eq!(ratio[1], json!({"group": {"service": "db"}, "value": 0.0}));
    assert_eq!(s["results"]["E"]["source"], "logs");
    assert_eq!(s["results"]["E"]["datasource"], "ch");
    assert_eq!(s["results"]["E"]["filters"], "level = \"ERROR\"");
    assert_eq!(
        s["results"]["R"]["promql"],
        "sum by (service) (increase(requests[3600s]))"
    );
    // Both backends were asked in the same batch.
    assert_eq!(b.sent.borrow().len(), 2);
}

#[test]
fn range_buckets_line_up_and_promql_is_read_at_each_bucket_end() {
    // Window 09:00–10:00 at 20m: buckets 09:00, 09:20, 09:40, 10:00; PromQL at 09:20 … 10:20.
    let start = NOW - 3600.0;
    let matrix = json!({"resultType": "matrix", "result": [{"metric": {}, "values": [
        [start + 1200.0, "10"], [start + 2400.0, "20"], [start + 4800.0, "0"]
    ]}]});
    let b = backends(
        vec![("sum(increase(requests[1200s]))", matrix)],
        vec![
            json!([{"value": 5}]),
            json!([
                {"b": start, "value": 1},
                {"b": start + 1200.0, "value": 4}
            ]),
        ],
    );
    let out = call_with(
        &b,
        json!({"queryType": "range", "step": "20m", "queries": {
            "A": {"datasource": "traces", "filters": "status = error", "aggregation": {"function": "count"}},
            "B": {"datasource": "metrics", "promql": "sum(increase(requests[$__interval]))"},
            "F": {"datasource": "formula", "expression": "A / B"}
        }}),
    );
    let s = structured(&out);
    assert_eq!(s["start"], "2025-11-21T09:00:00Z");
    assert_eq!(s["step"], "20m");
    assert_eq!(s["results"]["B"]["values"], json!([10.0, 20.0, null, 0.0]));
    assert_eq!(s["results"]["A"]["values"], json!([1.0, 4.0, 0.0, 0.0]));
    let f = &s["results"]["F"];
    assert_eq!(f["values"], json!([0.1, 0.2, null, null]));
    assert_eq!(
        (f["min"].clone(), f["max"].clone(), f["latest"].clone()),
        (json!(0.1), json!(0.2), json!(0.2))
    );
    assert_eq!(
        f["note"],
        "2 of 4 values are null: B has no value (1), division by zero (1)"
    );
    let sent = b.sent.borrow();
    let prom = sent.iter().find(|r| r.contains(":9090")).unwrap();
    assert!(
        prom.contains("start=1763716800&end=1763720400&step=1200"),
        "{prom}"
    );
}

#[test]
fn mismatched_groupings_and_bad_queries_say_what_to_fix() {
    let b = backends(
        vec![
            ("sum by (service) (a)", vector(&[("api", 1.0)])),
            ("up[5m]", json!({"resultType": "matrix", "result": []})),
            (
                "sum by (namespace) (b)",
                json!({"resultType": "vector", "result": [{"metric": {"namespace": "x"}, "value": [NOW, "1"]}]}),
            ),
        ],
        vec![],
    );
    let e = error_text(&call_with(
        &b,
        json!({"queries": {
            "A": {"datasource": "metrics", "promql": "sum by (service) (a)"},
            "B": {"datasource": "metrics", "promql": "sum by (namespace) (b)"},
            "C": {"datasource": "formula", "expression": "A / B"}
        }}),
    ));
    assert!(
        e.contains("A is grouped by (service) and B by (namespace)"),
        "{e}"
    );
    let cases = [
        (
            json!({"A": {"datasource": "formula", "expression": "1 + 1"}}),
            "only formulas",
        ),
        (
            json!({"A": {"datasource": "metrics", "promql": "up"}, "F": {"datasource": "formula", "expression": "A / Z"}}),
            "uses Z, which is not a query",
        ),
        (
            json!({"A": {"datasource": "metrics", "promql": "rate(up[5m]"}}),
            "query A: invalid PromQL",
        ),
        (
            json!({"A": {"datasource": "metrics", "promql": "up", "filters": "x"}}),
            "unknown key 'filters' for a metrics query",
        ),
        (
            json!({"A": {"datasource": "loki"}}),
            "unknown datasource 'loki'",
        ),
        (
            json!({"1A": {"datasource": "metrics", "promql": "up"}}),
            "query label '1A'",
        ),
        (
            json!({"A": {"datasource": "logs", "aggregation": {"function": "p95"}}}),
            "'p95' needs a field",
        ),
        (
            json!({"A": {"datasource": "metrics", "promql": "up"}, "F": {"datasource": "formula", "expression": "A %"}}),
            "query F: expression: unexpected '%'",
        ),
        (
            json!({"A": {"datasource": "metrics", "promql": "up"}, "F": {"datasource": "formula", "expression": "G"}, "G": {"datasource": "formula", "expression": "F"}}),
            "cycle",
        ),
        (json!({}), "queries is empty"),
        (
            json!({"A": {"datasource": "metrics", "promql": "up[5m]"}}),
            "gives a matrix",
        ),
    ];
    for (queries, wanted) in cases {
        let e = error_text(&call_with(&b, json!({"queries": queries})));
        assert!(e.contains(wanted), "{queries}: {e}");
    }
}

#[test]
fn a_failed_query_is_listed_and_its_formulas_say_so() {
    let b = backends(vec![("sum(a)", vector(&[]))], vec![]);
    // The logs datasource id is unknown: that query fails, the metrics one answers.
    let out = call_with(
        &b,
        json!({"queries": {
            "A": {"datasource": "metrics", "promql": "sum(a)"},
            "L": {"datasource": "logs", "aggregation": {"function": "count"}, "datasource_id": "nope"},
            "F": {"datasource": "formula", "expression": "A + L"}
        }}),
    );
    let s = structured(&out);
    assert!(
        s["results"]["L"]["error"]
            .as_str()
            .unwrap()
            .starts_with("query L: unknown datasource_id 'nope'")
    );
    assert_eq!(s["results"]["F"]["error"], "needs L, which failed");
    assert_eq!(s["results"]["A"]["value"], Value::Null);
}
