//! The one HTTP abstraction the backend clients are written against.
//!
//! Inside the component, [`HttpClient`] is implemented over `wasi:http/outgoing-handler` (in the bindings
//! module); in unit tests, by fakes that serve fixtures. TLS, connection pooling and the egress
//! allow-list are the host's business, not this module's.

use std::fmt;
use std::time::Duration;

/// Largest response body the plugin reads; past it the call fails with [`HttpError::TooLarge`].
pub const MAX_RESPONSE_BYTES: usize = 20 * 1024 * 1024;

/// HTTP request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

/// An outgoing request: absolute URL, headers, optional body, and a deadline for the whole exchange.
#[derive(Clone)]
pub struct HttpRequest {
    /// Request method.
    pub method: Method,
    /// Absolute `http://` or `https://` URL including the query string.
    pub url: String,
    /// Header name/value pairs; values may be secrets, so this type has no `Debug` that shows them.
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    pub body: Option<Vec<u8>>,
    /// Time allowed for connecting, the first byte, and between bytes.
    pub timeout: Duration,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values carry credentials: show names only.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

/// A response read in full (up to [`MAX_RESPONSE_BYTES`]).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response body.
    pub body: Vec<u8>,
}

/// Why a request produced no response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HttpError {
    /// Occurs when the backend did not answer within the deadline.
    Timeout,
    /// Occurs when the host's egress policy refused the destination.
    Denied(String),
    /// Occurs when the connection could not be made (refused, DNS, TLS).
    Connect(String),
    /// Occurs when the response body exceeds [`MAX_RESPONSE_BYTES`].
    TooLarge,
    /// Any other transport failure.
    Other(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::Denied(m) => write!(f, "request denied by the host's egress policy: {m}"),
            HttpError::Connect(m) => write!(f, "connection failed: {m}"),
            HttpError::TooLarge => write!(
                f,
                "response larger than {} MiB",
                MAX_RESPONSE_BYTES / (1024 * 1024)
            ),
            HttpError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for HttpError {}

/// Most requests [`HttpClient::send_all`] keeps in flight at once: enough to overlap the backends
/// of a fan-out or a formula, few enough that one call cannot flood a backend.
pub const MAX_IN_FLIGHT: usize = 8;

/// Sends requests and reads the whole responses.
pub trait HttpClient {
    /// Performs `request`, returning the response or why there was none.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError>;

    /// Performs every request, at most [`MAX_IN_FLIGHT`] at a time where the implementation can
    /// overlap them, and answers in the order of `requests`. The default sends one after another.
    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, HttpError>> {
        requests.iter().map(|r| self.send(r)).collect()
    }
}

/// Percent-encodes `s` for use in a URL query or an `application/x-www-form-urlencoded` body.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Encodes key/value pairs as `a=1&b=2` with [`url_encode`].
pub fn form_encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_escapes_promql_syntax() {
        assert_eq!(url_encode("up{job=\"a b\"}"), "up%7Bjob%3D%22a%20b%22%7D");
        assert_eq!(
            form_encode(&[("match[]", "x".into()), ("q", "a+b".into())]),
            "match%5B%5D=x&q=a%2Bb"
        );
    }

    #[test]
    fn debug_hides_header_values() {
        let r = HttpRequest {
            method: Method::Get,
            url: "http://p/".into(),
            headers: vec![("Authorization".into(), "Bearer s3cret".into())],
            body: None,
            timeout: Duration::from_secs(1),
        };
        let d = format!("{r:?}");
        assert!(d.contains("Authorization") && !d.contains("s3cret"), "{d}");
    }
}
