//! `list_datasources`: the configured datasources, without any secret.

use serde_json::{Value, json};

use super::{Context, ToolDef, ToolFailure, args::Args, object_schema};

pub(super) const TOOL: ToolDef = ToolDef {
    name: "list_datasources",
    title: "List datasources",
    description: "Lists the Prometheus-compatible datasources this server can query: id, type, URL, \
whether it is the default, scrape interval. Call this first; pass an `id` as `datasource_id` to the other tools.",
    params: &[],
    output_schema,
    run,
};

fn output_schema() -> Value {
    object_schema(
        json!({
            "datasources": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"},
                "uid": {"type": "string"},
                "type": {"type": "string", "enum": ["prometheus", "victoriametrics"]},
                "url": {"type": "string"},
                "is_default": {"type": "boolean"},
                "http_method": {"type": "string", "enum": ["GET", "POST"]},
                "scrape_interval": {"type": "string"},
                "auth": {"type": "array", "items": {"type": "string"}},
                "tls": {"type": "object", "properties": {
                    "ca_cert": {"type": "boolean"}, "skip_verify": {"type": "boolean"}
                }}
            }, "required": ["id", "type", "url", "is_default"]}},
            "default": {"type": ["string", "null"]},
            "total": {"type": "integer"}
        }),
        &["datasources", "total"],
    )
}

fn run(ctx: &Context, _args: &Args) -> Result<Value, ToolFailure> {
    let all = ctx.datasources.all();
    Ok(json!({
        "datasources": all.iter().map(|d| d.summary_json()).collect::<Vec<_>>(),
        "default": ctx.datasources.default_datasource().map(|d| d.name.clone()),
        "total": all.len(),
    }))
}
