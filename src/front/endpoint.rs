//! The MCP port, the same in every placement: which path goes where, authentication before MCP,
//! and who the tools are told is calling.
//!
//! - `/mcp` and `/mcp/` (one handler, never a redirect): the bearer token is reviewed
//!   ([`BearerAuth`]; with authentication off everyone is [`Caller::anonymous`]), then the body is
//!   read whole (at most [`MAX_REQUEST_BODY_BYTES`]: 413 beyond, as rmcp words it), a `tools/call`
//!   waits at the placement's [`CallGate`], and the request goes to MCP ([`handle_mcp`]) with the
//!   [`Caller`] in its extensions;
//! - `/.well-known/oauth-protected-resource` and `…/mcp`: RFC 9728 metadata, 404 when
//!   authentication is off;
//! - `/health`: `{"status":"ok"}`, where the placement serves it on this port;
//! - anything else: 404 naming the endpoint.
//!
//! Not here: what a [`Placement`] supplies (the MCP service over its tools, the reviewer and its
//! HTTP client, logs and metrics), sockets and connections, and the native host's own health and
//! metrics port.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

use super::{
    CallGate, Caller, GateExpired, MAX_REQUEST_BODY_BYTES, McpService, ToolProvider, handle_mcp,
};
use crate::auth::{AuthFailure, BearerAuth, PROTECTED_RESOURCE_PATH, TokenReviewer};

/// The body of every answer of the MCP port.
pub type Body = BoxBody<Bytes, Infallible>;

/// Where a path of the MCP port goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/mcp` and `/mcp/`.
    Mcp,
    /// `/.well-known/oauth-protected-resource` and `/.well-known/oauth-protected-resource/mcp`.
    ProtectedResourceMetadata,
    /// `/health`.
    Health,
    /// Anything else.
    NotFound,
}

impl Route {
    /// The route of `path` (the request URI's path, without the query).
    pub fn of(path: &str) -> Route {
        match path {
            "/mcp" | "/mcp/" => Route::Mcp,
            "/health" => Route::Health,
            p if p == PROTECTED_RESOURCE_PATH
                || p.strip_prefix(PROTECTED_RESOURCE_PATH) == Some("/mcp") =>
            {
                Route::ProtectedResourceMetadata
            }
            _ => Route::NotFound,
        }
    }
}

/// What one placement of the MCP endpoint supplies to [`serve`]; the hooks default to nothing.
pub trait Placement: Send + Sync {
    /// Where the tools run.
    type Provider: ToolProvider;
    /// How tokens are reviewed when authentication is on.
    type Reviewer: TokenReviewer;

    /// Scheme of this server's base URL when `PUBLIC_URL` is unset: `http` for the native host,
    /// `https` for a component behind Spin or a gateway, which terminate TLS in front of it.
    const SCHEME: &'static str;

    /// Whether `/health` is answered on this port (the native host serves it on a port of its own).
    const SERVES_HEALTH: bool;

    /// Bearer authentication (`AUTH_MODE=active`), or `None` when everyone is anonymous.
    fn auth(&self) -> Option<&BearerAuth<Self::Reviewer>>;

    /// The MCP service for an admitted request, or why it cannot be had (the tools' configuration
    /// is unreadable), which the client gets with HTTP 500.
    fn service(&self) -> Result<Cow<'_, McpService<Self::Provider>>, String>;

    /// The gate `tools/call` requests wait at before MCP (see [`CallGate`]), or `None` to let every
    /// request straight through (a placement that runs one request per instance).
    fn call_gate(&self) -> Option<&CallGate> {
        None
    }

    /// Sees a `tools/call` that found no place at the gate in time, before it is answered as busy.
    fn turned_away(&self, _busy: &GateExpired) {}

    /// Sees a request refused by authentication, before it is answered.
    fn refused(&self, _failure: &AuthFailure) {}

    /// Sees who a request comes from once it is admitted (anonymous when authentication is off).
    fn admitted(&self, _caller: &Caller) {}
}

/// Not found, and where the endpoint is.
const NOT_FOUND: &str = r#"{"error":"not found: the MCP endpoint is /mcp"}"#;

/// The metadata exists only with authentication on.
const NO_METADATA: &str = r#"{"error":"not found: authentication is off (AUTH_MODE=none)"}"#;

/// Answers one request to the MCP port of `placement` (see the module doc).
pub async fn serve<Pl, B>(placement: &Pl, request: http::Request<B>) -> http::Response<Body>
where
    Pl: Placement,
    B: http_body::Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: fmt::Display,
{
    match Route::of(request.uri().path()) {
        Route::Mcp => mcp(placement, request).await,
        Route::ProtectedResourceMetadata => match placement.auth() {
            Some(auth) => json(200, auth.metadata(request.headers(), Pl::SCHEME)),
            None => json(404, NO_METADATA.into()),
        },
        Route::Health if Pl::SERVES_HEALTH => json(200, r#"{"status":"ok"}"#.into()),
        Route::Health | Route::NotFound => json(404, NOT_FOUND.into()),
    }
}

/// Authenticates, reads the body, lets a tool call wait at the gate, then hands the request to MCP
/// with the caller attached.
async fn mcp<Pl, B>(placement: &Pl, request: http::Request<B>) -> http::Response<Body>
where
    Pl: Placement,
    B: http_body::Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: fmt::Display,
{
    let caller = match placement.auth() {
        None => Caller::anonymous(),
        Some(auth) => match auth.authenticate(request.headers()).await {
            Ok(caller) => caller,
            Err(failure) => {
                placement.refused(&failure);
                return boxed(auth.refusal(&failure, request.headers(), Pl::SCHEME));
            }
        },
    };
    placement.admitted(&caller);
    let service = match placement.service() {
        Ok(service) => service,
        Err(reason) => return json(500, serde_json::json!({"error": reason}).to_string()),
    };
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(caller);
    // Read once, here: the gate looks at it, rmcp parses it, and the parse-error answer quotes it.
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    // The place, if any, is held until the answer is ready.
    let _place = match placement.call_gate() {
        Some(gate) => gate.admit(&body, &mut parts.extensions).await,
        None => None,
    };
    if let Some(busy) = parts.extensions.get::<GateExpired>() {
        placement.turned_away(busy);
    }
    handle_mcp(&service, http::Request::from_parts(parts, body)).await
}

/// The whole body; or the answer to one over [`MAX_REQUEST_BODY_BYTES`] (413 in rmcp's words), or to
/// one that could not be read (400).
async fn read_body<B>(mut body: B) -> Result<Bytes, http::Response<Body>>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: fmt::Display,
{
    // Copied out of the connection's read buffer (bodies are small): a call that waits at the gate
    // must not keep hyper's 8 KiB buffer alive, or hyper allocates another for the next read.
    let mut whole = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            plain(
                http::StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.len() > MAX_REQUEST_BODY_BYTES.saturating_sub(whole.len()) {
            return Err(plain(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("Payload Too Large: request body exceeds {MAX_REQUEST_BODY_BYTES} bytes"),
            ));
        }
        whole.extend_from_slice(&data);
    }
    Ok(whole.freeze())
}

fn plain(status: http::StatusCode, text: String) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(text)).boxed())
        .expect("static response")
}

fn boxed(response: http::Response<String>) -> http::Response<Body> {
    response.map(|text| Full::new(Bytes::from(text)).boxed())
}

fn json(status: u16, body: String) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("static response")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    use super::*;
    use crate::auth::{AuthSettings, ReviewAnswer};
    use crate::front::{HttpPolicy, McpFront, ProviderError, ToolResult};

    /// Tools that answer with the caller's name; `wait` answers once `release` is notified.
    #[derive(Default)]
    struct Echo {
        release: tokio::sync::Notify,
    }

    impl ToolProvider for Echo {
        async fn list_tools(&self) -> Result<Vec<Value>, ProviderError> {
            Ok(vec![
                json!({"name": "whoami", "inputSchema": {"type": "object", "properties": {}}}),
            ])
        }

        async fn call_tool(
            &self,
            name: String,
            _arguments_json: String,
            caller: Option<Caller>,
        ) -> Result<ToolResult, ProviderError> {
            if name == "wait" {
                self.release.notified().await;
            }
            let name = caller.map_or("nobody".to_string(), |c| c.username);
            Ok(
                ToolResult::from_value(&json!({"content": [{"type": "text", "text": name}]}))
                    .unwrap(),
            )
        }
    }

    /// Accepts `good` as alice; rejects anything else.
    struct Tokens;

    impl TokenReviewer for Tokens {
        async fn review(&self, token: &str) -> ReviewAnswer {
            match token {
                "good" => ReviewAnswer::Authenticated(Caller {
                    username: "alice".into(),
                    uid: String::new(),
                    groups: Vec::new(),
                }),
                _ => ReviewAnswer::Rejected("unknown token".into()),
            }
        }
    }

    struct Test<const HEALTH: bool> {
        mcp: McpService<Echo>,
        auth: Option<BearerAuth<Tokens>>,
        unavailable: Option<&'static str>,
        gate: Option<CallGate>,
        echo: Arc<Echo>,
        turned_away: Mutex<Vec<String>>,
        refused: Mutex<Vec<&'static str>>,
        admitted: Mutex<Vec<String>>,
    }

    impl<const HEALTH: bool> Placement for Test<HEALTH> {
        type Provider = Echo;
        type Reviewer = Tokens;
        const SCHEME: &'static str = "https";
        const SERVES_HEALTH: bool = HEALTH;

        fn auth(&self) -> Option<&BearerAuth<Tokens>> {
            self.auth.as_ref()
        }

        fn service(&self) -> Result<Cow<'_, McpService<Echo>>, String> {
            match self.unavailable {
                Some(reason) => Err(reason.to_string()),
                None => Ok(Cow::Borrowed(&self.mcp)),
            }
        }

        fn call_gate(&self) -> Option<&CallGate> {
            self.gate.as_ref()
        }

        fn turned_away(&self, busy: &GateExpired) {
            self.turned_away.lock().unwrap().push(busy.tool.clone());
        }

        fn refused(&self, failure: &AuthFailure) {
            self.refused.lock().unwrap().push(failure.outcome());
        }

        fn admitted(&self, caller: &Caller) {
            self.admitted.lock().unwrap().push(caller.username.clone());
        }
    }

    fn placement<const HEALTH: bool>(auth: bool) -> Test<HEALTH> {
        let settings = AuthSettings::from_env(&|name| match name {
            "AUTH_MODE" => Some("active".into()),
            "AUTH_AUTHORIZATION_SERVERS" => Some("https://issuer.example".into()),
            _ => None,
        })
        .unwrap()
        .unwrap();
        let policy = HttpPolicy::from_env(&|_| None, false);
        let echo = Arc::new(Echo::default());
        Test {
            mcp: McpFront::new(echo.clone()).into_service(policy.server_config()),
            auth: auth.then(|| BearerAuth::new(Tokens, &settings)),
            unavailable: None,
            gate: None,
            echo,
            turned_away: Mutex::new(Vec::new()),
            refused: Mutex::new(Vec::new()),
            admitted: Mutex::new(Vec::new()),
        }
    }

    async fn send<Pl: Placement>(
        placement: &Pl,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, http::HeaderMap, String) {
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "mcp.example")
            .header("accept", "application/json, text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        let response = serve(placement, request).await;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status.as_u16(),
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    const JSON: (&str, &str) = ("content-type", "application/json");
    const PING: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    const VERSION: (&str, &str) = ("mcp-protocol-version", "2025-06-18");

    #[tokio::test]
    async fn paths_other_than_mcp_get_metadata_health_or_404() {
        let open = placement::<false>(false);
        let (status, _, body) = send(&open, "GET", "/nowhere", &[], b"").await;
        assert_eq!((status, body.as_str()), (404, NOT_FOUND));
        let (status, _, _) = send(&open, "GET", "/health", &[], b"").await;
        assert_eq!(status, 404, "health is on another port");
        for path in [
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp",
        ] {
            let (status, _, body) = send(&open, "GET", path, &[], b"").await;
            assert_eq!((status, body.as_str()), (404, NO_METADATA), "{path}");
        }

        let guarded = placement::<true>(true);
        let (status, _, body) = send(&guarded, "GET", "/health", &[], b"").await;
        assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
        let (status, _, body) = send(
            &guarded,
            "GET",
            "/.well-known/oauth-protected-resource/mcp",
            &[],
            b"",
        )
        .await;
        assert_eq!(status, 200);
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], "https://mcp.example/mcp");
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://issuer.example"])
        );
        assert!(
            guarded.refused.lock().unwrap().is_empty(),
            "metadata is open"
        );
    }

    #[tokio::test]
    async fn mcp_requests_are_authenticated_and_the_tools_see_the_caller() {
        let call = br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami"}}"#;
        let guarded = placement::<false>(true);
        let (status, headers, _) = send(&guarded, "POST", "/mcp", &[JSON, VERSION], call).await;
        assert_eq!(status, 401);
        assert_eq!(
            headers["www-authenticate"],
            r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp""#
        );
        let bad = ("authorization", "Bearer nope");
        let (status, _, _) = send(&guarded, "POST", "/mcp/", &[JSON, VERSION, bad], call).await;
        assert_eq!(status, 401);
        let good = ("authorization", "Bearer good");
        let (status, _, body) = send(&guarded, "POST", "/mcp/", &[JSON, VERSION, good], call).await;
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["result"]["content"][0]["text"], "alice", "{body}");
        assert_eq!(*guarded.refused.lock().unwrap(), ["missing", "rejected"]);
        assert_eq!(*guarded.admitted.lock().unwrap(), ["alice"]);

        let open = placement::<false>(false);
        let (status, _, body) = send(&open, "POST", "/mcp", &[JSON, VERSION], call).await;
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["result"]["content"][0]["text"], "anonymous");

        // Tools that cannot be had: 500 with the reason, after authentication.
        let mut broken = placement::<false>(true);
        broken.unavailable = Some("datasources file 'x': not found");
        let (status, _, _) = send(&broken, "POST", "/mcp", &[JSON, VERSION], call).await;
        assert_eq!(status, 401);
        let (status, _, body) = send(&broken, "POST", "/mcp", &[JSON, VERSION, good], call).await;
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"error":"datasources file 'x': not found"}"#)
        );
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_a_parse_error_on_every_version() {
        let open = placement::<false>(false);
        let broken = br#"{"jsonrpc": "2.0", "id": 1,
  "method": "ping",,}"#;
        for version in [
            None,
            Some("2025-03-26"),
            Some("2025-06-18"),
            Some("2025-11-25"),
            Some("2026-07-28"),
        ] {
            let mut headers = vec![JSON];
            headers.extend(version.map(|v| ("mcp-protocol-version", v)));
            let (status, response_headers, body) =
                send(&open, "POST", "/mcp", &headers, broken).await;
            assert_eq!(status, 400, "{version:?}: {body}");
            assert_eq!(response_headers["content-type"], "application/json");
            let answer: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                answer,
                json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700,
                    "message": "Parse error: key must be a string at line 2 column 20"}}),
                "{version:?}"
            );
        }
        // The media type was wrong, or the JSON is not JSON-RPC: rmcp's answers stand.
        let (status, _, body) = send(
            &open,
            "POST",
            "/mcp",
            &[("content-type", "text/plain"), VERSION],
            broken,
        )
        .await;
        assert_eq!(status, 415, "{body}");
        let (status, _, body) = send(&open, "POST", "/mcp", &[JSON, VERSION], b"[1, 2, 3]").await;
        assert_eq!(status, 415, "{body}");
        assert!(!body.contains("-32700"), "{body}");
        // Good requests are untouched.
        let (status, _, body) = send(&open, "POST", "/mcp", &[JSON, VERSION], PING).await;
        assert_eq!(status, 200, "{body}");
        // Authentication comes first.
        let guarded = placement::<false>(true);
        let (status, _, _) = send(&guarded, "POST", "/mcp", &[JSON, VERSION], broken).await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn tool_calls_wait_at_the_gate_and_other_requests_go_straight_through() {
        let mut open = placement::<false>(false);
        open.gate = Some(CallGate::new(1, Duration::from_millis(200)));
        let wait = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"wait"}}"#;
        let call = br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"whoami"}}"#;
        let text = |body: &str| {
            let answer: Value = serde_json::from_str(body).unwrap();
            let result = &answer["result"];
            (
                result["content"][0]["text"].as_str().unwrap().to_string(),
                result["isError"] == true,
            )
        };
        let others = async {
            // The first call holds the only place by now.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let started = Instant::now();
            let (status, _, body) = send(&open, "POST", "/mcp", &[JSON, VERSION], PING).await;
            assert_eq!(status, 200, "{body}");
            let (status, _, body) = send(
                &open,
                "POST",
                "/mcp",
                &[JSON, VERSION],
                br#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert!(started.elapsed() < Duration::from_millis(150), "not held");
            // A second call waits its limit, then is answered as busy, not run.
            let started = Instant::now();
            let (status, _, body) = send(&open, "POST", "/mcp", &[JSON, VERSION], call).await;
            assert!(started.elapsed() >= Duration::from_millis(200));
            assert_eq!(status, 200, "{body}");
            let (message, is_error) = text(&body);
            assert!(is_error, "{body}");
            assert!(
                message.starts_with(
                    "the server is busy: it runs at most 1 tool calls at once, and this one waited 0.2s"
                ),
                "{message}"
            );
            open.echo.release.notify_one();
        };
        let (first, ()) = tokio::join!(send(&open, "POST", "/mcp", &[JSON, VERSION], wait), others);
        assert_eq!(first.0, 200, "{}", first.2);
        assert_eq!(text(&first.2), ("anonymous".to_string(), false));
        assert_eq!(*open.turned_away.lock().unwrap(), ["whoami"]);
        // The place is free again; bodies too large or not JSON are answered as without a gate.
        let (status, _, body) = send(&open, "POST", "/mcp", &[JSON, VERSION], call).await;
        assert_eq!(
            (status, text(&body)),
            (200, ("anonymous".to_string(), false))
        );
        let (status, _, body) = send(&open, "POST", "/mcp", &[JSON, VERSION], b"{,").await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("-32700"), "{body}");
        let huge = vec![b' '; crate::front::MAX_REQUEST_BODY_BYTES + 1];
        let (status, _, _) = send(&open, "POST", "/mcp", &[JSON, VERSION], &huge).await;
        assert_eq!(status, 413);
    }

    /// A body of `frames` in as many frames.
    struct Frames(std::collections::VecDeque<Bytes>);

    impl http_body::Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
        }
    }

    fn framed(frames: &[&[u8]]) -> Frames {
        Frames(frames.iter().map(|f| Bytes::copy_from_slice(f)).collect())
    }

    #[tokio::test]
    async fn bodies_are_read_whole_up_to_the_limit() {
        assert_eq!(read_body(framed(&[])).await.unwrap(), Bytes::new());
        assert_eq!(read_body(framed(&[b"{}"])).await.unwrap(), "{}");
        assert_eq!(
            read_body(framed(&[b"{\"a\"", b":", b"1}"])).await.unwrap(),
            "{\"a\":1}"
        );
        let half = vec![b' '; MAX_REQUEST_BODY_BYTES / 2];
        let at_limit = read_body(framed(&[&half, &half])).await.unwrap();
        assert_eq!(at_limit.len(), MAX_REQUEST_BODY_BYTES);
        let over = read_body(framed(&[&half, &half, b" "])).await.unwrap_err();
        assert_eq!(over.status(), 413);
        let text = over.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            text,
            format!("Payload Too Large: request body exceeds {MAX_REQUEST_BODY_BYTES} bytes")
        );
    }

    #[test]
    fn paths_route_as_documented() {
        for (path, route) in [
            ("/mcp", Route::Mcp),
            ("/mcp/", Route::Mcp),
            ("/health", Route::Health),
            (
                "/.well-known/oauth-protected-resource",
                Route::ProtectedResourceMetadata,
            ),
            (
                "/.well-known/oauth-protected-resource/mcp",
                Route::ProtectedResourceMetadata,
            ),
            (
                "/.well-known/oauth-protected-resource/other",
                Route::NotFound,
            ),
            ("/mcp/x", Route::NotFound),
            ("/MCP", Route::NotFound),
            ("/", Route::NotFound),
            ("", Route::NotFound),
        ] {
            assert_eq!(Route::of(path), route, "{path}");
        }
    }
}
