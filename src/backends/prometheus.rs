//! The Prometheus HTTP API client: one method per endpoint, the response envelope, classified errors.
//!
//! Requests go through the one request path ([`Connection`]): the datasource's own headers and basic
//! auth (never the MCP caller's token), POST forms (long expressions fit) falling back to GET when the
//! server answers 405/501 or the datasource says `httpMethod: GET`. Where the flavours differ (label
//! names in paths), the client asks [`Flavour`]. Warnings and infos from the server are kept with every
//! result. Shaping results for a model is the tools' business, not this module's.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{BackendFailure, Connection, body_excerpt, status_advice, transport_advice};
use crate::datasources::{Flavour, HttpMethod, MetricsSettings};
use crate::http::{HttpError, HttpResponse};
use crate::timespec::api_time;

/// Endpoint paths, relative to the datasource URL.
mod endpoint {
    pub const QUERY: &str = "/api/v1/query";
    pub const QUERY_RANGE: &str = "/api/v1/query_range";
    pub const LABELS: &str = "/api/v1/labels";
    pub const METADATA: &str = "/api/v1/metadata";
    /// Followed by `/<label>/values`.
    pub const LABEL: &str = "/api/v1/label";
}

/// How a request to Prometheus failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Occurs when Prometheus rejects the request (`errorType: bad_data`), e.g. a PromQL error it found.
    BadData,
    /// Occurs when evaluation exceeded the query timeout (`errorType: timeout`).
    Timeout,
    /// Occurs when evaluation failed (`errorType: execution`), e.g. too many samples.
    Execution,
    /// Any other `errorType` Prometheus reported (`canceled`, `internal`, `unavailable`, …).
    Server(String),
    /// Occurs when the answer is not the Prometheus JSON envelope.
    BadResponse,
    /// Occurs on a 5xx status without an envelope.
    ServerError,
    /// Occurs on a 4xx status without an envelope (401/403 auth, 404 wrong URL, …).
    ClientError,
    /// Occurs when no response came back at all.
    Transport(HttpError),
}

/// A failed request, with the server's message (or the transport's) and the HTTP status if any.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// The server's `error` text or a description of what came back, scrubbed of our credentials.
    pub message: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The datasource's id.
    pub datasource: String,
    /// The datasource's URL.
    pub url: String,
}

impl fmt::Display for PrometheusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            ErrorKind::BadData => "bad_data".to_string(),
            ErrorKind::Timeout => "timeout".to_string(),
            ErrorKind::Execution => "execution".to_string(),
            ErrorKind::Server(t) => t.clone(),
            ErrorKind::BadResponse => "bad_response".to_string(),
            ErrorKind::ServerError => "server_error".to_string(),
            ErrorKind::ClientError => "client_error".to_string(),
            ErrorKind::Transport(_) => "transport".to_string(),
        };
        match self.status {
            Some(s) => write!(f, "{kind} (HTTP {s}): {}", self.message),
            None => write!(f, "{kind}: {}", self.message),
        }
    }
}

impl PrometheusError {
    /// An error not yet tied to a datasource ([`Client`] names it before handing it out).
    fn new(message: String, kind: ErrorKind, status: Option<u16>) -> Self {
        PrometheusError {
            kind,
            message,
            status,
            datasource: String::new(),
            url: String::new(),
        }
    }
}

impl std::error::Error for PrometheusError {}

impl BackendFailure for PrometheusError {
    fn datasource(&self) -> (&str, &str) {
        (&self.datasource, &self.url)
    }

    fn advice(&self) -> &'static str {
        match &self.kind {
            ErrorKind::BadData => "fix the request as the message says",
            ErrorKind::Timeout => {
                "the query took too long: narrow it with label matchers, aggregate (sum by (...)), or shorten the range"
            }
            ErrorKind::Execution => {
                "the query is too expensive: add label matchers, aggregate, shorten the range or raise the step"
            }
            ErrorKind::Transport(HttpError::TooLarge) => {
                "the answer is too large: add label matchers, aggregate with sum by (...), shorten the range or raise the step"
            }
            ErrorKind::Transport(HttpError::Timeout) => {
                "the datasource did not answer in time: narrow the query (label matchers, aggregation, shorter range), or try again if it is overloaded"
            }
            ErrorKind::Transport(e) => transport_advice(e),
            ErrorKind::ServerError | ErrorKind::ClientError
                if status_advice(self.status).is_some() =>
            {
                status_advice(self.status).unwrap_or_default()
            }
            ErrorKind::ClientError if self.status == Some(404) => {
                "the datasource URL may be wrong (it should be the Prometheus base URL, without /api/v1)"
            }
            _ => "the datasource failed; try again, or simplify the query",
        }
    }
}

/// The `data` of a successful answer with the warnings and infos that came with it.
#[derive(Debug, Clone)]
pub struct ApiResult {
    /// The envelope's `data` member; for a vector or matrix answer, without its `result`, which is
    /// in `series`.
    pub data: Value,
    /// The series of a vector or matrix answer, each still as its JSON text: a tool parses in full
    /// only those it shows (all of them when they are small), so a large answer costs about its own
    /// size in memory, not the several times more a parsed tree of every sample would.
    pub series: Vec<Box<RawValue>>,
    /// Server warnings (e.g. "results truncated due to limit").
    pub warnings: Vec<String>,
    /// Server infos (e.g. PromQL annotations like "metric might not be a counter").
    pub infos: Vec<String>,
}

/// A client for one metrics datasource.
pub struct Client<'a> {
    connection: Connection<'a>,
    settings: &'a MetricsSettings,
}

impl<'a> Client<'a> {
    /// A client over `connection`; `None` when its datasource is not a metrics datasource.
    pub fn new(connection: Connection<'a>) -> Option<Self> {
        let settings = connection.datasource().metrics()?;
        Some(Client {
            connection,
            settings,
        })
    }

    /// The datasource's id.
    pub fn name(&self) -> &'a str {
        &self.connection.datasource().name
    }

    /// The datasource's metrics settings (flavour, method, scrape interval).
    pub fn settings(&self) -> &'a MetricsSettings {
        self.settings
    }

    /// `/api/v1/query`: evaluates `expr` at `time` (Unix seconds).
    pub fn query(&self, expr: &str, time: f64) -> Result<ApiResult, PrometheusError> {
        let params = vec![
            ("query", expr.to_string()),
            ("time", api_time(time)),
            ("timeout", self.timeout_param()),
        ];
        self.form(endpoint::QUERY, &params)
    }

    /// `/api/v1/query_range`: evaluates `expr` from `start` to `end` every `step` seconds.
    pub fn query_range(
        &self,
        expr: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<ApiResult, PrometheusError> {
        let params = vec![
            ("query", expr.to_string()),
            ("start", api_time(start)),
            ("end", api_time(end)),
            ("step", api_time(step)),
            ("timeout", self.timeout_param()),
        ];
        self.form(endpoint::QUERY_RANGE, &params)
    }

    /// `/api/v1/labels`: label names of series matching any of `matchers` within `[start, end]`.
    pub fn labels(
        &self,
        matchers: &[String],
        start: f64,
        end: f64,
    ) -> Result<ApiResult, PrometheusError> {
        self.form(endpoint::LABELS, &window(matchers, start, end))
    }

    /// `/api/v1/label/<name>/values`: values of `label` (any label name; it is escaped for the path
    /// as the flavour expects) on series matching `matchers` within `[start, end]`.
    pub fn label_values(
        &self,
        label: &str,
        matchers: &[String],
        start: f64,
        end: f64,
    ) -> Result<ApiResult, PrometheusError> {
        let path = format!(
            "{}/{}/values",
            endpoint::LABEL,
            label_path_segment(label, self.settings.flavour)
        );
        // The label values endpoint is GET-only in Prometheus.
        self.finish(self.connection.get(&path, &window(matchers, start, end)))
    }

    /// `/api/v1/metadata?metric=<name>`: type, help and unit as scraped.
    pub fn metadata(&self, metric: &str) -> Result<ApiResult, PrometheusError> {
        let params = [("metric", metric.to_string())];
        self.finish(self.connection.get(endpoint::METADATA, &params))
    }

    /// 90% of our deadline: Prometheus gives up first and says so (`errorType: timeout`), instead of
    /// our transport timing out with no explanation.
    fn timeout_param(&self) -> String {
        format!(
            "{}ms",
            (self.connection.timeout().as_millis() * 9 / 10).max(1)
        )
    }

    /// A query endpoint, with the datasource's method (POST unless it says GET).
    fn form(&self, path: &str, params: &[(&str, String)]) -> Result<ApiResult, PrometheusError> {
        let method: HttpMethod = self.settings.http_method;
        self.finish(self.connection.send_form(method, path, params))
    }

    /// [`decode`], with the datasource named and our credentials scrubbed from the message.
    fn finish(
        &self,
        response: Result<HttpResponse, HttpError>,
    ) -> Result<ApiResult, PrometheusError> {
        decode(response).map_err(|mut e| {
            self.connection
                .attribute(&mut e.message, &mut e.datasource, &mut e.url);
            e
        })
    }
}

/// `start`, `end` and one `match[]` per matcher.
fn window(matchers: &[String], start: f64, end: f64) -> Vec<(&'static str, String)> {
    let mut params = vec![("start", api_time(start)), ("end", api_time(end))];
    params.extend(matchers.iter().map(|m| ("match[]", m.clone())));
    params
}

/// The label name as a URL path segment: legacy names as they are; others in Prometheus 3's `U__`
/// escaping (`_` → `__`, other characters → `_<hex>_`) where the flavour knows it, percent-encoded
/// elsewhere.
fn label_path_segment(name: &str, flavour: Flavour) -> String {
    let legacy = name
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if legacy {
        return name.to_string();
    }
    if !flavour.escapes_label_names_in_paths() {
        // '.' too: a label named '..' must not become a path step.
        return crate::http::url_encode(name).replace('.', "%2E");
    }
    let mut out = String::from("U__");
    for (i, c) in name.chars().enumerate() {
        match c {
            '_' => out.push_str("__"),
            c if c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()) => out.push(c),
            c => out.push_str(&format!("_{:x}_", c as u32)),
        }
    }
    out
}

/// Reads the envelope: 2xx and 400/422 carry it; other statuses keep (a prefix of) the raw body.
fn decode(response: Result<HttpResponse, HttpError>) -> Result<ApiResult, PrometheusError> {
    let response =
        response.map_err(|e| PrometheusError::new(e.to_string(), ErrorKind::Transport(e), None))?;
    let status = response.status;
    // A derived struct would also accept a JSON array: the envelope must be an object.
    let envelope = serde_json::from_slice::<Envelope>(&response.body)
        .ok()
        .filter(|_| response.body.trim_ascii_start().starts_with(b"{"));
    let Some(envelope) = envelope else {
        let kind = match status {
            200..=299 => ErrorKind::BadResponse,
            400..=499 => ErrorKind::ClientError,
            _ => ErrorKind::ServerError,
        };
        let message = match status {
            200..=299 => format!(
                "not a Prometheus API response: {}",
                body_excerpt(&response.body)
            ),
            _ => body_excerpt(&response.body),
        };
        return Err(PrometheusError::new(message, kind, Some(status)));
    };
    let strings = |v: Option<Value>| -> Vec<String> {
        match v {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    if envelope.status == "success" && (200..300).contains(&status) {
        let Data { tree, series } = envelope.data.unwrap_or_default();
        return Ok(ApiResult {
            data: tree,
            series,
            warnings: strings(envelope.warnings),
            infos: strings(envelope.infos),
        });
    }
    let text = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).map(str::to_string);
    let error_type = text(&envelope.error_type).unwrap_or_else(|| "unknown".to_string());
    let message = text(&envelope.error).unwrap_or_else(|| "no error message".to_string());
    let kind = match error_type.as_str() {
        "bad_data" => ErrorKind::BadData,
        "timeout" => ErrorKind::Timeout,
        "execution" => ErrorKind::Execution,
        _ => ErrorKind::Server(error_type),
    };
    Err(PrometheusError::new(message, kind, Some(status)))
}

/// The API envelope, read in one pass over the body, `data` included.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(rename = "errorType", default)]
    error_type: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    warnings: Option<Value>,
    #[serde(default)]
    infos: Option<Value>,
}

/// The envelope's `data`: the series of a vector or matrix answer kept as text (see [`ApiResult`]),
/// with only `resultType` left in the tree; any other `data` (a label list, a scalar) as a tree.
/// Read while the envelope is, so a large answer is scanned once, not once per layer.
#[derive(Default)]
struct Data {
    tree: Value,
    series: Vec<Box<RawValue>>,
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DataVisitor)
    }
}

/// A member of `data` as read: an array's items still as text, anything else as a tree.
enum Member {
    Items(Vec<Box<RawValue>>),
    Tree(Value),
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MemberVisitor)
    }
}

/// Reads `data`: an object is taken member by member (its `result` as a [`Member`]), an array (a
/// list of names or values) is a tree. Prometheus' `data` is never a bare string or number.
struct DataVisitor;

impl<'de> serde::de::Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the data of a Prometheus API response")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let mut members = serde_json::Map::new();
        let mut result = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "result" {
                result = Some(map.next_value::<Member>()?);
            } else {
                members.insert(key, map.next_value()?);
            }
        }
        let result_type = members.get("resultType").and_then(Value::as_str);
        let result = match result {
            Some(Member::Items(series)) if matches!(result_type, Some("vector" | "matrix")) => {
                let tree = serde_json::json!({ "resultType": result_type });
                return Ok(Data { tree, series });
            }
            Some(member) => member.into_tree().map_err(serde::de::Error::custom)?,
            None => return Ok(Data::tree(Value::Object(members))),
        };
        members.insert("result".into(), result);
        Ok(Data::tree(Value::Object(members)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Data, A::Error> {
        Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Data::tree)
    }
}

impl Data {
    fn tree(tree: Value) -> Self {
        Data {
            tree,
            series: Vec::new(),
        }
    }
}

impl Member {
    /// The member as a tree: an array's items parsed from their text.
    fn into_tree(self) -> serde_json::Result<Value> {
        match self {
            Member::Items(items) => items
                .iter()
                .map(|raw| serde_json::from_str(raw.get()))
                .collect::<Result<Vec<Value>, _>>()
                .map(Value::Array),
            Member::Tree(tree) => Ok(tree),
        }
    }
}

/// Reads a member of `data`: an array item by item as text, anything else as a tree.
struct MemberVisitor;

impl<'de> serde::de::Visitor<'de> for MemberVisitor {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Member, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Box<RawValue>>()? {
            items.push(item);
        }
        Ok(Member::Items(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Member, A::Error> {
        Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Member::Tree)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Member, E> {
        Ok(Member::Tree(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Member, E> {
        Ok(Member::Tree(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Member, E> {
        Ok(Member::Tree(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Member, E> {
        Ok(Member::Tree(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Member, E> {
        Ok(Member::Tree(v.into()))
    }

    fn visit_unit<E>(self) -> Result<Member, E> {
        Ok(Member::Tree(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasources::{self, Datasource};
    use crate::http::{HttpClient, HttpRequest, Method};
    use std::cell::RefCell;
    use std::time::Duration;

    /// Records requests and answers each with the next canned response.
    struct Fake {
        seen: RefCell<Vec<HttpRequest>>,
        answers: RefCell<Vec<Result<HttpResponse, HttpError>>>,
    }

    impl Fake {
        fn new(answers: Vec<Result<HttpResponse, HttpError>>) -> Self {
            Fake {
                seen: RefCell::new(Vec::new()),
                answers: RefCell::new(answers.into_iter().rev().collect()),
            }
        }
    }

    impl HttpClient for Fake {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            self.seen.borrow_mut().push(request.clone());
            self.answers.borrow_mut().pop().expect("an answer")
        }
    }

    fn ok(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse {
            status,
            body: body.as_bytes().to_vec(),
        })
    }

    fn datasource(extra: &str) -> Datasource {
        let yaml = format!(
            "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:9090/prefix/\n{extra}"
        );
        let set = datasources::parse(&yaml, "t.yaml", &|_| None).unwrap();
        set.all()[0].clone()
    }

    fn client<'a>(ds: &'a Datasource, fake: &'a Fake, timeout: Duration) -> Client<'a> {
        Client::new(Connection::new(ds, fake, timeout)).expect("a metrics datasource")
    }

    #[test]
    fn query_is_a_post_form_with_datasource_headers_and_basic_auth() {
        let ds = datasource(
            "  basicAuth: true\n  basicAuthUser: u\n  jsonData:\n    httpHeaderName1: X-Scope-OrgID\n  secureJsonData:\n    basicAuthPassword: pw\n    httpHeaderValue1: tenant-a\n",
        );
        let fake = Fake::new(vec![ok(
            200,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]},"warnings":["w"],"infos":["i"]}"#,
        )]);
        let client = client(&ds, &fake, Duration::from_secs(30));
        let r = client.query("up{job=\"a\"}", 1000.0).unwrap();
        assert_eq!(r.warnings, vec!["w"]);
        assert_eq!(r.infos, vec!["i"]);
        assert_eq!(r.data["resultType"], "scalar");
        let seen = fake.seen.borrow();
        let req = &seen[0];
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "http://127.0.0.1:9090/prefix/api/v1/query");
        let body = String::from_utf8(req.body.clone().unwrap()).unwrap();
        assert_eq!(
            body,
            "query=up%7Bjob%3D%22a%22%7D&time=1000&timeout=27000ms"
        );
        assert!(
            req.headers
                .contains(&("X-Scope-OrgID".to_string(), "tenant-a".to_string()))
        );
        assert!(
            req.headers
                .contains(&("Authorization".to_string(), "Basic dTpwdw==".to_string()))
        );
    }

    #[test]
    fn data_is_read_in_one_pass_series_as_text_the_rest_as_a_tree() {
        let read = |body: &str| decode(ok(200, body)).unwrap();
        let r = read(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"2"]]}, {"metric":{}}],"stats":{"x":1}}}"#,
        );
        assert_eq!(r.data, serde_json::json!({"resultType": "matrix"}));
        let texts: Vec<&str> = r.series.iter().map(|s| s.get()).collect();
        assert_eq!(
            texts,
            [
                r#"{"metric":{"a":"1"},"values":[[1,"2"]]}"#,
                r#"{"metric":{}}"#
            ]
        );
        // `result` before `resultType`: the type is known only at the end of the object.
        let r = read(
            r#"{"status":"success","data":{"result":[{"value":[1,"2"]}],"resultType":"vector"}}"#,
        );
        assert_eq!(r.series.len(), 1);
        let r = read(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#);
        assert_eq!(
            r.data,
            serde_json::json!({"resultType": "scalar", "result": [1, "2"]})
        );
        assert!(r.series.is_empty());
        let r = read(r#"{"status":"success","data":{"resultType":"vector","result":null}}"#);
        assert_eq!(
            r.data,
            serde_json::json!({"resultType": "vector", "result": null})
        );
        assert_eq!(
            read(r#"{"status":"success","data":["up","go_gc"]}"#).data,
            serde_json::json!(["up", "go_gc"])
        );
        assert_eq!(read(r#"{"status":"success"}"#).data, Value::Null);
        let bare = decode(ok(200, r#"{"status":"success","data":5}"#)).unwrap_err();
        assert_eq!(bare.kind, ErrorKind::BadResponse);
        assert_eq!(
            read(r#"{"status":"success","data":{"a":{"b":[1]}}}"#).data,
            serde_json::json!({"a": {"b": [1]}})
        );
    }

    #[test]
    fn post_falls_back_to_get_on_405() {
        let ds = datasource("");
        let fake = Fake::new(vec![
            ok(405, "method not allowed"),
            ok(200, r#"{"status":"success","data":[]}"#),
        ]);
        let client = client(&ds, &fake, Duration::from_secs(5));
        client.query_range("up", 0.0, 60.0, 15.0).unwrap();
        let seen = fake.seen.borrow();
        assert_eq!(seen[1].method, Method::Get);
        assert!(
            seen[1]
                .url
                .ends_with("/api/v1/query_range?query=up&start=0&end=60&step=15&timeout=4500ms")
        );
    }

    #[test]
    fn get_datasources_never_post() {
        let ds = datasource("  jsonData:\n    httpMethod: GET\n");
        let fake = Fake::new(vec![ok(200, r#"{"status":"success","data":[]}"#)]);
        client(&ds, &fake, Duration::from_secs(5))
            .query("up", 1.0)
            .unwrap();
        assert_eq!(fake.seen.borrow()[0].method, Method::Get);
    }

    #[test]
    fn errors_are_classified_by_status_and_body() {
        let ds = datasource("");
        let cases: Vec<(Result<HttpResponse, HttpError>, ErrorKind)> = vec![
            (
                ok(
                    400,
                    r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
                ),
                ErrorKind::BadData,
            ),
            (
                ok(
                    422,
                    r#"{"status":"error","errorType":"execution","error":"too many samples"}"#,
                ),
                ErrorKind::Execution,
            ),
            (
                ok(
                    503,
                    r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#,
                ),
                ErrorKind::Timeout,
            ),
            (ok(502, "<html>bad gateway</html>"), ErrorKind::ServerError),
            (ok(401, "Unauthorized"), ErrorKind::ClientError),
            (ok(200, "{not json"), ErrorKind::BadResponse),
            (
                Err(HttpError::Connect("refused".into())),
                ErrorKind::Transport(HttpError::Connect("refused".into())),
            ),
        ];
        for (answer, kind) in cases {
            let fake = Fake::new(vec![answer]);
            let e = client(&ds, &fake, Duration::from_secs(5))
                .labels(&[], 0.0, 1.0)
                .unwrap_err();
            assert_eq!(e.kind, kind, "{e}");
        }
    }

    #[test]
    fn echoed_credentials_are_scrubbed_from_errors() {
        let ds = datasource(
            "  basicAuth: true\n  basicAuthUser: u\n  jsonData:\n    httpHeaderName1: X-Api-Key\n  secureJsonData:\n    basicAuthPassword: pw-secret\n    httpHeaderValue1: key-secret\n",
        );
        let page =
            "<h1>502</h1> X-Api-Key: key-secret Authorization: Basic dTpwdy1zZWNyZXQ= pw-secret";
        let fake = Fake::new(vec![ok(502, page)]);
        let e = client(&ds, &fake, Duration::from_secs(5))
            .query("up", 1.0)
            .unwrap_err();
        assert!(
            !e.message.contains("secret") && !e.message.contains("dTpwdy1zZWNyZXQ="),
            "{e}"
        );
        assert!(e.message.contains("<redacted>"), "{e}");
    }

    #[test]
    fn label_values_use_get_with_matchers_and_window() {
        let ds = datasource("");
        let fake = Fake::new(vec![ok(200, r#"{"status":"success","data":["a"]}"#)]);
        let r = client(&ds, &fake, Duration::from_secs(5))
            .label_values("job", &["{__name__=\"up\"}".into()], 10.0, 20.0)
            .unwrap();
        assert_eq!(r.data, serde_json::json!(["a"]));
        let seen = fake.seen.borrow();
        assert_eq!(seen[0].method, Method::Get);
        assert!(
            seen[0].url.ends_with(
                "/api/v1/label/job/values?start=10&end=20&match%5B%5D=%7B__name__%3D%22up%22%7D"
            ),
            "{}",
            seen[0].url
        );
    }

    #[test]
    fn label_names_are_escaped_for_the_path_as_the_flavour_expects() {
        use Flavour::{Prometheus, Thanos, VictoriaMetrics};
        assert_eq!(label_path_segment("job", Prometheus), "job");
        assert_eq!(label_path_segment("__name__", VictoriaMetrics), "__name__");
        assert_eq!(label_path_segment("k8s.pod", Prometheus), "U__k8s_2e_pod");
        assert_eq!(label_path_segment("k8s.pod", Thanos), "U__k8s_2e_pod");
        assert_eq!(label_path_segment("a_b/c", Prometheus), "U__a__b_2f_c");
        assert_eq!(label_path_segment("../x", Prometheus), "U___2e__2e__2f_x");
        assert_eq!(label_path_segment("k8s.pod", VictoriaMetrics), "k8s%2Epod");
        assert_eq!(label_path_segment("..", VictoriaMetrics), "%2E%2E");
    }

    #[test]
    fn errors_name_the_datasource_and_a_shorter_datasource_timeout_wins() {
        let ds = datasource("  jsonData:\n    timeout: 2\n");
        let fake = Fake::new(vec![Err(HttpError::Timeout)]);
        let e = client(&ds, &fake, Duration::from_secs(30))
            .query("up", 1.0)
            .unwrap_err();
        assert_eq!(
            (e.datasource.as_str(), e.url.as_str()),
            ("p", "http://127.0.0.1:9090/prefix")
        );
        assert_eq!(fake.seen.borrow()[0].timeout, Duration::from_secs(2));
        // The server's own bound stays the limit when the datasource asks for more.
        let ds = datasource("  jsonData:\n    timeout: 300\n");
        let fake = Fake::new(vec![ok(200, r#"{"status":"success","data":[]}"#)]);
        client(&ds, &fake, Duration::from_secs(30))
            .labels(&[], 0.0, 1.0)
            .unwrap();
        assert_eq!(fake.seen.borrow()[0].timeout, Duration::from_secs(30));
    }
}
