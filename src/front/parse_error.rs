//! One MCP request through the [`McpService`] (rmcp's Streamable HTTP service, or the direct path
//! for a plain `tools/call`), with one correction: a body declared `application/json` that is not
//! JSON gets HTTP 400 and the JSON-RPC parse error (`-32700`, id `null`) saying where the JSON
//! broke, instead of rmcp's `415 Unsupported Media Type`.
//!
//! The body arrives read whole (the endpoint reads it once, for the tool-call gate and for MCP). A
//! plain `tools/call` is parsed once, by the direct path; any other request by rmcp (after the
//! direct path has declined it, at the latest where the method is not `tools/call`), and read again
//! here only when rmcp has refused it with 400 or 415. Every other answer (a wrong `Content-Type`
//! stays 415, valid JSON that is not JSON-RPC stays rmcp's) is passed on unchanged.
//!
//! Not here: routing and authentication ([`super::serve`]), and the JSON-RPC methods themselves
//! ([`super::McpFront`]).

use std::fmt;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::json;

use super::{McpService, ToolProvider};

/// The JSON-RPC code of a body that is not JSON.
const PARSE_ERROR: i64 = -32700;

/// Hands `request`, its body read whole, to `service`; when rmcp refuses a body declared
/// `application/json` (400 or 415) because it is not JSON, answers 400 with a JSON-RPC parse error
/// instead (see the module doc).
pub async fn handle_mcp<P: ToolProvider>(
    service: &McpService<P>,
    request: http::Request<Bytes>,
) -> http::Response<super::Body> {
    let declares_json = declares_json(request.headers());
    // A second handle on the same bytes, kept in case rmcp refuses them.
    let body = request.body().clone();
    let response = service.handle(request).await;
    if !declares_json || !matches!(response.status().as_u16(), 400 | 415) {
        return response;
    }
    match json_syntax_error(&body) {
        Some(error) => parse_error_response(&error),
        None => response,
    }
}

/// Why `body` is not one JSON value (serde_json's message, with line and column), or `None` when
/// it is. Nesting deeper than serde_json's limit (128) is an error here as in rmcp's own parse.
pub fn json_syntax_error(body: &[u8]) -> Option<serde_json::Error> {
    serde_json::from_slice::<AnyJson>(body).err()
}

/// Whether `Content-Type` is `application/json` (parameters aside), as rmcp reads it.
pub(super) fn declares_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split_once(';').map_or(v, |(essence, _)| essence);
            essence.trim().eq_ignore_ascii_case("application/json")
        })
}

fn parse_error_response(error: &serde_json::Error) -> http::Response<super::Body> {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": PARSE_ERROR, "message": format!("Parse error: {error}")},
    });
    http::Response::builder()
        .status(http::StatusCode::BAD_REQUEST)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .expect("static response")
}

/// Any JSON value, checked and dropped as it is read: nothing is kept, but unlike
/// [`serde::de::IgnoredAny`] every array and object goes through serde_json's nesting limit.
struct AnyJson;

impl<'de> Deserialize<'de> for AnyJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyJson)
    }
}

impl<'de> Visitor<'de> for AnyJson {
    type Value = AnyJson;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_i64<E>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_u64<E>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_f64<E>(self, _: f64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_str<E>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_unit<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        while map.next_entry::<AnyJson, AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_say_where_the_json_broke() {
        for (body, message) in [
            (
                &br#"{"jsonrpc": "2.0", "id": 1,"#[..],
                "EOF while parsing a value at line 1 column 27",
            ),
            (b"", "EOF while parsing a value at line 1 column 0"),
            (b"{\"a\":\n  tru}", "expected ident at line 2 column 6"),
            (
                b"{\"m\":\"\xff\"}",
                "invalid unicode code point at line 1 column 7",
            ),
            (b"{} {}", "trailing characters at line 1 column 4"),
        ] {
            let error = json_syntax_error(body).expect("not JSON");
            assert_eq!(error.to_string(), message, "{body:?}");
            // The same words and place as a full parse.
            let full = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
            assert_eq!(error.to_string(), full.to_string(), "{body:?}");
        }
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let error = json_syntax_error(deep.as_bytes()).expect("too deep");
        assert_eq!(
            error.to_string(),
            "recursion limit exceeded at line 1 column 128"
        );
        let full = serde_json::from_slice::<serde_json::Value>(deep.as_bytes()).unwrap_err();
        assert_eq!(error.to_string(), full.to_string());
    }

    #[test]
    fn valid_json_is_not_a_syntax_error_even_when_it_is_not_json_rpc() {
        for body in [
            &b"[1, 2, 3]"[..],
            b"{}",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":[null,true,1.5,-2,"x"]}}"#,
            b" \"just a string\" ",
        ] {
            assert!(json_syntax_error(body).is_none(), "{body:?}");
        }
        let nested = format!("{}1{}", "[".repeat(127), "]".repeat(127));
        assert!(json_syntax_error(nested.as_bytes()).is_none());
    }

    #[test]
    fn only_a_json_content_type_counts() {
        let headers = |value: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::CONTENT_TYPE, value.parse().unwrap());
            h
        };
        assert!(declares_json(&headers("application/json")));
        assert!(declares_json(&headers("Application/JSON; charset=utf-8")));
        assert!(!declares_json(&headers("text/plain")));
        assert!(!declares_json(&headers("application/json-seq")));
        assert!(!declares_json(&http::HeaderMap::new()));
    }
}
