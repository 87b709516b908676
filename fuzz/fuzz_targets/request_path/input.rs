//! Reading the fuzz input into request bodies: words, numbers and JSON values, JSON-RPC envelopes
//! with fuzzed ids, methods and params, `tools/call` arguments, batches, deep nesting and bodies at
//! the size limit.
//!
//! Not here: the headers, sending the request and what must hold of the answer (`request_path.rs`).

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Value, json};

use super::MAX_REQUEST_BODY_BYTES;

// ---- reading the input ----

/// One byte from the input (0 once it is used up) reduced to `0..n`.
pub(crate) fn pick(u: &mut Unstructured, n: usize) -> usize {
    usize::from(u8::arbitrary(u).unwrap_or(0)) % n
}

/// Up to 255 bytes from the input, as given.
pub(crate) fn raw_bytes<'a>(u: &mut Unstructured<'a>) -> &'a [u8] {
    let len = pick(u, 256).min(u.len());
    u.bytes(len).unwrap_or_default()
}

fn text(u: &mut Unstructured) -> String {
    String::from_utf8_lossy(raw_bytes(u)).into_owned()
}

/// One of `words`, or fuzzed text.
fn word(u: &mut Unstructured, words: &[&str]) -> String {
    match words.get(pick(u, words.len() + 1)) {
        Some(w) => (*w).to_string(),
        None => text(u),
    }
}

fn number(u: &mut Unstructured) -> Value {
    match pick(u, 6) {
        0 => json!(pick(u, 256)),
        1 => json!(i64::arbitrary(u).unwrap_or(0)),
        2 => json!(u64::arbitrary(u).unwrap_or(0)),
        3 => json!(f64::arbitrary(u).unwrap_or(0.0)),
        4 => json!(1.0),
        _ => json!(-1),
    }
}

const KEYS: &[&str] = &[
    "name",
    "arguments",
    "uri",
    "cursor",
    "level",
    "_meta",
    "protocolVersion",
    "datasource_id",
    "promql",
    "limit",
    "progressToken",
];

/// Any JSON value, nested at most `depth` deep.
fn any_value(u: &mut Unstructured, depth: u32) -> Value {
    match pick(u, if depth == 0 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(bool::arbitrary(u).unwrap_or(false)),
        2 => number(u),
        3 => Value::String(text(u)),
        4 => (0..pick(u, 4)).map(|_| any_value(u, depth - 1)).collect(),
        _ => {
            let mut map = Map::new();
            for _ in 0..pick(u, 4) {
                let key = word(u, KEYS);
                let value = any_value(u, depth - 1);
                map.insert(key, value);
            }
            Value::Object(map)
        }
    }
}

// ---- building bodies ----

const METHODS: &[&str] = &[
    "tools/call",
    "tools/list",
    "initialize",
    "ping",
    "server/discover",
    "notifications/initialized",
    "notifications/cancelled",
    "logging/setLevel",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "completion/complete",
    "subscriptions/listen",
    "tasks/get",
    "skills/list",
    "roots/list",
];

const VERSIONS: &[&str] = &[
    "2025-11-25",
    "2026-07-28",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
    "2099-01-01",
];

const TIMES: &[&str] = &[
    "now",
    "now-1h",
    "now+5m",
    "2025-11-21T10:00:00Z",
    "1763719200",
    "0",
    "-1",
    "1e20",
    "now-100y",
    "",
    "yesterday",
];

/// A plausible value for tool argument `name`.
fn argument(u: &mut Unstructured, name: &str) -> Value {
    let words: &[&str] = match name {
        "datasource_id" => &["p", "vm", "prom-uid", "", "nope"],
        "promql" => &[
            "up",
            "rate(http_requests_total[5m])",
            "sum by (job) (up)",
            "up{job=~\".+\"}",
            "topk(5, up)",
            "up[5m]",
            "(",
            "",
            "vector(1)",
        ],
        "time" | "start" | "end" => TIMES,
        "step" => &["15s", "1m", "0", "1h30m", "0.001", "-5s", "1d", ""],
        "metric_name" => &["up", "http_requests_total", "", "a b", "{}"],
        "label_name" => &["job", "__name__", "instance", "", "1bad"],
        "pattern" => &[".*http.*", "up", "(", "[a-", ".*", "", "(?i)UP", "a{1000}"],
        "limit" => {
            return match pick(u, 4) {
                0 => json!(pick(u, 256)),
                1 => json!(10_000),
                2 => number(u),
                _ => any_value(u, 1),
            };
        }
        _ => return any_value(u, 2),
    };
    match pick(u, 8) {
        0 => any_value(u, 1),
        _ => Value::String(word(u, words)),
    }
}

/// `tools/call` params: a tool (usually a real one) and arguments (usually its own).
fn call_params(u: &mut Unstructured) -> Value {
    let tools = proms_mcp::tools::TOOLS;
    let index = pick(u, tools.len() + 2);
    let (name, params) = match tools.get(index) {
        Some(t) => (t.name.to_string(), t.params),
        None if index == tools.len() => ("nope".to_string(), &[][..]),
        None => (text(u), &[][..]),
    };
    let arguments = match pick(u, 8) {
        0 => any_value(u, 3),
        1 => Value::Null,
        _ => {
            let mut map = Map::new();
            for p in params {
                // Required ones usually, optional ones half the time.
                if pick(u, 4) < if p.required { 3 } else { 2 } {
                    map.insert(p.name.to_string(), argument(u, p.name));
                }
            }
            if pick(u, 8) == 0 {
                let key = word(u, KEYS);
                map.insert(key, any_value(u, 2));
            }
            Value::Object(map)
        }
    };
    let mut params = json!({"name": name});
    if pick(u, 8) != 0 {
        params["arguments"] = arguments;
    }
    params
}

/// Request `_meta` for 2026-07-28 (per-request version and capabilities), sometimes incomplete.
fn request_meta(u: &mut Unstructured, version: &str) -> Value {
    let mut meta = Map::new();
    if pick(u, 8) != 0 {
        meta.insert(
            "io.modelcontextprotocol/protocolVersion".into(),
            version.into(),
        );
    }
    if pick(u, 8) != 0 {
        meta.insert(
            "io.modelcontextprotocol/clientCapabilities".into(),
            if pick(u, 4) == 0 {
                any_value(u, 2)
            } else {
                json!({})
            },
        );
    }
    if pick(u, 2) == 0 {
        meta.insert(
            "io.modelcontextprotocol/clientInfo".into(),
            json!({"name": "fuzz", "version": "1.0"}),
        );
    }
    if pick(u, 8) == 0 {
        meta.insert("progressToken".into(), any_value(u, 0));
    }
    Value::Object(meta)
}

fn request_id(u: &mut Unstructured) -> Option<Value> {
    Some(match pick(u, 10) {
        0..=3 => json!(pick(u, 256)),
        4 => Value::String(text(u)),
        5 => json!("req-1"),
        6 => number(u),
        7 => Value::Null,
        8 => any_value(u, 1),
        _ => return None,
    })
}

/// One JSON-RPC message: usually a well-formed request, sometimes a notification or a broken one.
fn envelope(u: &mut Unstructured, tool_call: bool) -> Value {
    let mut message = Map::new();
    match pick(u, 16) {
        0 => {}
        1 => {
            message.insert("jsonrpc".into(), any_value(u, 0));
        }
        _ => {
            message.insert("jsonrpc".into(), "2.0".into());
        }
    }
    if let Some(id) = request_id(u) {
        message.insert("id".into(), id);
    }
    let method = if tool_call {
        "tools/call".to_string()
    } else {
        word(u, METHODS)
    };
    let version = VERSIONS[pick(u, VERSIONS.len())];
    let mut params = match method.as_str() {
        "tools/call" => call_params(u),
        "initialize" => json!({
            "protocolVersion": word(u, VERSIONS),
            "capabilities": if pick(u, 4) == 0 { any_value(u, 2) } else { json!({}) },
            "clientInfo": {"name": "fuzz", "version": "1.0"},
        }),
        "resources/read" | "resources/subscribe" => json!({"uri": word(u, &["file:///x", ""])}),
        "prompts/get" => json!({"name": word(u, &["p", ""])}),
        "logging/setLevel" => json!({"level": word(u, &["debug", "info", "emergency"])}),
        _ => match pick(u, 3) {
            0 => any_value(u, 2),
            _ => json!({}),
        },
    };
    // Per-request metadata: always for discover, often otherwise (2026-07-28 clients send it).
    if params.is_object() && (method == "server/discover" || pick(u, 3) == 0) {
        params["_meta"] = request_meta(u, version);
    }
    if pick(u, 16) != 0 {
        message.insert("params".into(), params);
    }
    message.insert("method".into(), method.into());
    if pick(u, 16) == 0 {
        let key = word(u, KEYS);
        message.insert(key, any_value(u, 1));
    }
    Value::Object(message)
}

/// `d` nested arrays or objects around `inner`.
fn nest(d: usize, objects: bool, inner: &str) -> String {
    let (open, close) = if objects {
        ("{\"a\":", "}")
    } else {
        ("[", "]")
    };
    let mut s = String::with_capacity(d * (open.len() + close.len()) + inner.len());
    for _ in 0..d {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..d {
        s.push_str(close);
    }
    s
}

pub(crate) fn structured_body(u: &mut Unstructured, kind: usize) -> Vec<u8> {
    match kind {
        // A request, a notification or a broken envelope.
        1 | 2 => envelope(u, false).to_string().into_bytes(),
        // tools/call with fuzzed arguments.
        3..=5 => envelope(u, true).to_string().into_bytes(),
        // A batch.
        6 => {
            let n = pick(u, 4);
            let items: Vec<Value> = (0..n)
                .map(|_| {
                    let tool_call = pick(u, 2) == 0;
                    envelope(u, tool_call)
                })
                .collect();
            Value::Array(items).to_string().into_bytes()
        }
        // Deep nesting: in the arguments, in params, or as the whole body.
        7 => {
            let depth = usize::from(u16::arbitrary(u).unwrap_or(0)) % 20_000;
            let objects = pick(u, 2) == 0;
            match pick(u, 3) {
                0 => format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"query_instant","arguments":{{"datasource_id":"p","promql":{}}}}}}}"#,
                    nest(depth, objects, "\"up\"")
                ),
                1 => format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}}"#,
                    nest(depth, objects, "{}")
                ),
                _ => nest(depth, objects, "1"),
            }
            .into_bytes()
        }
        // A valid request padded with whitespace to just under, at or just over the size limit.
        8 => {
            let tool_call = pick(u, 2) == 0;
            let mut body = envelope(u, tool_call).to_string().into_bytes();
            let target = MAX_REQUEST_BODY_BYTES - 2 + pick(u, 5);
            if body.len() < target {
                body.resize(target, b' ');
            }
            body
        }
        // A valid message with bytes cut, replaced or inserted somewhere.
        _ => {
            let tool_call = pick(u, 2) == 0;
            let mut body = envelope(u, tool_call).to_string().into_bytes();
            let at = usize::from(u16::arbitrary(u).unwrap_or(0)) % (body.len() + 1);
            match pick(u, 3) {
                0 => body.truncate(at),
                1 => {
                    if at < body.len() {
                        body[at] = u8::arbitrary(u).unwrap_or(0);
                    }
                }
                _ => {
                    let insert = raw_bytes(u).to_vec();
                    body.splice(at..at, insert);
                }
            }
            body
        }
    }
}
