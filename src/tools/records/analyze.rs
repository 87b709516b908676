//! `analyze_logs` and `analyze_traces`: one aggregation (count, count_distinct, sum, avg, min, max or
//! a percentile) over the records matching a filter, per group, either once for the window
//! (`instant`) or per time bucket (`range`) with min/max/avg/latest per group.

use serde_json::{Map, Value, json};

use super::search::{field_of, logql_range};
use super::{
    Backend, FILTERS_PARAM, FROM_PARAM, TO_PARAM, named_field, number, parsed_filter, sent,
    time_window,
};
use crate::backends::clickhouse::Client;
use crate::backends::clickhouse::schema::{FieldType, Signal, Table, quote};
use crate::backends::clickhouse::sql::Params;
use crate::backends::loki;
use crate::backends::loki::logql::{self, Labels, Target};
use crate::timespec::{format_duration, format_time, parse_duration};
use crate::tools::args::{Args, Param, ParamKind};
use crate::tools::bounds::count_fields;
use crate::tools::{Context, Handler, ToolDef, ToolFailure, object_schema};

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
    Param {
        name: "step",
        kind: ParamKind::String,
        required: false,
        description: "Default: ~60 buckets.",
    },
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
            "query": {"type": "string", "description": "The LogQL sent (Loki datasources)."},
            "notes": {"type": "array", "items": {"type": "string"}}
        }),
        &["window", "queryType", "aggregation"],
    )
}

/// The aggregate's SQL and how it is echoed (`p95(duration)`).
fn aggregate(
    args: &Args,
    table: &Table,
    params: &mut Params,
) -> Result<(String, String, bool), ToolFailure> {
    let (function, field) = function_and_field(args)?;
    let field = field.as_deref();
    if function == "count" {
        return Ok(("count()".into(), "count".into(), true));
    }
    let Some(field) = field else {
        return Err(ToolFailure::new(format!(
            "aggregation: '{function}' needs a field, e.g. {{\"function\": \"{function}\", \"field\": \"duration\"}}"
        )));
    };
    let operand = named_field("aggregation.field", field, table, params)?;
    let echo = format!("{function}({})", operand.name);
    if function == "count_distinct" {
        return Ok((format!("uniqExact({})", operand.sql), echo, true));
    }
    let numeric = match operand.field_type {
        FieldType::Number => operand.sql.clone(),
        _ => format!("toFloat64OrNull({})", operand.sql),
    };
    let sql = match function.as_str() {
        "sum" => format!("sum({numeric})"),
        "avg" => format!("avg({numeric})"),
        "min" => format!("min({numeric})"),
        "max" => format!("max({numeric})"),
        p if p.starts_with('p') => {
            let level: f64 = p[1..].parse().ok().filter(|l| (0.0..=100.0).contains(l)).ok_or_else(|| {
                ToolFailure::new(format!(
                    "aggregation: unknown function '{function}'; use count, count_distinct, sum, avg, min, max or a percentile such as p50, p95, p99.9"
                ))
            })?;
            format!("quantile({})({numeric})", level / 100.0)
        }
        _ => {
            return Err(ToolFailure::new(format!(
                "aggregation: unknown function '{function}'; use count, count_distinct, sum, avg, min, max or a percentile such as p50, p95, p99.9"
            )));
        }
    };
    Ok((sql, echo, false))
}

/// A result value as a JSON number, `null` for none, NaN or infinities (JSON cannot hold them).
fn value(v: Option<&Value>) -> Value {
    match v.cloned().map(number) {
        Some(Value::Number(n)) => Value::Number(n),
        _ => Value::Null,
    }
}

fn run(
    ctx: &Context,
    args: &Args,
    backend: &Backend,
    signal: Signal,
) -> Result<Value, ToolFailure> {
    match backend {
        Backend::ClickHouse(client) => run_clickhouse(ctx, args, client, signal),
        Backend::Loki(client) => run_loki(ctx, args, client),
        Backend::Tempo(client) => Err(ToolFailure::new(format!(
            "analyze_traces does not run on Tempo datasources yet ('{}'); use search_traces with `filters` and count the matches, or a ClickHouse traces datasource",
            client.name()
        ))),
    }
}

/// The aggregation's function (lower case) and field.
fn function_and_field(args: &Args) -> Result<(String, Option<String>), ToolFailure> {
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
    let function = object
        .get("function")
        .and_then(Value::as_str)
        .map(|f| f.trim().to_ascii_lowercase())
        .ok_or_else(|| {
            ToolFailure::new(
                "aggregation: 'function' must be a string such as \"count\" or \"p95\"",
            )
        })?;
    let field = object
        .get("field")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string);
    Ok((function, field))
}

/// How groups that a server returns as several series are combined.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Merge {
    Add,
    Min,
    Max,
    /// Not combinable (averages, quantiles): one series per group is expected.
    None,
}

/// A LogQL metric query for an aggregation over `query`'s lines per `groups` (label names) over
/// `range`, with its echo and how to merge series of one group.
fn loki_metric(
    query: &logql::LogQuery,
    function: &str,
    field: Option<&str>,
    groups: &[String],
    range: &str,
) -> Result<(String, String, Merge), String> {
    // `sum by () (…)` is valid LogQL, but qryn refuses an empty grouping: the plain forms are the same.
    let by = format!("by ({})", groups.join(", "));
    let outer = |f: &str| {
        if groups.is_empty() {
            f.to_string()
        } else {
            format!("{f} {by} ")
        }
    };
    let text = query.text();
    if function == "count" {
        return Ok((
            format!("{}(count_over_time({text} [{range}]))", outer("sum")),
            "count".into(),
            Merge::Add,
        ));
    }
    let Some(label) = field else {
        return Err(format!(
            "aggregation: '{function}' needs a field, e.g. {{\"function\": \"{function}\", \"field\": \"@duration_ms\"}}"
        ));
    };
    let echo = format!("{function}({})", label);
    if function == "count_distinct" {
        let inner: Vec<String> = groups.iter().cloned().chain([label.to_string()]).collect();
        return Ok((
            format!(
                "{}(count by ({}) (count_over_time({text} [{range}])))",
                outer("count"),
                inner.join(", ")
            ),
            echo,
            Merge::Add,
        ));
    }
    let unwrapped = format!("{text}{} | unwrap {label}", query.parser_stage());
    let (q, merge) = match function {
        "sum" => (
            format!("{}(sum_over_time({unwrapped} [{range}]))", outer("sum")),
            Merge::Add,
        ),
        // Without groups the extreme over all streams is the extreme of each stream's.
        "min" if groups.is_empty() => (
            format!("min(min_over_time({unwrapped} [{range}]))"),
            Merge::Min,
        ),
        "max" if groups.is_empty() => (
            format!("max(max_over_time({unwrapped} [{range}]))"),
            Merge::Max,
        ),
        "avg" => (
            format!("avg_over_time({unwrapped} [{range}]) {by}"),
            Merge::None,
        ),
        "min" => (
            format!("min_over_time({unwrapped} [{range}]) {by}"),
            Merge::Min,
        ),
        "max" => (
            format!("max_over_time({unwrapped} [{range}]) {by}"),
            Merge::Max,
        ),
        p if p.starts_with('p') => {
            let level: f64 = p[1..]
                .parse()
                .ok()
                .filter(|l| (0.0..=100.0).contains(l))
                .ok_or_else(|| unknown_function(function))?;
            (
                format!(
                    "quantile_over_time({}, {unwrapped} [{range}]) {by}",
                    level / 100.0
                ),
                Merge::None,
            )
        }
        _ => return Err(unknown_function(function)),
    };
    Ok((q, echo, merge))
}

fn unknown_function(function: &str) -> String {
    format!(
        "aggregation: unknown function '{function}'; use count, count_distinct, sum, avg, min, max or a percentile such as p50, p95, p99.9"
    )
}

/// A field of `groupBy` or `aggregation.field` as a Loki label; the line cannot be one.
fn loki_label(argument: &str, text: &str, labels: &Labels) -> Result<String, ToolFailure> {
    match logql::resolve(&field_of(text), labels) {
        Ok(Target::Label { name, .. }) => Ok(name),
        Ok(Target::Line) => Err(ToolFailure::new(format!(
            "{argument}: '{text}' is the log line, which LogQL cannot group or aggregate by; use a label or @key"
        ))),
        Err(e) => Err(ToolFailure::new(format!("{argument}: {e}"))),
    }
}

/// analyze_logs on Loki: a LogQL metric query over the whole window (`instant`).
fn run_loki(
    ctx: &Context,
    args: &Args,
    client: &loki::client::Client,
) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    if args.str("queryType") == Some("range") {
        return Err(ToolFailure::new(
            "queryType range is not available on Loki datasources yet; use queryType instant over shorter windows",
        ));
    }
    let filter = parsed_filter(args)?;
    let labels = Labels::new(client.labels(from, to)?.iter().map(String::as_str));
    let query = logql::compile(filter.as_ref(), &labels, client.settings().parser)
        .map_err(|e| ToolFailure::new(format!("filters: {e}")))?;
    let (function, field) = function_and_field(args)?;
    let field = field
        .map(|f| loki_label("aggregation.field", &f, &labels))
        .transpose()?;
    let mut groups = Vec::new();
    for name in args.strings("groupBy") {
        groups.push(loki_label("groupBy", &name, &labels)?);
    }
    let (metric, echo, merge) = loki_metric(
        &query,
        &function,
        field.as_deref(),
        &groups,
        &logql_range(to - from),
    )
    .map_err(ToolFailure::new)?;
    let series = client.instant(&metric, to).map_err(sent(&metric))?;
    // One value per group; a server that leaves one group in several series (qryn) is merged here.
    let mut merged: Vec<(Vec<String>, f64)> = Vec::new();
    let mut unmerged = 0;
    for s in &series {
        let key: Vec<String> = groups
            .iter()
            .map(|g| {
                s.labels
                    .get(g)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let Some((_, v)) = s.samples.last() else {
            continue;
        };
        match merged.iter_mut().find(|(k, _)| *k == key) {
            None => merged.push((key, *v)),
            Some((_, acc)) => match merge {
                Merge::Add => *acc += v,
                Merge::Min => *acc = acc.min(*v),
                Merge::Max => *acc = acc.max(*v),
                Merge::None => unmerged += 1,
            },
        }
    }
    merged.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = json!({
        "window": window,
        "queryType": "instant",
        "aggregation": echo,
        "query": metric,
    });
    let mut notes = query.notes.clone();
    if unmerged > 0 {
        notes.push(format!(
            "the server returned {unmerged} extra series for groups already seen; the first of each is shown"
        ));
    }
    if !notes.is_empty() {
        out["notes"] = json!(notes);
    }
    if let Some(f) = filter {
        out["filters"] = json!(f.to_string());
    }
    let number = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    if groups.is_empty() {
        let value = merged.first().map(|(_, v)| *v);
        out["value"] = match (value, function.as_str()) {
            (None, "count" | "count_distinct" | "sum") => json!(0),
            (None, _) => Value::Null,
            (Some(v), _) => number(v),
        };
        return Ok(out);
    }
    let names: Vec<String> = args.strings("groupBy");
    let total = merged.len();
    let limit = args.u64_or("limit", GROUPS_DEFAULT) as usize;
    out["groupBy"] = json!(names);
    out["groups"] = merged
        .iter()
        .take(limit)
        .map(|(key, v)| {
            let group: Map<String, Value> = names
                .iter()
                .zip(key)
                .map(|(n, k)| (n.clone(), json!(k)))
                .collect();
            json!({"group": group, "value": number(*v)})
        })
        .collect();
    count_fields(
        &mut out,
        total.min(limit),
        total,
        "raise `limit` (groups), or narrow `filters`",
    );
    Ok(out)
}

fn run_clickhouse(
    ctx: &Context,
    args: &Args,
    client: &Client,
    signal: Signal,
) -> Result<Value, ToolFailure> {
    let table = client.table(signal);
    let (from, to, window) = time_window(ctx, args)?;
    let mut params = Params::default();
    let (clause, filters) = super::where_clause(table, from, to, args, &mut params)?;
    let (agg, agg_echo, counts) = aggregate(args, table, &mut params)?;
    let group_by = args.strings("groupBy");
    let mut group_sql = Vec::with_capacity(group_by.len());
    let mut group_names = Vec::with_capacity(group_by.len());
    for name in &group_by {
        let operand = named_field("groupBy", name, table, &mut params)?;
        group_sql.push(format!("toString({})", operand.sql));
        group_names.push(operand.name);
    }
    let range = args.str("queryType") == Some("range");
    let limit = args.u64_or("limit", GROUPS_DEFAULT);
    let from_table = table.qualified();

    let mut out = json!({
        "window": window,
        "queryType": if range { "range" } else { "instant" },
        "aggregation": agg_echo,
    });
    if let Some(f) = filters {
        out["filters"] = json!(f);
    }
    if !group_names.is_empty() {
        out["groupBy"] = json!(group_names);
    }

    // The groups, largest first, with how many there are.
    let groups: Vec<(Vec<String>, Value)> = if group_sql.is_empty() {
        let rows = client.query(
            &format!("SELECT {agg} AS value FROM {from_table} WHERE {clause}"),
            &params,
        )?;
        vec![(
            Vec::new(),
            value(rows.rows.first().and_then(|r| r.get("value"))),
        )]
    } else {
        let keys: Vec<String> = (0..group_sql.len()).map(|i| format!("g{i}")).collect();
        let select: Vec<String> = group_sql
            .iter()
            .zip(&keys)
            .map(|(sql, k)| format!("{sql} AS {k}"))
            .collect();
        let rows = client.query(
            &format!(
                "SELECT {}, {agg} AS value, count() OVER () AS total_groups FROM {from_table} WHERE {clause} \
                 GROUP BY {} ORDER BY value DESC, {} LIMIT {limit}",
                select.join(", "),
                keys.join(", "),
                keys.join(", ")
            ),
            &params,
        )?;
        let total = rows
            .rows
            .first()
            .and_then(|r| number(r.get("total_groups").cloned().unwrap_or(Value::Null)).as_u64())
            .unwrap_or(0);
        let groups: Vec<(Vec<String>, Value)> = rows
            .rows
            .iter()
            .map(|r| {
                let key = keys
                    .iter()
                    .map(|k| {
                        r.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect();
                (key, value(r.get("value")))
            })
            .collect();
        let shown = groups.len();
        count_fields(
            &mut out,
            shown,
            total as usize,
            "raise `limit` (groups), or narrow `filters`",
        );
        groups
    };
    let label = |key: &[String]| -> Value {
        Value::Object(
            group_names
                .iter()
                .zip(key)
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect::<Map<String, Value>>(),
        )
    };

    if !range {
        if group_sql.is_empty() {
            out["value"] = groups
                .into_iter()
                .next()
                .map(|g| g.1)
                .unwrap_or(Value::Null);
        } else {
            out["groups"] = groups
                .iter()
                .map(|(key, v)| json!({"group": label(key), "value": v}))
                .collect();
        }
        if counts && out.get("total") == Some(&json!(0)) {
            out["hint"] = json!("no records matched: widen the window or loosen `filters`");
        }
        return Ok(out);
    }

    // Range: one series per shown group, on buckets of one step aligned to multiples of it.
    let Buckets {
        step,
        first,
        count: buckets,
    } = Buckets::of(args.str("step"), from, to)?;
    let step_param = params.add("UInt32", format!("{}", step as u64));
    let bucket = format!(
        "toUnixTimestamp(toStartOfInterval({}, toIntervalSecond({step_param})))",
        quote(&table.time_column)
    );
    let mut range_clause = clause;
    if !group_sql.is_empty() {
        if groups.is_empty() {
            out["groups"] = json!([]);
            out["start"] = json!(format_time(first));
            out["step"] = json!(format_duration(step));
            return Ok(out);
        }
        let tuples: Vec<String> = groups
            .iter()
            .map(|(key, _)| {
                let items: Vec<String> = key
                    .iter()
                    .map(|v| params.add("String", v.as_str()))
                    .collect();
                format!("({})", items.join(", "))
            })
            .collect();
        range_clause = format!(
            "{range_clause} AND ({}) IN ({})",
            group_sql.join(", "),
            tuples.join(", ")
        );
    }
    let group_select: String = group_sql
        .iter()
        .enumerate()
        .map(|(i, sql)| format!("{sql} AS g{i}, "))
        .collect();
    let group_keys: String = (0..group_sql.len()).map(|i| format!("g{i}, ")).collect();
    let rows = client.query(
        &format!(
            "SELECT {group_select}{bucket} AS b, {agg} AS value FROM {from_table} WHERE {range_clause} \
             GROUP BY {group_keys}b ORDER BY {group_keys}b"
        ),
        &params,
    )?;
    let empty = if counts { json!(0) } else { Value::Null };
    let mut series: Vec<Vec<Value>> = vec![vec![empty; buckets]; groups.len()];
    for row in &rows.rows {
        let key: Vec<String> = (0..group_sql.len())
            .map(|i| {
                row.get(&format!("g{i}"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let Some(g) = groups.iter().position(|(k, _)| *k == key) else {
            continue;
        };
        let Some(b) = number(row.get("b").cloned().unwrap_or(Value::Null)).as_f64() else {
            continue;
        };
        let index = ((b - first) / step).round();
        if index >= 0.0 && (index as usize) < buckets {
            series[g][index as usize] = value(row.get("value"));
        }
    }
    let shaped: Vec<Value> = groups
        .iter()
        .zip(series)
        .map(|((key, _), values)| {
            let mut entry = json!({});
            stats(&mut entry, &values);
            entry["values"] = json!(values);
            if !group_names.is_empty() {
                entry["group"] = label(key);
            }
            entry
        })
        .collect();
    out["start"] = json!(format_time(first));
    out["step"] = json!(format_duration(step));
    out["groups"] = json!(shaped);
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasources::LineParser;

    /// Every aggregation as the LogQL metric query it becomes, with and without a line parser.
    #[test]
    fn aggregations_become_logql_metric_queries() {
        let labels = Labels::new(["service_name", "level"]);
        let filter = crate::filter::parse("service = cart").unwrap();
        let plain = logql::compile(filter.as_ref(), &labels, LineParser::None).unwrap();
        let json = logql::compile(filter.as_ref(), &labels, LineParser::Json).unwrap();
        let g = ["level".to_string()];
        /// (query, function, field, groupBy labels, LogQL, echo)
        type Case<'a> = (
            &'a logql::LogQuery,
            &'a str,
            Option<&'a str>,
            &'a [String],
            &'a str,
            &'a str,
        );
        let cases: &[Case] = &[
            (
                &plain,
                "count",
                None,
                &g,
                r#"sum by (level) (count_over_time({service_name="cart"} [60s]))"#,
                "count",
            ),
            (
                &plain,
                "count",
                None,
                &[],
                r#"sum(count_over_time({service_name="cart"} [60s]))"#,
                "count",
            ),
            (
                &plain,
                "count_distinct",
                Some("pod"),
                &g,
                r#"count by (level) (count by (level, pod) (count_over_time({service_name="cart"} [60s])))"#,
                "count_distinct(pod)",
            ),
            (
                &plain,
                "sum",
                Some("bytes"),
                &g,
                r#"sum by (level) (sum_over_time({service_name="cart"} | unwrap bytes [60s]))"#,
                "sum(bytes)",
            ),
            (
                &json,
                "avg",
                Some("latency_ms"),
                &g,
                r#"avg_over_time({service_name="cart"} | json | unwrap latency_ms [60s]) by (level)"#,
                "avg(latency_ms)",
            ),
            (
                &plain,
                "min",
                Some("x"),
                &[],
                r#"min(min_over_time({service_name="cart"} | unwrap x [60s]))"#,
                "min(x)",
            ),
            (
                &plain,
                "max",
                Some("x"),
                &g,
                r#"max_over_time({service_name="cart"} | unwrap x [60s]) by (level)"#,
                "max(x)",
            ),
            (
                &plain,
                "p95",
                Some("x"),
                &g,
                r#"quantile_over_time(0.95, {service_name="cart"} | unwrap x [60s]) by (level)"#,
                "p95(x)",
            ),
            (
                &plain,
                "p99.9",
                Some("x"),
                &[],
                r#"quantile_over_time(0.9990000000000001, {service_name="cart"} | unwrap x [60s]) by ()"#,
                "p99.9(x)",
            ),
        ];
        for (query, function, field, groups, want, echo) in cases {
            let (got, got_echo, _) = loki_metric(query, function, *field, groups, "60s").unwrap();
            assert_eq!(
                (got.as_str(), got_echo.as_str()),
                (*want, *echo),
                "{function}"
            );
        }
        assert!(
            loki_metric(&plain, "sum", None, &g, "60s")
                .unwrap_err()
                .contains("needs a field")
        );
        assert!(
            loki_metric(&plain, "median", Some("x"), &g, "60s")
                .unwrap_err()
                .contains("unknown function")
        );
    }
}
