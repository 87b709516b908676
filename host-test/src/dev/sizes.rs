//! The calls whose answer sizes the integration test and `make bench` print: one or more typical
//! calls of every tool on the demo data, so that a change that makes answers larger shows.
//!
//! The metrics calls name the `prometheus` datasource, the logs and traces calls the default logs or
//! traces datasource (ClickHouse seeded at "now", as `make run` does); what does not live here is
//! starting those backends (`super::demo`, `super::backends`, `super::clickhouse`).

use serde_json::{Value, json};

use super::demo_data::DemoData;

/// The rate expression the two `query_range` size targets of issue 12 measure: two series
/// (`instance="app-1:8080"` and `"app-2:8080"`).
pub const RATE_BY_INSTANCE: &str = "sum by (instance) (rate(demo_http_requests_total[5m]))";

/// A trace the ClickHouse seed holds (a checkout that fails on a payment timeout).
pub const SEED_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// One measured call.
pub struct SizeCall {
    /// What the call is, e.g. `query_range 1h@15s`.
    pub name: &'static str,
    /// The tool called.
    pub tool: &'static str,
    /// Its arguments.
    pub arguments: Value,
}

impl SizeCall {
    /// Whether the call needs the logs and traces datasource (ClickHouse) rather than Prometheus.
    pub fn needs_clickhouse(&self) -> bool {
        matches!(
            self.tool,
            "get_trace_or_log_fields"
                | "search_logs"
                | "analyze_logs"
                | "search_traces"
                | "analyze_traces"
                | "get_trace"
                | "analyze_telemetry"
        )
    }
}

/// Every tool at least once, on windows of the demo data ending at its last sample.
pub fn size_calls(data: &DemoData) -> Vec<SizeCall> {
    let end = data.end.to_string();
    let hour_before = (data.end - 3600).to_string();
    let call = |name, tool, arguments| SizeCall {
        name,
        tool,
        arguments,
    };
    let prom = "prometheus";
    vec![
        call("list_datasources", "list_datasources", json!({})),
        call(
            "list_metrics",
            "list_metrics",
            json!({"datasource_id": prom, "end": end}),
        ),
        call(
            "get_metric_metadata",
            "get_metric_metadata",
            json!({"datasource_id": prom, "metric_name": "demo_http_requests_total"}),
        ),
        call(
            "query_instant",
            "query_instant",
            json!({"datasource_id": prom, "promql": RATE_BY_INSTANCE, "time": end}),
        ),
        call(
            "query_instant 150 series",
            "query_instant",
            json!({"datasource_id": prom, "promql": "demo_items_info", "time": end}),
        ),
        call(
            "query_range 1h@15s",
            "query_range",
            json!({"datasource_id": prom, "promql": RATE_BY_INSTANCE, "start": hour_before, "end": end, "step": "15s"}),
        ),
        call(
            "query_range 1h auto step",
            "query_range",
            json!({"datasource_id": prom, "promql": RATE_BY_INSTANCE, "start": hour_before, "end": end}),
        ),
        call(
            "query_range 6h@15s, 20 series",
            "query_range",
            json!({"datasource_id": prom, "promql": "demo_items_info", "start": data.start.to_string(), "end": end, "step": "15s"}),
        ),
        call(
            "analyze_metrics",
            "analyze_metrics",
            json!({"datasource_id": prom, "promql": RATE_BY_INSTANCE, "from_time": hour_before, "to_time": end}),
        ),
        call(
            "get_metric_labels",
            "get_metric_labels",
            json!({"datasource_id": prom, "metric_name": "demo_http_requests_total", "end": end}),
        ),
        call(
            "get_label_values",
            "get_label_values",
            json!({"datasource_id": prom, "label_name": "item", "metric_name": "demo_items_info", "end": end}),
        ),
        call(
            "find_metrics_by_pattern",
            "find_metrics_by_pattern",
            json!({"datasource_id": prom, "pattern": "demo", "end": end}),
        ),
        call(
            "get_trace_or_log_fields",
            "get_trace_or_log_fields",
            json!({"datasource": "logs"}),
        ),
        call("search_logs", "search_logs", json!({})),
        call(
            "search_logs limit 500",
            "search_logs",
            json!({"limit": 500}),
        ),
        call(
            "analyze_logs range",
            "analyze_logs",
            json!({"aggregation": {"function": "count"}, "groupBy": ["service"], "queryType": "range"}),
        ),
        call("search_traces", "search_traces", json!({})),
        call(
            "analyze_traces",
            "analyze_traces",
            json!({"aggregation": {"function": "p95", "field": "duration"}, "groupBy": ["service"]}),
        ),
        call("get_trace", "get_trace", json!({"trace_id": SEED_TRACE})),
        call(
            "analyze_telemetry ratio",
            "analyze_telemetry",
            json!({"queries": {
                "E": {"datasource": "traces", "filters": "status = error", "aggregation": {"function": "count"}, "groupBy": ["service"]},
                "S": {"datasource": "traces", "aggregation": {"function": "count"}, "groupBy": ["service"]},
                "R": {"datasource": "formula", "expression": "round(E / S * 100, 1)"}
            }}),
        ),
        call(
            "analyze_telemetry logs/metrics range",
            "analyze_telemetry",
            json!({"from_time": hour_before, "to_time": end, "queryType": "range", "queries": {
                "L": {"datasource": "logs", "filters": "level = ERROR", "aggregation": {"function": "count"}},
                "M": {"datasource": "metrics", "promql": "sum(increase(demo_http_requests_total[$__interval]))"},
                "F": {"datasource": "formula", "expression": "L / M * 1000"}
            }}),
        ),
        call(
            "query_instant fan-out",
            "query_instant",
            json!({"promql": RATE_BY_INSTANCE, "time": end, "datasource_ids": "*"}),
        ),
    ]
}
