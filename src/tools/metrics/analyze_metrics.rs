//! `analyze_metrics`: KubeSense's analyze-metrics — PromQL evaluated over a window (or at its end)
//! and summarised per series (min, max, avg, latest, total) and over all series, instead of points.
//! The statistics cover every series Prometheus returned; only the listing is bounded.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::digits::round;
use super::query_instant::{PROMQL_PARAM, checked_promql};
use super::query_range::resolve_step;
use super::shape::SERIES_MAX;
use crate::backends::prometheus::Client;
use crate::timespec::{format_duration, format_time, parse_duration};
use crate::tools::args::{Args, Param, ParamKind};
use crate::tools::bounds::count_fields;
use crate::tools::{
    Context, FROM_PARAM, Handler, TO_PARAM, ToolDef, ToolFailure, object_schema, time_window,
};

/// Series listed unless the caller asks for more.
const SERIES_DEFAULT: u64 = 20;

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "analyze_metrics",
    title: "Analyze metrics",
    description: "Statistics of PromQL instead of points: per series and overall min, max, avg, \
latest, total (range: the sum of the samples; instant: the value).",
    params: &[
        FROM_PARAM,
        TO_PARAM,
        Param {
            name: "queryType",
            kind: ParamKind::Enum(&["range", "instant"]),
            required: false,
            description: "Default range; instant: the values at to_time.",
        },
        PROMQL_PARAM,
        Param {
            name: "step",
            kind: ParamKind::String,
            required: false,
            description: "Default: ~120 samples.",
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
    ],
    output_schema,
    run: Handler::MetricsEach(run),
};

fn output_schema() -> Value {
    let stats = json!({"type": ["number", "null"]});
    object_schema(
        json!({
            "query": {"type": "string"},
            "queryType": {"type": "string", "enum": ["range", "instant"]},
            "window": {"type": "object", "properties": {"from_time": {"type": "string"}, "to_time": {"type": "string"}}},
            "time": {"type": "string"},
            "step": {"type": "string"},
            "overall": {"type": "object", "properties": {
                "series": {"type": "integer"}, "samples": {"type": "integer"},
                "min": stats, "max": stats, "avg": stats, "latest": stats, "total": stats
            }},
            "series": {"type": "array", "items": {"type": "object", "properties": {
                "metric": {"type": "object"}, "samples": {"type": "integer"},
                "min": stats, "max": stats, "avg": stats, "latest": stats, "total": stats
            }}},
            "skipped": {"type": "string"},
            "value": {"type": ["number", "null"]},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "hint": {"type": "string"}
        }),
        &["query", "queryType", "window"],
    )
}

/// One series of a vector or matrix answer, its samples as Prometheus writes them (also read by
/// `analyze_telemetry`).
#[derive(Deserialize)]
pub(in crate::tools) struct Series {
    /// Its labels.
    #[serde(default)]
    pub metric: Map<String, Value>,
    /// A matrix series' `[time, "value"]` samples.
    #[serde(default)]
    pub values: Vec<(f64, String)>,
    /// A vector series' one sample.
    #[serde(default)]
    pub value: Option<(f64, String)>,
}

/// Statistics of a run of samples.
#[derive(Default)]
struct Stats {
    samples: u64,
    min: f64,
    max: f64,
    sum: f64,
    latest: Option<f64>,
}

impl Stats {
    fn add(&mut self, v: f64) {
        if self.samples == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.samples += 1;
        self.sum += v;
        self.latest = Some(v);
    }

    fn avg(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.sum / self.samples as f64)
    }

    /// The five statistics; `latest_override` replaces `latest` (the overall one is a sum).
    fn json(&self, latest_override: Option<Option<f64>>) -> Map<String, Value> {
        let n = |v: Option<f64>| v.map_or(Value::Null, |v| json!(round(v)));
        let some = self.samples > 0;
        let mut o = Map::new();
        o.insert("samples".into(), json!(self.samples));
        o.insert("min".into(), n(some.then_some(self.min)));
        o.insert("max".into(), n(some.then_some(self.max)));
        o.insert("avg".into(), n(self.avg()));
        o.insert("latest".into(), n(latest_override.unwrap_or(self.latest)));
        o.insert("total".into(), n(some.then_some(self.sum)));
        o
    }
}

fn run(ctx: &Context, args: &Args, client: &Client) -> Result<Value, ToolFailure> {
    let expr = checked_promql(args)?;
    let (from, to, window) = time_window(ctx, args)?;
    let instant = args.str("queryType") == Some("instant");
    let mut out = json!({
        "query": expr, "queryType": if instant { "instant" } else { "range" }, "window": window,
    });
    let mut result = if instant {
        out["time"] = json!(format_time(to));
        client.query(expr, to)?
    } else {
        let scrape = client
            .settings()
            .scrape_interval
            .as_deref()
            .and_then(|t| parse_duration(t).ok());
        let step = resolve_step(args, to - from, scrape)?;
        out["step"] = json!(format_duration(step));
        client.query_range(expr, from, to, step)?
    };
    let result_type = result.data["resultType"].as_str().unwrap_or("").to_string();
    if !matches!(result_type.as_str(), "vector" | "matrix") {
        // A scalar or string has one value and no series to summarise.
        let raw = super::take_result(&mut result);
        out["value"] = raw
            .get(1)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .map_or(Value::Null, |v| json!(round(v)));
        super::add_notes(&mut out, &result);
        return Ok(out);
    }

    let mut overall = Stats::default();
    let mut latest_sum: Option<f64> = None;
    let mut skipped = 0u64;
    let mut rows: Vec<(Map<String, Value>, Stats)> = Vec::new();
    for raw in super::take_series(&mut result) {
        let Ok(series) = serde_json::from_str::<Series>(raw.get()) else {
            continue;
        };
        let mut stats = Stats::default();
        for (_, text) in series.values.iter().chain(series.value.iter()) {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    stats.add(v);
                    overall.add(v);
                }
                // NaN and ±Inf have no place in a sum or an average; they are counted instead.
                _ => skipped += 1,
            }
        }
        if let Some(l) = stats.latest {
            latest_sum = Some(latest_sum.unwrap_or(0.0) + l);
        }
        rows.push((series.metric, stats));
    }
    let total = rows.len();
    // Largest average first; series without samples last; labels break ties.
    rows.sort_by(|(ma, a), (mb, b)| {
        let key = |s: &Stats| s.avg().unwrap_or(f64::NEG_INFINITY);
        key(b)
            .total_cmp(&key(a))
            .then_with(|| format!("{ma:?}").cmp(&format!("{mb:?}")))
    });
    rows.truncate(args.u64_or("limit", SERIES_DEFAULT) as usize);
    let listed: Vec<Value> = rows
        .iter()
        .map(|(metric, stats)| {
            let mut o = stats.json(None);
            o.insert("metric".into(), Value::Object(metric.clone()));
            Value::Object(o)
        })
        .collect();
    let shown = listed.len();
    let mut overall_json = overall.json(Some(latest_sum));
    overall_json.insert("series".into(), json!(total));
    out["overall"] = Value::Object(overall_json);
    out["series"] = json!(listed);
    count_fields(
        &mut out,
        shown,
        total,
        "raise `limit`, or aggregate (sum by (...))",
    );
    if skipped > 0 {
        out["skipped"] = json!(format!(
            "{skipped} NaN or infinite sample(s) are left out of the statistics"
        ));
    }
    if total == 0 {
        out["hint"] = json!(super::suggest::empty_hint(
            super::suggest::why_empty(client, expr, from, to),
            "no series in this window: check the metric with find_metrics_by_pattern and its labels with get_label_values"
        ));
    }
    super::add_notes(&mut out, &result);
    Ok(out)
}
