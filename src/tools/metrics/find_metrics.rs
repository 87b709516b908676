//! `find_metrics_by_pattern`: metric names matching a regex anywhere in the name, as proms-mcp's
//! Python `re.search` does, matched by the backend itself (`match[]={__name__=~".*(?:…).*"}`) after
//! the regex is checked here. `^` and `$` anchor, as in `re.search`: inside the wrapper RE2 still
//! reads them as the start and end of the name.

use serde_json::Value;

use crate::backends::prometheus::Client;
use crate::promql::{quote_label_value, validate_metric_regex};
use crate::tools::args::{Param, ParamKind};
use crate::tools::bounds::LIST_DEFAULT;
use crate::tools::{
    Context, Handler, LIST_LIMIT_PARAM, ToolDef, ToolFailure, WINDOW_END_PARAM, WINDOW_START_PARAM,
    args::Args, window,
};

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "find_metrics_by_pattern",
    title: "Find metrics by regex",
    description: "Finds metric names matching an RE2 regex anywhere in the name ('http', '^node_', \
'_total$'): the way to discover metrics.",
    params: &[
        Param {
            name: "pattern",
            kind: ParamKind::String,
            required: true,
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
    let mut schema = super::list_metrics::output_schema();
    schema["properties"]["pattern"] = serde_json::json!({"type": "string"});
    schema["properties"]["hint"] = serde_json::json!({"type": "string"});
    schema
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let pattern = args.required_str("pattern")?;
    validate_metric_regex(pattern).map_err(|e| ToolFailure::new(format!("pattern: {e}")))?;
    let (start, end, echo) = window(ctx, args)?;
    // PromQL anchors regex matchers at both ends; the wrapper undoes that for a search anywhere.
    let matcher = format!(
        "{{__name__=~{}}}",
        quote_label_value(&format!(".*(?:{pattern}).*"))
    );
    let result = client.label_values("__name__", &[matcher], start, end)?;
    let mut out =
        super::list_metrics::metric_list(echo, result, args.u64_or("limit", LIST_DEFAULT))?;
    out["pattern"] = Value::String(pattern.to_string());
    if out["total"] == 0 {
        out["hint"] = Value::String(
            "no metric name matched; the pattern is matched anywhere in the name (use a shorter \
part, or '|' for alternatives), and only metrics with samples in the window count"
                .into(),
        );
    }
    Ok(out)
}
