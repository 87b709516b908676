//! The error of the Loki and Tempo clients: both answer a bad query with HTTP 400 and a plain-text
//! (Tempo, qryn) or JSON (`{"status":"error","error":…}`, Loki) message, so one type serves both,
//! naming which backend answered.

use std::fmt;

use super::{BackendFailure, Connection, body_excerpt, status_advice, transport_advice};
use crate::http::{HttpError, HttpResponse};

/// Which query API answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Loki's.
    Loki,
    /// Tempo's.
    Tempo,
}

impl Api {
    /// `Loki` or `Tempo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Loki => "Loki",
            Api::Tempo => "Tempo",
        }
    }
}

/// How a Loki or Tempo request failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// Occurs when the server refuses the query (HTTP 400/422): a syntax error or an unsupported
    /// feature; its message says which.
    BadQuery,
    /// Occurs when a 2xx answer is not the documented JSON.
    BadResponse,
    /// Occurs on another 4xx (401, 403, 404 from a proxy or a missing endpoint, 429 limits).
    ClientError,
    /// Occurs on a 5xx or 3xx.
    ServerError,
    /// Occurs when no answer arrived.
    Transport(HttpError),
}

/// A failed Loki or Tempo request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// Which API answered.
    pub backend: Api,
    /// The class of failure.
    pub kind: ApiErrorKind,
    /// The server's message (or what came back instead), scrubbed of our credentials.
    pub message: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The datasource's id.
    pub datasource: String,
    /// The datasource's URL.
    pub url: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            ApiErrorKind::BadQuery => "bad_query",
            ApiErrorKind::BadResponse => "bad_response",
            ApiErrorKind::ClientError => "client_error",
            ApiErrorKind::ServerError => "server_error",
            ApiErrorKind::Transport(_) => "transport",
        };
        match self.status {
            Some(s) => write!(
                f,
                "{} {kind} (HTTP {s}): {}",
                self.backend.as_str(),
                self.message
            ),
            None => write!(f, "{} {kind}: {}", self.backend.as_str(), self.message),
        }
    }
}

impl std::error::Error for ApiError {}

impl BackendFailure for ApiError {
    fn datasource(&self) -> (&str, &str) {
        (&self.datasource, &self.url)
    }

    fn advice(&self) -> &'static str {
        match &self.kind {
            ApiErrorKind::BadQuery => {
                "the server refused the query it was sent (echoed as `query`): it may not implement that feature; simplify the filter or aggregation"
            }
            ApiErrorKind::Transport(e) => transport_advice(e),
            ApiErrorKind::ClientError | ApiErrorKind::ServerError
                if status_advice(self.status).is_some() =>
            {
                status_advice(self.status).unwrap_or_default()
            }
            ApiErrorKind::ClientError if self.status == Some(404) => {
                "the endpoint was not found: check the datasource url (its path prefix), or the server does not offer this API"
            }
            ApiErrorKind::ClientError if self.status == Some(429) => {
                "the server's query limits were hit: narrow the filter or shorten the window"
            }
            _ => "the datasource failed; try again, or narrow the query",
        }
    }
}

impl ApiError {
    /// An error of `backend`, tied to `connection` (scrubbed, datasource named).
    pub fn new(
        backend: Api,
        kind: ApiErrorKind,
        message: String,
        status: Option<u16>,
        connection: &Connection,
    ) -> ApiError {
        let mut e = ApiError {
            backend,
            kind,
            message,
            status,
            datasource: String::new(),
            url: String::new(),
        };
        connection.attribute(&mut e.message, &mut e.datasource, &mut e.url);
        e
    }
}

/// The body of a 2xx answer, or the error it is: 400/422 carry the server's message (Loki's
/// `{"error": …}` or plain text).
pub fn checked(
    backend: Api,
    response: Result<HttpResponse, HttpError>,
    connection: &Connection,
) -> Result<Vec<u8>, ApiError> {
    let fail = |kind, message, status| ApiError::new(backend, kind, message, status, connection);
    let response =
        response.map_err(|e| fail(ApiErrorKind::Transport(e.clone()), e.to_string(), None))?;
    let status = response.status;
    if (200..300).contains(&status) {
        return Ok(response.body);
    }
    let message = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str())
                .map(|m| body_excerpt(m.as_bytes()))
        })
        .unwrap_or_else(|| body_excerpt(&response.body));
    let kind = match status {
        400 | 422 => ApiErrorKind::BadQuery,
        400..=499 => ApiErrorKind::ClientError,
        _ => ApiErrorKind::ServerError,
    };
    Err(fail(kind, message, Some(status)))
}

/// A 2xx body that is not the JSON expected.
pub fn bad_response(backend: Api, body: &[u8], connection: &Connection) -> ApiError {
    ApiError::new(
        backend,
        ApiErrorKind::BadResponse,
        format!(
            "not a {} JSON answer: {}",
            backend.as_str(),
            body_excerpt(body)
        ),
        None,
        connection,
    )
}
