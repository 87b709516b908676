//! `search_logs` and `search_traces`: raw records matching a filter in a window, newest first, with
//! the total matched and long log bodies cut to a bound.

use serde_json::{Map, Value, json};

use super::{FILTERS_PARAM, FROM_PARAM, TO_PARAM, format_ms, named_field, number, time_window};
use crate::backends::clickhouse::Client;
use crate::backends::clickhouse::schema::{Signal, quote};
use crate::backends::clickhouse::sql::Params;
use crate::tools::args::{Args, Param, ParamKind};
use crate::tools::bounds::count_fields;
use crate::tools::{Context, Handler, ToolDef, ToolFailure, object_schema};

/// Rows a search returns unless the caller asks for more (KubeSense's 10).
const ROWS_DEFAULT: u64 = 10;
/// Most rows a search returns.
const ROWS_MAX: u64 = 500;
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
            "hint": {"type": "string"}
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

fn run(ctx: &Context, args: &Args, client: &Client, signal: Signal) -> Result<Value, ToolFailure> {
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
    if let Some(f) = filters {
        out["filters"] = json!(f);
    }
    count_fields(
        &mut out,
        shown,
        total as usize,
        "raise `limit`, or narrow `filters` or the window",
    );
    if cut_bodies && cut > 0 {
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
    Ok(out)
}
