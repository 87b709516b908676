//! The MCP tools: one table ([`TOOLS`]) from which `tools/list` definitions, input schemas and dispatch
//! all come, and one file per tool with its parameters, output schema and handler.
//!
//! Every tool returns compact JSON meant for a model with a small context: list-like results are
//! bounded by a default limit (the caller may raise it up to a hard maximum) and always say how many
//! items exist in total. Failures a model can act on (unknown datasource, bad PromQL, backend error)
//! are results with `isError: true` whose text says what to do; only an unknown tool name is a
//! protocol-level [`CallError`]. Transport, TLS and authentication are not handled here.

use std::time::Duration;

use serde_json::{Value, json};

use crate::datasources::{Datasource, DatasourceSet};
use crate::http::HttpClient;
use crate::prometheus::{ApiResult, Client, ErrorKind, PrometheusError};
use crate::timespec::{format_time, parse_time};

pub mod args;
mod find_metrics;
mod label_values;
mod list_datasources;
mod list_metrics;
mod metric_labels;
mod metric_metadata;
mod query_instant;
mod query_range;
mod shape;

use args::{Args, Param, ParamKind};

/// Default time a backend request may take (`QUERY_TIMEOUT` overrides it).
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Window that metric-name and label look-ups cover when the caller gives none: bounded, unlike an
/// unbounded `/series` walk over the whole TSDB.
pub const DEFAULT_LOOKBACK_SECS: f64 = 3600.0;

/// Everything a tool needs for one call.
pub struct Context<'a> {
    /// The configured datasources.
    pub datasources: &'a DatasourceSet,
    /// How to reach them.
    pub http: &'a dyn HttpClient,
    /// The current time (Unix seconds); relative times resolve against it.
    pub now: f64,
    /// Deadline for each backend request.
    pub timeout: Duration,
}

/// A tool-level failure: becomes a result with `isError: true` and this message.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolFailure {
    /// What went wrong and what to do next.
    pub message: String,
}

impl ToolFailure {
    /// A failure with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ToolFailure {
            message: message.into(),
        }
    }
}

/// A call that cannot be routed: the host maps it to JSON-RPC `-32602`.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Occurs when no tool has the requested name; carries the names that exist.
    UnknownTool(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::UnknownTool(name) => write!(
                f,
                "unknown tool '{name}'; tools: {}",
                TOOLS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// One tool: its definition for `tools/list` and its handler.
pub struct ToolDef {
    /// Tool name, `[A-Za-z0-9_.-]{1,128}`.
    pub name: &'static str,
    /// Human-readable title.
    pub title: &'static str,
    /// What the tool does and when to use it, written for a model.
    pub description: &'static str,
    /// Declared parameters; the input schema comes from them.
    pub params: &'static [Param],
    /// JSON Schema of `structuredContent`.
    pub output_schema: fn() -> Value,
    /// The handler.
    pub run: fn(&Context, &Args) -> Result<Value, ToolFailure>,
}

/// All tools, in the order `tools/list` shows them.
pub const TOOLS: &[ToolDef] = &[
    list_datasources::TOOL,
    list_metrics::TOOL,
    metric_metadata::TOOL,
    query_instant::TOOL,
    query_range::TOOL,
    metric_labels::TOOL,
    label_values::TOOL,
    find_metrics::TOOL,
];

/// The MCP `Tool` object for `def`.
pub fn definition(def: &ToolDef) -> Value {
    json!({
        "name": def.name,
        "title": def.title,
        "description": def.description,
        "inputSchema": args::input_schema(def.params),
        "outputSchema": (def.output_schema)(),
        "annotations": {
            "title": def.title,
            "readOnlyHint": true,
            "destructiveHint": false,
            "idempotentHint": true,
            "openWorldHint": true,
        },
    })
}

/// `(name, MCP Tool object)` for every tool, in [`TOOLS`] order.
pub fn list() -> Vec<(&'static str, Value)> {
    TOOLS.iter().map(|t| (t.name, definition(t))).collect()
}

/// Runs tool `name` with `arguments` and returns the MCP `CallToolResult` object.
pub fn call(ctx: &Context, name: &str, arguments: Value) -> Result<Value, CallError> {
    let def = TOOLS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| CallError::UnknownTool(name.to_string()))?;
    let outcome = Args::check(arguments, def.params).and_then(|args| (def.run)(ctx, &args));
    Ok(match outcome {
        Ok(structured) => success(structured),
        Err(failure) => error_result(&failure.message),
    })
}

/// A `CallToolResult` carrying `structured` both as `structuredContent` and as one compact text block.
pub fn success(structured: Value) -> Value {
    json!({
        "content": [{"type": "text", "text": structured.to_string()}],
        "structuredContent": structured,
        "isError": false,
    })
}

/// A `CallToolResult` with `isError: true` and `message`.
pub fn error_result(message: &str) -> Value {
    json!({
        "content": [{"type": "text", "text": message}],
        "isError": true,
    })
}

// ---- shared parameters and helpers used by several tools ----

/// `datasource_id`: which configured datasource to ask.
pub(crate) const DATASOURCE_PARAM: Param = Param {
    name: "datasource_id",
    kind: ParamKind::String,
    required: true,
    description: "Datasource id (the `id` from list_datasources), e.g. \"prometheus\".",
};

/// `limit` for name and value lists.
pub(crate) const LIST_LIMIT_PARAM: Param = Param {
    name: "limit",
    kind: ParamKind::Integer {
        min: 1,
        max: shape::LIST_MAX,
    },
    required: false,
    description: "How many names to return (default 200, at most 10000); the result says how many exist.",
};

/// `start` of a look-up window.
pub(crate) const WINDOW_START_PARAM: Param = Param {
    name: "start",
    kind: ParamKind::String,
    required: false,
    description: "Start of the look-up window: 'now-1h' (default), RFC 3339 or Unix seconds.",
};

/// `end` of a look-up window.
pub(crate) const WINDOW_END_PARAM: Param = Param {
    name: "end",
    kind: ParamKind::String,
    required: false,
    description: "End of the look-up window: 'now' (default), RFC 3339 or Unix seconds.",
};

/// The datasource named by `datasource_id`, or a failure that lists the ids there are.
pub(crate) fn datasource<'a>(
    ctx: &Context<'a>,
    args: &Args,
) -> Result<&'a Datasource, ToolFailure> {
    let id = args.required_str(DATASOURCE_PARAM.name)?;
    ctx.datasources.get(id).ok_or_else(|| {
        ToolFailure::new(format!(
            "unknown datasource_id '{id}'; configured datasources: {}. Call list_datasources for details.",
            ctx.datasources.names().join(", ")
        ))
    })
}

/// A time argument resolved against `ctx.now`, or `default` when absent.
pub(crate) fn time_arg(
    ctx: &Context,
    args: &Args,
    name: &str,
    default: Option<f64>,
) -> Result<f64, ToolFailure> {
    match (args.str(name), default) {
        (Some(s), _) => {
            parse_time(s, ctx.now).map_err(|e| ToolFailure::new(format!("argument '{name}': {e}")))
        }
        (None, Some(d)) => Ok(d),
        (None, None) => Err(ToolFailure::new(format!(
            "missing required argument '{name}'"
        ))),
    }
}

/// A look-up window from optional `start`/`end` (default: the last hour), as `(start, end, echo)`.
pub(crate) fn window(ctx: &Context, args: &Args) -> Result<(f64, f64, Value), ToolFailure> {
    let end = time_arg(ctx, args, "end", Some(ctx.now))?;
    let start = time_arg(ctx, args, "start", Some(end - DEFAULT_LOOKBACK_SECS))?;
    ordered(start, end)?;
    Ok((
        start,
        end,
        json!({"start": format_time(start), "end": format_time(end)}),
    ))
}

/// Fails when `start` is after `end`.
pub(crate) fn ordered(start: f64, end: f64) -> Result<(), ToolFailure> {
    if start > end {
        return Err(ToolFailure::new(format!(
            "start ({}) is after end ({}); swap them",
            format_time(start),
            format_time(end)
        )));
    }
    Ok(())
}

/// Turns a backend error into a failure that says what to do about it.
pub(crate) fn backend_failure(ds: &Datasource, e: PrometheusError) -> ToolFailure {
    let advice = match &e.kind {
        ErrorKind::BadData => "fix the request as the message says",
        ErrorKind::Timeout => {
            "the query took too long: narrow it with label matchers, aggregate (sum by (...)), or shorten the range"
        }
        ErrorKind::Execution => {
            "the query is too expensive: add label matchers, aggregate, shorten the range or raise the step"
        }
        ErrorKind::ClientError if e.status == Some(401) || e.status == Some(403) => {
            "the datasource refused our credentials: check its headers/basicAuth in the datasources file"
        }
        ErrorKind::ClientError if e.status == Some(404) => {
            "the datasource URL may be wrong (it should be the Prometheus base URL, without /api/v1)"
        }
        ErrorKind::Transport(crate::http::HttpError::TooLarge) => {
            "the answer is too large: add label matchers, aggregate with sum by (...), shorten the range or raise the step"
        }
        ErrorKind::Transport(crate::http::HttpError::Timeout) => {
            "the datasource did not answer in time: narrow the query (label matchers, aggregation, shorter range), or try again if it is overloaded"
        }
        ErrorKind::ServerError | ErrorKind::ClientError
            if e.status.is_some_and(|s| (300..400).contains(&s)) =>
        {
            "the datasource URL redirects: set its url to the final address (https://, or the right path prefix)"
        }
        ErrorKind::Transport(crate::http::HttpError::Denied(_)) => {
            "the host does not allow this destination; only configured datasource origins are reachable"
        }
        ErrorKind::Transport(_) => {
            "the datasource is unreachable: it may be down; try again later or use another datasource"
        }
        _ => "the datasource failed; try again, or simplify the query",
    };
    ToolFailure::new(format!(
        "datasource '{}' ({}) error: {e}. What to do: {advice}.",
        ds.name, ds.url
    ))
}

/// Sends a request built by `f` to `ds` and maps errors with [`backend_failure`].
pub(crate) fn with_client<T>(
    ctx: &Context,
    ds: &Datasource,
    f: impl FnOnce(&Client) -> Result<T, PrometheusError>,
) -> Result<T, ToolFailure> {
    let client = Client::new(ds, ctx.http, ctx.timeout);
    f(&client).map_err(|e| backend_failure(ds, e))
}

/// Takes the answer's data as a list of strings (label names or values) without copying the tree.
pub(crate) fn string_list(result: &mut ApiResult, what: &str) -> Result<Vec<String>, ToolFailure> {
    serde_json::from_value(result.data.take()).map_err(|_| {
        ToolFailure::new(format!(
            "the datasource answered with something other than a list of {what}"
        ))
    })
}

/// Takes the series of a vector or matrix answer.
pub(crate) fn take_series(result: &mut ApiResult) -> Vec<Box<serde_json::value::RawValue>> {
    std::mem::take(&mut result.series)
}

/// Takes the `result` member of a scalar or string answer, leaving `null` behind.
pub(crate) fn take_result(result: &mut ApiResult) -> Value {
    result
        .data
        .get_mut("result")
        .map(Value::take)
        .unwrap_or(Value::Null)
}

/// Adds server `warnings`/`infos` to `out` when there are any.
pub(crate) fn add_notes(out: &mut Value, result: &ApiResult) {
    if !result.warnings.is_empty() {
        out["warnings"] = json!(result.warnings);
    }
    if !result.infos.is_empty() {
        out["infos"] = json!(result.infos);
    }
}

/// `structuredContent` schema helper: an object with the given properties (plus the `warnings` and
/// `infos` every backend answer may carry), all optional but `required`.
pub(crate) fn object_schema(mut properties: Value, required: &[&str]) -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    properties["warnings"] = strings.clone();
    properties["infos"] = strings;
    json!({"type": "object", "properties": properties, "required": required})
}

#[cfg(test)]
mod tests;
