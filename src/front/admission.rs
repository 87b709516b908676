//! Holding `tools/call` requests at the door of the MCP service: at most [`CallGate`]'s capacity of
//! tool calls are inside rmcp at once, the others wait here. rmcp builds a service for every request
//! (its channels and tasks, about 50 KiB) before the call waits for a sandbox; waiting here instead,
//! a burst of callers costs the host a parked connection each (measured at 64 callers and 16
//! sandboxes: 2.2–2.6 MiB less peak RSS).
//!
//! Only `tools/call` waits: `initialize`, `tools/list` and the rest never queue behind slow calls. A
//! call that waited longer than the gate's limit still goes on, with [`GateExpired`] in its
//! extensions, and the handler answers it as a tool error that says the server was busy; the answer
//! is shaped in one place for every protocol version.
//!
//! Not here: the sandboxes and their own slots (the host's runtime), reading the body, routing and
//! authentication ([`super::endpoint`]).

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most `capacity` tool calls inside the MCP service at once; the others wait up to `max_wait`.
#[derive(Debug)]
pub struct CallGate {
    places: Semaphore,
    capacity: usize,
    max_wait: Duration,
}

impl CallGate {
    /// A gate letting `capacity` (at least one) tool calls through at once; a call waits at most
    /// `max_wait` for a place.
    pub fn new(capacity: usize, max_wait: Duration) -> CallGate {
        let capacity = capacity.max(1);
        CallGate {
            places: Semaphore::new(capacity),
            capacity,
            max_wait,
        }
    }

    /// When `body` is a `tools/call`, waits for a place and returns it; the caller holds it until
    /// the answer is ready. A call that found none in time gets [`GateExpired`] in `extensions` and
    /// no place. Any other body passes at once.
    pub(super) async fn admit(
        &self,
        body: &[u8],
        extensions: &mut http::Extensions,
    ) -> Option<SemaphorePermit<'_>> {
        let tool = tool_called(body)?;
        let arrived = Instant::now();
        match tokio::time::timeout(self.max_wait, self.places.acquire()).await {
            Ok(Ok(permit)) => Some(permit),
            // Closed never happens (the gate never closes); a timeout is the busy case.
            Ok(Err(_)) | Err(_) => {
                extensions.insert(GateExpired {
                    tool,
                    capacity: self.capacity,
                    waited: arrived.elapsed(),
                });
                None
            }
        }
    }
}

/// Marks a `tools/call` that waited at the [`CallGate`] past its limit; its message is the tool
/// error the caller gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateExpired {
    /// The tool the call named (empty when it named none).
    pub tool: String,
    /// How many calls the gate lets through at once.
    pub capacity: usize,
    /// How long this call waited.
    pub waited: Duration,
}

impl fmt::Display for GateExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server is busy: it runs at most {} tool calls at once, and this one waited {:.1}s \
             for a place without getting one, so it was not run; try again shortly",
            self.capacity,
            self.waited.as_secs_f64()
        )
    }
}

/// The tool named, when `body` is one JSON-RPC request whose method is `tools/call`. Only the
/// method and the tool's name are read (the rest is skipped, nothing else kept); anything else,
/// JSON or not, passes without waiting, and rmcp answers it as it would.
fn tool_called(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Request<'a> {
        #[serde(borrow, default)]
        method: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        params: Option<Params<'a>>,
    }
    #[derive(Deserialize)]
    struct Params<'a> {
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
    }
    let request = serde_json::from_slice::<Request>(body).ok()?;
    (request.method.as_deref() == Some("tools/call")).then(|| {
        request
            .params
            .and_then(|p| p.name)
            .map(Cow::into_owned)
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_tools_call_waits() {
        for (body, tool) in [
            (
                &br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#[..],
                "x",
            ),
            (
                br#"{"params":{"arguments":{"method":"m"},"name":"q\u0041"},"method":"tools/call","id":"a"}"#,
                "qA",
            ),
            (br#"{"jsonrpc":"2.0","id":1,"method":"tools\/call"}"#, ""),
        ] {
            let name = tool_called(body);
            assert_eq!(name.as_deref(), Some(tool), "{}", String::from_utf8_lossy(body));
        }
        for body in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#[..],
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call"}]"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","#,
            b"",
            b"not json",
        ] {
            assert!(
                tool_called(body).is_none(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
