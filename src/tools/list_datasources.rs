//! `list_datasources`: the configured datasources, without any secret.

use serde_json::{Value, json};

use crate::datasources::Family;

use super::{Context, Handler, ToolDef, ToolFailure, args::Args, object_schema};

pub(super) const TOOL: ToolDef = ToolDef {
    name: "list_datasources",
    title: "List datasources",
    description: "Lists the datasources (id, type, families, URL) and each family's default. Call it \
first; pass an id as datasource_id to the other tools.",
    params: &[],
    output_schema,
    run: Handler::Config(run),
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "datasources": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"},
                "uid": {"type": "string"},
                "type": {"type": "string", "enum": ["prometheus", "victoriametrics", "clickhouse"]},
                "families": {"type": "array", "items": {"type": "string", "enum": ["metrics", "logs", "traces"]}},
                "flavour": {"type": "string", "enum": ["thanos", "mimir", "cortex"]},
                "url": {"type": "string"},
                "is_default": {"type": "boolean"},
                "http_method": {"type": "string", "enum": ["GET", "POST"]},
                "scrape_interval": {"type": "string"},
                "timeout_seconds": {"type": "number"},
                "logs_table": {"type": "string"},
                "traces_table": {"type": "string"},
                "auth": {"type": "array", "items": {"type": "string"}},
                "tls": {"type": "object", "properties": {
                    "ca_cert": {"type": "boolean"}, "skip_verify": {"type": "boolean"}
                }}
            }, "required": ["id", "type", "families", "url", "is_default"]}},
            "default": {"type": ["string", "null"], "description": "The default metrics datasource."},
            "defaults": {"type": "object", "description": "The default datasource of each family that has one.",
                "properties": {"metrics": {"type": "string"}, "logs": {"type": "string"}, "traces": {"type": "string"}}},
            "total": {"type": "integer"}
        }),
        &["datasources", "total"],
    )
}

fn run(ctx: &Context, _args: &Args) -> Result<Value, ToolFailure> {
    let set = ctx.datasources;
    let all = set.all();
    let defaults: serde_json::Map<String, Value> = Family::ALL
        .iter()
        .filter_map(|f| Some((f.as_str().to_string(), json!(set.default_for(*f)?.name))))
        .collect();
    Ok(json!({
        "datasources": all.iter().map(|d| d.summary_json()).collect::<Vec<_>>(),
        "default": set.default_for(Family::Metrics).map(|d| d.name.clone()),
        "defaults": defaults,
        "total": all.len(),
    }))
}
