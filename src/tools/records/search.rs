//! `search_logs` and `search_traces`: raw records matching a filter in a window, newest first, with
//! the total matched and long log bodies cut to a bound.

use serde_json::{Map, Value, json};

use super::{
    Backend, FILTERS_PARAM, FROM_PARAM, TO_PARAM, format_ms, format_unix_ms, named_field, number,
    parsed_filter, sent, time_window,
};
use crate::backends::clickhouse::Client;
use crate::backends::clickhouse::schema::{Signal, quote};
use crate::backends::clickhouse::sql::Params;
use crate::backends::loki::logql::{self, Labels, Target};
use crate::backends::tempo::{client::Span, traceql};
use crate::backends::{loki, tempo};
use crate::filter::Field;
use crate::tools::args::{Args, Param, ParamKind};
use crate::tools::bounds::count_fields;
use crate::tools::{Context, Handler, ToolDef, ToolFailure, object_schema};

/// Rows a search returns unless the caller asks for more (KubeSense's 10).
const ROWS_DEFAULT: u64 = 10;
/// Most rows a search returns.
const ROWS_MAX: u64 = 500;
/// Traces a Tempo search asks for: the newest matching spans are picked among theirs.
const TRACES_SEARCHED: u64 = 500;
/// Characters of a log body shown; the rest is cut with a note.
pub(crate) const BODY_MAX_CHARS: u64 = 2_000;

const FIELDS_PARAM: Param = Param {
    name: "fields",
    kind: ParamKind::Strings { max: 50 },
    required: false,
    description: "e.g. [\"pod_name\", \"@http.route\"]",
};

const LIMIT_PARAM: Param = Param {
    name: "limit",
    kind: ParamKind::Integer {
        min: 1,
        max: ROWS_MAX,
    },
    required: false,
    description: "Default 10.",
};

const PARAMS: &[Param] = &[
    FROM_PARAM,
    TO_PARAM,
    FILTERS_PARAM,
    FIELDS_PARAM,
    LIMIT_PARAM,
];

pub(in crate::tools) const LOGS: ToolDef = ToolDef {
    name: "search_logs",
    title: "Search logs",
    description: "Returns log records matching filters, newest first: time, service, level, pod, \
message.",
    params: PARAMS,
    output_schema,
    run: Handler::Records {
        signal: Some(Signal::Logs),
        run,
    },
};

pub(in crate::tools) const TRACES: ToolDef = ToolDef {
    name: "search_traces",
    title: "Search spans",
    description: "Returns spans matching filters, newest first: ids, service, operation, duration \
(ms), status.",
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
            "filters": {"type": "string"},
            "records": {"type": "array", "items": {"type": "object"}},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "note": {"type": "string"},
            "hint": {"type": "string"},
            "query": {"type": "string", "description": "The LogQL or TraceQL sent (Loki and Tempo datasources)."},
            "notes": {"type": "array", "items": {"type": "string"}}
        }),
        &["window", "records", "total", "shown"],
    )
}

/// The fields shown when the caller names none.
fn default_fields(signal: Signal) -> &'static [&'static str] {
    match signal {
        Signal::Logs => &["service", "level", "namespace", "pod_name", "message"],
        Signal::Traces => &[
            "trace_id",
            "service",
            "operation_name",
            "duration",
            "status",
            "role",
            "return_code",
            "namespace",
            "pod_name",
        ],
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
        Backend::Tempo(client) => run_tempo(ctx, args, client),
    }
}

/// The fields to show: the caller's, or the signal's defaults.
fn field_names(args: &Args, signal: Signal) -> Vec<String> {
    let asked = args.strings(FIELDS_PARAM.name);
    if asked.is_empty() {
        default_fields(signal)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        asked
    }
}

/// A field of `fields` / `groupBy` as the filter language reads it (`@key` or a name).
pub(super) fn field_of(text: &str) -> Field {
    let text = text.trim();
    match text.strip_prefix('@') {
        Some(key) if !key.is_empty() => Field::Attribute(key.to_string()),
        _ => Field::Named(text.to_string()),
    }
}

/// `out`'s common tail: the filter echo, counts, the cut-body note and the empty-result hint.
fn finish(
    out: &mut Value,
    filters: Option<String>,
    shown: usize,
    total: usize,
    cut: usize,
    signal: Signal,
) {
    if let Some(f) = filters {
        out["filters"] = json!(f);
    }
    count_fields(
        out,
        shown,
        total,
        "raise `limit`, or narrow `filters` or the window",
    );
    if cut > 0 {
        out["note"] = json!(format!(
            "{cut} message(s) longer than {BODY_MAX_CHARS} characters were cut; `message_length` gives the full length"
        ));
    }
    if total == 0 {
        out["hint"] = json!(format!(
            "no {} matched: widen the window, loosen `filters`, or check values with analyze_{signal} grouped by the field",
            super::records(signal)
        ));
    }
}

/// A log line as `message`: cut to [`BODY_MAX_CHARS`] characters, with its full length when cut.
fn put_body(record: &mut Map<String, Value>, label: &str, line: &str) -> bool {
    let length = line.chars().count() as u64;
    if length > BODY_MAX_CHARS {
        let cut: String = line.chars().take(BODY_MAX_CHARS as usize).collect();
        record.insert(label.to_string(), json!(cut));
        record.insert(format!("{label}_length"), json!(length));
        true
    } else {
        record.insert(label.to_string(), json!(line));
        false
    }
}

/// Seconds of a window as a LogQL range (`3600s`), at least one second.
pub(super) fn logql_range(seconds: f64) -> String {
    format!("{}s", seconds.ceil().max(1.0) as u64)
}

/// The search on Loki: the filter compiled against the labels the server indexes in the window, the
/// newest lines, and the total from `count_over_time` over the same window.
fn run_loki(
    ctx: &Context,
    args: &Args,
    client: &loki::client::Client,
) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    let filter = parsed_filter(args)?;
    let labels = Labels::new(client.labels(from, to)?.iter().map(String::as_str));
    let query = logql::compile(filter.as_ref(), &labels, client.settings().parser)
        .map_err(|e| ToolFailure::new(format!("filters: {e}")))?;
    let text = query.text();
    let limit = args.u64_or(LIMIT_PARAM.name, ROWS_DEFAULT);
    let names = field_names(args, Signal::Logs);
    let mut targets = Vec::with_capacity(names.len());
    for name in &names {
        let field = field_of(name);
        let label = match &field {
            Field::Attribute(key) => format!("@{key}"),
            Field::Named(n) => n.clone(),
        };
        // `format` and `body_length` cannot be filters on Loki, but are read off the line here.
        let target = match field.name() {
            "format" | "body_length" if matches!(field, Field::Named(_)) => None,
            _ => Some(
                logql::resolve(&field, &labels)
                    .map_err(|e| ToolFailure::new(format!("fields: {e}")))?,
            ),
        };
        targets.push((label, target));
    }
    let entries = client.lines(&text, from, to, limit).map_err(sent(&text))?;
    // Loki cannot count lines without reading them; its metric query counts them server-side.
    let count = format!("sum(count_over_time({text} [{}]))", logql_range(to - from));
    let counted = client.instant(&count, to).map_err(sent(&count))?;
    // Summed here too: a server that leaves series apart (qryn) gives the same total.
    let total: f64 = counted
        .iter()
        .flat_map(|s| s.samples.iter().map(|(_, v)| *v))
        .sum();
    let mut cut = 0;
    let records: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut record = Map::new();
            record.insert(
                "time".into(),
                format_unix_ms(e.time_ns.div_euclid(1_000_000)),
            );
            for (label, target) in &targets {
                let value = match target {
                    Some(Target::Line) => {
                        cut += usize::from(put_body(&mut record, label, &e.line));
                        continue;
                    }
                    Some(Target::Label { name, .. }) => {
                        e.labels.get(name).cloned().unwrap_or(Value::Null)
                    }
                    None if label == "format" => {
                        let json = serde_json::from_str::<Value>(&e.line).is_ok();
                        json!(if json { "json" } else { "plain" })
                    }
                    None => json!(e.line.len()),
                };
                record.insert(label.clone(), value);
            }
            Value::Object(record)
        })
        .collect();
    let shown = records.len();
    let mut out = json!({"window": window, "records": records, "query": text});
    if !query.notes.is_empty() {
        out["notes"] = json!(query.notes);
    }
    let total = (total.max(0.0) as usize).max(shown);
    finish(
        &mut out,
        filter.map(|f| f.to_string()),
        shown,
        total,
        cut,
        Signal::Logs,
    );
    Ok(out)
}

/// A known trace field or `@key` read off a span (Tempo): the same names as on ClickHouse.
pub(super) fn span_field(span: &Span, field: &Field) -> Value {
    let attr = |k: &str| span.attributes.get(k).cloned().unwrap_or(Value::Null);
    let first = |keys: &[&str]| {
        keys.iter()
            .map(|k| attr(k))
            .find(|v| !v.is_null() && v != "")
            .unwrap_or(Value::Null)
    };
    match field {
        Field::Attribute(key) => attr(key),
        Field::Named(name) => match name.as_str() {
            "trace_id" => json!(span.trace_id),
            "service" => json!(span.service),
            "operation_name" => json!(span.name),
            "duration" => json!(span.duration_ns as f64 / 1e6),
            "status" => json!(span.status),
            "role" => json!(span.kind),
            "return_code" => {
                let v = first(&[
                    "http.response.status_code",
                    "http.status_code",
                    "rpc.grpc.status_code",
                ]);
                match v {
                    Value::Number(n) => json!(n.to_string()),
                    other => other,
                }
            }
            "protocol_type" => match attr("rpc.system") {
                Value::String(s) if !s.is_empty() => json!(s.to_ascii_uppercase()),
                _ if !first(&["http.request.method", "http.method"]).is_null() => json!("HTTP"),
                _ => json!(""),
            },
            "workload" => first(&[
                "k8s.deployment.name",
                "k8s.statefulset.name",
                "k8s.daemonset.name",
                "k8s.job.name",
                "k8s.cronjob.name",
            ]),
            "namespace" => attr("k8s.namespace.name"),
            "cluster" => attr("k8s.cluster.name"),
            "pod_name" => attr("k8s.pod.name"),
            "container_name" => attr("k8s.container.name"),
            "node_name" => attr("k8s.node.name"),
            _ => Value::Null,
        },
    }
}

/// Checks `fields` for Tempo: known trace fields or `@key`.
fn check_trace_fields(names: &[String]) -> Result<Vec<(String, Field)>, ToolFailure> {
    let known = traceql::known_field_names();
    names
        .iter()
        .map(|name| {
            let field = field_of(name);
            match &field {
                Field::Named(n) if n != "trace_id" && !known.contains(&n.as_str()) => {
                    Err(ToolFailure::new(format!(
                        "fields: unknown field '{n}'; known trace fields on Tempo: trace_id, {}, or @key",
                        known.join(", ")
                    )))
                }
                Field::Named(n) => Ok((n.clone(), field)),
                Field::Attribute(k) => Ok((format!("@{k}"), field)),
            }
        })
        .collect()
}

/// The search on Tempo: TraceQL search for the matching spans, then each of their traces read once
/// for the fields Tempo's search answer does not carry.
fn run_tempo(
    ctx: &Context,
    args: &Args,
    client: &tempo::client::Client,
) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    let filter = parsed_filter(args)?;
    let query =
        traceql::compile(filter.as_ref()).map_err(|e| ToolFailure::new(format!("filters: {e}")))?;
    let limit = args.u64_or(LIMIT_PARAM.name, ROWS_DEFAULT);
    let fields = check_trace_fields(&field_names(args, Signal::Traces))?;
    // Many traces, each listing up to `limit` spans with their start: the newest `limit` of them
    // are chosen from the search answer, and only their traces are read.
    let hits = client
        .search(&query, from, to, TRACES_SEARCHED, limit)
        .map_err(sent(&query))?;
    let mut chosen: Vec<(&str, &str, i64)> = hits
        .iter()
        .flat_map(|h| {
            h.spans
                .iter()
                .map(|(id, start)| (h.trace_id.as_str(), id.as_str(), *start))
        })
        .collect();
    chosen.sort_by_key(|(_, _, start)| std::cmp::Reverse(*start));
    chosen.truncate(limit as usize);
    let mut spans: Vec<Span> = Vec::new();
    let mut read: Vec<&str> = Vec::new();
    for (trace_id, _, _) in &chosen {
        if read.contains(trace_id) {
            continue;
        }
        read.push(trace_id);
        let trace = client.trace(trace_id, from, to)?;
        spans.extend(trace.into_iter().filter(|s| {
            chosen
                .iter()
                .any(|(t, id, _)| t == trace_id && *id == s.span_id)
        }));
    }
    spans.sort_by_key(|s| std::cmp::Reverse(s.start_ns));
    let total: u64 = hits.iter().map(|h| h.matched).sum();
    let records: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut record = Map::new();
            record.insert(
                "time".into(),
                format_unix_ms(s.start_ns.div_euclid(1_000_000)),
            );
            record.insert("span_id".into(), json!(s.span_id));
            for (label, field) in &fields {
                record.insert(label.clone(), span_field(s, field));
            }
            Value::Object(record)
        })
        .collect();
    let shown = records.len();
    let mut out = json!({"window": window, "records": records, "query": query});
    if hits.len() as u64 >= TRACES_SEARCHED {
        out["notes"] = json!([format!(
            "Tempo returned its limit of {TRACES_SEARCHED} traces; `total` counts the matching spans in those traces, and more traces may match"
        )]);
    }
    finish(
        &mut out,
        filter.map(|f| f.to_string()),
        shown,
        (total as usize).max(shown),
        0,
        Signal::Traces,
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
    let limit = args.u64_or(LIMIT_PARAM.name, ROWS_DEFAULT);

    let asked = args.strings(FIELDS_PARAM.name);
    let names: Vec<String> = if asked.is_empty() {
        default_fields(signal)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        asked
    };
    // Columns are c0, c1, … so a field name never needs quoting as an alias.
    let mut columns = vec![format!("{} AS t", super::time_ms(table))];
    let mut labels = Vec::with_capacity(names.len());
    let mut cut_bodies = false;
    for (i, name) in names.iter().enumerate() {
        let operand = named_field(FIELDS_PARAM.name, name, table, &mut params)?;
        let is_body = signal == Signal::Logs && matches!(operand.name.as_str(), "message" | "body");
        if is_body {
            cut_bodies = true;
            columns.push(format!(
                "substringUTF8({sql}, 1, {BODY_MAX_CHARS}) AS c{i}, lengthUTF8({sql}) AS n{i}",
                sql = operand.sql
            ));
        } else {
            columns.push(format!("{} AS c{i}", operand.sql));
        }
        labels.push((operand.name, is_body));
    }
    let from_table = table.qualified();
    let rows_sql = format!(
        "SELECT {} FROM {from_table} WHERE {clause} ORDER BY {} DESC LIMIT {limit}",
        columns.join(", "),
        quote(&table.time_column)
    );
    let count_sql = format!("SELECT count() AS total FROM {from_table} WHERE {clause}");
    let total = client.query(&count_sql, &params)?;
    let total = total
        .rows
        .first()
        .and_then(|r| r.get("total"))
        .map(|v| number(v.clone()))
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let rows = client.query(&rows_sql, &params)?;

    let mut cut = 0usize;
    let records: Vec<Value> = rows
        .rows
        .into_iter()
        .map(|mut row| {
            let mut record = Map::new();
            record.insert(
                "time".into(),
                format_ms(row.get("t").unwrap_or(&Value::Null)),
            );
            for (i, (label, is_body)) in labels.iter().enumerate() {
                let value = row.remove(&format!("c{i}")).unwrap_or(Value::Null);
                let value = if label == "duration" || label == "body_length" {
                    number(value)
                } else {
                    value
                };
                if *is_body
                    && let Some(length) = row
                        .remove(&format!("n{i}"))
                        .map(number)
                        .and_then(|v| v.as_u64())
                    && length > BODY_MAX_CHARS
                {
                    cut += 1;
                    record.insert(format!("{label}_length"), json!(length));
                }
                record.insert(label.clone(), value);
            }
            Value::Object(record)
        })
        .collect();

    let shown = records.len();
    let mut out = json!({"window": window, "records": records});
    let cut = if cut_bodies { cut } else { 0 };
    finish(&mut out, filters, shown, total as usize, cut, signal);
    Ok(out)
}
