//! The ClickHouse HTTP interface client: one read-only query per call, SQL in a POST body, values as
//! `param_*` query parameters, and ClickHouse's own limits set from ours so the server stops a query
//! that would run too long or return too much, and says so.

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::schema::{Signal, Table};
use super::sql::Params;
use crate::backends::{BackendFailure, Connection, body_excerpt, status_advice, transport_advice};
use crate::datasources::ClickHouseSettings;
use crate::http::{HttpError, HttpResponse};

/// Most rows one query may return; ClickHouse refuses the query past it (`result_overflow_mode=throw`).
pub const MAX_RESULT_ROWS: u64 = 100_000;
/// Most bytes one query may return, as ClickHouse counts them.
pub const MAX_RESULT_BYTES: u64 = 16 * 1024 * 1024;

/// How a ClickHouse query failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// ClickHouse answered with an exception: its code and name (`62`, `SYNTAX_ERROR`).
    Exception {
        /// The exception code.
        code: u32,
        /// The exception name, when the message carries it.
        name: String,
    },
    /// A 2xx answer that is not ClickHouse's JSON format.
    BadResponse,
    /// A 4xx without a ClickHouse exception (401, 403, 404 from a proxy, …).
    ClientError,
    /// A 5xx or 3xx without a ClickHouse exception.
    ServerError,
    /// No answer at all.
    Transport(HttpError),
}

/// A failed query, with the server's message and the HTTP status if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickHouseError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// ClickHouse's message (or what came back instead), scrubbed of our credentials.
    pub message: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The datasource's id.
    pub datasource: String,
    /// The datasource's URL.
    pub url: String,
}

impl fmt::Display for ClickHouseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            ErrorKind::Exception { code, name } if name.is_empty() => format!("code {code}"),
            ErrorKind::Exception { code, name } => format!("{name} (code {code})"),
            ErrorKind::BadResponse => "bad_response".into(),
            ErrorKind::ClientError => "client_error".into(),
            ErrorKind::ServerError => "server_error".into(),
            ErrorKind::Transport(_) => "transport".into(),
        };
        match self.status {
            Some(s) => write!(f, "{kind} (HTTP {s}): {}", self.message),
            None => write!(f, "{kind}: {}", self.message),
        }
    }
}

impl std::error::Error for ClickHouseError {}

impl BackendFailure for ClickHouseError {
    fn datasource(&self) -> (&str, &str) {
        (&self.datasource, &self.url)
    }

    fn advice(&self) -> &'static str {
        match &self.kind {
            ErrorKind::Exception { code, .. } => match code {
                159 | 160 => {
                    "the query took too long: narrow the filters, shorten the window, or group by fewer fields"
                }
                158 | 307 | 396 | 241 => {
                    "the query would read or return too much: narrow the filters, shorten the window, or lower the limit"
                }
                516 | 497 | 192 | 194 => {
                    "ClickHouse refused our credentials or grants: check jsonData.username and secureJsonData.password, and the user's SELECT grants"
                }
                60 | 81 => {
                    "the table or database does not exist: check the datasource's jsonData.logs / jsonData.traces settings (database and table)"
                }
                16 | 47 => {
                    "a column does not exist: check the column names in the datasource's jsonData.logs / jsonData.traces settings"
                }
                164 => "the ClickHouse user is read-only in a way that forbids our query settings",
                _ => "fix the filter or arguments as the message says, or try again",
            },
            ErrorKind::Transport(e) => transport_advice(e),
            ErrorKind::ClientError | ErrorKind::ServerError
                if status_advice(self.status).is_some() =>
            {
                status_advice(self.status).unwrap_or_default()
            }
            ErrorKind::ClientError if self.status == Some(404) => {
                "the datasource's host, port or path may be wrong (it should reach ClickHouse's HTTP interface, port 8123 or 8443)"
            }
            _ => "the datasource failed; try again, or narrow the query",
        }
    }
}

/// A successful query's rows (each an object keyed by column name) and what ClickHouse says about
/// how many there would have been without the `LIMIT`.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// The rows, in the query's order.
    pub rows: Vec<Map<String, Value>>,
    /// `rows_before_limit_at_least`, when the query had a `LIMIT`.
    pub rows_before_limit: Option<u64>,
}

/// A client for one ClickHouse datasource.
pub struct Client<'a> {
    connection: Connection<'a>,
    settings: &'a ClickHouseSettings,
}

impl<'a> Client<'a> {
    /// A client over `connection`; `None` when its datasource is not a ClickHouse datasource.
    pub fn new(connection: Connection<'a>) -> Option<Self> {
        let settings = connection.datasource().clickhouse()?;
        Some(Client {
            connection,
            settings,
        })
    }

    /// The datasource's id.
    pub fn name(&self) -> &'a str {
        &self.connection.datasource().name
    }

    /// The table of `signal`.
    pub fn table(&self, signal: Signal) -> &'a Table {
        self.settings.table(signal)
    }

    /// Runs `sql` (a `SELECT` without `FORMAT`) with `params`, read-only and within our limits.
    pub fn query(&self, sql: &str, params: &Params) -> Result<Rows, ClickHouseError> {
        let timeout_s = (self.connection.timeout().as_secs_f64() * 0.9).max(1.0);
        let mut query: Vec<(&str, String)> = vec![
            // readonly=2: reads only, but the settings below may still be set per query.
            ("readonly", "2".into()),
            ("max_execution_time", format!("{timeout_s:.0}")),
            ("max_result_rows", MAX_RESULT_ROWS.to_string()),
            ("max_result_bytes", MAX_RESULT_BYTES.to_string()),
            ("result_overflow_mode", "throw".into()),
            ("output_format_json_quote_64bit_integers", "1".into()),
            ("output_format_json_quote_denormals", "1".into()),
        ];
        let names: Vec<String> = params
            .pairs()
            .iter()
            .map(|(n, _)| format!("param_{n}"))
            .collect();
        for ((_, value), name) in params.pairs().iter().zip(&names) {
            query.push((name.as_str(), escape_param(value)));
        }
        let body = format!("{sql}\nFORMAT JSON");
        let response =
            self.connection
                .post("/", &query, body.into_bytes(), "text/plain; charset=UTF-8");
        decode(response).map_err(|mut e| {
            self.connection
                .attribute(&mut e.message, &mut e.datasource, &mut e.url);
            e
        })
    }
}

/// A parameter value as ClickHouse's HTTP interface reads it: in the escaped text format, where a
/// backslash starts an escape, so backslashes, tabs and line breaks are escaped.
pub fn escape_param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Deserialize)]
struct JsonAnswer {
    data: Vec<Map<String, Value>>,
    #[serde(default)]
    rows_before_limit_at_least: Option<Value>,
}

fn error(message: String, kind: ErrorKind, status: Option<u16>) -> ClickHouseError {
    ClickHouseError {
        kind,
        message,
        status,
        datasource: String::new(),
        url: String::new(),
    }
}

/// Reads a `FORMAT JSON` answer, or ClickHouse's exception text.
fn decode(response: Result<HttpResponse, HttpError>) -> Result<Rows, ClickHouseError> {
    let response = response.map_err(|e| error(e.to_string(), ErrorKind::Transport(e), None))?;
    let status = response.status;
    if (200..300).contains(&status)
        && let Ok(answer) = serde_json::from_slice::<JsonAnswer>(&response.body)
    {
        let rows_before_limit = answer.rows_before_limit_at_least.and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
        return Ok(Rows {
            rows: answer.data,
            rows_before_limit,
        });
    }
    // An exception: `Code: 62. DB::Exception: … (SYNTAX_ERROR) (version …)`, also after a partial
    // 200 answer when the query failed while streaming.
    let text = String::from_utf8_lossy(&response.body);
    if let Some(exception) = read_exception(&text) {
        return Err(error(exception.1, exception.0, Some(status)));
    }
    let kind = match status {
        200..=299 => ErrorKind::BadResponse,
        400..=499 => ErrorKind::ClientError,
        _ => ErrorKind::ServerError,
    };
    let message = match status {
        200..=299 => format!(
            "not a ClickHouse JSON answer: {}",
            body_excerpt(&response.body)
        ),
        _ => body_excerpt(&response.body),
    };
    Err(error(message, kind, Some(status)))
}

/// The code, name and message of a ClickHouse exception in `text`.
fn read_exception(text: &str) -> Option<(ErrorKind, String)> {
    let at = text.find("Code: ")?;
    let rest = &text[at + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let code: u32 = digits.parse().ok()?;
    let rest = rest[digits.len()..].trim_start_matches('.').trim_start();
    let rest = rest.strip_prefix("DB::Exception:").unwrap_or(rest).trim();
    // Drop the trailing "(version …)" and take the "(NAME)" before it.
    let rest = match rest.rfind("(version ") {
        Some(i) => rest[..i].trim_end(),
        None => rest,
    };
    let (message, name) = match rest.rfind(" (") {
        Some(i)
            if rest.ends_with(')')
                && rest[i + 2..rest.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_') =>
        {
            (rest[..i].trim(), rest[i + 2..rest.len() - 1].to_string())
        }
        _ => (rest, String::new()),
    };
    let message = body_excerpt(message.as_bytes());
    Some((ErrorKind::Exception { code, name }, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_are_read_with_code_name_and_message() {
        let (kind, message) = read_exception(
            "Code: 62. DB::Exception: Syntax error: failed at position 8 (end of query): . Expected one of: … (SYNTAX_ERROR) (version 26.9.2.1 (official build))\n",
        )
        .unwrap();
        assert_eq!(
            kind,
            ErrorKind::Exception {
                code: 62,
                name: "SYNTAX_ERROR".into()
            }
        );
        assert!(
            message.starts_with("Syntax error: failed at position 8"),
            "{message}"
        );
        assert!(read_exception("<html>bad gateway</html>").is_none());
    }

    #[test]
    fn parameter_values_are_escaped_for_the_text_format() {
        assert_eq!(escape_param("a\\b\tc\nd'e"), "a\\\\b\\tc\\nd'e");
    }

    #[test]
    fn json_answers_give_rows_and_the_count_before_limit() {
        let body =
            r#"{"meta":[],"data":[{"a":"1"},{"a":"2"}],"rows":2,"rows_before_limit_at_least":"7"}"#;
        let rows = decode(Ok(HttpResponse {
            status: 200,
            body: body.into(),
        }))
        .unwrap();
        assert_eq!(rows.rows.len(), 2);
        assert_eq!(rows.rows_before_limit, Some(7));
        let e = decode(Ok(HttpResponse {
            status: 500,
            body: b"Code: 159. DB::Exception: Timeout exceeded: elapsed 5 seconds. (TIMEOUT_EXCEEDED) (version 26.9.2.1)".to_vec(),
        }))
        .unwrap_err();
        assert!(e.advice().contains("too long"), "{e}");
    }
}
