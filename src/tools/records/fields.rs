//! `get_trace_or_log_fields`: the fields a logs or traces filter can use — the known fields of the
//! field map, and the custom attribute keys seen in the window, with how many records carry each.

use serde_json::{Value, json};

use super::search::logql_range;
use super::{Backend, FROM_PARAM, TO_PARAM, number, time_window};
use crate::backends::clickhouse::Client;
use crate::backends::clickhouse::schema::{FieldType, Signal, known_fields};
use crate::backends::clickhouse::sql::Params;
use crate::backends::loki::logql::{self, Labels, Target};
use crate::backends::tempo::traceql;
use crate::backends::{loki, tempo};
use crate::filter::Field;
use crate::tools::args::{Args, Param, ParamKind};
use crate::tools::bounds::count_fields;
use crate::tools::{Context, Handler, SIGNAL_PARAM, ToolDef, ToolFailure, object_schema};

/// Attribute keys shown unless the caller asks for more.
const KEYS_DEFAULT: u64 = 100;
/// Most attribute keys shown.
const KEYS_MAX: u64 = 1_000;

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "get_trace_or_log_fields",
    title: "Log and trace fields",
    description: "Lists the fields filters and groupBy accept for logs or traces, and the @attribute \
keys seen.",
    params: &[
        Param {
            name: SIGNAL_PARAM,
            kind: ParamKind::Enum(&["logs", "traces"]),
            required: true,
            description: "",
        },
        FROM_PARAM,
        TO_PARAM,
        Param {
            name: "limit",
            kind: ParamKind::Integer {
                min: 1,
                max: KEYS_MAX,
            },
            required: false,
            description: "Attribute keys; default 100.",
        },
    ],
    output_schema,
    run: Handler::Records { signal: None, run },
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "signal": {"type": "string", "enum": ["logs", "traces"]},
            "window": {"type": "object", "properties": {"from_time": {"type": "string"}, "to_time": {"type": "string"}}},
            "fields": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "type": {"type": "string"}, "source": {"type": "string"}
            }}},
            "attributes": {"type": "array", "items": {"type": "object", "properties": {
                "key": {"type": "string"}, "scope": {"type": "string"}, "count": {"type": "integer"}
            }}},
            "total": {"type": "integer"},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"},
            "note": {"type": "string"}
        }),
        &["signal", "window", "fields", "attributes", "total", "shown"],
    )
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

/// Loki: the known fields as the labels they resolve to on this server, and every label of the
/// streams in the window with how many lines carry it (one `count_over_time` over all streams).
fn run_loki(
    ctx: &Context,
    args: &Args,
    client: &loki::client::Client,
) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    let names = client.labels(from, to)?;
    let labels = Labels::new(names.iter().map(String::as_str));
    let fields: Vec<Value> = logql::known_field_names()
        .into_iter()
        .map(|name| {
            let source = match logql::resolve(&Field::Named(name.into()), &labels) {
                Ok(Target::Line) => "the log line".to_string(),
                Ok(Target::Label {
                    name: label,
                    indexed,
                    ignore_case,
                }) => format!(
                    "label {label}{}{}",
                    if indexed {
                        " (indexed: in the stream selector)"
                    } else {
                        " (not indexed: structured metadata or a parsed field)"
                    },
                    if ignore_case {
                        ", compared ignoring case"
                    } else {
                        ""
                    }
                ),
                Err(e) => e,
            };
            json!({"name": name, "type": "string", "source": source})
        })
        .collect();
    let limit = args.u64_or("limit", KEYS_DEFAULT);
    let mut counts: Vec<(String, u64)> = Vec::new();
    if !names.is_empty() {
        let everything = logql::compile(None, &labels, client.settings().parser)
            .map_err(|e| ToolFailure::new(e.message))?;
        let series = client.instant(
            &format!(
                "count_over_time({} [{}])",
                everything.text(),
                logql_range(to - from)
            ),
            to,
        )?;
        for name in &names {
            let n: f64 = series
                .iter()
                .filter(|s| s.labels.contains_key(name))
                .flat_map(|s| s.samples.iter().map(|(_, v)| *v))
                .sum();
            counts.push((name.clone(), n as u64));
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = counts.len();
    let attributes: Vec<Value> = counts
        .into_iter()
        .take(limit as usize)
        .map(|(key, n)| json!({"key": key, "scope": "stream label", "count": n}))
        .collect();
    let shown = attributes.len();
    let mut out = json!({
        "signal": "logs", "window": window, "fields": fields, "attributes": attributes,
    });
    count_fields(&mut out, shown, total, "raise `limit`");
    Ok(out)
}

/// Tempo: the known fields as TraceQL attributes, and the attribute names its search tags list
/// (Tempo keeps no per-window counts of them).
fn run_tempo(
    ctx: &Context,
    args: &Args,
    client: &tempo::client::Client,
) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    let fields: Vec<Value> = traceql::known_field_names()
        .into_iter()
        .map(|name| {
            let source = traceql::attribute_of(&Field::Named(name.into())).unwrap_or_else(|| {
                match name {
                    "return_code" => "span.http.response.status_code, span.http.status_code or span.rpc.grpc.status_code".into(),
                    _ => "span.rpc.system, else HTTP when the span has an HTTP method".into(),
                }
            });
            let kind = if name == "duration" { "number" } else { "string" };
            json!({"name": name, "type": kind, "source": source})
        })
        .collect();
    let limit = args.u64_or("limit", KEYS_DEFAULT);
    let mut tags = client.tags(from, to)?;
    tags.sort();
    let total = tags.len();
    let attributes: Vec<Value> = tags
        .into_iter()
        .take(limit as usize)
        .map(|key| json!({"key": key, "scope": "span or resource"}))
        .collect();
    let shown = attributes.len();
    let mut out = json!({
        "signal": "traces", "window": window, "fields": fields, "attributes": attributes,
        "note": "Tempo lists attribute names without counts",
    });
    count_fields(&mut out, shown, total, "raise `limit`");
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
    let fields: Vec<Value> = known_fields(table)
        .into_iter()
        .map(|f| {
            let kind = match f.field_type {
                FieldType::Number => "number",
                FieldType::Text => "string",
                FieldType::TextIgnoreCase => "string (case-insensitive)",
            };
            json!({"name": f.name, "type": kind, "source": f.source})
        })
        .collect();

    let mut params = Params::default();
    let (clause, _) = super::where_clause(table, from, to, args, &mut params)?;
    let limit = args.u64_or("limit", KEYS_DEFAULT);
    let selects: Vec<String> = table
        .attribute_maps()
        .iter()
        .map(|map| {
            let scope = map.trim_end_matches("Attributes").to_ascii_lowercase();
            format!(
                "SELECT arrayJoin(mapKeys({map})) AS key, '{scope}' AS scope FROM {} WHERE {clause}",
                table.qualified()
            )
        })
        .collect();
    let sql = format!(
        "SELECT key, scope, count() AS n, count() OVER () AS total_keys FROM ({}) GROUP BY key, scope \
         ORDER BY n DESC, key, scope LIMIT {limit}",
        selects.join(" UNION ALL ")
    );
    let rows = client.query(&sql, &params)?;
    let total = rows
        .rows
        .first()
        .and_then(|r| number(r.get("total_keys").cloned().unwrap_or(Value::Null)).as_u64())
        .unwrap_or(0);
    let attributes: Vec<Value> = rows
        .rows
        .into_iter()
        .map(|r| {
            json!({
                "key": r.get("key").cloned().unwrap_or(Value::Null),
                "scope": r.get("scope").cloned().unwrap_or(Value::Null),
                "count": number(r.get("n").cloned().unwrap_or(Value::Null)),
            })
        })
        .collect();
    let shown = attributes.len();
    let mut out = json!({
        "signal": signal.as_str(), "window": window, "fields": fields, "attributes": attributes,
    });
    count_fields(&mut out, shown, total as usize, "raise `limit`");
    Ok(out)
}
