//! The logs and traces tools against Loki and Tempo datasources, served by qryn (a real server
//! implementing Loki's and Tempo's HTTP APIs on ClickHouse; Loki and Tempo themselves cannot be
//! installed here) over our ClickHouse front, holding the same dataset as the ClickHouse tests
//! (`tests/clickhouse/seed.py`, pushed by `tests/qryn/push.py`). Every expected number comes from
//! that dataset's documentation; each LogQL and TraceQL text sent is checked too.
//!
//! Only what qryn implements is run here; what it lacks (TraceQL `status`/`kind`, `__error__`,
//! `quantile_over_time`, TraceQL metrics) is tested as query text in the compilers' unit tests.

use host_test::dev::qryn::Qryn;
use serde_json::{Value, json};

use crate::fixture::{Host, call_err, call_ok};

/// The seed's base time: every record lies before it.
const BASE: &str = "2026-01-01T12:00:00Z";
const HOUR_BEFORE: &str = "2026-01-01T11:00:00Z";
const TRACE_B: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INJECTION_BODY: &str = "bad search input: ' OR 1=1; DROP TABLE otel_logs; --";

fn window(extra: Value) -> Value {
    let mut args = json!({"from_time": HOUR_BEFORE, "to_time": BASE});
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    args
}

fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap_or_default())
        .collect()
}

fn groups(v: &Value) -> Vec<(String, f64)> {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let key: Vec<&str> = g["group"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_str().unwrap())
                .collect();
            (key.join("/"), g["value"].as_f64().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_traces_tools_answer_exactly_through_qryn() {
    let qryn = Qryn::start(BASE).expect("start qryn (make qryn-deps)");
    let file = format!(
        "apiVersion: 1\ndatasources:\n  - name: loki\n    type: loki\n    url: {url}\n    jsonData: {{httpHeaderName1: X-Scope-OrgID}}\n    secureJsonData: {{httpHeaderValue1: tenant-a}}\n  - name: tempo\n    type: tempo\n    url: {url}\n",
        url = qryn.url()
    );
    let host = Host::start(&file, &[]);
    let client = host.client().await;

    let ds = call_ok(&client, "list_datasources", json!({})).await;
    assert_eq!(ds["defaults"], json!({"logs": "loki", "traces": "tempo"}));
    assert_eq!(ds["datasources"][0]["type"], "loki");
    assert_eq!(
        ds["datasources"][0]["auth"],
        json!(["headers:X-Scope-OrgID"])
    );
    assert_eq!(ds["datasources"][1]["families"], json!(["traces"]));

    // search_logs without a filter: every stream (the catch-all selector, said in the notes),
    // newest first, the total counted by the server.
    let s = call_ok(&client, "search_logs", window(json!({"limit": 1}))).await;
    assert_eq!(s["datasource"], "loki");
    assert_eq!(s["query"], r#"{service_name=~".+"}"#);
    assert!(
        s["notes"][0].as_str().unwrap().contains("'service_name'"),
        "{s}"
    );
    assert_eq!(
        (s["total"].as_u64(), s["shown"].as_u64()),
        (Some(55), Some(1))
    );
    assert_eq!(
        s["records"][0],
        json!({
            "time": "2026-01-01T11:59:30Z",
            "service": "frontend",
            "level": "ERROR",
            "namespace": "default",
            "pod_name": "frontend-7d9f-abcde",
            "message": INJECTION_BODY,
        })
    );

    // Indexed labels go into the selector; the level is compared ignoring case.
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "namespace = \"payments\" AND level = error", "limit": 3})),
    )
    .await;
    assert_eq!(
        s["query"],
        r#"{k8s_namespace_name="payments", level=~"(?is)^(?:error)$"}"#
    );
    assert_eq!(
        (s["total"].as_u64(), s["shown"].as_u64()),
        (Some(7), Some(3))
    );
    let times = strings(&s["records"], "time");
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    for r in s["records"].as_array().unwrap() {
        assert_eq!(
            (r["level"].as_str(), r["namespace"].as_str()),
            (Some("ERROR"), Some("payments"))
        );
    }

    // (filter, LogQL sent, how many match) — the expected counts are the ClickHouse tests' own.
    let cases: &[(&str, &str, u64)] = &[
        (
            "message LIKE \"%timeout%\"",
            r#"{service_name=~".+"} |= "timeout""#,
            4,
        ),
        (
            "message LIKE \"%Timeout b%\"",
            r#"{service_name=~".+"} |= "Timeout b""#,
            1,
        ),
        ("level = warn", r#"{level=~"(?is)^(?:warn)$"}"#, 7),
        (
            "pod_name IN (\"cart-5c8b-klmno\", \"payment-8e2c-uvwxy\")",
            r#"{k8s_pod_name=~"(?s)^(?:cart-5c8b-klmno|payment-8e2c-uvwxy)$"}"#,
            20,
        ),
        (
            "namespace NOT IN (default)",
            r#"{service_name=~".+", k8s_namespace_name!~"(?s)^(?:default)$"}"#,
            25,
        ),
        ("@customer_tier = gold", r#"{customer_tier="gold"}"#, 7),
        (
            "level = error OR @customer_tier = gold",
            r#"{service_name=~".+"} | (level=~"(?is)^(?:error)$" or customer_tier="gold")"#,
            17,
        ),
        (
            "service = cart AND NOT message LIKE \"%cache%\"",
            r#"{service_name="cart"} != "cache""#,
            7,
        ),
        (
            "workload LIKE \"check%\" AND (message LIKE \"%timeout%\" OR message LIKE \"%broker%\")",
            r#"{k8s_deployment_name=~"(?s)^(?:check.*)$"} |~ "(?s)^(?:.*timeout.*|.*broker.*)$""#,
            3,
        ),
        ("@note = \"back\\\\slash\"", r#"{note="back\\slash"}"#, 1),
        (
            "@note = \"tab\\there\\nnewline\"",
            r#"{note="tab\there\nnewline"}"#,
            1,
        ),
        (
            "@note IN (\"x; DROP TABLE otel.otel_logs; --\", \"') OR 1=1 --\", \"100%_sure\")",
            r#"{note=~"(?s)^(?:x; DROP TABLE otel\\.otel_logs; --|'\\) OR 1=1 --|100%_sure)$"}"#,
            3,
        ),
        (
            "@note LIKE \"Zürich%\"",
            r#"{note=~"(?s)^(?:Zürich.*)$"}"#,
            1,
        ),
    ];
    for (filter, query, total) in cases {
        let s = call_ok(&client, "search_logs", window(json!({"filters": filter}))).await;
        assert_eq!(s["query"], *query, "{filter}");
        assert_eq!(s["total"].as_u64(), Some(*total), "{filter}: {s}");
        assert_eq!(s["shown"].as_u64(), Some((*total).min(10)), "{filter}");
    }
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": format!("message = \"{}\"", INJECTION_BODY.replace('\'', "\\'")), "fields": ["service", "format", "body_length", "@log_iostream"]})),
    )
    .await;
    assert_eq!(s["total"], 1, "{s}");
    assert_eq!(
        s["records"][0],
        json!({"time": "2026-01-01T11:59:30Z", "service": "frontend", "format": "plain", "body_length": INJECTION_BODY.len(), "@log_iostream": "stderr"})
    );

    // The 25,000-byte body is cut, with its length; a multi-line body matches an anchored LIKE.
    let s = call_ok(
        &client,
        "search_logs",
        window(json!({"filters": "message LIKE \"panic: %\"", "fields": ["service", "message"]})),
    )
    .await;
    assert_eq!(
        s["query"],
        r#"{service_name=~".+"} |~ "(?s)^(?:panic: .*)$""#
    );
    assert_eq!(s["total"], 1);
    assert_eq!(s["records"][0]["service"], "checkout");
    assert_eq!(s["records"][0]["message_length"], 25000);
    assert_eq!(
        s["records"][0]["message"].as_str().unwrap().chars().count(),
        2000
    );
    assert!(s["note"].as_str().unwrap().contains("cut"), "{s}");

    // qryn's LogQL parser takes non-ASCII letters but no other symbols in a string (real Loki takes
    // any UTF-8): its refusal comes back with the query that was sent.
    let e = call_err(
        &client,
        "search_logs",
        window(json!({"filters": "@note = \"Zürich ✓ 日本語 🚀\""})),
    )
    .await;
    assert!(
        e.contains("Loki bad_query (HTTP 400)")
            && e.contains(r#"Query sent: {note="Zürich ✓ 日本語 🚀"}"#),
        "{e}"
    );

    // A refusal names the condition and what to write instead; nothing is sent.
    let e = call_err(
        &client,
        "search_logs",
        window(json!({"filters": "format = json"})),
    )
    .await;
    assert!(
        e.contains("position 0") && e.contains("message LIKE '{%'"),
        "{e}"
    );
    let e = call_err(
        &client,
        "search_logs",
        window(json!({"filters": "service = cart OR message LIKE \"%x%\""})),
    )
    .await;
    assert!(e.contains("run one search per side of the OR"), "{e}");

    // analyze_logs: LogQL metric queries over the window.
    let a = call_ok(
        &client,
        "analyze_logs",
        window(json!({"aggregation": {"function": "count"}, "groupBy": ["level"]})),
    )
    .await;
    assert_eq!(
        a["query"],
        r#"sum by (level) (count_over_time({service_name=~".+"} [3600s]))"#
    );
    assert_eq!(
        groups(&a),
        [
            ("INFO".to_string(), 36.0),
            ("ERROR".to_string(), 10.0),
            ("WARN".to_string(), 7.0),
            ("DEBUG".to_string(), 2.0)
        ]
    );
    assert_eq!(a["total"], 4);
    let a = call_ok(
        &client,
        "analyze_logs",
        window(json!({"aggregation": {"function": "count"}, "filters": "namespace = payments", "groupBy": ["service"], "limit": 1})),
    )
    .await;
    assert_eq!(groups(&a), [("checkout".to_string(), 15.0)]);
    assert_eq!(
        (a["total"].as_u64(), a["shown"].as_u64()),
        (Some(2), Some(1))
    );
    let a = call_ok(
        &client,
        "analyze_logs",
        window(
            json!({"aggregation": {"function": "count"}, "filters": "message LIKE \"%timeout%\""}),
        ),
    )
    .await;
    assert_eq!(a["value"], 4.0);
    let e = call_err(
        &client,
        "analyze_logs",
        window(json!({"aggregation": {"function": "count"}, "groupBy": ["message"]})),
    )
    .await;
    assert!(e.contains("cannot group or aggregate by"), "{e}");
    let a = call_ok(
        &client,
        "analyze_logs",
        window(json!({"aggregation": {"function": "count"}, "queryType": "range", "step": "10m", "groupBy": ["level"]})),
    )
    .await;
    // qryn stamps each range sample with its bucket's start where Loki stamps the end (the unit
    // test `loki_range_counts_land_in_the_buckets_they_cover` reads Loki's documented answer), so
    // on qryn every bucket shows the next one's count: ClickHouse's INFO buckets are
    // [1, 10, 10, 8, 5, 2, 0] for this window.
    assert_eq!(
        a["query"],
        r#"sum by (level) (count_over_time({service_name=~".+"} [600s]))"#
    );
    assert_eq!(
        (a["start"].as_str(), a["step"].as_str()),
        (Some(HOUR_BEFORE), Some("10m"))
    );
    let series: Vec<(&str, &Value)> = a["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["group"]["level"].as_str().unwrap(), &g["values"]))
        .collect();
    assert_eq!(
        series,
        [
            ("INFO", &json!([10, 10, 8, 5, 2, 0, 0])),
            ("ERROR", &json!([0, 0, 0, 2, 8, 0, 0])),
            ("WARN", &json!([0, 0, 1, 3, 3, 0, 0])),
            ("DEBUG", &json!([0, 0, 1, 1, 0, 0, 0]))
        ]
    );

    // analyze_telemetry runs its logs queries through analyze_logs: on Loki too.
    let t = call_ok(
        &client,
        "analyze_telemetry",
        window(json!({"queries": {
            "E": {"datasource": "logs", "aggregation": {"function": "count"}, "filters": "level = ERROR"},
            "N": {"datasource": "logs", "aggregation": {"function": "count"}},
            "R": {"datasource": "formula", "expression": "E / N * 100"}
        }})),
    )
    .await;
    assert_eq!(t["results"]["E"]["value"], 10.0);
    assert_eq!(t["results"]["N"]["value"], 55.0);
    assert_eq!(t["results"]["R"]["value"], 18.1818181818);

    // get_trace_or_log_fields: the labels of the window with how many lines carry each.
    let f = call_ok(
        &client,
        "get_trace_or_log_fields",
        window(json!({"datasource": "logs"})),
    )
    .await;
    let keys: Vec<(&str, u64)> = f["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["key"].as_str().unwrap(), a["count"].as_u64().unwrap()))
        .collect();
    for want in [
        ("service_name", 55),
        ("customer_tier", 35),
        ("note", 9),
        ("trace_id", 4),
    ] {
        assert!(keys.contains(&want), "{want:?} not in {keys:?}");
    }
    let namespace = f["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "namespace")
        .unwrap();
    assert_eq!(
        namespace["source"],
        "label k8s_namespace_name (indexed: in the stream selector)"
    );

    // search_traces: TraceQL search, each trace read once for the fields.
    let s = call_ok(
        &client,
        "search_traces",
        window(json!({"filters": "@tenant = globex", "limit": 2})),
    )
    .await;
    assert_eq!(s["datasource"], "tempo");
    assert_eq!(s["query"], r#"{ .tenant = "globex" }"#);
    assert_eq!(
        (s["total"].as_u64(), s["shown"].as_u64()),
        (Some(7), Some(2))
    );
    assert_eq!(
        strings(&s["records"], "span_id"),
        ["b000000000000008", "b000000000000007"]
    );
    let b7 = &s["records"][1];
    assert_eq!(b7["trace_id"], TRACE_B);
    assert_eq!(b7["service"], "payment");
    assert_eq!(b7["operation_name"], "oteldemo.PaymentService/Charge");
    assert_eq!(b7["duration"], 2510.0);
    assert_eq!(b7["status"], "error");
    // qryn stores no span kind from Zipkin, so the role is unknown (Tempo's OTLP JSON carries it).
    assert_eq!(b7["role"], "");
    assert_eq!(b7["namespace"], "payments");
    assert_eq!(b7["pod_name"], "payment-8e2c-uvwxy");

    let cases: &[(&str, &str, u64)] = &[
        (
            "service = payment",
            r#"{ resource.service.name = "payment" }"#,
            3,
        ),
        (
            "namespace = payments AND duration > 2000",
            r#"{ resource.k8s.namespace.name = "payments" && duration > 2000ms }"#,
            4,
        ),
        (
            "operation_name LIKE \"GET /api/%\"",
            r#"{ name =~ "(?s)^(?:GET /api/.*)$" }"#,
            11,
        ),
        (
            "@tenant IN (acme, initech) AND service != checkout",
            r#"{ .tenant =~ "(?s)^(?:acme|initech)$" && resource.service.name != "checkout" }"#,
            9,
        ),
        (
            "@tenant = \"acme' OR '1'='1\"",
            r#"{ .tenant = "acme' OR '1'='1" }"#,
            1,
        ),
    ];
    for (filter, query, total) in cases {
        let s = call_ok(
            &client,
            "search_traces",
            window(json!({"filters": filter, "limit": 20})),
        )
        .await;
        assert_eq!(s["query"], *query, "{filter}");
        assert_eq!(s["total"].as_u64(), Some(*total), "{filter}: {s}");
        assert_eq!(s["shown"].as_u64(), Some(*total), "{filter}");
    }
    // qryn does not implement the `status` intrinsic: its refusal comes back as a tool error that
    // names the backend, with the query that was sent.
    let e = call_err(
        &client,
        "search_traces",
        window(json!({"filters": "status = error"})),
    )
    .await;
    assert!(
        e.contains("datasource 'tempo'") && e.contains("Tempo"),
        "{e}"
    );

    // get_trace: the same summary as on ClickHouse.
    let t = call_ok(
        &client,
        "get_trace",
        json!({"trace_id": TRACE_B, "from_time": HOUR_BEFORE, "to_time": BASE}),
    )
    .await;
    assert_eq!(t["query"], format!("/api/traces/{TRACE_B}"));
    assert_eq!(t["span_count"], 8);
    assert_eq!(t["duration_ms"], 2600.0);
    assert_eq!(t["error_count"], 6);
    assert_eq!(
        strings(&t["critical_path"], "span_id"),
        [
            "b000000000000001",
            "b000000000000002",
            "b000000000000003",
            "b000000000000006",
            "b000000000000007",
            "b000000000000008"
        ]
    );
    let services: Vec<(&str, u64, u64)> = t["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap(),
                s["spans"].as_u64().unwrap(),
                s["errors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        services,
        [
            ("cart", 1, 0),
            ("checkout", 3, 2),
            ("frontend", 2, 2),
            ("payment", 2, 2)
        ]
    );
    assert_eq!(t["errors"][1]["span_id"], "b000000000000002");
    assert_eq!(
        t["errors"][1]["status_message"],
        "4 DEADLINE_EXCEEDED: payment failed"
    );

    // get_trace_or_log_fields for traces: Tempo's search tags. qryn lists tags only for recent
    // spans whatever the window, so the seed is pushed again at `now` first (last: it doubles data).
    qryn.push("now").expect("push the seed at now");
    let f = call_ok(
        &client,
        "get_trace_or_log_fields",
        window(json!({"datasource": "traces"})),
    )
    .await;
    let keys = strings(&f["attributes"], "key");
    for want in ["tenant", "rpc.system", "http.route", "k8s.namespace.name"] {
        assert!(keys.contains(&want), "{want} not in {keys:?}");
    }

    // analyze_traces sends TraceQL metrics, which qryn does not offer (404): the answer says so and
    // what to use instead (the queries and Tempo's answers are unit-tested in tools::records::analyze).
    let e = call_err(
        &client,
        "analyze_traces",
        window(json!({"aggregation": {"function": "count"}, "filters": "service = cart"})),
    )
    .await;
    assert!(
        e.contains("does not offer TraceQL metrics")
            && e.contains("Query sent: { resource.service.name = \"cart\" } | count_over_time()"),
        "{e}"
    );
}
