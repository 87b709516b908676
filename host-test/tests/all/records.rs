//! The logs and traces tools against the real ClickHouse engine: `tests/clickhouse/front.py` is our
//! own small stand-in for clickhouse-server's HTTP interface (ClickHouse itself cannot be installed
//! here), and behind it the engine is real ClickHouse (26.9, through chdb) holding the OpenTelemetry
//! exporter's tables with the deterministic dataset of `tests/clickhouse/seed.py`. Every expected
//! number below comes from that dataset's documentation.

use std::time::{Duration, Instant};

use host_test::dev::clickhouse::ClickHouse;
use serde_json::{Value, json};

use crate::fixture::{Host, call_err, call_ok};

/// The seed's base time: every record lies before it.
const BASE: &str = "2026-01-01T12:00:00Z";
const HOUR_BEFORE: &str = "2026-01-01T11:00:00Z";
const TRACE_B: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// ClickHouse seeded at [`BASE`], with `extra` front options.
fn clickhouse(extra: &[&str]) -> ClickHouse {
    ClickHouse::start(BASE, extra).expect("start the ClickHouse front")
}

/// A datasources file naming `ch` as `otel`, with `extra_json` in its jsonData.
fn datasources(ch: &ClickHouse, extra_json: &str) -> String {
    format!(
        "apiVersion: 1\ndatasources:\n{}",
        ch.datasource_entry("otel", extra_json)
    )
}

fn window(extra: Value) -> Value {
    let mut args = json!({"from_time": HOUR_BEFORE, "to_time": BASE});
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    args
}

fn groups(v: &Value) -> Vec<(String, Value)> {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let label = g["group"]
                .as_object()
                .map(|o| {
                    o.values()
                        .map(|v| v.as_str().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default();
            (label, g["value"].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_traces_tools_answer_exactly_on_the_real_engine() {
    let ch = clickhouse(&[]);
    let host = Host::start(&datasources(&ch, ""), &[]);
    let client = host.client().await;

    // list_datasources: the ClickHouse entry serves logs and traces, and is their default.
    let ds = call_ok(&client, "list_datasources", json!({})).await;
    assert_eq!(ds["defaults"], json!({"logs": "otel", "traces": "otel"}));
    assert_eq!(ds["datasources"][0]["families"], json!(["logs", "traces"]));

    // search_logs: KubeSense's first example; newest first, total counted, datasource echoed.
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "namespace = \"payments\" AND level = ERROR", "limit": 3})),
    )
    .await;
    assert_eq!(s["datasource"], "otel");
    assert_eq!(
        (s["total"].as_u64(), s["shown"].as_u64()),
        (Some(7), Some(3))
    );
    let times: Vec<&str> = s["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    for r in s["records"].as_array().unwrap() {
        assert_eq!(r["level"], "ERROR");
        assert_eq!(r["namespace"], "payments");
    }
    // LIKE on the message; level compares ignoring case.
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "message LIKE \"%timeout%\""})),
    )
    .await;
    assert_eq!(s["total"], 4);
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "level = warn"})),
    )
    .await;
    assert_eq!(s["total"], 7);
    // IN, NOT IN and a custom attribute.
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "pod_name IN (\"cart-5c8b-klmno\", \"payment-8e2c-uvwxy\")"})),
    )
    .await;
    assert_eq!(s["total"], 20);
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "namespace NOT IN (default)"})),
    )
    .await;
    assert_eq!(s["total"], 25);
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "@customer_tier = gold"})),
    )
    .await;
    assert_eq!(s["total"], 7);
    // The 25,000-byte body is cut, with its length.
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "body_length > 20000", "fields": ["service", "message"]})),
    )
    .await;
    assert_eq!(s["total"], 1);
    assert_eq!(s["records"][0]["message_length"], 25000);
    assert_eq!(
        s["records"][0]["message"].as_str().unwrap().chars().count(),
        2000
    );
    assert!(s["note"].as_str().unwrap().contains("cut"));

    // Injection attempts come back as exactly what they are: values, never SQL.
    let s = call_ok(
        &client,
        "search_traces",
        window(json!({"filters": "@tenant = \"acme' OR '1'='1\""})),
    )
    .await;
    assert_eq!(s["total"], 1);
    let s = call_ok(
        &client,
        "search_traces",
        window(json!({"filters": "@tenant = acme"})),
    )
    .await;
    assert_eq!(s["total"], 7);
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "@note = \"x; DROP TABLE otel.otel_logs; --\""})),
    )
    .await;
    assert_eq!(s["total"], 1);
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "@\"x') OR 1=1 --\" = 1 OR message = \"') OR 1=1 --\""})),
    )
    .await;
    assert_eq!(s["total"], 0);
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "@note = \"back\\\\slash\""})),
    )
    .await;
    assert_eq!(s["total"], 1, "a backslash travels as itself");

    // Every operator, and parentheses: each count is the dataset's.
    for (filters, want) in [
        ("level != INFO", 19),
        ("level <> info", 19),
        ("(service = cart OR service = payment) AND level = INFO", 13),
        ("message NOT LIKE \"%timeout%\"", 51),
        ("NOT (namespace = default)", 25),
        ("body_length >= 25000", 1),
    ] {
        let s = call_ok(&client, "search_logs", window(json!({"filters": filters}))).await;
        assert_eq!(s["total"], want, "{filters}");
    }
    for (filters, want) in [
        ("protocol_type = HTTP OR status = error", 18),
        (
            "operation_name = \"GET /api/products\" AND duration < 20",
            1,
        ),
        (
            "operation_name = \"GET /api/products\" AND duration <= 20",
            2,
        ),
        (
            "operation_name = \"GET /api/products\" AND duration >= 100",
            1,
        ),
        (
            "operation_name LIKE \"GET /api/%\" AND NOT (duration > 50)",
            5,
        ),
    ] {
        let s = call_ok(
            &client,
            "search_traces",
            window(json!({"filters": filters})),
        )
        .await;
        assert_eq!(s["total"], want, "{filters}");
    }

    // search_traces: status, role, duration in milliseconds, protocol.
    let s = call_ok(
        &client,
        "search_traces",
        window(json!({"filters": "status = error"})),
    )
    .await;
    assert_eq!(s["total"], 7);
    let s = call_ok(
        &client,
        "search_traces",
        window(json!({"filters": "role = client AND status = ERROR"})),
    )
    .await;
    assert_eq!(s["total"], 2);
    let s = call_ok(
        &client,
        "search_traces",
        window(json!({"filters": "duration > 1000"})),
    )
    .await;
    assert_eq!(s["total"], 6);
    assert!(s["records"][0]["duration"].as_f64().unwrap() > 1000.0);
    let s = call_ok(
        &client,
        "search_traces",
        window(json!({"filters": "protocol_type = GRPC AND namespace = payments"})),
    )
    .await;
    assert!(s["total"].as_u64().unwrap() > 0);

    // analyze_logs: counts per level, largest first.
    let a = call_ok(
        &client,
        "analyze_logs",
        window(json!({"aggregation": {"function": "count"}, "groupBy": ["level"]})),
    )
    .await;
    assert_eq!(
        groups(&a),
        [
            ("INFO".to_string(), json!(36)),
            ("ERROR".to_string(), json!(10)),
            ("WARN".to_string(), json!(7)),
            ("DEBUG".to_string(), json!(2))
        ]
    );
    assert_eq!(a["total"], 4);
    // analyze_traces: exact statistics of the ten GET /api/products spans (10 … 100 ms).
    let products = "operation_name = \"GET /api/products\"";
    for (function, want) in [
        ("count", 10.0),
        ("sum", 550.0),
        ("avg", 55.0),
        ("min", 10.0),
        ("max", 100.0),
    ] {
        let field = if function == "count" {
            json!(null)
        } else {
            json!("duration")
        };
        let a = call_ok(
            &client,
            "analyze_traces",
            window(
                json!({"filters": products, "aggregation": {"function": function, "field": field}}),
            ),
        )
        .await;
        assert_eq!(a["value"].as_f64(), Some(want), "{function}: {a}");
    }
    let a = call_ok(
        &client,
        "analyze_traces",
        window(
            json!({"filters": products, "aggregation": {"function": "p90", "field": "duration"}}),
        ),
    )
    .await;
    let p90 = a["value"].as_f64().unwrap();
    assert!((91.0..=100.0).contains(&p90), "p90 {p90}");
    let a = call_ok(
        &client,
        "analyze_traces",
        window(json!({"aggregation": {"function": "count_distinct", "field": "trace_id"}})),
    )
    .await;
    assert_eq!(a["value"], 13);
    // Range: one series per service on 10-minute buckets, adding up to the instant counts.
    let a = call_ok(
        &client,
        "analyze_logs",
        window(json!({"queryType": "range", "step": "10m", "aggregation": {"function": "count"}, "groupBy": "service"})),
    )
    .await;
    assert_eq!(a["step"], "10m");
    assert_eq!(a["start"], HOUR_BEFORE);
    let by_service: Vec<(String, f64)> = a["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let total: f64 = g["values"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64)
                .sum();
            (g["group"]["service"].as_str().unwrap().to_string(), total)
        })
        .collect();
    assert_eq!(
        by_service,
        [
            ("frontend".to_string(), 20.0),
            ("checkout".to_string(), 15.0),
            ("cart".to_string(), 10.0),
            ("payment".to_string(), 10.0)
        ]
    );

    // get_trace: trace B's summary and critical path.
    let t = call_ok(
        &client,
        "get_trace",
        json!({"trace_id": TRACE_B, "from_time": HOUR_BEFORE, "to_time": BASE}),
    )
    .await;
    assert_eq!(t["span_count"], 8);
    assert_eq!(t["duration_ms"], 2600.0);
    assert_eq!(t["error_count"], 6);
    let path: Vec<&str> = t["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["span_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        path,
        [
            "b000000000000001",
            "b000000000000002",
            "b000000000000003",
            "b000000000000006",
            "b000000000000007",
            "b000000000000008"
        ]
    );
    let services: Vec<(&str, u64)> = t["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["service"].as_str().unwrap(), s["spans"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        services,
        [
            ("cart", 1),
            ("checkout", 3),
            ("frontend", 2),
            ("payment", 2)
        ]
    );
    let t = call_ok(&client, "get_trace", json!({"trace_id": TRACE_B, "from_time": HOUR_BEFORE, "to_time": BASE, "service": "payment", "max_spans": 1})).await;
    assert_eq!(t["slowest_spans"][0]["span_id"], "b000000000000007");
    assert!(t["truncated"].as_str().unwrap().contains("1 slowest of 2"));

    // get_trace_or_log_fields: known fields and the attribute keys seen, with counts.
    let f = call_ok(
        &client,
        "get_trace_or_log_fields",
        window(json!({"datasource": "logs"})),
    )
    .await;
    let keys: Vec<(&str, &str, u64)> = f["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap(),
                a["scope"].as_str().unwrap(),
                a["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(keys.contains(&("customer_tier", "log", 35)), "{keys:?}");
    assert!(
        keys.contains(&("k8s.namespace.name", "resource", 55)),
        "{keys:?}"
    );
    assert!(
        f["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "level")
    );
    let f = call_ok(
        &client,
        "get_trace_or_log_fields",
        window(json!({"datasource": "traces"})),
    )
    .await;
    assert!(
        f["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == "tenant" && a["count"] == 18),
        "{f}"
    );

    // Bad input: positioned filter errors, unknown fields, and nothing crashes.
    let msg = call_err(
        &client,
        "search_logs",
        window(json!({"filters": "level = = ERROR"})),
    )
    .await;
    assert!(msg.contains("position 8"), "{msg}");
    let msg = call_err(
        &client,
        "search_traces",
        window(json!({"filters": "colour = red"})),
    )
    .await;
    assert!(msg.contains("get_trace_or_log_fields"), "{msg}");
    let msg = call_err(&client, "query_instant", json!({"promql": "up"})).await;
    assert!(msg.contains("no metrics datasource is configured"), "{msg}");

    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_failures_are_bounded_tool_errors_with_advice() {
    // A table that does not exist: ClickHouse's exception comes back with its code and advice.
    let ch = clickhouse(&[]);
    let host = Host::start(
        &datasources(&ch, ", logs: {defaultTable: no_such_table}"),
        &[],
    );
    let client = host.client().await;
    let msg = call_err(&client, "search_logs", window(json!({}))).await;
    assert!(
        msg.contains("UNKNOWN_TABLE") && msg.contains("jsonData.logs"),
        "{msg}"
    );
    client.cancel().await.unwrap();
    drop(host);

    // Credentials refused: the password never appears in the answer.
    let ch_auth = clickhouse(&["--user", "reader", "--password", "right-password"]);
    let yaml = format!(
        "{}    secureJsonData: {{password: wrong-password-123}}\n",
        datasources(&ch_auth, ", username: reader")
    );
    let host = Host::start(&yaml, &[]);
    let client = host.client().await;
    let msg = call_err(&client, "search_logs", window(json!({}))).await;
    assert!(msg.contains("516") && msg.contains("credentials"), "{msg}");
    assert!(!msg.contains("wrong-password-123"), "{msg}");
    assert!(!host.log_text().contains("wrong-password-123"));
    client.cancel().await.unwrap();
    drop(host);

    // Slow: the host's deadline ends the call with a clear error well before the client gives up.
    let slow = clickhouse(&["--delay-ms", "4000"]);
    let host = Host::start(&datasources(&slow, ""), &[("QUERY_TIMEOUT", "1s")]);
    let client = host.client().await;
    let started = Instant::now();
    let msg = call_err(&client, "search_logs", window(json!({}))).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        msg.contains("did not answer in time") || msg.contains("timed out"),
        "{msg}"
    );
    client.cancel().await.unwrap();
    drop(host);

    // Down: unreachable, said so.
    let port = ch.port;
    drop(ch);
    let host = Host::start(
        &format!(
            "apiVersion: 1\ndatasources:\n  - name: otel\n    type: grafana-clickhouse-datasource\n    jsonData: {{host: 127.0.0.1, port: {port}, protocol: http}}\n"
        ),
        &[],
    );
    let client = host.client().await;
    let msg = call_err(
        &client,
        "analyze_logs",
        window(json!({"aggregation": {"function": "count"}})),
    )
    .await;
    assert!(msg.contains("unreachable"), "{msg}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_world_component_serves_the_logs_and_traces_tools_too() {
    assert!(
        crate::fixture::server_component_path().exists(),
        "build it with `make server-component` (make test does)"
    );
    let ch = clickhouse(&[]);
    let host = Host::start_command("serve-component", &datasources(&ch, ""), &[]);
    let client = host.client().await;
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "namespace = \"payments\" AND level = ERROR", "limit": 1})),
    )
    .await;
    assert_eq!(
        (s["total"].as_u64(), s["shown"].as_u64()),
        (Some(7), Some(1))
    );
    let t = call_ok(
        &client,
        "get_trace",
        json!({"trace_id": TRACE_B, "from_time": HOUR_BEFORE, "to_time": BASE}),
    )
    .await;
    assert_eq!(t["span_count"], 8);
    client.cancel().await.unwrap();
}
