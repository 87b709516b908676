//! A plain `tools/call` answered without rmcp's per-request machinery.
//!
//! For every request rmcp parses the body into its message enum, starts a one-shot service (a
//! task for its serve loop, one for the handler, one that waits for both), passes the answer back
//! through a channel and serialises it: about a tenth of the host's CPU for a `query_instant` at
//! concurrency 8 (README, Benchmark, fourteenth pass). A request that needs none of what that
//! machinery is for is answered here, in the connection's own task, by the same handler code
//! ([`McpFront::answer_call`]) and written in the JSON rmcp writes, the tool's result as the tool
//! wrote it ([`super::ToolResult`]).
//!
//! "Plain" is decided conservatively: whatever rmcp would check is either checked here with rmcp's
//! own rule, or its presence sends the request to rmcp. A request is plain when
//! - it is a `POST` whose `Host` header rmcp would allow (`ALLOWED_HOSTS`), with no `Origin`
//!   header and a body within the limit, to a service configured as every placement configures it
//!   (JSON answers, no sessions) and not stopping;
//! - its `Accept` header lists `application/json` and `text/event-stream` with no parameters, and
//!   its `Content-Type` is `application/json`;
//! - its `MCP-Protocol-Version` is absent or a version before 2026-07-28 (those have no standard
//!   headers to compare with the body and no per-request `_meta` to check);
//! - its body is exactly `{"jsonrpc":"2.0","id":…,"method":"tools/call","params":{"name":…,
//!   "arguments":{…}}}` with an integer or string id and nothing else (no `_meta`, no
//!   other member, no member twice).
//!
//! Everything else (other methods, 2026-07-28 requests, browsers, malformed input of any kind)
//! goes to rmcp unchanged. Tests run the same requests both ways and compare the answers
//! (`tests` below).
//!
//! Not here: routing, authentication and the call gate ([`super::serve`]); what a call does
//! ([`McpFront::answer_call`]).

use std::borrow::Cow;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rmcp::model::ErrorData;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{Caller, GateExpired, McpFront, ToolProvider};

/// Protocol versions that rmcp serves statelessly with no check beyond the header's own value:
/// known to rmcp and older than 2026-07-28 (SEP-2243 standard headers, per-request `_meta`).
const PLAIN_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// A `tools/call` request as this path takes it; any other member makes the parse fail.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    id: Id,
    #[serde(borrow)]
    method: Cow<'a, str>,
    params: Params,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    name: String,
    // Kept as text: the tools parse the arguments, the front does not.
    #[serde(default)]
    arguments: Option<Box<RawValue>>,
}

/// A JSON-RPC id as rmcp reads it: an integer that fits `i64`, or a string.
#[derive(Deserialize, Serialize, Debug)]
#[serde(untagged)]
enum Id {
    Number(i64),
    String(String),
}

/// A plain `tools/call`: who it answers, and what it asks.
#[derive(Debug)]
pub(super) struct PlainCall {
    id: Id,
    name: String,
    arguments_json: String,
}

/// The request as a [`PlainCall`], or `None` when rmcp should answer it (see the module doc).
pub(super) fn plain_call(
    parts: &http::request::Parts,
    body: &[u8],
    config: &StreamableHttpServerConfig,
) -> Option<PlainCall> {
    // JSON answers without sessions are what every placement configures
    // (`HttpPolicy::server_config`); any other configuration is rmcp's to serve.
    if parts.method != http::Method::POST
        || !config.json_response
        || config.legacy_session_mode
        || config.cancellation_token.is_cancelled()
        // The endpoint refuses such a body before MCP; a caller that did not is answered 413 by rmcp.
        || body.len() > config.max_request_body_bytes
    {
        return None;
    }
    let headers = &parts.headers;
    if headers.contains_key(http::header::ORIGIN)
        || !host_allowed(headers, &config.allowed_hosts)
        || !accepts_json_and_sse(headers)
        || !super::parse_error::declares_json(headers)
        || !plain_version(headers)
    {
        return None;
    }
    let request: Request = serde_json::from_slice(body).ok()?;
    if request.jsonrpc != "2.0" || request.method != "tools/call" {
        return None;
    }
    // rmcp takes an object or null (`null` parses as `None`); anything else is its to refuse.
    let arguments_json = match request.params.arguments {
        None => "null".to_string(),
        Some(raw) if raw.get().starts_with('{') => String::from(Box::<str>::from(raw)),
        Some(_) => return None,
    };
    Some(PlainCall {
        id: request.id,
        name: request.params.name,
        arguments_json,
    })
}

/// Answers `call` with `front`'s handler code, as rmcp would have (HTTP 200, one JSON-RPC
/// message). The caller and a gate expiry come from the request's extensions.
pub(super) async fn answer<P: ToolProvider>(
    front: &McpFront<P>,
    call: PlainCall,
    extensions: &http::Extensions,
) -> http::Response<super::Body> {
    let outcome = front
        .answer_call(
            call.name,
            call.arguments_json,
            extensions.get::<Caller>().cloned(),
            extensions.get::<GateExpired>().cloned(),
            // The connection's task runs the call: a client that hangs up drops it, and with it
            // the sandbox and the backend request, as rmcp's cancellation would.
            std::future::pending(),
        )
        .await;
    let body = match &outcome {
        // The tool's JSON as it is: these versions have no `resultType`, and a `ToolResult` never
        // carries one.
        Ok(result) => serde_json::to_vec(&Message::<&RawValue, ()> {
            jsonrpc: "2.0",
            id: &call.id,
            result: Some(result.json()),
            error: None,
        }),
        Err(error) => serde_json::to_vec(&Message::<(), &ErrorData> {
            jsonrpc: "2.0",
            id: &call.id,
            result: None,
            error: Some(error),
        }),
    }
    .expect("a JSON-RPC message serialises");
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("static response")
}

/// One JSON-RPC answer, in rmcp's member order.
#[derive(Serialize)]
struct Message<'a, R, E> {
    jsonrpc: &'static str,
    id: &'a Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<E>,
}

/// Whether rmcp allows the request's `Host` (its `parse_host_header` and `host_is_allowed`, for a
/// request that has the header): `false` also when rmcp would refuse or answer 400, so that rmcp
/// does.
fn host_allowed(headers: &http::HeaderMap, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(host) = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| http::uri::Authority::try_from(h).ok())
    else {
        return false;
    };
    let (name, port) = (normalize_host(host.host()), host.port_u16());
    allowed.iter().any(|entry| {
        let entry = entry.trim();
        if entry.is_empty() {
            return false;
        }
        let (allowed_name, allowed_port) = match http::uri::Authority::try_from(entry) {
            Ok(a) => (normalize_host(a.host()), a.port_u16()),
            Err(_) => (normalize_host(entry), None),
        };
        allowed_name == name && allowed_port.is_none_or(|p| port == Some(p))
    })
}

fn normalize_host(host: &str) -> String {
    host.trim_matches('[')
        .trim_matches(']')
        .to_ascii_lowercase()
}

/// One `Accept` header that lists both media types, every entry without parameters or quotes
/// (then rmcp's reading of the header is plain splitting, and agrees).
fn accepts_json_and_sse(headers: &http::HeaderMap) -> bool {
    let mut values = headers.get_all(http::header::ACCEPT).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    if value.contains([';', '"']) {
        return false;
    }
    let listed = |media: &str| {
        value
            .split(',')
            .any(|entry| entry.trim().eq_ignore_ascii_case(media))
    };
    listed("application/json") && listed("text/event-stream")
}

/// No `MCP-Protocol-Version` header, or one naming a version in [`PLAIN_VERSIONS`].
fn plain_version(headers: &http::HeaderMap) -> bool {
    let mut values = headers.get_all("mcp-protocol-version").iter();
    match (values.next(), values.next()) {
        (None, _) => true,
        (Some(value), None) => value.to_str().is_ok_and(|v| PLAIN_VERSIONS.contains(&v)),
        (Some(_), Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;
    use crate::front::{HttpPolicy, ProviderError, ToolResult};
    use crate::tools::Toolset;

    /// Answers by tool name: a result that echoes the caller and the arguments, or each kind of
    /// provider error.
    struct Tools;

    impl ToolProvider for Tools {
        async fn list_tools(&self) -> Result<Vec<Value>, ProviderError> {
            Ok(["query_instant", "query_range", "list_metrics"]
                .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
                .to_vec())
        }

        async fn call_tool(
            &self,
            name: String,
            arguments_json: String,
            caller: Option<Caller>,
        ) -> Result<ToolResult, ProviderError> {
            match name.as_str() {
                "query_instant" => {
                    let who = caller.map_or("nobody".to_string(), |c| c.username);
                    let arguments: Value = serde_json::from_str(&arguments_json).unwrap();
                    Ok(ToolResult::from_value(&json!({
                        "content": [{"type": "text", "text": format!("{who} \"asked\" {arguments}")}],
                        "structuredContent": {"who": who, "arguments": arguments},
                        "isError": false,
                    }))
                    .unwrap())
                }
                "query_range" => Err(ProviderError::InvalidArguments(
                    "step: not a duration".into(),
                )),
                "get_label_values" => Err(ProviderError::Unavailable("the sandbox trapped".into())),
                _ => Err(ProviderError::UnknownTool(format!("no tool '{name}'"))),
            }
        }
    }

    fn service(policy: &HttpPolicy) -> crate::front::McpService<Tools> {
        McpFront::new(Arc::new(Tools))
            .with_toolset(Toolset::from_lists(None, Some("list_metrics")).unwrap())
            .into_service(policy.server_config())
    }

    fn loopback() -> HttpPolicy {
        HttpPolicy::from_env(&|_| None, true)
    }

    /// A request as the common clients send it; `edit` changes its headers.
    fn request(body: &str, edit: impl FnOnce(&mut http::HeaderMap)) -> http::Request<Bytes> {
        let mut request = http::Request::post("/mcp")
            .header("host", "127.0.0.1:8000")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        edit(request.headers_mut());
        request
    }

    fn call(id: Value, name: &str, arguments: Value) -> String {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
            .to_string()
    }

    fn is_plain(request: &http::Request<Bytes>, policy: &HttpPolicy) -> bool {
        let (parts, body) = request.clone().into_parts();
        plain_call(&parts, &body, &policy.server_config()).is_some()
    }

    async fn answer_of(
        response: http::Response<crate::front::Body>,
    ) -> (u16, Option<String>, Value) {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
        (status, content_type, value)
    }

    /// Both paths, one request: the answers must be the same JSON.
    async fn same_both_ways(request: http::Request<Bytes>) -> Value {
        let service = service(&loopback());
        let direct = answer_of(service.handle(request.clone()).await).await;
        let rmcp = answer_of(service.handle_by_rmcp(request).await).await;
        assert_eq!(direct, rmcp);
        assert_eq!(direct.0, 200);
        direct.2
    }

    #[tokio::test]
    async fn plain_calls_are_answered_as_rmcp_answers_them() {
        let caller = Caller {
            username: "alice".into(),
            uid: "u1".into(),
            groups: vec!["sre".into()],
        };
        let cases = [
            call(json!(1), "query_instant", json!({"promql": "up", "n": [1.5, null, true]})),
            call(json!("a \"quoted\" id \u{e9}"), "query_instant", json!({})),
            call(json!(-9007199254740993_i64), "query_instant", json!({"s": "\u{1F600}\n"})),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "query_instant"}}).to_string(),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "query_instant", "arguments": null}}).to_string(),
            // Each kind of provider error, and a tool the deployment does not offer.
            call(json!(4), "query_range", json!({})),
            call(json!(5), "get_label_values", json!({})),
            call(json!(6), "find_metrics_by_pattern", json!({})),
            call(json!(7), "list_metrics", json!({})),
            call(json!(8), "no_such_tool", json!({})),
        ];
        for body in cases {
            for version in [
                None,
                Some("2024-11-05"),
                Some("2025-03-26"),
                Some("2025-06-18"),
                Some("2025-11-25"),
            ] {
                let mut request = request(&body, |h| match version {
                    Some(v) => {
                        h.insert("mcp-protocol-version", v.parse().unwrap());
                    }
                    None => {
                        h.remove("mcp-protocol-version");
                    }
                });
                assert!(is_plain(&request, &loopback()), "{body} {version:?}");
                request.extensions_mut().insert(caller.clone());
                same_both_ways(request).await;
            }
        }
        // The caller reaches the tool; the unknown tool names those offered.
        let mut asked = request(&call(json!(1), "query_instant", json!({})), |_| {});
        asked.extensions_mut().insert(caller.clone());
        assert_eq!(
            same_both_ways(asked).await["result"]["structuredContent"]["who"],
            "alice"
        );
        let unknown =
            same_both_ways(request(&call(json!(7), "list_metrics", json!({})), |_| {})).await;
        assert_eq!(unknown["error"]["code"], -32602);
        assert_eq!(
            unknown["error"]["message"],
            "unknown tool 'list_metrics'; tools: query_instant, query_range"
        );
        // A call turned away at the gate is an isError result both ways.
        let mut busy = request(&call(json!(9), "query_instant", json!({})), |_| {});
        busy.extensions_mut().insert(GateExpired {
            tool: "query_instant".into(),
            capacity: 16,
            waited: std::time::Duration::from_secs(3),
        });
        let answer = same_both_ways(busy).await;
        assert_eq!(answer["result"]["isError"], true);
    }

    #[test]
    fn anything_rmcp_checks_or_treats_otherwise_goes_to_rmcp() {
        let body = call(json!(1), "query_instant", json!({}));
        let policy = loopback();
        assert!(is_plain(&request(&body, |_| {}), &policy));
        let header = |name: &'static str, value: &'static str| {
            request(&body, move |h| {
                h.insert(name, value.parse().unwrap());
            })
        };
        for (what, request) in [
            (
                "a browser's Origin",
                header("origin", "http://localhost:3000"),
            ),
            ("a Host not allowed", header("host", "evil.example")),
            ("a Host rmcp cannot read", header("host", "a b")),
            (
                "a missing Host",
                request(&body, |h| {
                    h.remove("host");
                }),
            ),
            ("JSON only", header("accept", "application/json")),
            (
                "a weighted Accept",
                header("accept", "application/json;q=0, text/event-stream"),
            ),
            ("a wildcard Accept", header("accept", "*/*")),
            ("another Content-Type", header("content-type", "text/plain")),
            ("2026-07-28", header("mcp-protocol-version", "2026-07-28")),
            (
                "an unknown version",
                header("mcp-protocol-version", "2099-01-01"),
            ),
            (
                "two versions",
                request(&body, |h| {
                    h.append("mcp-protocol-version", "2025-03-26".parse().unwrap());
                }),
            ),
        ] {
            assert!(!is_plain(&request, &policy), "{what}");
        }
        let mut get = request(&body, |_| {});
        *get.method_mut() = http::Method::GET;
        assert!(!is_plain(&get, &policy), "GET");
        for config in [
            policy.server_config().with_json_response(false),
            policy.server_config().with_legacy_session_mode(true),
        ] {
            let (parts, bytes) = request(&body, |_| {}).into_parts();
            assert!(plain_call(&parts, &bytes, &config).is_none());
        }
        // Trailing spaces keep the JSON valid: at the limit it is plain, one byte over it is not.
        let (parts, _) = request(&body, |_| {}).into_parts();
        let mut padded = body.clone().into_bytes();
        padded.resize(crate::front::MAX_REQUEST_BODY_BYTES, b' ');
        assert!(plain_call(&parts, &padded, &policy.server_config()).is_some());
        padded.push(b' ');
        assert!(
            plain_call(&parts, &padded, &policy.server_config()).is_none(),
            "a body over the limit"
        );
        let stopping = policy.server_config();
        stopping.cancellation_token.cancel();
        let (parts, bytes) = request(&body, |_| {}).into_parts();
        assert!(plain_call(&parts, &bytes, &stopping).is_none(), "stopping");
        for body in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "query_instant", "_meta": {"progressToken": 1}}}).to_string(),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "query_instant", "arguments": [1]}}).to_string(),
            json!({"jsonrpc": "2.0", "id": 1.5, "method": "tools/call", "params": {"name": "query_instant"}}).to_string(),
            json!({"jsonrpc": "2.0", "id": null, "method": "tools/call", "params": {"name": "query_instant"}}).to_string(),
            json!({"jsonrpc": "2.0", "id": u64::MAX, "method": "tools/call", "params": {"name": "query_instant"}}).to_string(),
            json!({"jsonrpc": "1.0", "id": 1, "method": "tools/call", "params": {"name": "query_instant"}}).to_string(),
            json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "query_instant"}}).to_string(),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "query_instant"}, "extra": 1}).to_string(),
            r#"{"jsonrpc": "2.0", "id": 1, "id": 2, "method": "tools/call", "params": {"name": "query_instant"}}"#.to_string(),
            json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "query_instant"}}]).to_string(),
            r#"{"jsonrpc": "2.0", "id": 1,"#.to_string(),
        ] {
            assert!(!is_plain(&request(&body, |_| {}), &policy), "{body}");
        }
        // Hosts as rmcp reads ALLOWED_HOSTS: a name without a port allows any port; with a port, that
        // port only; IPv6 in brackets; no list allows any host.
        let configured = HttpPolicy::from_env(
            &|name| (name == "ALLOWED_HOSTS").then(|| "proms.example, LocalHost:8000, ::1".into()),
            false,
        );
        for (host, allowed) in [
            ("proms.example", true),
            ("PROMS.example:443", true),
            ("localhost:8000", true),
            ("localhost:8001", false),
            ("localhost", false),
            ("[::1]:8000", true),
            ("127.0.0.1:8000", false),
        ] {
            assert_eq!(
                is_plain(&header("host", host), &configured),
                allowed,
                "{host}"
            );
        }
        assert!(is_plain(
            &header("host", "anything.example"),
            &HttpPolicy::from_env(&|_| None, false)
        ));
    }
}
