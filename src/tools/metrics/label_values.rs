//! `get_label_values`: values of one label, filtered to a metric's series with `match[]` when a metric
//! is given, in a bounded window.

use serde_json::{Value, json};

use super::metric_labels::metric_matcher;
use super::suggest;
use crate::backends::prometheus::Client;
use crate::tools::args::{Param, ParamKind};
use crate::tools::bounds::{LIST_DEFAULT, bounded_list, count_fields};
use crate::tools::{
    Context, Handler, LIST_LIMIT_PARAM, ToolDef, ToolFailure, WINDOW_END_PARAM, WINDOW_START_PARAM,
    args::Args, object_schema, window,
};

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "get_label_values",
    title: "Label values",
    description: "Lists the values of a label (job, namespace…), optionally only on metric_name's \
series.",
    params: &[
        Param {
            name: "label_name",
            kind: ParamKind::String,
            required: true,
            description: "",
        },
        Param {
            name: "metric_name",
            kind: ParamKind::String,
            required: false,
            description: "",
        },
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
            "label": {"type": "string"},
            "metric": {"type": "string"},
            "window": {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}}},
            "values": {"type": "array", "items": {"type": "string"}},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "hint": {"type": "string"}
        }),
        &["label", "values", "total", "shown"],
    )
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let label = args.required_str("label_name")?;
    if label.len() > 1024 {
        return Err(ToolFailure::new(
            "label_name is longer than 1024 bytes; pass a label name such as 'job'",
        ));
    }
    let metric = args.str("metric_name");
    let matchers: Vec<String> = metric.map(metric_matcher).into_iter().collect();
    let (start, end, echo) = window(ctx, args)?;
    let mut result = client.label_values(label, &matchers, start, end)?;
    let names = super::string_list(&mut result, "label values")?;
    let (values, total) = bounded_list(names, args.u64_or("limit", LIST_DEFAULT));
    let shown = values.len();
    let mut out = json!({"label": label, "window": echo, "values": values});
    if let Some(m) = metric {
        out["metric"] = json!(m);
    }
    count_fields(
        &mut out,
        shown,
        total,
        "raise `limit`, or pass metric_name to narrow",
    );
    if total == 0 {
        // The metric first: when it has no samples, every label of it is empty too.
        let found = metric
            .and_then(|m| suggest::unknown_metric(client, m, start, end))
            .or_else(|| suggest::unknown_label(client, label, metric, start, end));
        out["hint"] = json!(suggest::empty_hint(
            found,
            "no values in the window: check the label with get_metric_labels and the metric with find_metrics_by_pattern, or widen the window"
        ));
    }
    super::add_notes(&mut out, &result);
    Ok(out)
}
