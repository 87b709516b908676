//! `get_label_values`: values of one label, filtered to a metric's series with `match[]` when a metric
//! is given, in a bounded window.

use serde_json::{Value, json};

use crate::datasources::DatasourceKind;

use super::args::{Param, ParamKind};
use super::shape::{LIST_DEFAULT, bounded_list, count_fields};
use super::{
    Context, DATASOURCE_PARAM, LIST_LIMIT_PARAM, ToolDef, ToolFailure, WINDOW_END_PARAM,
    WINDOW_START_PARAM, args::Args, datasource, metric_labels::metric_matcher, object_schema,
    window, with_client,
};

pub(super) const TOOL: ToolDef = ToolDef {
    name: "get_label_values",
    title: "Get label values",
    description: "Lists the values of a label (e.g. 'job', 'namespace') in a window (default: the last \
hour); with metric_name, only values on that metric's series. At most `limit` (default 200); `total` \
says how many exist.",
    params: &[
        DATASOURCE_PARAM,
        Param {
            name: "label_name",
            kind: ParamKind::String,
            required: true,
            description: "Label name, e.g. 'job' or 'namespace'.",
        },
        Param {
            name: "metric_name",
            kind: ParamKind::String,
            required: false,
            description: "Only values on this metric's series, e.g. 'up'.",
        },
        LIST_LIMIT_PARAM,
        WINDOW_START_PARAM,
        WINDOW_END_PARAM,
    ],
    output_schema,
    run,
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "datasource": {"type": "string"},
            "label": {"type": "string"},
            "metric": {"type": "string"},
            "window": {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}}},
            "values": {"type": "array", "items": {"type": "string"}},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "hint": {"type": "string"}
        }),
        &["datasource", "label", "values", "total", "shown"],
    )
}

/// The label name as a URL path segment: legacy names as they are; others in Prometheus 3's `U__`
/// escaping (`_` → `__`, other characters → `_<hex>_`) for Prometheus, percent-encoded for
/// VictoriaMetrics, which does not know `U__`.
fn label_path_segment(name: &str, kind: DatasourceKind) -> String {
    let legacy = name
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if legacy {
        return name.to_string();
    }
    if kind == DatasourceKind::VictoriaMetrics {
        // '.' too: a label named '..' must not become a path step.
        return crate::http::url_encode(name).replace('.', "%2E");
    }
    let mut out = String::from("U__");
    for (i, c) in name.chars().enumerate() {
        match c {
            '_' => out.push_str("__"),
            c if c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()) => out.push(c),
            c => out.push_str(&format!("_{:x}_", c as u32)),
        }
    }
    out
}

fn run(ctx: &Context, args: &Args) -> Result<Value, ToolFailure> {
    let ds = datasource(ctx, args)?;
    let label = args.required_str("label_name")?;
    if label.len() > 1024 {
        return Err(ToolFailure::new(
            "label_name is longer than 1024 bytes; pass a label name such as 'job'",
        ));
    }
    let metric = args.str("metric_name");
    let matchers: Vec<String> = metric.map(metric_matcher).into_iter().collect();
    let (start, end, echo) = window(ctx, args)?;
    let segment = label_path_segment(label, ds.kind);
    let mut result = with_client(ctx, ds, |c| c.label_values(&segment, &matchers, start, end))?;
    let names = super::string_list(&mut result, "label values")?;
    let (values, total) = bounded_list(names, args.u64_or("limit", LIST_DEFAULT));
    let shown = values.len();
    let mut out = json!({"datasource": ds.name, "label": label, "window": echo, "values": values});
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
        out["hint"] = json!(
            "no values in the window: check the label with get_metric_labels and the metric with find_metrics_by_pattern, or widen the window"
        );
    }
    super::add_notes(&mut out, &result);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::label_path_segment;
    use crate::datasources::DatasourceKind::{Prometheus, VictoriaMetrics};

    #[test]
    fn label_names_are_escaped_for_the_path_only_when_needed() {
        assert_eq!(label_path_segment("job", Prometheus), "job");
        assert_eq!(label_path_segment("__name__", VictoriaMetrics), "__name__");
        assert_eq!(label_path_segment("k8s.pod", Prometheus), "U__k8s_2e_pod");
        assert_eq!(label_path_segment("a_b/c", Prometheus), "U__a__b_2f_c");
        assert_eq!(label_path_segment("../x", Prometheus), "U___2e__2e__2f_x");
        assert_eq!(label_path_segment("k8s.pod", VictoriaMetrics), "k8s%2Epod");
        assert_eq!(label_path_segment("..", VictoriaMetrics), "%2E%2E");
    }
}
