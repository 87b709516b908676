//! `find_metrics_by_pattern`: metric names matching a regex, matched by Prometheus itself
//! (`match[]={__name__=~"…"}`) after the regex is checked here.

use serde_json::Value;

use super::args::{Param, ParamKind};
use super::shape::LIST_DEFAULT;
use super::{
    Context, DATASOURCE_PARAM, LIST_LIMIT_PARAM, ToolDef, ToolFailure, WINDOW_END_PARAM,
    WINDOW_START_PARAM, args::Args, datasource, window, with_client,
};
use crate::promql::{quote_label_value, validate_metric_regex};

pub(super) const TOOL: ToolDef = ToolDef {
    name: "find_metrics_by_pattern",
    title: "Find metrics by regex",
    description: "Finds metric names matching a regular expression (RE2 syntax, anchored at both ends \
as in PromQL: use '.*http.*' to match anywhere), with samples in a window (default: the last hour). \
Example pattern: 'node_cpu.*' or '.*(request|latency).*'.",
    params: &[
        DATASOURCE_PARAM,
        Param {
            name: "pattern",
            kind: ParamKind::String,
            required: true,
            description: "RE2 regex matched against the whole metric name, e.g. 'http_.*_total'.",
        },
        LIST_LIMIT_PARAM,
        WINDOW_START_PARAM,
        WINDOW_END_PARAM,
    ],
    output_schema,
    run,
};

fn output_schema() -> Value {
    let mut schema = super::list_metrics::output_schema();
    schema["properties"]["pattern"] = serde_json::json!({"type": "string"});
    schema["properties"]["hint"] = serde_json::json!({"type": "string"});
    schema
}

fn run(ctx: &Context, args: &Args) -> Result<Value, ToolFailure> {
    let ds = datasource(ctx, args)?;
    let pattern = args.required_str("pattern")?;
    validate_metric_regex(pattern).map_err(|e| ToolFailure::new(format!("pattern: {e}")))?;
    let (start, end, echo) = window(ctx, args)?;
    let matcher = format!("{{__name__=~{}}}", quote_label_value(pattern));
    let result = with_client(ctx, ds, |c| {
        c.label_values("__name__", &[matcher], start, end)
    })?;
    let mut out = super::list_metrics::metric_list(
        &ds.name,
        echo,
        result,
        args.u64_or("limit", LIST_DEFAULT),
    )?;
    out["pattern"] = Value::String(pattern.to_string());
    if out["total"] == 0 {
        out["hint"] = Value::String(
            "no metric name matched; the pattern must match the whole name (try '.*word.*'), and \
only metrics with samples in the window count"
                .into(),
        );
    }
    Ok(out)
}
