//! `list_metrics`: metric names with samples in a bounded window (`/api/v1/label/__name__/values`).

use serde_json::{Value, json};

use crate::backends::prometheus::Client;
use crate::tools::bounds::{LIST_DEFAULT, bounded_list, count_fields};
use crate::tools::{
    Context, Handler, LIST_LIMIT_PARAM, ToolDef, ToolFailure, WINDOW_END_PARAM, WINDOW_START_PARAM,
    args::Args, object_schema, window,
};

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "list_metrics",
    title: "List metric names",
    description: "Lists the metric names with samples in the window, sorted. On large servers \
find_metrics_by_pattern is better.",
    params: &[LIST_LIMIT_PARAM, WINDOW_START_PARAM, WINDOW_END_PARAM],
    output_schema,
    run: Handler::Metrics(run),
};

/// Output schema shared by the name-list tools.
pub(super) fn output_schema() -> Value {
    object_schema(
        json!({
            "window": {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}}},
            "metrics": {"type": "array", "items": {"type": "string"}},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"}
        }),
        &["metrics", "total", "shown"],
    )
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let (start, end, echo) = window(ctx, args)?;
    let result = client.label_values("__name__", &[], start, end)?;
    metric_list(echo, result, args.u64_or("limit", LIST_DEFAULT))
}

/// Shapes a `__name__` values answer into the name-list output.
pub(super) fn metric_list(
    window: Value,
    mut result: crate::backends::prometheus::ApiResult,
    limit: u64,
) -> Result<Value, ToolFailure> {
    let names = super::string_list(&mut result, "metric names")?;
    let (metrics, total) = bounded_list(names, limit);
    let shown = metrics.len();
    let mut out = json!({"window": window, "metrics": metrics});
    count_fields(
        &mut out,
        shown,
        total,
        "raise `limit`, or narrow with find_metrics_by_pattern",
    );
    super::add_notes(&mut out, &result);
    Ok(out)
}
