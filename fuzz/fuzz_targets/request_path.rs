//! The MCP endpoint as a client reaches it: fuzzed HTTP requests (method, URI, the headers the endpoint
//! looks at, and the body) go through the real front (`McpFront` in its `McpService`: a plain
//! `tools/call` on the direct path, anything else through rmcp's `StreamableHttpService`, stateless,
//! with the `HttpPolicy` server settings, through `handle_mcp` as every placement calls it) over the
//! real tools (`InProcess`, as the `server` component runs them) against a fake
//! Prometheus that always gives the same answers (no network).
//!
//! The input is read as: one byte each for the body kind, the policy, the method, the URI and each
//! header (which of its usual values, absent, or fuzzed), the fuzzed header values, then the body —
//! in "raw" kind the rest of the input as is, otherwise a JSON-RPC body built from the rest (envelopes
//! with fuzzed ids, methods and params, `tools/call` with fuzzed arguments, batches, deep nesting, a
//! body at the size limit, a valid body with a splice), so most inputs get past the JSON parser.
//!
//! What must hold, whatever the request:
//! - nothing panics (libFuzzer's panic hook aborts, also inside tasks rmcp spawns);
//! - the status is one the endpoint documents: 200, 202 (notification), 400 (bad header, missing
//!   `_meta`, or a body that is not JSON), 403 (`Host`/`Origin`), 404 (unknown method on
//!   2026-07-28), 405 (not POST), 406 (`Accept`), 413 (body over the limit, and only then), 415
//!   (`Content-Type`, or JSON that is not JSON-RPC); never 500;
//! - a body declared `application/json` that is not JSON is never answered 415 (once read, it gets
//!   400 and the JSON-RPC parse error, `-32700` with id `null` and serde_json's message), and that
//!   error answers nothing else;
//! - a 200 or 202 answers a POST; a 200 is `application/json` (no tool streams), a JSON-RPC response
//!   to the request's id; any `application/json` answer parses as JSON;
//! - no answer (body or headers) carries the client's `Authorization` value or a datasource secret,
//!   and no datasource request carries the client's token.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use proms_mcp::front::{
    Caller, HttpPolicy, InProcess, MAX_REQUEST_BODY_BYTES, McpFront, McpService, handle_mcp,
    json_syntax_error,
};
use proms_mcp::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
use serde_json::{Value, json};

// Reading the input into bodies lives in `request_path/` beside this file.
#[path = "request_path/input.rs"]
mod input;
use input::{pick, raw_bytes, structured_body};

/// Every status the endpoint documents (README "Protocol", host-test's bad-input tests).
const DOCUMENTED_STATUSES: &[u16] = &[200, 202, 400, 403, 404, 405, 406, 413, 415];

/// The clock the tools see: fixed, so runs are reproducible.
const NOW: f64 = 1_763_719_200.0;

/// Marks the client's token, so an echo cannot come from anything but the request.
const TOKEN_MARK: &str = "fzTok_";

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Datasource secrets in the configuration; no answer may contain them.
const SECRETS: &[&str] = &["ds-header-secret-4d1f", "ds-password-secret-9a2c"];

const DATASOURCES: &str = r#"
datasources:
  - name: p
    uid: prom-uid
    type: prometheus
    url: http://127.0.0.1:9090
    isDefault: true
    jsonData:
      timeInterval: 30s
      httpHeaderName1: X-Scope-OrgID
    secureJsonData:
      httpHeaderValue1: "ds-header-secret-4d1f"
  - name: vm
    type: victoriametrics-metrics-datasource
    url: http://127.0.0.1:8428
    basicAuth: true
    basicAuthUser: reader
    jsonData:
      httpMethod: GET
    secureJsonData:
      basicAuthPassword: "ds-password-secret-9a2c"
"#;

/// A Prometheus that answers every endpoint the tools use with one fixed, plausible answer.
struct FakePrometheus;

impl HttpClient for FakePrometheus {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        for (name, value) in &request.headers {
            assert!(
                !value.contains(TOKEN_MARK),
                "the client's token reached a datasource in header {name}"
            );
        }
        let path = request.url.split('?').next().unwrap_or_default();
        let data = if path.ends_with("/api/v1/query") {
            json!({"resultType": "vector", "result": [
                {"metric": {"__name__": "up", "job": "prometheus", "instance": "localhost:9090"},
                 "value": [NOW, "1"]},
                {"metric": {"__name__": "up", "job": "node", "instance": "localhost:9100"},
                 "value": [NOW, "NaN"]},
            ]})
        } else if path.ends_with("/api/v1/query_range") {
            json!({"resultType": "matrix", "result": [
                {"metric": {"__name__": "up", "job": "prometheus"},
                 "values": [[NOW - 60.0, "1"], [NOW - 30.0, "+Inf"], [NOW, "0.5"]]},
            ]})
        } else if path.ends_with("/api/v1/labels") {
            json!(["__name__", "instance", "job"])
        } else if path.ends_with("/values") {
            json!(["up", "http_requests_total", "process_cpu_seconds_total"])
        } else if path.ends_with("/api/v1/metadata") {
            json!({"up": [{"type": "gauge", "help": "Target is up.", "unit": ""}]})
        } else {
            let body = r#"{"status":"error","errorType":"not_found","error":"no such endpoint"}"#;
            return Ok(HttpResponse {
                status: 404,
                body: body.into(),
            });
        };
        let body = json!({"status": "success", "data": data, "warnings": ["fake backend"]});
        Ok(HttpResponse {
            status: 200,
            body: body.to_string().into_bytes(),
        })
    }
}

type Service = McpService<InProcess<FakePrometheus>>;

/// Built once: the runtime and one service per `Host`/`Origin` policy, all over the same front.
struct State {
    runtime: tokio::runtime::Runtime,
    services: Vec<Service>,
}

impl State {
    fn new() -> State {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let datasources = proms_mcp::datasources::parse(DATASOURCES, "fuzz.yaml", &|_| None)
            .expect("fuzz datasources parse");
        let tools =
            InProcess::new(datasources, FakePrometheus, Duration::from_secs(5)).with_clock(|| NOW);
        let front = McpFront::new(Arc::new(tools));
        let policies = [
            // Bound to loopback: loopback hosts and origins only.
            HttpPolicy::from_env(&|_| None, true),
            // Bound to all interfaces: any host, no browser origin.
            HttpPolicy::from_env(&|_| None, false),
            // Configured.
            HttpPolicy::from_env(
                &|name| match name {
                    "ALLOWED_HOSTS" => Some("proms.example, localhost:8000".into()),
                    "ALLOWED_ORIGINS" => Some("*".into()),
                    _ => None,
                },
                false,
            ),
        ];
        let services = policies
            .iter()
            .map(|policy| front.clone().into_service(policy.server_config()))
            .collect();
        State { runtime, services }
    }
}

thread_local! {
    static STATE: State = State::new();
}

// ---- headers ----

/// A header's value: a fixed one, the one that matches the body, the client's token, or fuzzed.
#[derive(Clone, Copy)]
enum Choice {
    Absent,
    Fixed(&'static str),
    /// `Mcp-Method` / `Mcp-Name` / `MCP-Protocol-Version` as the body says.
    MatchBody,
    /// `Authorization` with the client's token in one of its forms.
    Token(&'static str),
}

struct HeaderSpec {
    name: &'static str,
    choices: &'static [Choice],
}

use Choice::{Absent, Fixed, MatchBody, Token};

/// The headers the endpoint looks at; the first choice of each is what a good client sends.
const HEADERS: &[HeaderSpec] = &[
    HeaderSpec {
        name: "content-type",
        choices: &[
            Fixed("application/json"),
            Fixed("application/json; charset=utf-8"),
            Fixed("APPLICATION/JSON"),
            Fixed("text/plain"),
            Fixed("application/jsonx"),
            Absent,
        ],
    },
    HeaderSpec {
        name: "accept",
        choices: &[
            Fixed("application/json, text/event-stream"),
            Fixed("text/event-stream, application/json;q=0.9"),
            Fixed("application/json"),
            Fixed("text/event-stream"),
            Fixed("*/*"),
            Absent,
        ],
    },
    HeaderSpec {
        name: "mcp-protocol-version",
        choices: &[
            MatchBody,
            Fixed("2025-11-25"),
            Fixed("2026-07-28"),
            Fixed("2025-06-18"),
            Fixed("2025-03-26"),
            Fixed("2024-11-05"),
            Fixed("2099-01-01"),
            Absent,
        ],
    },
    HeaderSpec {
        name: "host",
        choices: &[
            Fixed("localhost:8000"),
            Fixed("127.0.0.1:8000"),
            Fixed("[::1]:8000"),
            Fixed("proms.example"),
            Fixed("evil.example"),
            Fixed("localhost:8000:1"),
            Absent,
        ],
    },
    HeaderSpec {
        name: "origin",
        choices: &[
            Absent,
            Fixed("http://localhost:3000"),
            Fixed("https://evil.example"),
            Fixed("null"),
            Fixed("http://127.0.0.1"),
        ],
    },
    HeaderSpec {
        name: "authorization",
        choices: &[Absent, Token("Bearer "), Token("Basic "), Token("")],
    },
    HeaderSpec {
        name: "mcp-session-id",
        choices: &[Absent, Fixed("session-1"), Fixed("")],
    },
    HeaderSpec {
        name: "mcp-method",
        choices: &[MatchBody, Absent, Fixed("tools/call"), Fixed("initialize")],
    },
    HeaderSpec {
        name: "mcp-name",
        choices: &[MatchBody, Absent, Fixed("query_instant")],
    },
];

/// What the body says, for headers that must match it.
#[derive(Default)]
struct BodyFacts {
    method: Option<String>,
    name: Option<String>,
    version: Option<String>,
}

fn body_facts(body: &[u8]) -> BodyFacts {
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(body) else {
        return BodyFacts::default();
    };
    let params = message.get("params");
    let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    BodyFacts {
        method: string(message.get("method")),
        name: string(params.and_then(|p| p.get("name").or_else(|| p.get("uri")))),
        version: string(
            params
                .and_then(|p| p.pointer("/_meta/io.modelcontextprotocol~1protocolVersion"))
                .or_else(|| params.and_then(|p| p.get("protocolVersion"))),
        ),
    }
}

/// The request id, when the body is an object with at most one `id` (serde refuses duplicates here).
#[derive(serde::Deserialize)]
struct IdOnly {
    id: Option<Value>,
}

fn same_id(request: &Value, response: &Value) -> bool {
    match (request, response) {
        (Value::String(a), Value::String(b)) => a == b,
        // rmcp reads `1.0` and `1e2` as the integers they are.
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => false,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let kind = pick(&mut u, 10);
    let policy = pick(&mut u, 3);
    let method = match pick(&mut u, 12) {
        0..=5 => http::Method::POST,
        6 => http::Method::GET,
        7 => http::Method::DELETE,
        8 => http::Method::PUT,
        9 => http::Method::OPTIONS,
        10 => http::Method::HEAD,
        _ => http::Method::from_bytes(raw_bytes(&mut u)).unwrap_or(http::Method::PATCH),
    };
    let uri = [
        "/mcp",
        "/mcp/",
        "http://localhost:8000/mcp",
        "http://evil.example/mcp",
        "/mcp?x=1",
    ][pick(&mut u, 5)];
    // Each header: one of its choices, or (the slot past them) a fuzzed value.
    let selected: Vec<Option<Choice>> = HEADERS
        .iter()
        .map(|h| h.choices.get(pick(&mut u, h.choices.len() + 1)).copied())
        .collect();
    let selected: Vec<Result<Choice, &[u8]>> = selected
        .into_iter()
        .map(|s| s.ok_or_else(|| raw_bytes(&mut u)))
        .collect();
    let token = format!(
        "{TOKEN_MARK}{}",
        raw_bytes(&mut u)
            .iter()
            .map(|b| char::from(ALNUM[usize::from(*b) % ALNUM.len()]))
            .collect::<String>()
    );
    let body = match kind {
        0 => u.take_rest().to_vec(),
        k => structured_body(&mut u, k),
    };
    let facts = body_facts(&body);

    let mut request = http::Request::builder().method(method.clone()).uri(uri);
    let mut auth_value: Option<String> = None;
    // What the client itself sent besides `Authorization`: an answer may quote it.
    let mut sent = body.clone();
    for (spec, choice) in HEADERS.iter().zip(&selected) {
        let value: Option<Vec<u8>> = match choice {
            Err(fuzzed) => Some(fuzzed.to_vec()),
            Ok(Absent) => None,
            Ok(Fixed(v)) => Some(v.as_bytes().to_vec()),
            Ok(Token(scheme)) => Some(format!("{scheme}{token}").into_bytes()),
            Ok(MatchBody) => match spec.name {
                "mcp-method" => facts.method.clone(),
                "mcp-name" => facts.name.clone(),
                _ => Some(
                    facts
                        .version
                        .clone()
                        .unwrap_or_else(|| "2025-11-25".to_string()),
                ),
            }
            .map(String::into_bytes),
        };
        let Some(value) = value else { continue };
        let Ok(value) = http::HeaderValue::from_bytes(&value) else {
            continue;
        };
        if spec.name == "authorization" {
            auth_value = value.to_str().ok().map(str::to_string);
        } else {
            sent.extend_from_slice(value.as_bytes());
        }
        request = request.header(spec.name, value);
    }
    let Ok(mut request) = request.body(Bytes::from(body.clone())) else {
        return;
    };
    request.extensions_mut().insert(Caller::anonymous());
    let declares_json = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split_once(';').map_or(v, |(essence, _)| essence);
            essence.trim().eq_ignore_ascii_case("application/json")
        });

    let (status, headers, response_body) = STATE.with(|state| {
        state.runtime.block_on(async {
            let response = handle_mcp(&state.services[policy], request).await;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            // A 200 must be plain JSON: an event stream might never end, so do not read one.
            let content_type = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            assert!(
                status != 200 || content_type.starts_with("application/json"),
                "200 with content-type {content_type:?}"
            );
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, headers, body)
        })
    });

    assert!(
        DOCUMENTED_STATUSES.contains(&status),
        "undocumented status {status}: {}",
        String::from_utf8_lossy(&response_body)
    );
    if status == 200 || status == 202 {
        assert_eq!(method, http::Method::POST, "{status} for {method}");
    }
    if status == 413 {
        assert!(
            body.len() > MAX_REQUEST_BODY_BYTES,
            "413 for {} bytes",
            body.len()
        );
    }
    if body.len() > MAX_REQUEST_BODY_BYTES {
        assert!(
            status != 200 && status != 202,
            "{status} for {} bytes",
            body.len()
        );
    }

    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        let answer: Value = serde_json::from_slice(&response_body).unwrap_or_else(|e| {
            panic!(
                "HTTP {status} application/json body is not JSON ({e}): {}",
                String::from_utf8_lossy(&response_body)
            )
        });
        let parse_error = answer.pointer("/error/code") == Some(&json!(-32700));
        if parse_error {
            assert_eq!(status, 400, "-32700 with HTTP {status}");
            assert_eq!(answer["id"], Value::Null, "-32700 with an id: {answer}");
            assert!(
                declares_json && json_syntax_error(&body).is_some(),
                "-32700 for a JSON body: {answer}"
            );
        }
        if status == 200 {
            let shown = answer.to_string();
            assert_eq!(answer["jsonrpc"], "2.0", "not JSON-RPC: {shown}");
            assert!(
                answer.get("result").is_some() != answer.get("error").is_some(),
                "neither or both of result and error: {shown}"
            );
            if let Ok(IdOnly { id: Some(id) }) = serde_json::from_slice::<IdOnly>(&body) {
                assert!(
                    same_id(&id, &answer["id"]),
                    "request id {id} answered with id {}: {shown}",
                    answer["id"]
                );
            }
            if let Some(is_error) = answer.pointer("/result/isError") {
                assert!(is_error.is_boolean(), "isError {is_error}: {shown}");
            }
        }
    }

    // rmcp may refuse a request (a bad `Host` is 400) before it reads the body; once it has read a
    // body that is not JSON, the answer is the parse error, never its 415.
    if declares_json
        && body.len() <= MAX_REQUEST_BODY_BYTES
        && let Some(error) = json_syntax_error(&body)
    {
        let answer: Value = serde_json::from_slice(&response_body).unwrap_or_default();
        assert_ne!(
            status, 415,
            "a body that is not JSON ({error}) answered 415: {answer}"
        );
        if answer.pointer("/error/code") == Some(&json!(-32700)) {
            let message = answer.pointer("/error/message").and_then(Value::as_str);
            assert_eq!(message, Some(format!("Parse error: {error}").as_str()));
        }
    }

    // Nothing secret comes back: the client's token and the datasources' credentials (unless the
    // request carried them elsewhere, where an answer may quote them). A fuzzed token of a few bytes
    // ("r") appears in any answer by chance, so only tokens of 8 bytes or more are looked for.
    let mut secrets: Vec<&[u8]> = SECRETS.iter().map(|s| s.as_bytes()).collect();
    if let Some(auth) = &auth_value {
        secrets.push(auth.as_bytes());
        secrets.push(token.as_bytes());
    }
    for secret in secrets
        .into_iter()
        .filter(|s| s.len() >= 8 && !contains(&sent, s))
    {
        let shown = String::from_utf8_lossy(secret);
        assert!(
            !contains(&response_body, secret),
            "response body carries {shown:?}"
        );
        for (name, value) in &headers {
            assert!(
                !contains(value.as_bytes(), secret),
                "response header {name} carries {shown:?}"
            );
        }
    }
});
