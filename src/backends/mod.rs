//! Backends: one request path for every datasource ([`Connection`]) and one small client per backend
//! over it ([`prometheus`], [`clickhouse`], [`loki`], [`tempo`]).
//!
//! [`Connection`] is where a request gets the datasource's headers, basic auth, `Accept`, its time
//! bound, the POST→GET fallback, and where anything a backend echoes back is scrubbed of our
//! credentials. A backend client knows its endpoints and its answer format, and has its own error type
//! that keeps the server's message and error class ([`BackendFailure`] says how to explain it to a
//! model). TLS, pooling and the egress allow-list are the host's business (below [`HttpClient`]);
//! shaping results for a model is the tools' business.

use std::time::Duration;

use base64::Engine;

pub use api_error::{Api, ApiError, ApiErrorKind};

use crate::datasources::{Datasource, HttpMethod};
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, Method, form_encode};

mod api_error;
pub mod clickhouse;
pub mod loki;
pub mod prometheus;
pub(crate) mod quoting;
pub mod tempo;

/// One series of a Loki or Tempo metric query: its labels and `(unix seconds, value)` samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' labels, values as the server wrote them (strings, or numbers for Tempo).
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// Samples in time order.
    pub samples: Vec<(f64, f64)>,
}

/// A datasource, the way to reach it and the time one request may take.
#[derive(Clone, Copy)]
pub struct Connection<'a> {
    datasource: &'a Datasource,
    http: &'a dyn HttpClient,
    timeout: Duration,
}

impl<'a> Connection<'a> {
    /// A connection to `datasource` over `http`. Each request may take `timeout`, or the datasource's
    /// own `jsonData.timeout` when that is shorter.
    pub fn new(datasource: &'a Datasource, http: &'a dyn HttpClient, timeout: Duration) -> Self {
        let timeout = datasource.timeout.map_or(timeout, |own| own.min(timeout));
        Connection {
            datasource,
            http,
            timeout,
        }
    }

    /// The datasource this connection reaches.
    pub fn datasource(&self) -> &'a Datasource {
        self.datasource
    }

    /// The time one request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `params` to `path` as a form: a POST body, or the query string when `method` is GET. A POST
    /// answered 405 or 501 is sent again as a GET, as Prometheus' own client does.
    pub fn send_form(
        &self,
        method: HttpMethod,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<HttpResponse, HttpError> {
        if method == HttpMethod::Get {
            return self.get(path, params);
        }
        let mut request = self.request(Method::Post, format!("{}{path}", self.datasource.url));
        request.headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        request.body = Some(form_encode(params).into_bytes());
        match self.http.send(&request) {
            Ok(r) if r.status == 405 || r.status == 501 => self.get(path, params),
            other => other,
        }
    }

    /// A GET of `path` with `params` in the query string.
    pub fn get(&self, path: &str, params: &[(&str, String)]) -> Result<HttpResponse, HttpError> {
        let url = format!("{}{path}?{}", self.datasource.url, form_encode(params));
        self.http.send(&self.request(Method::Get, url))
    }

    /// A POST of `body` (of `content_type`) to `path`, with `query` in the query string.
    pub fn post(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<HttpResponse, HttpError> {
        let url = format!("{}{path}?{}", self.datasource.url, form_encode(query));
        let mut request = self.request(Method::Post, url);
        request
            .headers
            .push(("Content-Type".into(), content_type.into()));
        request.body = Some(body);
        self.http.send(&request)
    }

    /// `text` with every credential this connection sends replaced by `<redacted>`: a proxy's error
    /// page may echo request headers, and backend messages go to the model.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets() {
            if out.contains(&secret) {
                out = out.replace(&secret, "<redacted>");
            }
        }
        out
    }

    /// Ties a backend error to this connection: its message scrubbed of our credentials, and the
    /// datasource's id and URL filled in. Every client calls this on every error it hands out.
    pub fn attribute(&self, message: &mut String, datasource: &mut String, url: &mut String) {
        *message = self.scrub(message);
        datasource.clone_from(&self.datasource.name);
        url.clone_from(&self.datasource.url);
    }

    /// Credentials this connection sends.
    fn secrets(&self) -> Vec<String> {
        let ds = self.datasource;
        let mut secrets: Vec<String> = ds
            .headers
            .iter()
            .map(|(_, v)| v.expose().to_string())
            .collect();
        if let Some(auth) = &ds.basic_auth {
            secrets.push(auth.password.expose().to_string());
            secrets.push(basic_credentials(&auth.user, auth.password.expose()));
        }
        // Very short values would scrub ordinary words; header values that short are not secrets.
        secrets.retain(|s| s.len() >= 4);
        secrets
    }

    /// A request to `url` with the datasource's headers, basic auth and `Accept: application/json`.
    fn request(&self, method: Method, url: String) -> HttpRequest {
        let ds = self.datasource;
        let mut headers: Vec<(String, String)> = ds
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.expose().to_string()))
            .collect();
        if let Some(auth) = &ds.basic_auth {
            let credentials = basic_credentials(&auth.user, auth.password.expose());
            headers.push(("Authorization".into(), format!("Basic {credentials}")));
        }
        headers.push(("Accept".into(), "application/json".into()));
        HttpRequest {
            method,
            url,
            headers,
            body: None,
            timeout: self.timeout,
        }
    }
}

/// `base64(user:password)` as HTTP basic auth sends it.
fn basic_credentials(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// A backend error as tools report it: what failed, where, and what a model can do about it.
pub trait BackendFailure: std::fmt::Display {
    /// The datasource's id and URL.
    fn datasource(&self) -> (&str, &str);
    /// What to do next, in a few words a model can act on.
    fn advice(&self) -> &'static str;
}

/// Advice for a request that got no answer, the same for every backend.
pub fn transport_advice(e: &HttpError) -> &'static str {
    match e {
        HttpError::TooLarge => {
            "the answer is too large: narrow the query (filters, aggregation, a shorter range or a coarser step)"
        }
        HttpError::Timeout => {
            "the datasource did not answer in time: narrow the query (filters, aggregation, shorter range), or try again if it is overloaded"
        }
        HttpError::Denied(_) => {
            "the host does not allow this destination; only configured datasource origins are reachable"
        }
        _ => {
            "the datasource is unreachable: it may be down; try again later or use another datasource"
        }
    }
}

/// Advice for an HTTP status that came without the backend's own error format, when the status
/// alone says what to do (credentials, redirects); `None` otherwise.
pub fn status_advice(status: Option<u16>) -> Option<&'static str> {
    match status? {
        401 | 403 => Some(
            "the datasource refused our credentials: check its headers/basicAuth in the datasources file",
        ),
        300..=399 => Some(
            "the datasource URL redirects: set its url to the final address (https://, or the right path prefix)",
        ),
        _ => None,
    }
}

/// The first 300 characters of a body, on one line, for error messages.
pub fn body_excerpt(body: &[u8]) -> String {
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
