//! `analyze_telemetry` and the metrics fan-out against real backends: a real Prometheus holding the
//! demo metrics (ending at the ClickHouse seed's base time, so one window covers both) and the real
//! ClickHouse engine behind our front (see `records.rs`) holding the seed's logs and spans. Every
//! expected number comes from the two datasets' documentation (`demo_data.rs`, `seed.py`).

use host_test::dev::backends;
use host_test::dev::clickhouse::ClickHouse;
use host_test::dev::demo_data::DemoData;
use serde_json::{Value, json};

use crate::fixture::{Host, Stack, call_err, call_ok};

/// The seed's base time (2026-01-01T12:00:00Z) and the hour before it.
const BASE: &str = "2026-01-01T12:00:00Z";
const BASE_UNIX: i64 = 1_767_268_800;
const HOUR_BEFORE: &str = "2026-01-01T11:00:00Z";

fn close(actual: &Value, expected: f64) -> bool {
    actual
        .as_f64()
        .is_some_and(|a| (a - expected).abs() <= 1e-9 * expected.abs().max(1.0))
}

/// `{group label value: value}` of a result's groups.
fn by_group(result: &Value, label: &str) -> Vec<(String, Value)> {
    result["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("no groups in {result}"))
        .iter()
        .map(|g| {
            (
                g["group"][label].as_str().unwrap().to_string(),
                g["value"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formulas_combine_metrics_logs_and_traces_exactly() {
    let ch = ClickHouse::start(BASE, &[]).expect("start the ClickHouse front");
    let prometheus =
        backends::start_prometheus(&DemoData::ending_at(BASE_UNIX)).expect("start Prometheus");
    let yaml = format!(
        "apiVersion: 1\ndatasources:\n  - name: prometheus\n    type: prometheus\n    url: {}\n    jsonData:\n      timeInterval: 15s\n{}",
        prometheus.url,
        ch.datasource_entry("otel", "")
    );
    let host = Host::start(&yaml, &[]);
    let client = host.client().await;
    let window =
        |queries: Value| json!({"from_time": HOUR_BEFORE, "to_time": BASE, "queries": queries});

    // Traces: error spans / all spans per service, as a percentage. Cart has no error span: its
    // count is 0, not missing.
    let t = call_ok(
        &client,
        "analyze_telemetry",
        window(json!({
            "E": {"datasource": "traces", "filters": "status = error", "aggregation": {"function": "count"}, "groupBy": ["service"]},
            "S": {"datasource": "traces", "aggregation": {"function": "count"}, "groupBy": ["service"]},
            "R": {"datasource": "formula", "expression": "(E / S) * 100"}
        })),
    )
    .await;
    assert_eq!(t["queryType"], "instant");
    assert_eq!(t["results"]["E"]["datasource"], "otel");
    let r = by_group(&t["results"]["R"], "service");
    assert_eq!(r[0].0, "payment");
    assert!(close(&r[0].1, 200.0 / 3.0), "{r:?}");
    assert_eq!(r[1].0, "checkout");
    assert!(close(&r[1].1, 100.0 / 3.0), "{r:?}");
    assert_eq!(r[2], ("frontend".to_string(), json!(18.75)));
    assert_eq!(r[3], ("cart".to_string(), json!(0.0)));
    assert!(t["results"]["R"].get("note").is_none());

    // A logs count over a metrics rate: 10 ERROR logs in the hour, 59 requests/s at its end. The
    // two metrics datasources' answers and the logs come from different backends in one call.
    let l = call_ok(
        &client,
        "analyze_telemetry",
        window(json!({
            "L": {"datasource": "logs", "filters": "level = ERROR", "aggregation": {"function": "count"}},
            "M": {"datasource": "metrics", "promql": "sum(rate(demo_http_requests_total[5m]))"},
            "F": {"datasource": "formula", "expression": "L / M"},
            "Z": {"datasource": "formula", "expression": "L / (M - M)"}
        })),
    )
    .await;
    assert_eq!(l["results"]["L"]["value"], 10.0);
    assert!(close(&l["results"]["M"]["value"], 59.0), "{l}");
    assert!(close(&l["results"]["F"]["value"], 10.0 / 59.0), "{l}");
    // Division by zero: null and a note, never an infinity.
    assert_eq!(l["results"]["Z"]["value"], Value::Null);
    assert_eq!(
        l["results"]["Z"]["note"],
        "1 of 1 values are null: division by zero (1)"
    );

    // Two metrics joined per instance: 500s are 3 of 28 req/s on app-1, 7 of 31 on app-2.
    let m = call_ok(
        &client,
        "analyze_telemetry",
        window(json!({
            "A": {"datasource": "metrics", "promql": "sum by (instance) (rate(demo_http_requests_total{code=\"500\"}[5m]))"},
            "B": {"datasource": "metrics", "promql": "sum by (instance) (rate(demo_http_requests_total[5m]))", "datasource_id": "prometheus"},
            "C": {"datasource": "formula", "expression": "(A / B) * 100"}
        })),
    )
    .await;
    let c = by_group(&m["results"]["C"], "instance");
    assert_eq!(c[0].0, "app-2:8080");
    assert!(close(&c[0].1, 700.0 / 31.0), "{c:?}");
    assert_eq!(c[1].0, "app-1:8080");
    assert!(close(&c[1].1, 300.0 / 28.0), "{c:?}");

    // Range: the same buckets for both traces queries; per bucket they add up to the instant counts.
    let range = call_ok(
        &client,
        "analyze_telemetry",
        json!({"from_time": HOUR_BEFORE, "to_time": BASE, "queryType": "range", "step": "10m", "queries": {
            "E": {"datasource": "traces", "filters": "status = error", "aggregation": {"function": "count"}},
            "S": {"datasource": "traces", "aggregation": {"function": "count"}},
            "R": {"datasource": "formula", "expression": "E / S"}
        }}),
    )
    .await;
    assert_eq!(range["start"], HOUR_BEFORE);
    assert_eq!(range["step"], "10m");
    let sum = |v: &Value| -> f64 { v.as_array().unwrap().iter().filter_map(Value::as_f64).sum() };
    assert_eq!(sum(&range["results"]["E"]["values"]), 7.0);
    assert_eq!(sum(&range["results"]["S"]["values"]), 28.0);
    let buckets = range["results"]["R"]["values"].as_array().unwrap().len();
    assert_eq!(buckets, 7);
    // Buckets without spans divide by zero: each is null, and the note counts them.
    let note = range["results"]["R"]["note"].as_str().unwrap_or_default();
    assert!(note.contains("division by zero"), "{range}");

    // Operands grouped differently: a clear error that says how to align them.
    let e = call_err(
        &client,
        "analyze_telemetry",
        window(json!({
            "A": {"datasource": "logs", "aggregation": {"function": "count"}, "groupBy": ["service"]},
            "B": {"datasource": "traces", "aggregation": {"function": "count"}, "groupBy": ["namespace"]},
            "C": {"datasource": "formula", "expression": "A / B"}
        })),
    )
    .await;
    assert!(
        e.contains("A is grouped by (service) and B by (namespace)"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_asks_every_metrics_datasource_and_lists_the_one_down() {
    let stack = Stack::start();
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://{}", down.local_addr().unwrap());
    drop(down);
    let yaml = format!(
        "apiVersion: 1\ndatasources:\n  - name: prometheus\n    type: prometheus\n    url: {}\n    isDefault: true\n  - name: vm\n    type: victoriametrics-metrics-datasource\n    url: {}\n  - name: down\n    type: prometheus\n    url: {down_url}\n",
        stack.prometheus.url, stack._vm.url
    );
    let host = Host::start(&yaml, &[]);
    let client = host.client().await;
    let time = stack.data.end.to_string();

    // demo_queue_depth at the end: email 15 + billing 17.
    let out = call_ok(
        &client,
        "query_instant",
        json!({"promql": "sum(demo_queue_depth)", "time": time, "datasource_ids": "*"}),
    )
    .await;
    assert_eq!(out["datasources"], json!(["prometheus", "vm", "down"]));
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (result, id) in results.iter().zip(["prometheus", "vm"]) {
        assert_eq!(result["datasource"], id);
        assert_eq!(result["result"][0]["value"], 32.0, "{result}");
    }
    assert_eq!(out["failures"][0]["datasource"], "down");
    let error = out["failures"][0]["error"].as_str().unwrap();
    assert!(error.contains("datasource 'down'"), "{error}");

    // analyze_metrics over two named datasources: the same statistics from both.
    let a = call_ok(
        &client,
        "analyze_metrics",
        json!({"promql": "demo_queue_depth{queue=\"billing\"}", "queryType": "instant", "to_time": time, "datasource_ids": ["vm", "prometheus"]}),
    )
    .await;
    assert_eq!(a["failures"], json!([]));
    assert_eq!(a["results"][0]["datasource"], "vm");
    assert_eq!(a["results"][0]["overall"]["latest"], 17.0);
    assert_eq!(a["results"][1]["overall"]["latest"], 17.0);

    // Only the one that is down: an error that names it.
    let e = call_err(
        &client,
        "query_range",
        json!({"promql": "up", "start": "now-5m", "end": "now", "datasource_ids": ["down"]}),
    )
    .await;
    assert!(
        e.starts_with("every datasource failed: datasource 'down'"),
        "{e}"
    );
}
