//! The Prometheus HTTP API client: one method per endpoint, the response envelope, classified errors.
//!
//! Requests carry the datasource's own headers and basic auth (never the MCP caller's token) and go
//! out as POST forms (long expressions fit), falling back to GET when the server answers 405/501 or the
//! datasource says `httpMethod: GET`. Warnings and infos from the server are kept with every result.
//! Shaping results for a model is the tools' business, not this module's.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::datasources::{Datasource, HttpMethod};
use crate::http::{HttpClient, HttpError, HttpRequest, Method, form_encode};
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
    /// The server's `error` text or a description of what came back.
    pub message: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
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

impl std::error::Error for PrometheusError {}

/// The `data` of a successful answer with the warnings and infos that came with it.
#[derive(Debug, Clone)]
pub struct ApiResult {
    /// The envelope's `data` member; for a vector or matrix answer, without its `result`, which is
    /// in `series`.
    pub data: Value,
    /// The series of a vector or matrix answer, each still as its JSON text: a tool parses in full
    /// only those it shows, so a large answer costs about its own size in memory, not the several
    /// times more a parsed tree of every sample would.
    pub series: Vec<Box<RawValue>>,
    /// Server warnings (e.g. "results truncated due to limit").
    pub warnings: Vec<String>,
    /// Server infos (e.g. PromQL annotations like "metric might not be a counter").
    pub infos: Vec<String>,
}

/// A client for one datasource.
pub struct Client<'a> {
    datasource: &'a Datasource,
    http: &'a dyn HttpClient,
    timeout: Duration,
}

impl<'a> Client<'a> {
    /// A client for `datasource` over `http`, with `timeout` for each request (also sent to Prometheus as the
    /// query `timeout` so evaluation stops when nobody waits any more).
    pub fn new(datasource: &'a Datasource, http: &'a dyn HttpClient, timeout: Duration) -> Self {
        Client {
            datasource,
            http,
            timeout,
        }
    }

    /// `/api/v1/query`: evaluates `expr` at `time` (Unix seconds).
    pub fn query(&self, expr: &str, time: f64) -> Result<ApiResult, PrometheusError> {
        let params = vec![
            ("query", expr.to_string()),
            ("time", api_time(time)),
            ("timeout", self.timeout_param()),
        ];
        self.call(endpoint::QUERY, &params)
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
        self.call(endpoint::QUERY_RANGE, &params)
    }

    /// `/api/v1/labels`: label names of series matching any of `matchers` within `[start, end]`.
    pub fn labels(
        &self,
        matchers: &[String],
        start: f64,
        end: f64,
    ) -> Result<ApiResult, PrometheusError> {
        let mut params = window(start, end);
        params.extend(matchers.iter().map(|m| ("match[]", m.clone())));
        self.call(endpoint::LABELS, &params)
    }

    /// `/api/v1/label/<name>/values`: values of `label` on series matching `matchers` within `[start, end]`.
    /// `label` must be a valid label name (checked by the caller) so it is safe in the path.
    pub fn label_values(
        &self,
        label: &str,
        matchers: &[String],
        start: f64,
        end: f64,
    ) -> Result<ApiResult, PrometheusError> {
        let mut params = window(start, end);
        params.extend(matchers.iter().map(|m| ("match[]", m.clone())));
        // The label values endpoint is GET-only in Prometheus.
        self.get(&format!("{}/{label}/values", endpoint::LABEL), &params)
    }

    /// `/api/v1/metadata?metric=<name>`: type, help and unit as scraped.
    pub fn metadata(&self, metric: &str) -> Result<ApiResult, PrometheusError> {
        self.get(endpoint::METADATA, &[("metric", metric.to_string())])
    }

    /// 90% of our deadline: Prometheus gives up first and says so (`errorType: timeout`), instead of
    /// our transport timing out with no explanation.
    fn timeout_param(&self) -> String {
        format!("{}ms", (self.timeout.as_millis() * 9 / 10).max(1))
    }

    /// Credentials this client sends; scrubbed from anything a backend echoes back.
    fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .datasource
            .headers
            .iter()
            .map(|(_, v)| v.expose().to_string())
            .collect();
        if let Some(auth) = &self.datasource.basic_auth {
            secrets.push(auth.password.expose().to_string());
            secrets.push(basic_credentials(&auth.user, auth.password.expose()));
        }
        // Very short values would scrub ordinary words; header values that short are not secrets.
        secrets.retain(|s| s.len() >= 4);
        secrets
    }

    /// POST form unless the datasource asks for GET; GET again on 405/501 as Prometheus' own client does.
    fn call(&self, path: &str, params: &[(&str, String)]) -> Result<ApiResult, PrometheusError> {
        if self.datasource.http_method == HttpMethod::Get {
            return self.get(path, params);
        }
        let request = self.request(Method::Post, path, params);
        match self.http.send(&request) {
            Ok(r) if r.status == 405 || r.status == 501 => self.get(path, params),
            other => self.decode(other),
        }
    }

    fn get(&self, path: &str, params: &[(&str, String)]) -> Result<ApiResult, PrometheusError> {
        self.decode(self.http.send(&self.request(Method::Get, path, params)))
    }

    /// [`decode`], with our credentials scrubbed from the message: a proxy's error page may echo
    /// request headers.
    fn decode(
        &self,
        response: Result<crate::http::HttpResponse, HttpError>,
    ) -> Result<ApiResult, PrometheusError> {
        decode(response).map_err(|mut e| {
            for secret in self.secrets() {
                e.message = e.message.replace(&secret, "<redacted>");
            }
            e
        })
    }

    fn request(&self, method: Method, path: &str, params: &[(&str, String)]) -> HttpRequest {
        let form = form_encode(params);
        let mut headers: Vec<(String, String)> = self
            .datasource
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.expose().to_string()))
            .collect();
        if let Some(auth) = &self.datasource.basic_auth {
            let credentials = basic_credentials(&auth.user, auth.password.expose());
            headers.push(("Authorization".into(), format!("Basic {credentials}")));
        }
        headers.push(("Accept".into(), "application/json".into()));
        let (url, body) = match method {
            Method::Get => (format!("{}{path}?{form}", self.datasource.url), None),
            Method::Post => {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
                (
                    format!("{}{path}", self.datasource.url),
                    Some(form.into_bytes()),
                )
            }
        };
        HttpRequest {
            method,
            url,
            headers,
            body,
            timeout: self.timeout,
        }
    }
}

/// `base64(user:password)` as HTTP basic auth sends it.
fn basic_credentials(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn window(start: f64, end: f64) -> Vec<(&'static str, String)> {
    vec![("start", api_time(start)), ("end", api_time(end))]
}

/// Reads the envelope: 2xx and 400/422 carry it; other statuses keep (a prefix of) the raw body.
fn decode(
    response: Result<crate::http::HttpResponse, HttpError>,
) -> Result<ApiResult, PrometheusError> {
    let response = response.map_err(|e| PrometheusError {
        message: e.to_string(),
        kind: ErrorKind::Transport(e),
        status: None,
    })?;
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
        return Err(PrometheusError {
            kind,
            message,
            status: Some(status),
        });
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
        let (data, series) = read_data(envelope.data).map_err(|e| PrometheusError {
            kind: ErrorKind::BadResponse,
            message: format!("not a Prometheus API response: {e}"),
            status: Some(status),
        })?;
        return Ok(ApiResult {
            data,
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
    Err(PrometheusError {
        kind,
        message,
        status: Some(status),
    })
}

/// The API envelope, with `data` left as text until we know what it holds.
#[derive(Deserialize)]
struct Envelope<'a> {
    status: String,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "errorType", default)]
    error_type: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    warnings: Option<Value>,
    #[serde(default)]
    infos: Option<Value>,
}

/// The `data` of a vector or matrix answer.
#[derive(Deserialize)]
struct QueryData<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(borrow)]
    result: Vec<&'a RawValue>,
}

/// `data` as a tree, except the series of a vector or matrix, which stay text (see [`ApiResult`]).
fn read_data(data: Option<&RawValue>) -> serde_json::Result<(Value, Vec<Box<RawValue>>)> {
    let Some(data) = data else {
        return Ok((Value::Null, Vec::new()));
    };
    // Only an object can be query data: a label list goes straight to the full parse.
    if data.get().starts_with('{')
        && let Ok(query) = serde_json::from_str::<QueryData>(data.get())
        && matches!(query.result_type.as_str(), "vector" | "matrix")
    {
        let series = query.result.into_iter().map(ToOwned::to_owned).collect();
        return Ok((serde_json::json!({"resultType": query.result_type}), series));
    }
    Ok((serde_json::from_str(data.get())?, Vec::new()))
}

/// The first 300 characters of a body, on one line, for error messages.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty body)".into();
    }
    match one_line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasources;
    use crate::http::HttpResponse;
    use std::cell::RefCell;

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

    #[test]
    fn query_is_a_post_form_with_datasource_headers_and_basic_auth() {
        let ds = datasource(
            "  basicAuth: true\n  basicAuthUser: u\n  jsonData:\n    httpHeaderName1: X-Scope-OrgID\n  secureJsonData:\n    basicAuthPassword: pw\n    httpHeaderValue1: tenant-a\n",
        );
        let fake = Fake::new(vec![ok(
            200,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]},"warnings":["w"],"infos":["i"]}"#,
        )]);
        let client = Client::new(&ds, &fake, Duration::from_secs(30));
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
    fn post_falls_back_to_get_on_405() {
        let ds = datasource("");
        let fake = Fake::new(vec![
            ok(405, "method not allowed"),
            ok(200, r#"{"status":"success","data":[]}"#),
        ]);
        let client = Client::new(&ds, &fake, Duration::from_secs(5));
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
        Client::new(&ds, &fake, Duration::from_secs(5))
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
            let e = Client::new(&ds, &fake, Duration::from_secs(5))
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
        let e = Client::new(&ds, &fake, Duration::from_secs(5))
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
        let r = Client::new(&ds, &fake, Duration::from_secs(5))
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
}
