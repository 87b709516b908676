//! `analyze_telemetry`: KubeSense's analyze-telemetry. Several queries labelled A, B, C… over
//! metrics (PromQL), logs and traces (the `analyze_logs` / `analyze_traces` arguments), fetched
//! concurrently, plus formulas such as `(A / B) * 100` over them, joined on group labels and, for a
//! range, on one set of time buckets.
//!
//! Buckets: a range uses the buckets of `analyze_logs` (aligned to multiples of `step`); a PromQL
//! value of a bucket is the one evaluated at the bucket's end, so `increase(x[$__interval])` counts
//! what happened in the same interval as the records counted in it. The formula language is
//! [`crate::formula`]; the join is [`frame`].

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::args::{Args, Param, ParamKind};
use super::metrics::analyze_metrics::Series;
use super::metrics::digits::round;
use super::records::analyze::{self, Buckets};
use super::{
    Context, FROM_PARAM, Handler, TO_PARAM, ToolDef, ToolFailure, chosen, concurrent,
    object_schema, time_window,
};
use crate::backends::prometheus;
use crate::datasources::Family;
use crate::formula::{self, Expr};
use crate::timespec::format_duration;

mod frame;

use frame::{Frame, Nulls};

/// Most queries, formulas included, in one call.
const MAX_QUERIES: usize = 10;
/// Groups each result lists unless the caller asks for more.
const GROUPS_DEFAULT: u64 = 20;
/// Most groups a result lists, and most groups a logs or traces query contributes to a formula.
const GROUPS_MAX: u64 = 200;

fn queries_schema() -> Value {
    json!({
        "type": "object",
        "maxProperties": MAX_QUERIES,
        "additionalProperties": {
            "type": "object",
            "properties": {
                "datasource": {"type": "string", "enum": ["metrics", "logs", "traces", "formula"]},
                "promql": {"type": "string"},
                "filters": {"type": "string"},
                "aggregation": {"type": "object"},
                "groupBy": {"type": ["array", "string"], "items": {"type": "string"}},
                "expression": {"type": "string"},
                "datasource_id": {"type": "string"}
            },
            "required": ["datasource"]
        }
    })
}

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "analyze_telemetry",
    title: "Analyze telemetry",
    description: "Combines metrics, logs and traces in one answer: labelled queries (PromQL, or logs \
and traces as analyze_logs) and formulas over them such as (A/B)*100, e.g. an error ratio. Formulas \
take + - * /, parentheses, abs, sqrt, round, min, max and join on group labels (and buckets for \
range); division by zero gives null. In PromQL $__range is the window, $__interval the step.",
    params: &[
        FROM_PARAM,
        TO_PARAM,
        Param {
            name: "queryType",
            kind: ParamKind::Enum(&["instant", "range"]),
            required: false,
            description: "Default instant (PromQL at to_time); range: per time bucket.",
        },
        Param {
            name: "queries",
            kind: ParamKind::Object(queries_schema),
            required: true,
            description: "e.g. {\"A\": {\"datasource\": \"logs\", \"filters\": \"level = ERROR\", \
\"aggregation\": {\"function\": \"count\"}}, \"B\": {\"datasource\": \"metrics\", \"promql\": \
\"sum(increase(http_requests_total[$__range]))\"}, \"C\": {\"datasource\": \"formula\", \"expression\": \
\"A / B * 100\"}}",
        },
        analyze::STEP_PARAM,
        Param {
            name: "limit",
            kind: ParamKind::Integer {
                min: 1,
                max: GROUPS_MAX,
            },
            required: false,
            description: "Groups per result; default 20.",
        },
    ],
    output_schema,
    run: Handler::Combined(run),
};

fn output_schema() -> Value {
    let number = json!({"type": ["number", "null"]});
    object_schema(
        json!({
            "window": {"type": "object", "properties": {"from_time": {"type": "string"}, "to_time": {"type": "string"}}},
            "queryType": {"type": "string", "enum": ["instant", "range"]},
            "start": {"type": "string"},
            "step": {"type": "string"},
            "results": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "datasource": {"type": "string"},
                "source": {"type": "string", "enum": ["metrics", "logs", "traces", "formula"]},
                "promql": {"type": "string"},
                "expression": {"type": "string"},
                "aggregation": {"type": "string"},
                "filters": {"type": "string"},
                "groupBy": {"type": "array", "items": {"type": "string"}},
                "value": number,
                "values": {"type": "array", "items": number},
                "groups": {"type": "array", "items": {"type": "object", "properties": {
                    "group": {"type": "object"},
                    "value": number,
                    "values": {"type": "array", "items": number},
                    "min": number, "max": number, "avg": number, "latest": number
                }}},
                "min": number, "max": number, "avg": number, "latest": number,
                "total": {"type": "integer"},
                "shown": {"type": "integer"},
                "truncated": {"type": "string"},
                "note": {"type": "string"},
                "error": {"type": "string"}
            }}},
            "notes": {"type": "array", "items": {"type": "string"}}
        }),
        &["window", "queryType", "results"],
    )
}

/// What one labelled query asks.
enum Source {
    /// PromQL, with `$__range` / `$__interval` already replaced.
    Metrics {
        promql: String,
        datasource_id: Option<String>,
    },
    /// An `analyze_logs` or `analyze_traces` call with these arguments.
    Records { tool: &'static ToolDef, args: Args },
    /// A formula over other labels.
    Formula { text: String, expr: Expr },
}

/// The window and buckets every query of the call shares.
struct Shape {
    from: f64,
    to: f64,
    /// `None` for an instant query.
    buckets: Option<Buckets>,
}

impl Shape {
    fn values(&self) -> usize {
        self.buckets.as_ref().map_or(1, |b| b.count)
    }
}

fn run(ctx: &Context, args: &Args) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    let range = args.str("queryType") == Some("range");
    let buckets = if range {
        Some(Buckets::of(args.str("step"), from, to)?)
    } else {
        None
    };
    let shape = Shape { from, to, buckets };
    let queries = parse_queries(args, &shape)?;
    let limit = args.u64_or("limit", GROUPS_DEFAULT) as usize;

    // The data queries, concurrently; each keeps its own failure.
    let data: Vec<(&String, &Source)> = queries
        .iter()
        .filter(|(_, s)| !matches!(s, Source::Formula { .. }))
        .map(|(l, s)| (l, s))
        .collect();
    let fetched = concurrent::run_each(ctx.http, &data, |(label, source), http| {
        let each = Context { http, ..*ctx };
        fetch(&each, source, &shape).map_err(|e| format!("query {label}: {}", e.message))
    });

    let mut results = Map::new();
    let mut frames: BTreeMap<String, Frame> = BTreeMap::new();
    let mut failed: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for ((label, _), outcome) in data.iter().zip(fetched) {
        match outcome {
            Ok((echo, frame)) => {
                if frame.total > frame.groups.len() {
                    notes.push(format!(
                        "{label}: only its {} largest of {} groups take part in formulas; narrow its filters",
                        frame.groups.len(),
                        frame.total
                    ));
                }
                results.insert(label.to_string(), shaped(echo, &frame, &shape, limit));
                frames.insert(label.to_string(), frame);
            }
            Err(message) => {
                failed.push(label.to_string());
                results.insert(label.to_string(), json!({"error": message}));
            }
        }
    }
    if failed.len() == data.len() && !data.is_empty() {
        let errors: Vec<&str> = results
            .values()
            .filter_map(|r| r["error"].as_str())
            .collect();
        return Err(ToolFailure::new(errors.join(" | ")));
    }

    // Formulas, each once its operands are known; failures of operands pass on.
    let mut pending: Vec<(&String, &String, &Expr)> = queries
        .iter()
        .filter_map(|(l, s)| match s {
            Source::Formula { text, expr } => Some((l, text, expr)),
            _ => None,
        })
        .collect();
    while !pending.is_empty() {
        let ready = pending.iter().position(|(_, _, expr)| {
            expr.labels()
                .iter()
                .all(|l| frames.contains_key(*l) || failed.iter().any(|f| f == l))
        });
        // parse_queries refused cycles, so some formula is always ready.
        let Some(i) = ready else { break };
        let (label, text, expr) = pending.remove(i);
        let echo = json!({"source": "formula", "expression": text});
        if let Some(bad) = expr
            .labels()
            .into_iter()
            .find(|l| failed.iter().any(|f| f == l))
        {
            failed.push(label.clone());
            let mut entry = echo;
            entry["error"] = json!(format!("needs {bad}, which failed"));
            results.insert(label.clone(), entry);
            continue;
        }
        let (frame, nulls): (Frame, Nulls) =
            frame::evaluate(label, text, expr, &frames, shape.values())?;
        let mut entry = shaped(echo, &frame, &shape, limit);
        if let Some(note) = nulls.note() {
            entry["note"] = json!(note);
        }
        results.insert(label.clone(), entry);
        frames.insert(label.clone(), frame);
    }

    let mut out = json!({
        "window": window,
        "queryType": if range { "range" } else { "instant" },
    });
    if let Some(b) = &shape.buckets {
        out["start"] = json!(crate::timespec::format_time(b.first));
        out["step"] = json!(format_duration(b.step));
    }
    out["results"] = Value::Object(results);
    if !notes.is_empty() {
        out["notes"] = json!(notes);
    }
    Ok(out)
}

/// The queries by label, checked: labels, kinds, their arguments and formula references.
fn parse_queries(args: &Args, shape: &Shape) -> Result<Vec<(String, Source)>, ToolFailure> {
    let object = args
        .object("queries")
        .ok_or_else(|| ToolFailure::new("missing required argument 'queries'"))?;
    if object.is_empty() {
        return Err(ToolFailure::new(
            "queries is empty; give at least one, e.g. {\"A\": {\"datasource\": \"metrics\", \"promql\": \"sum(up)\"}}",
        ));
    }
    if object.len() > MAX_QUERIES {
        return Err(ToolFailure::new(format!(
            "queries has {} entries; at most {MAX_QUERIES} are accepted",
            object.len()
        )));
    }
    let mut out = Vec::with_capacity(object.len());
    for (label, spec) in object {
        let valid = label.len() <= formula::MAX_LABEL
            && label.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(ToolFailure::new(format!(
                "query label '{label}': use a letter followed by letters, digits or _ (A, B, errors_5xx), at most {} characters",
                formula::MAX_LABEL
            )));
        }
        let source = parse_query(spec, shape)
            .map_err(|e| ToolFailure::new(format!("query {label}: {}", e.message)))?;
        out.push((label.clone(), source));
    }
    for (label, source) in &out {
        if let Source::Formula { expr, .. } = source {
            for used in expr.labels() {
                if used == label {
                    return Err(ToolFailure::new(format!(
                        "query {label}: a formula cannot use its own label"
                    )));
                }
                if !out.iter().any(|(l, _)| l == used) {
                    let labels: Vec<&str> = out.iter().map(|(l, _)| l.as_str()).collect();
                    return Err(ToolFailure::new(format!(
                        "query {label}: the formula uses {used}, which is not a query; queries: {}",
                        labels.join(", ")
                    )));
                }
            }
        }
    }
    // Formulas may use formulas, but not in a cycle: peel off those whose operands are settled.
    let mut settled: Vec<&str> = out
        .iter()
        .filter(|(_, s)| !matches!(s, Source::Formula { .. }))
        .map(|(l, _)| l.as_str())
        .collect();
    let mut formulas: Vec<(&str, &Expr)> = out
        .iter()
        .filter_map(|(l, s)| match s {
            Source::Formula { expr, .. } => Some((l.as_str(), expr)),
            _ => None,
        })
        .collect();
    while let Some(i) = formulas
        .iter()
        .position(|(_, e)| e.labels().iter().all(|l| settled.contains(l)))
    {
        settled.push(formulas.remove(i).0);
    }
    if !formulas.is_empty() {
        let labels: Vec<&str> = formulas.iter().map(|(l, _)| *l).collect();
        return Err(ToolFailure::new(format!(
            "formulas {} use each other in a cycle; a formula may use data queries and formulas that do not depend on it",
            labels.join(", ")
        )));
    }
    if out.iter().all(|(_, s)| matches!(s, Source::Formula { .. })) {
        return Err(ToolFailure::new(
            "queries has only formulas; add the metrics, logs or traces queries they combine",
        ));
    }
    Ok(out)
}

/// One query's source, its keys checked against its kind.
fn parse_query(spec: &Value, shape: &Shape) -> Result<Source, ToolFailure> {
    let spec = spec.as_object().ok_or_else(|| {
        ToolFailure::new(
            "must be an object such as {\"datasource\": \"metrics\", \"promql\": \"…\"}",
        )
    })?;
    let kind = spec
        .get("datasource")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ToolFailure::new("'datasource' must be one of metrics, logs, traces, formula")
        })?;
    let allowed: &[&str] = match kind {
        "metrics" => &["datasource", "promql", "datasource_id"],
        "logs" | "traces" => &[
            "datasource",
            "filters",
            "aggregation",
            "groupBy",
            "datasource_id",
        ],
        "formula" => &["datasource", "expression"],
        other => {
            return Err(ToolFailure::new(format!(
                "unknown datasource '{other}'; use metrics, logs, traces or formula"
            )));
        }
    };
    if let Some(key) = spec.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ToolFailure::new(format!(
            "unknown key '{key}' for a {kind} query; it takes {}",
            allowed.join(", ")
        )));
    }
    let string = |key: &str| -> Result<Option<String>, ToolFailure> {
        match spec.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ToolFailure::new(format!("'{key}' must be a string"))),
        }
    };
    match kind {
        "metrics" => {
            let promql = string("promql")?
                .ok_or_else(|| ToolFailure::new("a metrics query needs 'promql'"))?;
            let promql = substitute(&promql, shape);
            crate::promql::check(&promql)
                .map_err(|e| ToolFailure::new(format!("invalid PromQL, nothing was sent: {e}")))?;
            Ok(Source::Metrics {
                promql,
                datasource_id: string("datasource_id")?,
            })
        }
        "formula" => {
            let text = string("expression")?.ok_or_else(|| {
                ToolFailure::new("a formula needs 'expression', e.g. \"(A / B) * 100\"")
            })?;
            let expr =
                formula::parse(&text).map_err(|e| ToolFailure::new(format!("expression: {e}")))?;
            Ok(Source::Formula { text, expr })
        }
        _ => {
            let tool = if kind == "logs" {
                &analyze::LOGS
            } else {
                &analyze::TRACES
            };
            let mut call = spec.clone();
            call.remove("datasource");
            call.insert(
                "from_time".into(),
                json!(crate::timespec::format_time(shape.from)),
            );
            call.insert(
                "to_time".into(),
                json!(crate::timespec::format_time(shape.to)),
            );
            call.insert("limit".into(), json!(GROUPS_MAX));
            match &shape.buckets {
                Some(b) => {
                    call.insert("queryType".into(), json!("range"));
                    call.insert("step".into(), json!(format!("{}s", b.step)));
                }
                None => {
                    call.insert("queryType".into(), json!("instant"));
                }
            }
            let args = Args::check(Value::Object(call), &tool.params())?;
            Ok(Source::Records { tool, args })
        }
    }
}

/// PromQL with Grafana's `$__range` (the window) and `$__interval` (the step; the window for an
/// instant query) replaced by durations in seconds.
fn substitute(promql: &str, shape: &Shape) -> String {
    let range = format!("{}s", (shape.to - shape.from).round().max(1.0));
    let interval = match &shape.buckets {
        Some(b) => format!("{}s", b.step),
        None => range.clone(),
    };
    promql
        .replace("${__range}", &range)
        .replace("$__range", &range)
        .replace("${__interval}", &interval)
        .replace("$__interval", &interval)
}

/// Runs one data query: its echo (source, datasource, query) and its frame.
fn fetch(ctx: &Context, source: &Source, shape: &Shape) -> Result<(Value, Frame), ToolFailure> {
    match source {
        Source::Metrics {
            promql,
            datasource_id,
        } => {
            let ds = chosen(ctx.datasources, Family::Metrics, datasource_id.as_deref())?;
            let frame = metrics_frame(&super::metrics_client(ctx, ds)?, promql, shape)?;
            Ok((
                json!({"source": "metrics", "datasource": ds.name, "promql": promql}),
                frame,
            ))
        }
        Source::Records { tool, args } => {
            let out = super::run(ctx, tool, args)?;
            let frame = records_frame(&out, shape);
            let mut echo = json!({
                "source": if tool.name == analyze::LOGS.name { "logs" } else { "traces" },
                "datasource": out["datasource"],
                "aggregation": out["aggregation"],
            });
            if let Some(f) = out.get("filters") {
                echo["filters"] = f.clone();
            }
            Ok((echo, frame))
        }
        Source::Formula { .. } => unreachable!("formulas are evaluated, not fetched"),
    }
}

/// A PromQL query's frame: at `to` for an instant, else at each bucket's end.
fn metrics_frame(
    client: &prometheus::Client,
    promql: &str,
    shape: &Shape,
) -> Result<Frame, ToolFailure> {
    let mut result = match &shape.buckets {
        None => client.query(promql, shape.to)?,
        Some(b) => client.query_range(
            promql,
            b.first + b.step,
            b.first + b.step * b.count as f64,
            b.step,
        )?,
    };
    let parse = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    let result_type = result.data["resultType"].as_str().unwrap_or_default();
    if shape.buckets.is_none() && !matches!(result_type, "vector" | "scalar") {
        return Err(ToolFailure::new(format!(
            "the PromQL gives a {result_type}, and a formula needs one value per series: wrap a range \
selector in a function such as rate(x[5m]) or increase(x[$__range])"
        )));
    }
    if result_type != "scalar" {
        let mut series = Vec::new();
        for raw in std::mem::take(&mut result.series) {
            let Ok(one) = serde_json::from_str::<Series>(raw.get()) else {
                continue;
            };
            let mut values = vec![None; shape.values()];
            if let Some((_, v)) = &one.value {
                values[0] = parse(v);
            }
            if let Some(b) = &shape.buckets {
                for (t, v) in &one.values {
                    let index = ((t - b.first - b.step) / b.step).round();
                    if index >= 0.0 && (index as usize) < values.len() {
                        values[index as usize] = parse(v);
                    }
                }
            }
            series.push((one.metric, values));
        }
        return Ok(Frame::from_series(series));
    }
    // A scalar: one ungrouped value (an instant query's only scalar answer).
    let value = result.data["result"][1].as_str().and_then(parse);
    Ok(Frame {
        labels: Vec::new(),
        groups: vec![(Vec::new(), vec![value; shape.values()])],
        absent_is_zero: false,
        total: 1,
    })
}

/// An `analyze_logs` / `analyze_traces` answer's frame.
fn records_frame(out: &Value, shape: &Shape) -> Frame {
    let names: Vec<String> = out["groupBy"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // Counts have no record where a group is absent: that is a zero, not a gap.
    let aggregation = out["aggregation"].as_str().unwrap_or_default();
    let absent_is_zero = aggregation == "count" || aggregation.starts_with("count_distinct");
    let values = |v: &Value| -> Vec<Option<f64>> {
        match v.get("values").and_then(Value::as_array) {
            Some(a) => a.iter().map(Value::as_f64).collect(),
            None => vec![v.get("value").and_then(Value::as_f64)],
        }
    };
    let mut groups: Vec<(Vec<String>, Vec<Option<f64>>)> = match out["groups"].as_array() {
        Some(list) => list
            .iter()
            .map(|g| {
                let key = names
                    .iter()
                    .map(|n| g["group"][n].as_str().unwrap_or_default().to_string())
                    .collect();
                (key, values(g))
            })
            .collect(),
        None => vec![(Vec::new(), values(out))],
    };
    for (_, v) in &mut groups {
        v.resize(shape.values(), None);
    }
    let total = out["total"].as_u64().map_or(groups.len(), |t| t as usize);
    // The columns are sorted like a metrics frame's, so the two join.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| names[*a].cmp(&names[*b]));
    Frame {
        labels: order.iter().map(|i| names[*i].clone()).collect(),
        groups: groups
            .into_iter()
            .map(|(key, v)| (order.iter().map(|i| key[*i].clone()).collect(), v))
            .collect(),
        absent_is_zero,
        total,
    }
}

/// One result as the answer shows it: the echo, then the groups (largest first, at most `limit`)
/// or the single value, with min/max/avg/latest of each range series.
fn shaped(mut entry: Value, frame: &Frame, shape: &Shape, limit: usize) -> Value {
    let range = shape.buckets.is_some();
    if !frame.labels.is_empty() {
        entry["groupBy"] = json!(frame.labels);
    }
    let number = |v: Option<f64>| v.map_or(Value::Null, |v| json!(round(v)));
    let series = |values: &[Option<f64>], into: &mut Value| {
        if range {
            into["values"] = values.iter().map(|v| number(*v)).collect();
            let present: Vec<f64> = values.iter().flatten().copied().collect();
            let some = !present.is_empty();
            let (lo, hi, sum) = present
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY, 0.0), |(lo, hi, s), v| {
                    (lo.min(*v), hi.max(*v), s + v)
                });
            into["min"] = number(some.then_some(lo));
            into["max"] = number(some.then_some(hi));
            into["avg"] = number(some.then(|| sum / present.len() as f64));
            into["latest"] = number(present.last().copied());
        } else {
            into["value"] = number(values.first().copied().flatten());
        }
    };
    if frame.labels.is_empty() {
        let values = frame
            .groups
            .first()
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| vec![None; shape.values()]);
        series(&values, &mut entry);
        return entry;
    }
    // Largest first: by the value, or a range series' average; nulls last; labels break ties.
    let key = |values: &[Option<f64>]| -> f64 {
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        if present.is_empty() {
            f64::NEG_INFINITY
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    };
    let mut order: Vec<&(Vec<String>, Vec<Option<f64>>)> = frame.groups.iter().collect();
    order.sort_by(|a, b| key(&b.1).total_cmp(&key(&a.1)).then_with(|| a.0.cmp(&b.0)));
    let groups: Vec<Value> = order
        .iter()
        .take(limit)
        .map(|(k, values)| {
            let group: Map<String, Value> = frame
                .labels
                .iter()
                .zip(k)
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect();
            let mut g = json!({"group": group});
            series(values, &mut g);
            g
        })
        .collect();
    let shown = groups.len();
    entry["groups"] = json!(groups);
    super::bounds::count_fields(
        &mut entry,
        shown,
        frame.total.max(frame.groups.len()),
        "raise `limit`, or narrow the query",
    );
    entry
}

#[cfg(test)]
mod tests;
