//! Error paths through the real host: every one is a clear tool error (or JSON-RPC error for an unknown
//! tool or a body that is not JSON), the server keeps serving, and no secret appears in a result or a
//! log line.

use std::process::Command;

use host_test::dev::backends;
use host_test::dev::demo_data::DemoData;
use rmcp::model::CallToolRequestParams;
use serde_json::json;

use crate::fixture::{Host, call_err, call_ok, component_path};

const SECRET: &str = "s3cret-token-do-not-leak";
const PASSWORD: &str = "hunter2-do-not-leak";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_tool_errors_that_say_what_to_do() {
    let data = DemoData::new_ending_near_now();
    let prometheus = backends::start_prometheus(&data).unwrap();
    let closed = backends::free_loopback_port().unwrap(); // nothing listens here
    let yaml = format!(
        "datasources:\n\
         - name: prometheus\n  type: prometheus\n  url: {}\n  basicAuth: true\n  basicAuthUser: reader\n  jsonData:\n    httpHeaderName1: Authorization\n    httpHeaderName2: X-Scope-OrgID\n  secureJsonData:\n    httpHeaderValue1: Bearer ${{TOKEN}}\n    httpHeaderValue2: tenant-1\n    basicAuthPassword: {PASSWORD}\n\
         - name: down\n  type: prometheus\n  url: http://127.0.0.1:{closed}\n",
        prometheus.url
    );
    let host = Host::start(&yaml, &[("TOKEN", SECRET)]);
    let client = host.client().await;

    // Unknown datasource: the message lists the configured ids.
    let msg = call_err(
        &client,
        "query_instant",
        json!({"datasource_id": "nope", "promql": "up"}),
    )
    .await;
    assert!(
        msg.contains("unknown datasource_id 'nope'") && msg.contains("prometheus, down"),
        "{msg}"
    );

    // PromQL that does not parse: refused with the position, nothing sent.
    let msg = call_err(
        &client,
        "query_instant",
        json!({"datasource_id": "prometheus", "promql": "sum(rate(x[5m])"}),
    )
    .await;
    assert!(msg.contains("invalid PromQL"), "{msg}");
    let msg = call_err(
        &client,
        "query_instant",
        json!({"datasource_id": "prometheus", "promql": "   "}),
    )
    .await;
    assert!(msg.contains("promql"), "{msg}");

    // Too many points: refused before sending, with a step that fits.
    let msg = call_err(&client, "query_range", json!({"datasource_id": "prometheus", "promql": "up", "start": "now-7d", "end": "now", "step": "15s"})).await;
    assert!(
        msg.contains("40321 points") && msg.contains("11,000") && msg.contains("'1m'"),
        "{msg}"
    );

    // Bad arguments: the model is told what to fix.
    let msg = call_err(
        &client,
        "query_range",
        json!({"datasource_id": "prometheus", "promql": "up", "start": "yesterday", "end": "now"}),
    )
    .await;
    assert!(
        msg.contains("'yesterday'") && msg.contains("RFC 3339"),
        "{msg}"
    );
    let msg = call_err(
        &client,
        "get_label_values",
        json!({"datasource_id": "prometheus", "label": "job"}),
    )
    .await;
    assert!(msg.contains("unknown argument 'label'"), "{msg}");
    let msg = call_err(
        &client,
        "find_metrics_by_pattern",
        json!({"datasource_id": "prometheus", "pattern": "(unclosed"}),
    )
    .await;
    assert!(msg.contains("pattern"), "{msg}");

    // An evaluation error from Prometheus itself keeps its type and message, plus advice.
    let msg = call_err(&client, "query_instant", json!({"datasource_id": "prometheus", "promql": "demo_items_info * on(job) demo_items_info"})).await;
    assert!(
        msg.contains("datasource 'prometheus'")
            && msg.contains("execution")
            && msg.contains("many-to-many"),
        "{msg}"
    );

    // Backend down: a clear error, within the timeout, and the server keeps serving.
    let started = std::time::Instant::now();
    let msg = call_err(&client, "list_metrics", json!({"datasource_id": "down"})).await;
    assert!(
        msg.contains("unreachable") || msg.contains("refused"),
        "{msg}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let ok = call_ok(&client, "query_instant", json!({"datasource_id": "prometheus", "promql": "count(demo_items_info)", "time": data.end.to_string()})).await;
    assert_eq!(ok["result"][0]["value"], json!(150.0));

    // Unknown tool: a JSON-RPC error (-32602), not a result.
    let err = client
        .call_tool(CallToolRequestParams::new("drop_everything"))
        .await
        .expect_err("unknown tool must be a protocol error");
    let text = format!("{err:?}");
    assert!(
        text.contains("-32602") || text.contains("InvalidParams") || text.contains("unknown tool"),
        "{text}"
    );

    // Secrets: configured, used (the header value came through $TOKEN interpolation), never shown.
    let ds = call_ok(&client, "list_datasources", json!({})).await;
    let shown = ds.to_string();
    assert!(
        !shown.contains(SECRET) && !shown.contains(PASSWORD) && !shown.contains("tenant-1"),
        "{shown}"
    );
    assert!(
        shown.contains("Authorization") && shown.contains("X-Scope-OrgID"),
        "header names are shown: {shown}"
    );
    client.cancel().await.unwrap();
    let log = host.log_text();
    assert!(
        !log.contains(SECRET) && !log.contains(PASSWORD),
        "a secret reached the log"
    );
}

#[test]
fn bad_datasource_files_stop_the_host_with_a_message_naming_file_and_entry() {
    let cases = [
        (
            "datasources:\n- name: a\n  type: prometheus\n  url: http://127.0.0.1:1\n- name: a\n  type: prometheus\n  url: http://127.0.0.1:2\n",
            "'a'",
        ),
        ("datasources:\n- name: a\n  type: prometheus\n", "url"),
        ("datasources: [ {", "datasources.yaml"),
    ];
    for (yaml, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("datasources.yaml");
        std::fs::write(&path, yaml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_proms-mcp"))
            .arg("serve")
            .env("GRAFANA_DATASOURCES_PATH", &path)
            .env("PROMS_MCP_COMPONENT", component_path())
            .env("PORT", "0")
            .env("HEALTH_METRICS_PORT", "0")
            .env("AUTH_MODE", "none")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(needle),
            "{stderr}"
        );
    }
}

/// Posts a body declared JSON that is not JSON to `url` on every protocol version (and without the
/// version header): each time 400 and the JSON-RPC parse error saying where the JSON broke.
pub(crate) async fn assert_parse_error_on_every_version(url: &str) {
    let http = reqwest::Client::new();
    let body = "{\"jsonrpc\": \"2.0\", \"id\": 1,\n  \"method\": \"tools/list\",,}";
    for version in [
        None,
        Some("2025-03-26"),
        Some("2025-06-18"),
        Some("2025-11-25"),
        Some("2026-07-28"),
    ] {
        let mut request = http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(version) = version {
            request = request.header("mcp-protocol-version", version);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 400, "{version:?}");
        assert_eq!(
            r.headers()["content-type"],
            "application/json",
            "{version:?}"
        );
        let answer: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            answer,
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700,
                   "message": "Parse error: key must be a string at line 2 column 26"}}),
            "{version:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_json_is_a_parse_error_on_every_version() {
    let yaml = "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:9\n";
    let host = Host::start(yaml, &[]);
    assert_parse_error_on_every_version(&host.mcp_url).await;
    assert_parse_error_on_every_version(&format!("{}/", host.mcp_url)).await;
}
