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
//! Not here: the sandboxes and their own slots (the host's runtime), routing and authentication
//! ([`super::serve`]).

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::MAX_REQUEST_BODY_BYTES;
use super::endpoint::Body;

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

    /// Reads the body of `request` and, when it is a `tools/call`, waits for a place. The request
    /// comes back with its body in one piece and, while the call holds a place, the place; a call
    /// that found none in time comes back with [`GateExpired`] in its extensions. An oversized body
    /// is answered here as rmcp answers it (413, same words), an unreadable one with 400.
    pub(super) async fn admit<B>(
        &self,
        request: http::Request<B>,
    ) -> Result<(http::Request<Full<Bytes>>, Option<SemaphorePermit<'_>>), http::Response<Body>>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: fmt::Display,
    {
        let (mut parts, body) = request.into_parts();
        let body = read_body(body).await?;
        let mut place = None;
        if let Some(tool) = tool_called(&body) {
            let arrived = Instant::now();
            match tokio::time::timeout(self.max_wait, self.places.acquire()).await {
                Ok(Ok(permit)) => place = Some(permit),
                // Closed never happens (the gate never closes); a timeout is the busy case.
                Ok(Err(_)) | Err(_) => {
                    parts.extensions.insert(GateExpired {
                        tool,
                        capacity: self.capacity,
                        waited: arrived.elapsed(),
                    });
                }
            }
        }
        Ok((http::Request::from_parts(parts, Full::new(body)), place))
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
}
