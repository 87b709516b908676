//! `get_trace_or_log_fields`: the fields a logs or traces filter can use — the known fields of the
//! field map, and the custom attribute keys seen in the window, with how many records carry each.

use serde_json::{Value, json};

use super::{FROM_PARAM, TO_PARAM, number, time_window};
use crate::backends::clickhouse::Client;
use crate::backends::clickhouse::schema::{FieldType, Signal, known_fields};
use crate::backends::clickhouse::sql::Params;
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
            "truncated": {"type": "string"}
        }),
        &["signal", "window", "fields", "attributes", "total", "shown"],
    )
}

fn run(ctx: &Context, args: &Args, client: &Client, signal: Signal) -> Result<Value, ToolFailure> {
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
