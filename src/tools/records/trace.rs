//! `get_trace`: one trace as a bounded summary a model can read — services, span count, duration,
//! errors, the slowest spans and the critical path — instead of every span (peers return whole
//! traces, unbounded).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::{Backend, FROM_PARAM, TO_PARAM, format_unix_ms, nanos, number};
use crate::backends::clickhouse::Client;
use crate::backends::clickhouse::schema::{Signal, duration_ms, quote};
use crate::backends::clickhouse::sql::Params;
use crate::backends::tempo;
use crate::timespec::format_time;
use crate::tools::args::{Args, Param, ParamKind};
use crate::tools::{Context, Handler, ToolDef, ToolFailure, object_schema, ordered, time_arg};

/// Most spans of one trace read; a larger trace is summarised from these and says so.
const SPANS_READ_MAX: u64 = 10_000;
/// Spans listed unless the caller asks for more.
const SPANS_DEFAULT: u64 = 10;
/// Most spans listed.
const SPANS_MAX: u64 = 200;
/// Error spans listed at most.
const ERRORS_MAX: usize = 10;
/// Steps of the critical path listed at most.
const PATH_MAX: usize = 50;
/// How far back a trace is looked for when no window is given.
const LOOKBACK_SECS: f64 = 24.0 * 3600.0;

pub(in crate::tools) const TOOL: ToolDef = ToolDef {
    name: "get_trace",
    title: "Get a trace",
    description: "Summarises one trace: services, error spans, the critical path and the slowest \
spans. Looks in the last 24 hours unless told otherwise.",
    params: &[
        Param {
            name: "trace_id",
            kind: ParamKind::String,
            required: true,
            description: "",
        },
        Param {
            name: "max_spans",
            kind: ParamKind::Integer {
                min: 1,
                max: SPANS_MAX,
            },
            required: false,
            description: "Default 10.",
        },
        Param {
            name: "service",
            kind: ParamKind::String,
            required: false,
            description: "Only this service's slowest spans.",
        },
        FROM_PARAM,
        TO_PARAM,
    ],
    output_schema,
    run: Handler::Records {
        signal: Some(Signal::Traces),
        run,
    },
};

fn output_schema() -> Value {
    let span = json!({"type": "object", "properties": {
        "span_id": {"type": "string"}, "parent_span_id": {"type": "string"},
        "service": {"type": "string"}, "operation": {"type": "string"},
        "start": {"type": "string"}, "duration_ms": {"type": "number"},
        "status": {"type": "string"}, "status_message": {"type": "string"}, "role": {"type": "string"}
    }});
    object_schema(
        json!({
            "trace_id": {"type": "string"},
            "query": {"type": "string", "description": "The Tempo endpoint read (Tempo datasources)."},
            "window": {"type": "object", "properties": {"from_time": {"type": "string"}, "to_time": {"type": "string"}}},
            "start": {"type": "string"},
            "duration_ms": {"type": "number"},
            "span_count": {"type": "integer"},
            "services": {"type": "array", "items": {"type": "object", "properties": {
                "service": {"type": "string"}, "spans": {"type": "integer"}, "errors": {"type": "integer"}
            }}},
            "errors": {"type": "array", "items": span.clone()},
            "error_count": {"type": "integer"},
            "critical_path": {"type": "array", "items": span.clone()},
            "slowest_spans": {"type": "array", "items": span},
            "shown": {"type": "integer"},
            "truncated": {"type": "string"}
        }),
        &["trace_id", "span_count"],
    )
}

/// One span as read.
struct Span {
    id: String,
    parent: String,
    service: String,
    operation: String,
    start_ns: f64,
    duration_ms: f64,
    status: String,
    status_message: String,
    role: String,
}

impl Span {
    fn end_ns(&self) -> f64 {
        self.start_ns + self.duration_ms * 1e6
    }

    fn is_error(&self) -> bool {
        self.status == "error"
    }

    fn json(&self) -> Value {
        let mut o = Map::new();
        o.insert("span_id".into(), json!(self.id));
        if !self.parent.is_empty() {
            o.insert("parent_span_id".into(), json!(self.parent));
        }
        o.insert("service".into(), json!(self.service));
        o.insert("operation".into(), json!(self.operation));
        o.insert(
            "start".into(),
            format_unix_ms((self.start_ns / 1e6).round() as i64),
        );
        o.insert("duration_ms".into(), json!(self.duration_ms));
        o.insert("status".into(), json!(self.status));
        if !self.status_message.is_empty() {
            o.insert("status_message".into(), json!(self.status_message));
        }
        o.insert("role".into(), json!(self.role));
        Value::Object(o)
    }
}

fn run(
    ctx: &Context,
    args: &Args,
    backend: &Backend,
    signal: Signal,
) -> Result<Value, ToolFailure> {
    let trace_id = args.required_str("trace_id")?.to_ascii_lowercase();
    if trace_id.len() > 64 || !trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ToolFailure::new(
            "trace_id must be the trace's hex id (32 hex characters), e.g. from search_traces",
        ));
    }
    let to = time_arg(ctx, args, TO_PARAM.name, Some(ctx.now))?;
    let from = time_arg(ctx, args, FROM_PARAM.name, Some(to - LOOKBACK_SECS))?;
    ordered(from, to)?;
    let (spans, query) = match backend {
        Backend::ClickHouse(client) => {
            (read_clickhouse(client, signal, &trace_id, from, to)?, None)
        }
        Backend::Loki(_) => {
            return Err(ToolFailure::new(
                "get_trace reads traces; this is a Loki (logs) datasource: pass a traces datasource_id",
            ));
        }
        Backend::Tempo(client) => (
            read_tempo(client, &trace_id, from, to)?,
            Some(format!("{}{trace_id}", tempo::client::TRACES)),
        ),
    };
    let mut out = summarize(args, &trace_id, spans, from, to)?;
    if let Some(q) = query {
        out["query"] = json!(q);
    }
    Ok(out)
}

/// The trace's spans from Tempo, as the summary reads them.
fn read_tempo(
    client: &tempo::client::Client,
    trace_id: &str,
    from: f64,
    to: f64,
) -> Result<Vec<Span>, ToolFailure> {
    let spans = client.trace(trace_id, from, to)?;
    Ok(spans
        .into_iter()
        .take(SPANS_READ_MAX as usize + 1)
        .map(|s| Span {
            id: s.span_id,
            parent: s.parent_span_id,
            service: s.service,
            operation: s.name,
            start_ns: s.start_ns as f64,
            duration_ms: s.duration_ns as f64 / 1e6,
            status: s.status,
            status_message: s.status_message,
            role: s.kind,
        })
        .collect())
}

/// The trace's spans from ClickHouse, first by start time.
fn read_clickhouse(
    client: &Client,
    signal: Signal,
    trace_id: &str,
    from: f64,
    to: f64,
) -> Result<Vec<Span>, ToolFailure> {
    let table = client.table(signal);
    let mut params = Params::default();
    let id = params.add("String", trace_id);
    let from_p = params.add("Int64", nanos(from).to_string());
    let to_p = params.add("Int64", nanos(to).to_string());
    let time = quote(&table.time_column);
    let sql = format!(
        "SELECT {} AS id, {} AS parent, {} AS service, {} AS operation, \
         toUnixTimestamp64Nano({time}) AS start_ns, {} AS duration_ms, \
         replaceOne(lower(`StatusCode`), 'status_code_', '') AS status, `StatusMessage` AS status_message, \
         replaceOne(lower(`SpanKind`), 'span_kind_', '') AS role \
         FROM {} WHERE lower({}) = {id} AND {time} >= fromUnixTimestamp64Nano({from_p}) \
         AND {time} <= fromUnixTimestamp64Nano({to_p}) ORDER BY {time} LIMIT {}",
        quote(&table.span_id_column),
        quote(&table.parent_span_id_column),
        quote(&table.service_column),
        quote(&table.name_column),
        duration_ms(table),
        table.qualified(),
        quote(&table.trace_id_column),
        SPANS_READ_MAX + 1
    );
    let rows = client.query(&sql, &params)?;
    let text = |r: &Map<String, Value>, k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let num = |r: &Map<String, Value>, k: &str| {
        number(r.get(k).cloned().unwrap_or(Value::Null))
            .as_f64()
            .unwrap_or(0.0)
    };
    let spans: Vec<Span> = rows
        .rows
        .iter()
        .map(|r| Span {
            id: text(r, "id"),
            parent: text(r, "parent"),
            service: text(r, "service"),
            operation: text(r, "operation"),
            start_ns: num(r, "start_ns"),
            duration_ms: num(r, "duration_ms"),
            status: text(r, "status"),
            status_message: text(r, "status_message"),
            role: text(r, "role"),
        })
        .collect();
    Ok(spans)
}

/// The bounded summary of a trace's spans (first by start time).
fn summarize(
    args: &Args,
    trace_id: &str,
    mut spans: Vec<Span>,
    from: f64,
    to: f64,
) -> Result<Value, ToolFailure> {
    let window = json!({"from_time": format_time(from), "to_time": format_time(to)});
    if spans.is_empty() {
        return Err(ToolFailure::new(format!(
            "no spans of trace '{trace_id}' between {} and {}: check the id, or widen the window with from_time/to_time",
            format_time(from),
            format_time(to)
        )));
    }
    let cut = spans.len() as u64 > SPANS_READ_MAX;
    spans.truncate(SPANS_READ_MAX as usize);

    let start = spans
        .iter()
        .map(|s| s.start_ns)
        .fold(f64::INFINITY, f64::min);
    let end = spans
        .iter()
        .map(Span::end_ns)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut services: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for s in &spans {
        let e = services.entry(s.service.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(s.is_error());
    }
    let errors: Vec<&Span> = spans.iter().filter(|s| s.is_error()).collect();

    let mut out = json!({
        "trace_id": trace_id,
        "window": window,
        "start": format_unix_ms((start / 1e6).round() as i64),
        "duration_ms": round3((end - start) / 1e6),
        "span_count": spans.len(),
        "services": services.iter().map(|(name, (n, e))| json!({"service": name, "spans": n, "errors": e})).collect::<Vec<_>>(),
        "error_count": errors.len(),
        "errors": errors.iter().take(ERRORS_MAX).map(|s| s.json()).collect::<Vec<_>>(),
        "critical_path": critical_path(&spans).iter().map(|s| s.json()).collect::<Vec<_>>(),
    });
    let service = args.str("service");
    let mut listed: Vec<&Span> = spans
        .iter()
        .filter(|s| service.is_none_or(|name| s.service == name))
        .collect();
    listed.sort_by(|a, b| {
        b.duration_ms
            .total_cmp(&a.duration_ms)
            .then(a.start_ns.total_cmp(&b.start_ns))
    });
    let available = listed.len();
    let max = args.u64_or("max_spans", SPANS_DEFAULT) as usize;
    listed.truncate(max);
    out["slowest_spans"] = listed.iter().map(|s| s.json()).collect();
    out["shown"] = json!(listed.len());
    if listed.len() < available {
        out["truncated"] = json!(format!(
            "the {} slowest of {available} spans{} are listed; raise max_spans or pass service to see others",
            listed.len(),
            service
                .map(|s| format!(" of service '{s}'"))
                .unwrap_or_default()
        ));
    }
    if cut {
        out["truncated"] = json!(format!(
            "the trace has more than {SPANS_READ_MAX} spans; this summary covers the first {SPANS_READ_MAX} by start time"
        ));
    }
    Ok(out)
}

/// Milliseconds rounded to the microsecond, so float noise does not show.
fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// From the root (the earliest span without a known parent), repeatedly the child that ends last:
/// the chain that decides when the trace ends.
fn critical_path(spans: &[Span]) -> Vec<&Span> {
    let ids: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut root = None;
    for (i, s) in spans.iter().enumerate() {
        match ids.get(s.parent.as_str()) {
            Some(&p) if p != i => children.entry(p).or_default().push(i),
            _ => {
                if root.is_none_or(|r: usize| s.start_ns < spans[r].start_ns) {
                    root = Some(i);
                }
            }
        }
    }
    let mut path = Vec::new();
    let mut at = root;
    while let Some(i) = at {
        if path.len() >= PATH_MAX {
            break;
        }
        path.push(&spans[i]);
        at = children.get(&i).and_then(|c| {
            c.iter()
                .copied()
                .max_by(|a, b| spans[*a].end_ns().total_cmp(&spans[*b].end_ns()))
        });
    }
    path
}
