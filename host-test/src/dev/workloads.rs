//! The calls `make bench` measures (and `pgo-train` trains the shipped host on): `query_instant`,
//! `query_range` 1h@15s, `list_metrics` and `get_label_values` on the demo data, each with the same
//! request sent straight to Prometheus. Measuring them lives in the bench (`bin/bench.rs`).

use serde_json::{Value, json};

use super::demo_data::DemoData;
use super::sizes::RATE_BY_INSTANCE;

/// One workload of the bench: a tool call and the same request sent straight to Prometheus.
pub struct Workload {
    /// The name the bench prints, e.g. `query_range 1h@15s`.
    pub name: &'static str,
    /// The tool called.
    pub tool: &'static str,
    /// Its arguments.
    pub arguments: Value,
    /// The same request straight to Prometheus: path and parameters; POST form for queries, GET for
    /// the label endpoints (Prometheus serves those by GET only, as the tools do).
    pub direct: (&'static str, Vec<(&'static str, String)>),
}

/// The four workloads, on the last hour of the demo data.
pub fn workloads(data: &DemoData) -> Vec<Workload> {
    let end = data.end.to_string();
    let start = (data.end - 3600).to_string();
    let expr = RATE_BY_INSTANCE;
    vec![
        Workload {
            name: "query_instant",
            tool: "query_instant",
            arguments: json!({"datasource_id": "prometheus", "promql": expr, "time": end}),
            direct: (
                "/api/v1/query",
                vec![("query", expr.into()), ("time", end.clone())],
            ),
        },
        Workload {
            name: "query_range 1h@15s",
            tool: "query_range",
            arguments: json!({"datasource_id": "prometheus", "promql": expr, "start": start, "end": end, "step": "15s"}),
            direct: (
                "/api/v1/query_range",
                vec![
                    ("query", expr.into()),
                    ("start", start.clone()),
                    ("end", end.clone()),
                    ("step", "15".into()),
                ],
            ),
        },
        Workload {
            name: "list_metrics",
            tool: "list_metrics",
            arguments: json!({"datasource_id": "prometheus", "end": end}),
            direct: (
                "/api/v1/label/__name__/values",
                vec![
                    ("start", (data.end - 3600).to_string()),
                    ("end", end.clone()),
                ],
            ),
        },
        Workload {
            name: "get_label_values",
            tool: "get_label_values",
            arguments: json!({"datasource_id": "prometheus", "label_name": "item", "metric_name": "demo_items_info", "end": end}),
            direct: (
                "/api/v1/label/item/values",
                vec![
                    ("match[]", "{__name__=\"demo_items_info\"}".into()),
                    ("start", (data.end - 3600).to_string()),
                    ("end", end.clone()),
                ],
            ),
        },
    ]
}
