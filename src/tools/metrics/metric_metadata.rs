//! `get_metric_metadata`: type, help and unit of a metric (`/api/v1/metadata`).

use serde_json::{Value, json};

use super::suggest;
use crate::backends::prometheus::Client;
use crate::tools::args::{Param, ParamKind};
use crate::tools::{
    Context, DEFAULT_LOOKBACK_SECS, Handler, ToolDef, ToolFailure, args::Args, object_schema,
};

/// `metric_name`, shared with the label tools.
pub(super) const METRIC_PARAM: Param = Param {
    name: "metric_name",
    kind: ParamKind::String,
    required: true,
    description: "",
};

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "get_metric_metadata",
    title: "Metric metadata",
    description: "Returns a metric's type, help and unit, to decide how to query it (rate() for a \
counter, histogram_quantile() for a histogram).",
    params: &[METRIC_PARAM],
    output_schema,
    run: Handler::Metrics(run),
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "metric": {"type": "string"},
            "metadata": {"type": "array", "items": {"type": "object", "properties": {
                "type": {"type": "string"}, "help": {"type": "string"}, "unit": {"type": "string"}
            }}},
            "hint": {"type": "string"}
        }),
        &["metric", "metadata"],
    )
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let metric = args.required_str("metric_name")?;
    let result = client.metadata(metric)?;
    // The answer maps metric name → list of {type, help, unit}; several entries when targets disagree.
    let mut entries: Vec<Value> = result
        .data
        .get(metric)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    entries.dedup();
    let mut out = json!({"metric": metric, "metadata": entries});
    if entries.is_empty() {
        // A histogram's or summary's metadata is under its family name, which has no samples
        // itself (`x` for `x_bucket`), so an unknown name is only reported when no series
        // starts with it either.
        let found = suggest::unknown_metric_or_family(
            client,
            metric,
            ctx.now - DEFAULT_LOOKBACK_SECS,
            ctx.now,
        );
        out["hint"] = json!(suggest::empty_hint(
            found,
            "no metadata for this metric: metadata comes only from currently scraped targets (and \
VictoriaMetrics keeps none by default). Check the name with find_metrics_by_pattern; if it exists, \
infer the type from its suffix (_total: counter, _bucket/_sum/_count: histogram)."
        ));
    }
    super::add_notes(&mut out, &result);
    Ok(out)
}
