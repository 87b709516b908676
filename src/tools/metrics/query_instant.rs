//! `query_instant`: evaluates PromQL at one instant (`/api/v1/query`).

use serde_json::{Value, json};

use super::digits::Precision;
use super::shape::{self, SERIES_MAX, order_matters};
use super::suggest;
use crate::backends::prometheus::Client;
use crate::timespec::format_time;
use crate::tools::args::{Param, ParamKind};
use crate::tools::bounds::count_fields;
use crate::tools::{
    Context, DEFAULT_LOOKBACK_SECS, Handler, ToolDef, ToolFailure, args::Args, object_schema,
    time_arg,
};

/// Default number of series a query result shows.
const SERIES_DEFAULT: u64 = 50;

/// `promql`, shared with `query_range`.
pub(super) const PROMQL_PARAM: Param = Param {
    name: "promql",
    kind: ParamKind::String,
    required: true,
    description: "",
};

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "query_instant",
    title: "Instant query",
    description: "Evaluates PromQL at one time: each series' labels and value. Aggregate (sum by, \
topk) rather than raising limit.",
    params: &[
        PROMQL_PARAM,
        Param {
            name: "time",
            kind: ParamKind::String,
            required: false,
            description: "Default now.",
        },
        Param {
            name: "limit",
            kind: ParamKind::Integer {
                min: 1,
                max: SERIES_MAX,
            },
            required: false,
            description: "Default 50.",
        },
    ],
    output_schema,
    run: Handler::MetricsEach(run),
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "query": {"type": "string"},
            "time": {"type": "string"},
            "resultType": {"type": "string", "enum": ["vector", "matrix", "scalar", "string"]},
            "result": {"type": "array", "items": {"type": "object", "properties": {
                "metric": {"type": "object"},
                "value": {"type": ["number", "string"]},
                "histogram": {"type": "object"},
                "samples": {"type": "array", "items": {"type": "array", "items": {}}},
                "histogram_samples": {"type": "array", "items": {"type": "array", "items": {}}},
                "stats": shape::stats_schema()
            }}},
            "value": {"type": ["number", "string", "null"]},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "hint": {"type": "string"}
        }),
        &["query", "time", "resultType"],
    )
}

/// Checks the expression; the failure tells the model what to fix.
pub(super) fn checked_promql(args: &Args) -> Result<&str, ToolFailure> {
    let expr = args.required_str("promql")?;
    crate::promql::check(expr)
        .map_err(|e| ToolFailure::new(format!("invalid PromQL, nothing was sent: {e}")))?;
    Ok(expr)
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let expr = checked_promql(args)?;
    let time = time_arg(ctx, args, "time", Some(ctx.now))?;
    let mut result = client.query(expr, time)?;
    let limit = args.u64_or("limit", SERIES_DEFAULT);
    let result_type = result.data["resultType"].as_str().unwrap_or("").to_string();
    let mut out = json!({
        "query": expr, "time": format_time(time), "resultType": result_type,
    });
    match result_type.as_str() {
        "vector" | "matrix" => {
            let series = super::take_series(&mut result);
            let shaped = if result_type == "vector" {
                shape::vector(series, limit, order_matters(expr))
            } else {
                // A range vector's raw samples: scrape timestamps, not a grid, so `[t, v]` pairs,
                // exact.
                shape::matrix(series, limit, order_matters(expr), None, Precision::Full)
            };
            let shown = shaped.series.len();
            out["result"] = json!(shaped.series);
            count_fields(&mut out, shown, shaped.total, shaped.advice());
            if shaped.total == 0 {
                // Names are looked up over the hour before `time`: a metric that stopped a while
                // ago still counts as existing, and the general advice covers staleness.
                let found = suggest::why_empty(client, expr, time - DEFAULT_LOOKBACK_SECS, time);
                out["hint"] = json!(suggest::empty_hint(
                    found,
                    "no series matched at this time. Instant selectors only see samples from the 5 minutes \
before `time`; check the metric with find_metrics_by_pattern and label values with get_label_values"
                ));
            }
        }
        "scalar" | "string" => {
            let raw = super::take_result(&mut result);
            let pair = raw.as_array().cloned().unwrap_or_default();
            out["value"] = pair.get(1).map(shape::sample_value).unwrap_or(Value::Null);
        }
        _ => {
            return Err(ToolFailure::new(format!(
                "unexpected resultType '{result_type}' from the datasource"
            )));
        }
    }
    super::add_notes(&mut out, &result);
    Ok(out)
}
