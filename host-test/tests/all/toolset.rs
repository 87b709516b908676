//! What a deployment chooses to offer (`TOOLS_ENABLED` / `TOOLS_DISABLED`) and the completion of
//! prompt arguments, seen by rmcp's MCP client through the real host, against a real Prometheus
//! and the real ClickHouse engine.

use std::collections::HashMap;
use std::process::Command;

use host_test::dev::backends;
use host_test::dev::clickhouse::ClickHouse;
use host_test::dev::demo_data::DemoData;
use rmcp::ServiceError;
use rmcp::model::{CallToolRequestParams, CompletionContext};
use serde_json::json;

use crate::fixture::{Host, call_ok, component_path};

/// The words of `text` that are tool names.
fn tools_named(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| proms_mcp::tools::TOOLS.iter().any(|t| t.name == *w))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_tools_are_gone_from_the_list_calls_instructions_and_prompts() {
    let data = DemoData::new_ending_near_now();
    let prometheus = backends::start_prometheus(&data).expect("start Prometheus");
    let yaml = format!(
        "apiVersion: 1\ndatasources:\n  - name: prometheus\n    type: prometheus\n    url: {}\n",
        prometheus.url
    );
    let host = Host::start(
        &yaml,
        &[("TOOLS_DISABLED", "get_trace, query_range,search_logs")],
    );
    let client = host.client().await;

    let listed: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(
        listed.len(),
        proms_mcp::tools::TOOLS.len() - 3,
        "{listed:?}"
    );
    for gone in ["get_trace", "query_range", "search_logs"] {
        assert!(!listed.iter().any(|n| n == gone), "{gone} in {listed:?}");
    }

    // Calling one is calling an unknown tool: -32602 naming the tools there are.
    let err = client
        .call_tool(
            CallToolRequestParams::new("query_range").with_arguments(
                json!({"promql": "up", "start": "now-5m", "end": "now"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap_err();
    let ServiceError::McpError(e) = err else {
        panic!("expected a JSON-RPC error, got {err}");
    };
    assert_eq!(e.code.0, -32602);
    assert!(
        e.message
            .starts_with("unknown tool 'query_range'; tools: list_datasources, list_metrics"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("get_trace,") && !e.message.contains("search_logs"));
    // The others still answer.
    let ds = call_ok(&client, "list_datasources", json!({})).await;
    assert_eq!(ds["total"], 1);

    let instructions = client
        .peer_info()
        .and_then(|i| i.instructions.clone())
        .unwrap_or_default();
    let named = tools_named(&instructions);
    assert!(named.contains(&"list_datasources"), "{instructions}");
    for gone in ["get_trace", "query_range", "search_logs"] {
        assert!(!named.contains(&gone), "{gone} in {instructions}");
    }

    // investigate_errors and latency_breakdown send the model to get_trace: not offered.
    let prompts: Vec<String> = client
        .list_all_prompts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(prompts, ["compare_canary_stable", "error_ratio"]);
}

#[test]
fn an_unknown_tool_name_stops_the_host_with_the_list_of_tools() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("datasources.yaml");
    std::fs::write(
        &path,
        "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_proms-mcp"))
        .arg("serve")
        .env("GRAFANA_DATASOURCES_PATH", &path)
        .env("PROMS_MCP_COMPONENT", component_path())
        .env("PORT", "0")
        .env("HEALTH_METRICS_PORT", "0")
        .env("AUTH_MODE", "none")
        .env("TOOLS_ENABLED", "query_instant,query_everything")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "TOOLS_ENABLED: unknown tool 'query_everything'; tools: list_datasources, list_metrics"
        ),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_arguments_complete_from_prometheus_and_clickhouse() {
    let data = DemoData::new_ending_near_now();
    let prometheus = backends::start_prometheus(&data).expect("start Prometheus");
    // Seeded just before now, so the last hour that completion looks at holds every record.
    let ch = ClickHouse::start("now", &[]).expect("start the ClickHouse front");
    let yaml = format!(
        "apiVersion: 1\ndatasources:\n  - name: prometheus\n    type: prometheus\n    url: {}\n{}",
        prometheus.url,
        ch.datasource_entry("otel", "")
    );
    let host = Host::start(&yaml, &[]);
    let client = host.client().await;
    let caps = &client.peer_info().unwrap().capabilities;
    assert!(caps.completions.is_some(), "completions declared");

    let complete =
        |prompt: &'static str, arg: &'static str, value: &'static str, given: &[(&str, &str)]| {
            let context = (!given.is_empty()).then(|| {
                CompletionContext::with_arguments(
                    given
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<HashMap<_, _>>(),
                )
            });
            let client = &client;
            async move {
                client
                    .complete_prompt_argument(prompt, arg, value, context)
                    .await
                    .unwrap_or_else(|e| panic!("{prompt}.{arg}={value}: {e}"))
            }
        };

    // Services: the spans' and logs' service names (seed.py), and the demo's Prometheus jobs.
    let all = complete("error_ratio", "service", "", &[]).await;
    for want in ["cart", "checkout", "demo", "frontend", "payment", "sensors"] {
        assert!(
            all.values.iter().any(|v| v == want),
            "{want}: {:?}",
            all.values
        );
    }
    assert_eq!(all.total, Some(all.values.len() as u32));
    assert_eq!(all.has_more, Some(false));
    let c = complete("error_ratio", "service", "C", &[]).await;
    assert_eq!(c.values, ["cart", "checkout"]);
    assert_eq!((c.total, c.has_more), (Some(2), Some(false)));
    let c = complete("latency_breakdown", "service", "mo", &[]).await;
    assert_eq!(c.values, ["demo"], "a Prometheus job");

    // An argument already given narrows the others: payment runs in `payments`, not in `default`.
    let c = complete(
        "investigate_errors",
        "service",
        "pay",
        &[("namespace", "payments")],
    )
    .await;
    assert_eq!(c.values, ["payment"]);
    let c = complete(
        "investigate_errors",
        "service",
        "pay",
        &[("namespace", "default")],
    )
    .await;
    assert!(c.values.is_empty(), "{:?}", c.values);
    let c = complete("investigate_errors", "namespace", "pay", &[]).await;
    assert_eq!(c.values, ["payments"]);

    // Workloads for canary and stable; fixed choices for the window.
    let c = complete("compare_canary_stable", "canary", "front", &[]).await;
    assert_eq!(c.values, ["frontend"]);
    let c = complete("error_ratio", "window", "1", &[]).await;
    assert_eq!(c.values, ["15m", "1h", "12h"]);

    // An unknown prompt or argument is -32602 saying what exists.
    let err = client
        .complete_prompt_argument("nope", "service", "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::McpError(e) if e.code.0 == -32602 && e.message.contains("investigate_errors")),
        "{err}"
    );
    let err = client
        .complete_prompt_argument("error_ratio", "colour", "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::McpError(e) if e.message.contains("it takes: service, window")),
        "{err}"
    );
}
