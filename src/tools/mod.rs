//! The MCP tools: one table ([`TOOLS`]) from which `tools/list` definitions, input schemas, dispatch,
//! the server instructions and the README's tool table all come, and one file per tool (in a folder
//! per family: `metrics/`) with its parameters, output schema and handler.
//!
//! A tool names its family through its [`Handler`]; dispatch picks the datasource (`datasource_id`, or
//! the family's default), refuses one of another family with the list of the right ones, hands the
//! handler a typed client, and echoes the datasource used in every result.
//!
//! Every tool returns compact JSON meant for a model with a small context: list-like results are
//! bounded by a default limit (the caller may raise it up to a hard maximum) and always say how many
//! items exist in total; and every answer fits a byte budget (40,000 bytes of JSON text), cut to
//! whole items with a note when larger (`bounds::fit`, applied in [`call`]). Failures a model can
//! act on (unknown datasource, bad PromQL, backend error) are results with `isError: true` whose
//! text says what to do; only an unknown tool name is a protocol-level [`CallError`]. Transport,
//! TLS and authentication are not handled here.

use std::time::Duration;

use serde_json::{Value, json};

use crate::backends::ApiError;
use crate::backends::clickhouse::{ClickHouseError, schema::Signal};
use crate::backends::prometheus::{self, PrometheusError};
use crate::backends::{BackendFailure, Connection};
use crate::datasources::{Datasource, DatasourceSet, Family};
use crate::http::HttpClient;
use crate::timespec::{format_time, parse_time};

pub mod args;
mod bounds;
mod concurrent;
mod docs;
mod fan_out;
mod list_datasources;
mod metrics;
pub mod records;
mod telemetry;
mod toolset;

pub use docs::{field_table, instructions, readme_table};
pub use toolset::Toolset;

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

    /// A backend's failure, with the datasource and what to do about it.
    pub fn backend(e: &dyn BackendFailure) -> Self {
        let (name, url) = e.datasource();
        ToolFailure::new(format!(
            "datasource '{name}' ({url}) error: {e}. What to do: {}.",
            e.advice()
        ))
    }
}

impl From<PrometheusError> for ToolFailure {
    fn from(e: PrometheusError) -> Self {
        ToolFailure::backend(&e)
    }
}

impl From<ClickHouseError> for ToolFailure {
    fn from(e: ClickHouseError) -> Self {
        ToolFailure::backend(&e)
    }
}

impl From<ApiError> for ToolFailure {
    fn from(e: ApiError) -> Self {
        ToolFailure::backend(&e)
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

/// A tool's handler, by the family it serves: the variant says which client it gets.
#[derive(Clone, Copy)]
pub enum Handler {
    /// A tool about the configuration itself; it reaches no datasource.
    Config(fn(&Context, &Args) -> Result<Value, ToolFailure>),
    /// A tool that combines families: it picks the datasource of each of its queries itself.
    Combined(fn(&Context, &Args) -> Result<Value, ToolFailure>),
    /// A metrics tool: runs with a Prometheus client for the chosen metrics datasource.
    Metrics(fn(&Context, &Args, &prometheus::Client) -> Result<Value, ToolFailure>),
    /// A metrics tool that can also ask several metrics datasources at once (`datasource_ids`):
    /// the same handler runs once per datasource, concurrently, and the answers are listed.
    MetricsEach(fn(&Context, &Args, &prometheus::Client) -> Result<Value, ToolFailure>),
    /// A logs or traces tool: runs with a client for the chosen datasource of `signal`'s family
    /// (ClickHouse, Loki or Tempo: [`records::Backend`]).
    Records {
        /// Logs or traces; `None` when the call's `datasource` argument says which.
        signal: Option<Signal>,
        /// The handler, told which signal it serves.
        run: fn(&Context, &Args, &records::Backend, Signal) -> Result<Value, ToolFailure>,
    },
}

/// The argument that picks logs or traces for a [`Handler::Records`] tool without a fixed signal.
pub(crate) const SIGNAL_PARAM: &str = "datasource";

impl Handler {
    /// The family whose datasources the tool queries; `None` for configuration tools. A tool that
    /// serves logs or traces as its arguments say counts as logs.
    pub fn family(&self) -> Option<Family> {
        match self {
            Handler::Config(_) | Handler::Combined(_) => None,
            Handler::Metrics(_) | Handler::MetricsEach(_) => Some(Family::Metrics),
            Handler::Records {
                signal: Some(Signal::Traces),
                ..
            } => Some(Family::Traces),
            Handler::Records { .. } => Some(Family::Logs),
        }
    }
}

/// The family that serves `signal`.
fn family_of(signal: Signal) -> Family {
    match signal {
        Signal::Logs => Family::Logs,
        Signal::Traces => Family::Traces,
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
    /// Declared parameters, without `datasource_id`, which every family tool takes (see
    /// [`ToolDef::params`]).
    pub params: &'static [Param],
    /// JSON Schema of `structuredContent`, without the `datasource` echo every family tool adds.
    pub output_schema: fn() -> Value,
    /// The handler.
    pub run: Handler,
}

impl ToolDef {
    /// The family the tool serves; `None` for configuration tools.
    pub fn family(&self) -> Option<Family> {
        self.run.family()
    }

    /// Every parameter the tool takes: `datasource_id` first for a family tool, then its own.
    pub fn params(&self) -> Vec<Param> {
        let mut params = Vec::with_capacity(self.params.len() + 2);
        if self.family().is_some() {
            params.push(DATASOURCE_PARAM);
        }
        if matches!(self.run, Handler::MetricsEach(_)) {
            params.push(fan_out::DATASOURCE_IDS_PARAM);
        }
        params.extend_from_slice(self.params);
        params
    }

    /// The output schema, with the `datasource` echo for a family tool and the `truncated` note
    /// any answer cut to the byte budget carries.
    pub fn output_schema(&self) -> Value {
        let mut schema = (self.output_schema)();
        if schema["properties"].get("truncated").is_none() {
            schema["properties"]["truncated"] = json!({"type": "string"});
        }
        if self.family().is_some() {
            schema["properties"]["datasource"] = json!({
                "type": "string",
                "description": "The id of the datasource that answered.",
            });
            match schema["required"].as_array_mut() {
                Some(required) if required.contains(&json!("datasource")) => {}
                Some(required) => required.insert(0, json!("datasource")),
                None => schema["required"] = json!(["datasource"]),
            }
        }
        if matches!(self.run, Handler::MetricsEach(_)) {
            schema = fan_out::output_schema(schema);
        }
        schema
    }
}

/// All tools, in the order `tools/list` shows them.
pub const TOOLS: &[ToolDef] = &[
    list_datasources::TOOL,
    metrics::list_metrics::TOOL,
    metrics::metric_metadata::TOOL,
    metrics::query_instant::TOOL,
    metrics::query_range::TOOL,
    metrics::analyze_metrics::TOOL,
    metrics::metric_labels::TOOL,
    metrics::label_values::TOOL,
    metrics::find_metrics::TOOL,
    records::fields::TOOL,
    records::search::LOGS,
    records::analyze::LOGS,
    records::search::TRACES,
    records::analyze::TRACES,
    records::trace::TOOL,
    telemetry::TOOL,
];

/// The MCP `Tool` object for `def`: what `tools/list` shows. Every byte here is paid by every
/// session's context, so it carries only what a model or a client needs to pick and call the tool:
/// the read-only annotations (no `destructiveHint`, which the spec ignores when `readOnlyHint` is
/// true, and no `annotations.title` repeating `title`) and the published output schema.
pub fn definition(def: &ToolDef) -> Value {
    json!({
        "name": def.name,
        "title": def.title,
        "description": def.description,
        "inputSchema": args::input_schema(&def.params()),
        "outputSchema": listed_output_schema(&def.output_schema()),
        "annotations": {
            "readOnlyHint": true,
            "idempotentHint": true,
            "openWorldHint": true,
        },
    })
}

/// The output schema `tools/list` publishes: `full` cut down to the names of the members every
/// result carries (`required`, and the `anyOf` branches a fan-out result uses for its second
/// shape). It only drops constraints, so every result the full schema accepts still validates
/// against it (clients check `structuredContent` against `outputSchema`), at a fraction of the
/// bytes; the full schema, with every member's type, stays the contract the tests hold every
/// result to, member by member.
pub fn listed_output_schema(full: &Value) -> Value {
    let mut listed = json!({"type": "object"});
    if let Some(required) = full.get("required") {
        listed["required"] = required.clone();
    }
    if let Some(branches) = full["anyOf"].as_array() {
        let branches: Vec<Value> = branches
            .iter()
            .map(|b| json!({"required": b["required"]}))
            .collect();
        listed["anyOf"] = json!(branches);
    }
    listed
}

/// `(name, MCP Tool object)` for every tool, in [`TOOLS`] order.
pub fn list() -> Vec<(&'static str, Value)> {
    TOOLS.iter().map(|t| (t.name, definition(t))).collect()
}

/// Runs tool `name` with `arguments` and returns the MCP `CallToolResult` object.
pub fn call(ctx: &Context, name: &str, arguments: Value) -> Result<Value, CallError> {
    let (def, outcome) = outcome(ctx, name, arguments)?;
    Ok(match outcome {
        Ok(mut structured) => {
            fit(def, &mut structured);
            success(structured)
        }
        Err(failure) => error_result(&failure.message),
    })
}

/// [`call`], with the `CallToolResult` already written as JSON text, as the component returns it:
/// the text block is the JSON of `structuredContent`, so that JSON is written once and used twice
/// (see [`success_json`]). The same text tells whether the answer is within its budget, so an answer
/// that fits (nearly all) is serialised once; only one over it is cut and written again.
pub fn call_json(ctx: &Context, name: &str, arguments: Value) -> Result<String, CallError> {
    let (def, outcome) = outcome(ctx, name, arguments)?;
    Ok(match outcome {
        Ok(mut structured) => {
            let mut text = structured.to_string();
            if text.len() > bounds::ANSWER_BUDGET {
                fit(def, &mut structured);
                text = structured.to_string();
            }
            success_text(&text)
        }
        Err(failure) => error_result(&failure.message).to_string(),
    })
}

/// The tool `name` names and its own outcome, or why the call cannot be routed.
fn outcome(
    ctx: &Context,
    name: &str,
    arguments: Value,
) -> Result<(&'static ToolDef, Result<Value, ToolFailure>), CallError> {
    let def = TOOLS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| CallError::UnknownTool(name.to_string()))?;
    Ok((
        def,
        Args::check(arguments, &def.params()).and_then(|args| run(ctx, def, &args)),
    ))
}

/// Cuts `def`'s answer to the byte budget, naming `def`'s arguments that narrow it.
fn fit(def: &ToolDef, structured: &mut Value) {
    let params = def.params();
    let names: Vec<&str> = params.iter().map(|p| p.name).collect();
    bounds::fit(structured, &names);
}

/// Runs `def`'s handler: a family tool with a client for its datasource, its answer echoing which.
fn run(ctx: &Context, def: &ToolDef, args: &Args) -> Result<Value, ToolFailure> {
    let (mut out, ds) = match def.run {
        Handler::Config(f) | Handler::Combined(f) => return f(ctx, args),
        Handler::Metrics(f) => {
            let ds = chosen(
                ctx.datasources,
                Family::Metrics,
                args.str(DATASOURCE_PARAM.name),
            )?;
            (f(ctx, args, &metrics_client(ctx, ds)?)?, ds)
        }
        Handler::MetricsEach(f) => {
            if !args.strings(fan_out::DATASOURCE_IDS_PARAM.name).is_empty() {
                return fan_out::run(ctx, args, f);
            }
            return run(
                ctx,
                &ToolDef {
                    run: Handler::Metrics(f),
                    ..*def
                },
                args,
            );
        }
        Handler::Records { signal, run } => {
            let signal = signal.unwrap_or(match args.str(SIGNAL_PARAM) {
                Some("traces") => Signal::Traces,
                _ => Signal::Logs,
            });
            let family = family_of(signal);
            let ds = chosen(ctx.datasources, family, args.str(DATASOURCE_PARAM.name))?;
            let connection = Connection::new(ds, ctx.http, ctx.timeout);
            let client = records::Backend::new(connection)
                .ok_or_else(|| wrong_family(ctx.datasources, family, ds))?;
            (run(ctx, args, &client, signal)?, ds)
        }
    };
    if let Value::Object(map) = &mut out {
        map.insert("datasource".into(), Value::String(ds.name.clone()));
    }
    Ok(out)
}

/// The datasource `id` names, or the family's default when there is no id; a failure that lists the
/// datasources of `family` when the id is unknown or names a datasource of another family.
pub(crate) fn chosen<'a>(
    datasources: &'a DatasourceSet,
    family: Family,
    id: Option<&str>,
) -> Result<&'a Datasource, ToolFailure> {
    let Some(id) = id else {
        return datasources.default_for(family).ok_or_else(|| {
            ToolFailure::new(format!(
                "no {family} datasource is configured; configured datasources: {}. Call list_datasources for details.",
                datasources.names().join(", ")
            ))
        });
    };
    match datasources.get(id) {
        Some(ds) if ds.serves(family) => Ok(ds),
        Some(ds) => Err(wrong_family(datasources, family, ds)),
        None => Err(ToolFailure::new(format!(
            "unknown datasource_id '{id}'; {}. Call list_datasources for details.",
            family_list(datasources, family)
        ))),
    }
}

/// A Prometheus client for the metrics datasource `ds`, over `ctx`'s HTTP client.
pub(crate) fn metrics_client<'a>(
    ctx: &Context<'a>,
    ds: &'a Datasource,
) -> Result<prometheus::Client<'a>, ToolFailure> {
    prometheus::Client::new(Connection::new(ds, ctx.http, ctx.timeout))
        .ok_or_else(|| wrong_family(ctx.datasources, Family::Metrics, ds))
}

/// `ds` does not serve `family`.
fn wrong_family(datasources: &DatasourceSet, family: Family, ds: &Datasource) -> ToolFailure {
    let serves: Vec<&str> = ds.kind.families().iter().map(Family::as_str).collect();
    ToolFailure::new(format!(
        "datasource '{}' is a {} datasource, and this tool needs a {family} datasource; {}. \
Call list_datasources for details.",
        ds.name,
        serves.join("/"),
        family_list(datasources, family)
    ))
}

/// `metrics datasources: a, b` (the default first), or that there is none.
fn family_list(datasources: &DatasourceSet, family: Family) -> String {
    let mut names: Vec<&str> = datasources
        .of_family(family)
        .map(|d| d.name.as_str())
        .collect();
    if names.is_empty() {
        return format!("no {family} datasource is configured");
    }
    if let Some(default) = datasources.default_for(family) {
        names.retain(|n| *n != default.name);
        names.insert(0, &default.name);
    }
    format!(
        "{family} datasources: {} (default: {})",
        names.join(", "),
        names[0]
    )
}

/// A `CallToolResult` carrying `structured` both as `structuredContent` and as one compact text block.
pub fn success(structured: Value) -> Value {
    json!({
        "content": [{"type": "text", "text": structured.to_string()}],
        "structuredContent": structured,
        "isError": false,
    })
}

/// [`success`] written as JSON text. The text block holds `structured`'s compact JSON, which is
/// also exactly what `structuredContent` serialises to, so it is written once and put in both
/// places: one serialisation of the answer instead of two (most of a large answer's encoding cost).
pub fn success_json(structured: &Value) -> String {
    success_text(&structured.to_string())
}

/// [`success_json`] for a `structuredContent` already written as `text`.
fn success_text(text: &str) -> String {
    let mut out = String::with_capacity(2 * text.len() + 64);
    out.push_str(r#"{"content":[{"type":"text","text":"#);
    // A string always serialises: the text block as a JSON string literal.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
    out.push_str(r#"}],"structuredContent":"#);
    out.push_str(text);
    out.push_str(r#","isError":false}"#);
    out
}

/// A `CallToolResult` with `isError: true` and `message`.
pub fn error_result(message: &str) -> Value {
    json!({
        "content": [{"type": "text", "text": message}],
        "isError": true,
    })
}

// ---- shared parameters and helpers used by several tools ----

/// `datasource_id`: which configured datasource to ask; every family tool takes it.
pub(crate) const DATASOURCE_PARAM: Param = Param {
    name: "datasource_id",
    kind: ParamKind::String,
    required: false,
    description: "",
};

/// `limit` for name and value lists.
pub(crate) const LIST_LIMIT_PARAM: Param = Param {
    name: "limit",
    kind: ParamKind::Integer {
        min: 1,
        max: bounds::LIST_MAX,
    },
    required: false,
    description: "Default 200.",
};

/// `start` of a look-up window.
pub(crate) const WINDOW_START_PARAM: Param = Param {
    name: "start",
    kind: ParamKind::String,
    required: false,
    description: "",
};

/// `end` of a look-up window.
pub(crate) const WINDOW_END_PARAM: Param = Param {
    name: "end",
    kind: ParamKind::String,
    required: false,
    description: "",
};

/// `from_time`: start of the window.
pub(crate) const FROM_PARAM: Param = Param {
    name: "from_time",
    kind: ParamKind::String,
    required: false,
    description: "",
};

/// `to_time`: end of the window.
pub(crate) const TO_PARAM: Param = Param {
    name: "to_time",
    kind: ParamKind::String,
    required: false,
    description: "",
};

/// The window `[from, to]` (default: the last hour) and its echo.
pub(crate) fn time_window(ctx: &Context, args: &Args) -> Result<(f64, f64, Value), ToolFailure> {
    let to = time_arg(ctx, args, TO_PARAM.name, Some(ctx.now))?;
    let from = time_arg(ctx, args, FROM_PARAM.name, Some(to - DEFAULT_LOOKBACK_SECS))?;
    ordered(from, to)?;
    Ok((
        from,
        to,
        json!({"from_time": format_time(from), "to_time": format_time(to)}),
    ))
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

/// `structuredContent` schema helper: an object with the given properties (plus the `warnings` and
/// `infos` every backend answer may carry), all optional but `required`.
pub(crate) fn object_schema(mut properties: Value, required: &[&str]) -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    properties["warnings"] = strings.clone();
    properties["infos"] = strings;
    json!({"type": "object", "properties": properties, "required": required})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes `tools/list` may take with every tool (issue 12: under 16 KB): clients and models pay
    /// for the whole list at every session, and users of peers complain at 16k tokens. 16 tools
    /// took 43,470 bytes before the descriptions were cut to what the schemas do not say and the
    /// published output schemas to the members' names, and 13,406 after (with `precision`).
    const LIST_BUDGET_BYTES: usize = 16_000;

    #[test]
    fn tools_list_stays_within_its_byte_budget() {
        let tools: Vec<Value> = list().into_iter().map(|(_, def)| def).collect();
        let bytes = json!({ "tools": tools }).to_string().len();
        let mut sizes: Vec<(usize, &str)> = TOOLS
            .iter()
            .map(|t| (definition(t).to_string().len(), t.name))
            .collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        println!(
            "tools/list: {bytes} bytes for {} tools; {sizes:?}",
            TOOLS.len()
        );
        assert!(
            bytes <= LIST_BUDGET_BYTES,
            "tools/list is {bytes} bytes, over its budget of {LIST_BUDGET_BYTES}; per tool: {sizes:?}"
        );
    }

    #[test]
    fn success_json_is_success_written_once() {
        let structured = json!({
            "datasource": "prometheus",
            "query": "sum by (job) (rate(x{path=\"/a\\\"b\"}[5m]))",
            "result": [{"metric": {"job": "ünï\u{1}"}, "value": 1.5e-7}],
            "total": 1,
        });
        let written: Value = serde_json::from_str(&success_json(&structured)).unwrap();
        assert_eq!(written, success(structured));
    }
}
