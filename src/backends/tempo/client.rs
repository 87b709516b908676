//! Tempo's HTTP query API: TraceQL search, a trace by id, search tags and TraceQL metrics, one method
//! per endpoint. Times are Unix seconds, as Tempo documents; `limit` (traces) and `spss` (spans per
//! span set) are always sent, from ours.
//!
//! A trace comes back as OTLP JSON; Tempo writes ids in base64 (protobuf JSON), qryn in hex, and
//! qryn answers `/api/traces/{id}` in protobuf whatever `Accept` says, so a non-JSON answer is asked
//! again at qryn's `/api/traces/{id}/json`.

use base64::Engine;
use serde_json::{Map, Value};

use crate::backends::api_error::{Api, ApiError, bad_response, checked};
use crate::backends::{Connection, Series};

/// `GET` TraceQL search.
pub const SEARCH: &str = "/api/search";
/// `GET` one trace: `/api/traces/{id}`.
pub const TRACES: &str = "/api/traces/";
/// `GET` attribute names seen recently.
pub const TAGS: &str = "/api/search/tags";
/// `GET` a TraceQL metrics query over a whole window (one value per series; Tempo 2.7+).
pub const METRICS_QUERY: &str = "/api/metrics/query";
/// `GET` a TraceQL metrics query per step (Tempo 2.4+).
pub const METRICS_QUERY_RANGE: &str = "/api/metrics/query_range";

const BACKEND: Api = Api::Tempo;

/// A span as the tools read it, from OTLP JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Span {
    /// Trace id, lower-case hex.
    pub trace_id: String,
    /// Span id, lower-case hex.
    pub span_id: String,
    /// Parent span id, lower-case hex; empty for a root.
    pub parent_span_id: String,
    /// The resource's `service.name`.
    pub service: String,
    /// The span name.
    pub name: String,
    /// Unix nanoseconds.
    pub start_ns: i64,
    /// Nanoseconds.
    pub duration_ns: i64,
    /// `ok`, `error` or `unset`.
    pub status: String,
    /// The status message.
    pub status_message: String,
    /// `server`, `client`, `internal`, `producer`, `consumer`, or empty when not given.
    pub kind: String,
    /// The span's attributes, then the resource's (a span's own win), as text.
    pub attributes: Map<String, Value>,
}

/// One trace of a search answer: its id and the matched spans listed.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Trace id, lower-case hex.
    pub trace_id: String,
    /// `(span id in lower-case hex, start in Unix nanoseconds)` of the matched spans listed.
    pub spans: Vec<(String, i64)>,
    /// How many spans of this trace matched, as the server counts them.
    pub matched: u64,
}

/// A client for one Tempo datasource.
pub struct Client<'a> {
    connection: Connection<'a>,
}

impl<'a> Client<'a> {
    /// A client over `connection`; `None` when its datasource is not a Tempo datasource.
    pub fn new(connection: Connection<'a>) -> Option<Self> {
        matches!(
            connection.datasource().kind,
            crate::datasources::Kind::Tempo
        )
        .then_some(Client { connection })
    }

    /// The datasource's id.
    pub fn name(&self) -> &'a str {
        &self.connection.datasource().name
    }

    /// Traces with spans matching TraceQL `query` in `[start, end]` (Unix seconds): at most `limit`
    /// traces, at most `spans_per_set` spans listed for each.
    pub fn search(
        &self,
        query: &str,
        start: f64,
        end: f64,
        limit: u64,
        spans_per_set: u64,
    ) -> Result<Vec<Hit>, ApiError> {
        let [from, to] = seconds(start, end);
        let params = [
            ("q", query.to_string()),
            from,
            to,
            ("limit", limit.to_string()),
            ("spss", spans_per_set.to_string()),
        ];
        let body = checked(
            BACKEND,
            self.connection.get(SEARCH, &params),
            &self.connection,
        )?;
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|_| bad_response(BACKEND, &body, &self.connection))?;
        let Some(traces) = answer.get("traces").and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        let mut hits = Vec::new();
        for t in traces {
            let Some(trace_id) = t.get("traceID").and_then(Value::as_str) else {
                continue;
            };
            let mut listed: Vec<(String, i64)> = Vec::new();
            let mut matched = 0;
            // `spanSets` (Tempo 2.2+) holds every set; `spanSet` alone is the older form.
            let sets: Vec<&Value> = match t.get("spanSets").and_then(Value::as_array) {
                Some(sets) => sets.iter().collect(),
                None => t.get("spanSet").into_iter().collect(),
            };
            for set in sets {
                let spans = set.get("spans").and_then(Value::as_array);
                for s in spans.into_iter().flatten() {
                    if let Some(id) = s.get("spanID").and_then(Value::as_str) {
                        let id = hex_id(id);
                        if !listed.iter().any(|(known, _)| *known == id) {
                            listed.push((id, nanos(s.get("startTimeUnixNano"))));
                        }
                    }
                }
                matched += set
                    .get("matched")
                    .and_then(Value::as_u64)
                    .unwrap_or(spans.map_or(0, |s| s.len() as u64));
            }
            hits.push(Hit {
                trace_id: hex_id(trace_id),
                spans: listed,
                matched,
            });
        }
        Ok(hits)
    }

    /// Every span of trace `trace_id` (hex), in `[start, end]` when given.
    pub fn trace(&self, trace_id: &str, start: f64, end: f64) -> Result<Vec<Span>, ApiError> {
        let window = seconds(start, end);
        let path = format!("{TRACES}{trace_id}");
        let mut body = checked(
            BACKEND,
            self.connection.get(&path, &window),
            &self.connection,
        )?;
        if !body.trim_ascii_start().starts_with(b"{") {
            body = checked(
                BACKEND,
                self.connection.get(&format!("{path}/json"), &window),
                &self.connection,
            )?;
        }
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|_| bad_response(BACKEND, &body, &self.connection))?;
        Ok(spans_of(&answer))
    }

    /// Attribute names of spans in `[start, end]` (Unix seconds): Tempo's `{"tagNames": [...]}`, or the bare
    /// list qryn answers.
    pub fn tags(&self, start: f64, end: f64) -> Result<Vec<String>, ApiError> {
        let window = seconds(start, end);
        let body = checked(
            BACKEND,
            self.connection.get(TAGS, &window),
            &self.connection,
        )?;
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|_| bad_response(BACKEND, &body, &self.connection))?;
        Ok(answer
            .get("tagNames")
            .unwrap_or(&answer)
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect())
    }
}

impl Client<'_> {
    /// TraceQL metrics query `query` over `[start, end]` (Unix seconds) as one value per series,
    /// stamped `end`.
    pub fn metrics_instant(
        &self,
        query: &str,
        start: f64,
        end: f64,
    ) -> Result<Vec<Series>, ApiError> {
        let [from, to] = seconds(start, end);
        let params = [("q", query.to_string()), from, to];
        let answer = self.metrics(METRICS_QUERY, &params)?;
        Ok(series_of(&answer, |s| {
            s.get("value").and_then(float).map(|v| vec![(end, v)])
        }))
    }

    /// TraceQL metrics query `query` from `start` to `end` every `step` seconds; Tempo stamps each
    /// sample with the start of its step.
    pub fn metrics_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, ApiError> {
        let [from, to] = seconds(start, end);
        let params = [
            ("q", query.to_string()),
            from,
            to,
            ("step", format!("{}s", step.round() as i64)),
        ];
        let answer = self.metrics(METRICS_QUERY_RANGE, &params)?;
        Ok(series_of(&answer, |s| {
            let samples = s.get("samples").and_then(Value::as_array)?;
            Some(
                samples
                    .iter()
                    .filter_map(|p| {
                        let ms = match p.get("timestampMs")? {
                            Value::String(t) => t.parse::<f64>().ok()?,
                            other => other.as_f64()?,
                        };
                        Some((ms / 1000.0, p.get("value").and_then(float)?))
                    })
                    .collect(),
            )
        }))
    }

    fn metrics(&self, path: &str, params: &[(&str, String)]) -> Result<Value, ApiError> {
        let body = checked(BACKEND, self.connection.get(path, params), &self.connection)?;
        serde_json::from_slice(&body).map_err(|_| bad_response(BACKEND, &body, &self.connection))
    }
}

/// The `series` of a TraceQL metrics answer, labels read from OTLP key-values (an empty value, an
/// attribute the spans lacked, is `null`), samples by `samples_of`.
/// `[start, end]` as Tempo's `start` and `end` parameters: whole Unix seconds, widened outwards so
/// the window asked is covered.
fn seconds(start: f64, end: f64) -> [(&'static str, String); 2] {
    [
        ("start", (start.floor() as i64).to_string()),
        ("end", (end.ceil() as i64).to_string()),
    ]
}

fn series_of(
    answer: &Value,
    samples_of: impl Fn(&Value) -> Option<Vec<(f64, f64)>>,
) -> Vec<Series> {
    let list = answer.get("series").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .map(|s| {
            let mut labels = Map::new();
            for kv in s
                .get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(k), Some(v)) = (kv.get("key").and_then(Value::as_str), kv.get("value"))
                {
                    labels.insert(k.to_string(), any_value(v));
                }
            }
            Series {
                labels,
                samples: samples_of(s).unwrap_or_default(),
            }
        })
        .collect()
}

/// A protobuf JSON double: a number, or `"NaN"` / `"Infinity"` as strings.
fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An id as lower-case hex: hex stays, base64 (Tempo's protobuf JSON) is decoded.
fn hex_id(id: &str) -> String {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return id.to_ascii_lowercase();
    }
    match base64::engine::general_purpose::STANDARD.decode(id) {
        Ok(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => id.to_string(),
    }
}

/// An OTLP `AnyValue` as JSON text or number.
fn any_value(v: &Value) -> Value {
    let Some(o) = v.as_object() else {
        return Value::Null;
    };
    if let Some(s) = o.get("stringValue") {
        return s.clone();
    }
    if let Some(i) = o.get("intValue") {
        // Protobuf JSON writes 64-bit integers as strings.
        return match i {
            Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or(i.clone()),
            other => other.clone(),
        };
    }
    for key in ["doubleValue", "boolValue"] {
        if let Some(x) = o.get(key) {
            return x.clone();
        }
    }
    if o.is_empty() {
        return Value::Null;
    }
    Value::String(v.to_string())
}

fn attributes(list: Option<&Value>, into: &mut Map<String, Value>) {
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        if let (Some(k), Some(v)) = (kv.get("key").and_then(Value::as_str), kv.get("value")) {
            into.entry(k.to_string()).or_insert_with(|| any_value(v));
        }
    }
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

fn nanos(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// `SPAN_KIND_SERVER` / `2` / `server` → `server`.
fn kind_name(v: Option<&Value>) -> String {
    const BY_NUMBER: [&str; 6] = ["", "internal", "server", "client", "producer", "consumer"];
    match v {
        Some(Value::Number(n)) => BY_NUMBER
            .get(n.as_u64().unwrap_or(0) as usize)
            .copied()
            .unwrap_or_default()
            .to_string(),
        Some(Value::String(s)) => {
            let s = s.to_ascii_lowercase();
            let s = s.trim_start_matches("span_kind_");
            if s == "unspecified" { "" } else { s }.to_string()
        }
        _ => String::new(),
    }
}

/// The span's status: OTLP's `status.code`, else what the OTel Zipkin exporter writes as tags
/// (`otel.status_code`, `error`), which is all a span pushed as Zipkin keeps.
fn status_of(span: &Value, attrs: &Map<String, Value>) -> (String, String) {
    const BY_NUMBER: [&str; 3] = ["unset", "ok", "error"];
    let status = span.get("status");
    let code = match status.and_then(|s| s.get("code")) {
        Some(Value::Number(n)) => BY_NUMBER
            .get(n.as_u64().unwrap_or(0) as usize)
            .copied()
            .unwrap_or("unset")
            .to_string(),
        Some(Value::String(s)) => s
            .to_ascii_lowercase()
            .trim_start_matches("status_code_")
            .to_string(),
        _ => match attrs.get("otel.status_code").and_then(Value::as_str) {
            Some(c) => c.to_ascii_lowercase(),
            None if attrs.contains_key("error") => "error".into(),
            None => "unset".into(),
        },
    };
    let mut message = text(status.and_then(|s| s.get("message")));
    if message.is_empty()
        && code == "error"
        && let Some(e) = attrs.get("error").and_then(Value::as_str)
        && e != "true"
    {
        message = e.to_string();
    }
    (code, message)
}

/// The spans of an OTLP JSON trace: `batches` (Tempo v1), `trace.resourceSpans` (v2) or
/// `resourceSpans` (qryn), with `scopeSpans` or the older `instrumentationLibrarySpans`.
pub fn spans_of(answer: &Value) -> Vec<Span> {
    let batches = answer
        .get("batches")
        .or_else(|| answer.get("resourceSpans"))
        .or_else(|| answer.get("trace").and_then(|t| t.get("resourceSpans")))
        .and_then(Value::as_array);
    let mut out = Vec::new();
    for batch in batches.into_iter().flatten() {
        let mut resource = Map::new();
        attributes(
            batch.get("resource").and_then(|r| r.get("attributes")),
            &mut resource,
        );
        let scopes = batch
            .get("scopeSpans")
            .or_else(|| batch.get("instrumentationLibrarySpans"))
            .and_then(Value::as_array);
        for scope in scopes.into_iter().flatten() {
            for s in scope
                .get("spans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut attrs = Map::new();
                attributes(s.get("attributes"), &mut attrs);
                for (k, v) in &resource {
                    attrs.entry(k.clone()).or_insert_with(|| v.clone());
                }
                let start_ns = nanos(s.get("startTimeUnixNano"));
                let end_ns = nanos(s.get("endTimeUnixNano"));
                let (status, status_message) = status_of(s, &attrs);
                let id = |a: &str, b: &str| {
                    hex_id(
                        s.get(a)
                            .or_else(|| s.get(b))
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    )
                };
                out.push(Span {
                    trace_id: id("traceId", "traceID"),
                    span_id: id("spanId", "spanID"),
                    parent_span_id: id("parentSpanId", "parentSpanID"),
                    service: text(resource.get("service.name")),
                    name: text(s.get("name")),
                    start_ns,
                    duration_ns: (end_ns - start_ns).max(0),
                    status,
                    status_message,
                    kind: kind_name(s.get("kind")),
                    attributes: attrs,
                });
            }
        }
    }
    out.sort_by_key(|s| s.start_ns);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tempo's documented `/api/traces/{id}` JSON (protobuf JSON: base64 ids, enum names, 64-bit
    /// integers as strings).
    #[test]
    fn tempo_trace_json_is_read_with_base64_ids_and_enum_names() {
        let answer: Value = serde_json::from_str(
            r#"{"batches":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},
            "scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"AAAAAAAAAAE=",
            "parentSpanId":"","name":"GetCart","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1700000000000000000",
            "endTimeUnixNano":"1700000000040000000","attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}}],
            "status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}]}]}"#,
        )
        .unwrap();
        let spans = spans_of(&answer);
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s.span_id, "0000000000000001");
        assert_eq!(s.parent_span_id, "");
        assert_eq!(
            (s.service.as_str(), s.name.as_str(), s.kind.as_str()),
            ("cart", "GetCart", "server")
        );
        assert_eq!(s.duration_ns, 40_000_000);
        assert_eq!(
            (s.status.as_str(), s.status_message.as_str()),
            ("error", "boom")
        );
        assert_eq!(s.attributes["http.response.status_code"], 500);
        assert_eq!(s.attributes["service.name"], "cart");
    }

    #[test]
    fn zipkin_spans_take_their_status_from_the_exporters_tags() {
        let answer: Value = serde_json::from_str(
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payment"}}]},
            "instrumentationLibrarySpans":[{"spans":[
              {"traceID":"4BF9","spanID":"b7","name":"Charge","startTimeUnixNano":"5","endTimeUnixNano":"9",
               "attributes":[{"key":"otel.status_code","value":{"stringValue":"ERROR"}},{"key":"error","value":{"stringValue":"card processor timeout"}}]},
              {"traceID":"4bf9","spanID":"b8","parentSpanId":"b7","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#,
        )
        .unwrap();
        let spans = spans_of(&answer);
        assert_eq!(spans[0].span_id, "b8");
        assert_eq!(
            (spans[0].status.as_str(), spans[0].kind.as_str()),
            ("unset", "")
        );
        assert_eq!(spans[1].trace_id, "4bf9");
        assert_eq!(
            (spans[1].status.as_str(), spans[1].status_message.as_str()),
            ("error", "card processor timeout")
        );
    }
}
