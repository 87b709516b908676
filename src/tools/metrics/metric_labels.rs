//! `get_metric_labels`: label names on a metric's series in a bounded window
//! (`/api/v1/labels?match[]=…`, not an unbounded `/series` walk).

use serde_json::{Value, json};

use super::metric_metadata::METRIC_PARAM;
use crate::backends::prometheus::Client;
use crate::promql::quote_label_value;
use crate::tools::bounds::{LIST_DEFAULT, bounded_list, count_fields};
use crate::tools::{
    Context, Handler, LIST_LIMIT_PARAM, ToolDef, ToolFailure, WINDOW_END_PARAM, WINDOW_START_PARAM,
    args::Args, object_schema, window,
};

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "get_metric_labels",
    title: "Metric label names",
    description: "Lists the label names on a metric's series; get_label_values gives their values.",
    params: &[
        METRIC_PARAM,
        LIST_LIMIT_PARAM,
        WINDOW_START_PARAM,
        WINDOW_END_PARAM,
    ],
    output_schema,
    run: Handler::Metrics(run),
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "metric": {"type": "string"},
            "window": {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}}},
            "labels": {"type": "array", "items": {"type": "string"}},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "hint": {"type": "string"}
        }),
        &["metric", "labels", "total", "shown"],
    )
}

/// `{__name__="<metric>"}`: a selector that is safe for any metric name.
pub(super) fn metric_matcher(metric: &str) -> String {
    format!("{{__name__={}}}", quote_label_value(metric))
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let metric = args.required_str("metric_name")?;
    let (start, end, echo) = window(ctx, args)?;
    let mut result = client.labels(&[metric_matcher(metric)], start, end)?;
    let names = super::string_list(&mut result, "label names")?;
    let names: Vec<String> = names.into_iter().filter(|n| n != "__name__").collect();
    let (labels, total) = bounded_list(names, args.u64_or("limit", LIST_DEFAULT));
    let shown = labels.len();
    let mut out = json!({"metric": metric, "window": echo, "labels": labels});
    count_fields(&mut out, shown, total, "raise `limit`");
    if total == 0 {
        out["hint"] = json!(super::suggest::empty_hint(
            super::suggest::unknown_metric(client, metric, start, end),
            "no series of this metric in the window: check the name with find_metrics_by_pattern, or widen the window with start/end"
        ));
    }
    super::add_notes(&mut out, &result);
    Ok(out)
}
