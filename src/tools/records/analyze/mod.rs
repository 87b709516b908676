//! `analyze_logs` and `analyze_traces`: one aggregation (count, count_distinct, sum, avg, min, max or
//! a percentile) over the records matching a filter, per group, either once for the window
//! (`instant`) or per time bucket (`range`) with min/max/avg/latest per group.

//!
//! The ClickHouse path is in `clickhouse`; Loki and Tempo, which answer metric queries as series, in
//! `series`. What they share is here: the arguments, the aggregation, the time buckets and the
//! per-group statistics.

use serde_json::{Value, json};

use super::{Backend, FILTERS_PARAM, FROM_PARAM, TO_PARAM};
use crate::backends::clickhouse::schema::Signal;
use crate::timespec::{format_duration, parse_duration};
use crate::tools::args::{Args, Param, ParamKind};
use crate::tools::{Context, Handler, ToolDef, ToolFailure, object_schema};

mod clickhouse;
mod series;

/// Groups shown unless the caller asks for more.
const GROUPS_DEFAULT: u64 = 20;
/// Most groups shown.
const GROUPS_MAX: u64 = 200;
/// Buckets the automatic step aims for.
const AUTO_BUCKETS: f64 = 60.0;
/// Most buckets a range analysis may have.
const MAX_BUCKETS: f64 = 1_000.0;
/// Steps the automatic choice rounds up to, in seconds.
const NICE_STEPS: &[f64] = &[
    1.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0,
    21600.0, 43200.0, 86400.0,
];

/// `step`: the buckets of a range analysis (see [`Buckets`]); `analyze_telemetry` takes it too.
pub(in crate::tools) const STEP_PARAM: Param = Param {
    name: "step",
    kind: ParamKind::String,
    required: false,
    description: "Default: ~60 buckets.",
};

fn aggregation_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "function": {"type": "string", "description": "count, count_distinct, sum, avg, min, max, p50…p99.9"},
            "field": {"type": "string"}
        },
        "required": ["function"]
    })
}

const PARAMS: &[Param] = &[
    FROM_PARAM,
    TO_PARAM,
    Param {
        name: "queryType",
        kind: ParamKind::Enum(&["instant", "range"]),
        required: false,
        description: "Default instant; range: per time bucket.",
    },
    FILTERS_PARAM,
    Param {
        name: "aggregation",
        kind: ParamKind::Object(aggregation_schema),
        required: true,
        description: "e.g. {\"function\": \"p95\", \"field\": \"duration\"}",
    },
    Param {
        name: "groupBy",
        kind: ParamKind::Strings { max: 5 },
        required: false,
        description: "",
    },
    STEP_PARAM,
    Param {
        name: "limit",
        kind: ParamKind::Integer {
            min: 1,
            max: GROUPS_MAX,
        },
        required: false,
        description: "Default 20.",
    },
];

pub(in crate::tools) const LOGS: ToolDef = ToolDef {
    name: "analyze_logs",
    title: "Analyze logs",
    description: "Aggregates log records matching filters (count, p95…) per groupBy: who logs \
errors, how many, since when.",
    params: PARAMS,
    output_schema,
    run: Handler::Records {
        signal: Some(Signal::Logs),
        run,
    },
};

pub(in crate::tools) const TRACES: ToolDef = ToolDef {
    name: "analyze_traces",
    title: "Analyze traces",
    description: "Aggregates spans matching filters (count, p95 of duration…) per groupBy: requests, \
errors, latency, their trend.",
    params: PARAMS,
    output_schema,
    run: Handler::Records {
        signal: Some(Signal::Traces),
        run,
    },
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "window": {"type": "object", "properties": {"from_time": {"type": "string"}, "to_time": {"type": "string"}}},
            "queryType": {"type": "string", "enum": ["instant", "range"]},
            "aggregation": {"type": "string"},
            "filters": {"type": "string"},
            "groupBy": {"type": "array", "items": {"type": "string"}},
            "value": {"type": ["number", "null"]},
            "start": {"type": "string"},
            "step": {"type": "string"},
            "groups": {"type": "array", "items": {"type": "object", "properties": {
                "group": {"type": "object"},
                "value": {"type": ["number", "null"]},
                "values": {"type": "array", "items": {"type": ["number", "null"]}},
                "min": {"type": ["number", "null"]},
                "max": {"type": ["number", "null"]},
                "avg": {"type": ["number", "null"]},
                "latest": {"type": ["number", "null"]}
            }}},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "hint": {"type": "string"},
            "query": {"type": "string", "description": "The LogQL or TraceQL sent (Loki, Tempo)."},
            "notes": {"type": "array", "items": {"type": "string"}}
        }),
        &["window", "queryType", "aggregation"],
    )
}

fn run(
    ctx: &Context,
    args: &Args,
    backend: &Backend,
    signal: Signal,
) -> Result<Value, ToolFailure> {
    match backend {
        Backend::ClickHouse(client) => clickhouse::run(ctx, args, client, signal),
        Backend::Loki(client) => series::run_loki(ctx, args, client),
        Backend::Tempo(client) => series::run_tempo(ctx, args, client),
    }
}

/// What `aggregation` asks for: a function, and the field it reads (every function but `count`
/// reads one). Checked once here, so every backend refuses the same things the same way.
pub(super) struct Aggregation {
    /// The function.
    pub function: Function,
    /// The field as the caller wrote it (`None` only for `count`).
    pub field: Option<String>,
    /// The function as the caller named it, lower case (`p95`), for echoes.
    pub name: String,
}

/// An aggregation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Function {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    /// A quantile, 0 to 1 (`p95` is 0.95).
    Quantile(f64),
}

impl Aggregation {
    /// The `aggregation` argument, checked.
    fn of(args: &Args, signal: Signal) -> Result<Aggregation, ToolFailure> {
        let object = args
            .object("aggregation")
            .ok_or_else(|| ToolFailure::new("missing required argument 'aggregation'"))?;
        if let Some(key) = object
            .keys()
            .find(|k| !["function", "field"].contains(&k.as_str()))
        {
            return Err(ToolFailure::new(format!(
                "aggregation: unknown key '{key}'; it takes function and field"
            )));
        }
        let name = object
            .get("function")
            .and_then(Value::as_str)
            .map(|f| f.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                ToolFailure::new(
                    "aggregation: 'function' must be a string such as \"count\" or \"p95\"",
                )
            })?;
        let field = object.get("field").and_then(Value::as_str);
        Aggregation::new(&name, field, signal)
    }

    /// Function `name` (lower case) of `field`, checked.
    fn new(name: &str, field: Option<&str>, signal: Signal) -> Result<Aggregation, ToolFailure> {
        let field = field
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string);
        let function = match name {
            "count" => Function::Count,
            "count_distinct" => Function::CountDistinct,
            "sum" => Function::Sum,
            "avg" => Function::Avg,
            "min" => Function::Min,
            "max" => Function::Max,
            p => match p.strip_prefix('p').and_then(|l| l.parse::<f64>().ok()) {
                // Rounded so that p99.9 is 0.999, not 0.9990000000000001.
                Some(level) if (0.0..=100.0).contains(&level) => {
                    Function::Quantile((level * 1e7).round() / 1e9)
                }
                _ => {
                    return Err(ToolFailure::new(format!(
                        "aggregation: unknown function '{name}'; use count, count_distinct, sum, avg, min, max or a percentile such as p50, p95, p99.9"
                    )));
                }
            },
        };
        if function != Function::Count && field.is_none() {
            let example = match signal {
                Signal::Logs => "@duration_ms",
                Signal::Traces => "duration",
            };
            return Err(ToolFailure::new(format!(
                "aggregation: '{name}' needs a field, e.g. {{\"function\": \"{name}\", \"field\": \"{example}\"}}"
            )));
        }
        Ok(Aggregation {
            function,
            field: if function == Function::Count {
                None
            } else {
                field
            },
            name: name.to_string(),
        })
    }

    /// Whether the answer is a count, so an empty bucket or group is 0 rather than `null`.
    pub fn counts(&self) -> bool {
        matches!(self.function, Function::Count | Function::CountDistinct)
    }

    /// How the answer echoes it: `count`, `p95(duration)`, with the field as the backend names it.
    pub fn echo(&self, field: &str) -> String {
        match self.function {
            Function::Count => "count".into(),
            _ => format!("{}({field})", self.name),
        }
    }
}

/// The time buckets of a range analysis: `count` buckets of `step` seconds, the first starting at
/// `first`, aligned to multiples of the step (so two analyses of one window share their buckets).
pub(in crate::tools) struct Buckets {
    /// Bucket length in whole seconds.
    pub step: f64,
    /// Start of the bucket holding the window's start.
    pub first: f64,
    /// Buckets up to the one holding the window's end.
    pub count: usize,
}

impl Buckets {
    /// The buckets for `[from, to]`: of the caller's `step` or an automatic one (about
    /// [`AUTO_BUCKETS`]); at most [`MAX_BUCKETS`].
    pub fn of(step: Option<&str>, from: f64, to: f64) -> Result<Buckets, ToolFailure> {
        let step = match step {
            Some(s) => parse_duration(s)
                .map_err(|e| ToolFailure::new(format!("argument 'step': {e}")))?
                .round()
                .max(1.0),
            None => {
                let wanted = (to - from) / AUTO_BUCKETS;
                NICE_STEPS
                    .iter()
                    .copied()
                    .find(|s| *s >= wanted)
                    .unwrap_or_else(|| (wanted / 86400.0).ceil() * 86400.0)
            }
        };
        let first = (from / step).floor() * step;
        let count = ((to / step).floor() * step - first) / step + 1.0;
        if count > MAX_BUCKETS {
            return Err(ToolFailure::new(format!(
                "a step of {} gives {count} buckets, more than {MAX_BUCKETS}; use a step of at least {}",
                format_duration(step),
                format_duration(((to - from) / MAX_BUCKETS).ceil())
            )));
        }
        Ok(Buckets {
            step,
            first,
            count: count as usize,
        })
    }
}

/// min, max, avg and latest (the last non-null) of a series, into `entry`.
fn stats(entry: &mut Value, values: &[Value]) {
    let numbers: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
    let (min, max, sum) = numbers
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY, 0.0), |(lo, hi, s), v| {
            (lo.min(*v), hi.max(*v), s + v)
        });
    let some = !numbers.is_empty();
    entry["min"] = if some { json!(min) } else { Value::Null };
    entry["max"] = if some { json!(max) } else { Value::Null };
    entry["avg"] = if some {
        json!(sum / numbers.len() as f64)
    } else {
        Value::Null
    };
    entry["latest"] = numbers.last().map_or(Value::Null, |v| json!(v));
}
