//! `query_range`: evaluates PromQL over a time range (`/api/v1/query_range`), with the step checked
//! against Prometheus' 11,000-points limit before anything is sent.

use serde_json::{Value, json};

use super::digits::{DEFAULT_DIGITS, Precision};
use super::query_instant::{PROMQL_PARAM, checked_promql};
use super::shape::{self, SERIES_MAX, order_matters};
use crate::backends::prometheus::Client;
use crate::timespec::{format_duration, format_time, parse_duration};
use crate::tools::args::{Param, ParamKind};
use crate::tools::bounds::count_fields;
use crate::tools::{Context, Handler, ToolDef, ToolFailure, args::Args, object_schema, time_arg};

/// Default number of series a range result shows.
const SERIES_DEFAULT: u64 = 20;
/// Prometheus refuses `(end - start) / step` above this.
pub const MAX_POINTS_PER_SERIES: f64 = 11_000.0;
/// Points per series the automatic step aims for: enough for a shape, small for a model's context.
const AUTO_STEP_POINTS: f64 = 120.0;
/// Steps the automatic choice rounds up to, in seconds.
const NICE_STEPS: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0,
    21600.0, 43200.0, 86400.0,
];

/// `precision`: rounded values (default) or exact ones.
const PRECISION_PARAM: Param = Param {
    name: "precision",
    kind: ParamKind::Enum(&["compact", "full"]),
    required: false,
    description: "'compact' (default): values to 4 significant digits; 'full': exact. Stats are always exact.",
};

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "query_range",
    title: "Range query",
    description: "Evaluates PromQL over a range: each series' points and stats. analyze_metrics is \
smaller when stats suffice.",
    params: &[
        PROMQL_PARAM,
        Param {
            name: "start",
            kind: ParamKind::String,
            required: true,
            description: "e.g. now-1h",
        },
        Param {
            name: "end",
            kind: ParamKind::String,
            required: true,
            description: "e.g. now",
        },
        Param {
            name: "step",
            kind: ParamKind::String,
            required: false,
            description: "Default: ~120 points.",
        },
        Param {
            name: "limit",
            kind: ParamKind::Integer {
                min: 1,
                max: SERIES_MAX,
            },
            required: false,
            description: "Default 20.",
        },
        PRECISION_PARAM,
    ],
    output_schema,
    run: Handler::MetricsEach(run),
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "query": {"type": "string"},
            "start": {"type": "string"},
            "end": {"type": "string"},
            "step": {"type": "string"},
            "resultType": {"type": "string"},
            "result": {"type": "array", "items": shape::range_series_schema()},
            "points": {"type": "integer"},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "hint": {"type": "string"}
        }),
        &[
            "datasource",
            "query",
            "start",
            "end",
            "step",
            "resultType",
            "result",
        ],
    )
}

/// The smallest step from [`NICE_STEPS`] (or a whole number of days) that is at least `min`.
fn nice_step(min: f64) -> f64 {
    NICE_STEPS
        .iter()
        .copied()
        .find(|s| *s >= min)
        .unwrap_or_else(|| (min / 86400.0).ceil() * 86400.0)
}

/// The step to use: the caller's, checked against the points limit, or an automatic one.
pub(super) fn resolve_step(
    args: &Args,
    range: f64,
    scrape_interval: Option<f64>,
) -> Result<f64, ToolFailure> {
    let min_allowed = range / MAX_POINTS_PER_SERIES;
    match args.str("step") {
        Some(s) => {
            let step =
                parse_duration(s).map_err(|e| ToolFailure::new(format!("argument 'step': {e}")))?;
            if step < 0.001 {
                return Err(ToolFailure::new(format!(
                    "argument 'step': '{s}' is below 1ms, the smallest step Prometheus resolves"
                )));
            }
            if range / step > MAX_POINTS_PER_SERIES {
                let fit = nice_step(min_allowed.max(1.0));
                return Err(ToolFailure::new(format!(
                    "step {} over {} gives {} points per series; Prometheus allows at most 11,000. \
Use step '{}' or larger (or shorten the range). Nothing was sent.",
                    format_duration(step),
                    format_duration(range),
                    ((range / step).floor() as u64).saturating_add(1),
                    format_duration(fit)
                )));
            }
            Ok(step)
        }
        None => Ok(nice_step(
            (range / AUTO_STEP_POINTS)
                .max(scrape_interval.unwrap_or(15.0))
                .max(min_allowed)
                .max(1.0),
        )),
    }
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let expr = checked_promql(args)?;
    let start = time_arg(ctx, args, "start", None)?;
    let end = time_arg(ctx, args, "end", None)?;
    crate::tools::ordered(start, end)?;
    let scrape_interval = client
        .settings()
        .scrape_interval
        .as_deref()
        .and_then(|t| parse_duration(t).ok());
    let step = resolve_step(args, end - start, scrape_interval)?;
    let mut result = client.query_range(expr, start, end, step)?;
    let precision = match args.str(PRECISION_PARAM.name) {
        Some("full") => Precision::Full,
        _ => Precision::Digits(DEFAULT_DIGITS),
    };
    let shaped = shape::matrix(
        super::take_series(&mut result),
        args.u64_or("limit", SERIES_DEFAULT),
        order_matters(expr),
        Some(step),
        precision,
    );
    let shown = shaped.series.len();
    let mut out = json!({
        "query": expr,
        "start": format_time(start), "end": format_time(end), "step": format_duration(step),
        "resultType": result.data["resultType"].as_str().unwrap_or("matrix"),
        "result": shaped.series, "points": shaped.points,
    });
    count_fields(&mut out, shown, shaped.total, shaped.advice());
    if shaped.total == 0 {
        out["hint"] = json!(super::suggest::empty_hint(
            super::suggest::why_empty(client, expr, start, end),
            "no series in this range: check the metric with find_metrics_by_pattern, the labels with \
get_label_values, and that the range covers when the data exists"
        ));
    }
    super::add_notes(&mut out, &result);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_round_up() {
        assert_eq!(nice_step(0.5), 1.0);
        assert_eq!(nice_step(16.0), 30.0);
        assert_eq!(nice_step(86400.0 * 2.5), 86400.0 * 3.0);
    }
}
