//! [`HttpClient`] over `wasi:http/outgoing-handler`, shared by both worlds. TLS and the egress
//! policy are the host's; this is only the WASI plumbing.

use super::generated::wasi::http::outgoing_handler;
use super::generated::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, Method as WasiMethod, OutgoingBody,
    OutgoingRequest, RequestOptions, Scheme, http_error_code,
};
use super::generated::wasi::io::poll::{Pollable, poll};
use super::generated::wasi::io::streams::StreamError;

use std::time::Instant;

use crate::http::{
    HttpClient, HttpError, HttpRequest, HttpResponse, MAX_IN_FLIGHT, MAX_RESPONSE_BYTES, Method,
};

/// [`HttpClient`] over `wasi:http/outgoing-handler`; the host applies TLS and the egress policy.
pub(crate) struct WasiHttp;

/// Bytes per body write: `blocking-write-and-flush` accepts at most 4096.
const WRITE_CHUNK: usize = 4096;

impl HttpClient for WasiHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let pending = start(request)?;
        pending.future.subscribe().block();
        pending.finish()
    }

    /// Starts up to [`MAX_IN_FLIGHT`] requests, waits on their pollables together, and reads each
    /// answer as it arrives, starting the next request in its place.
    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, HttpError>> {
        let mut answers: Vec<Option<Result<HttpResponse, HttpError>>> =
            requests.iter().map(|_| None).collect();
        let mut in_flight: Vec<(usize, Pending, Pollable)> = Vec::new();
        let mut next = 0;
        loop {
            while in_flight.len() < MAX_IN_FLIGHT && next < requests.len() {
                match start(&requests[next]) {
                    Ok(pending) => {
                        let pollable = pending.future.subscribe();
                        in_flight.push((next, pending, pollable));
                    }
                    Err(e) => answers[next] = Some(Err(e)),
                }
                next += 1;
            }
            if in_flight.is_empty() {
                break;
            }
            let ready = {
                let pollables: Vec<&Pollable> = in_flight.iter().map(|(_, _, p)| p).collect();
                poll(&pollables)
            };
            // Highest index first, so removing one does not shift the others.
            let mut ready: Vec<usize> = ready.into_iter().map(|i| i as usize).collect();
            ready.sort_unstable_by(|a, b| b.cmp(a));
            for i in ready {
                let (index, pending, pollable) = in_flight.swap_remove(i);
                drop(pollable);
                answers[index] = Some(pending.finish());
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(HttpError::Other("request was not sent".into()))))
            .collect()
    }
}

/// A request whose body is sent and whose response is on its way.
struct Pending {
    future: FutureIncomingResponse,
    started: Instant,
    timeout: std::time::Duration,
}

/// Sends `request`'s head and body; the response is awaited by [`Pending::finish`].
fn start(request: &HttpRequest) -> Result<Pending, HttpError> {
    let (scheme, authority, path) = split_url(&request.url)?;
    let headers = Fields::new();
    for (name, value) in &request.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| HttpError::Other(format!("header '{name}' rejected: {e:?}")))?;
    }
    // A body of known length goes with its length, not chunked: some proxies in front of
    // backends refuse chunked requests, and the host checks that the body written matches.
    if let Some(body) = &request.body {
        headers
            .append("content-length", body.len().to_string().as_bytes())
            .map_err(|e| HttpError::Other(format!("header 'content-length' rejected: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let invalid = |what: &str| HttpError::Other(format!("invalid request {what}"));
    outgoing
        .set_method(&match request.method {
            Method::Get => WasiMethod::Get,
            Method::Post => WasiMethod::Post,
        })
        .map_err(|_| invalid("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|_| invalid("scheme"))?;
    outgoing
        .set_authority(Some(authority))
        .map_err(|_| invalid("authority"))?;
    outgoing
        .set_path_with_query(Some(path))
        .map_err(|_| invalid("path"))?;
    // A request without a body (GET) never takes the body resource: the host then sends it with an
    // empty body it knows the length of, and no stream or channel is set up for it.
    let body = match &request.body {
        Some(bytes) => Some((outgoing.body().map_err(|_| invalid("body"))?, bytes)),
        None => None,
    };

    let options = RequestOptions::new();
    let nanos = request.timeout.as_nanos().min(u64::MAX as u128) as u64;
    // Hosts may not support every timeout; an unsupported one is not an error.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));

    // Start the request before writing the body: the host streams it, so a large body written
    // first could fill the host's buffer with nobody reading it.
    let started = Instant::now();
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(map_error)?;
    if let Some((body, bytes)) = body {
        {
            let stream = body.write().map_err(|_| invalid("body stream"))?;
            for chunk in bytes.chunks(WRITE_CHUNK) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| HttpError::Other(format!("writing the request body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(map_error)?;
    }
    Ok(Pending {
        future,
        started,
        timeout: request.timeout,
    })
}

impl Pending {
    /// Reads the response once its pollable is ready.
    fn finish(self) -> Result<HttpResponse, HttpError> {
        let response = match self.future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(map_error(code)),
            Some(Err(())) => {
                return Err(HttpError::Other("response already taken".into()));
            }
            None => return Err(HttpError::Other("response not ready".into())),
        };
        let status = response.status();
        let incoming = response
            .consume()
            .map_err(|_| HttpError::Other("response body unavailable".into()))?;
        let mut bytes = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|_| HttpError::Other("response body unavailable".into()))?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => {
                        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                            return Err(HttpError::TooLarge);
                        }
                        // The host bounds the gaps between bytes; this bounds the whole answer, so
                        // a backend that drips never holds a call until its deadline.
                        if self.started.elapsed() > self.timeout {
                            return Err(HttpError::Timeout);
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        // The host says why when it can (e.g. a between-bytes timeout).
                        return Err(match http_error_code(&e) {
                            Some(code) => map_error(code),
                            None => HttpError::Other(format!(
                                "reading the response: {}",
                                e.to_debug_string()
                            )),
                        });
                    }
                }
            }
        }
        drop(IncomingBody::finish(incoming));
        Ok(HttpResponse {
            status,
            body: bytes,
        })
    }
}

/// Splits `http(s)://authority/path?query` for the request setters.
fn split_url(url: &str) -> Result<(Scheme, &str, &str), HttpError> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        return Err(HttpError::Other(format!("unsupported URL '{url}'")));
    };
    let (authority, path) = rest
        .find(['/', '?'])
        .map_or((rest, "/"), |i| rest.split_at(i));
    Ok((scheme, authority, path))
}

fn map_error(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied("destination not allowed".into()),
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::DnsTimeout => HttpError::Timeout,
        ErrorCode::ConnectionRefused => HttpError::Connect("connection refused".into()),
        ErrorCode::DnsError(e) => HttpError::Connect(format!(
            "DNS error: {}",
            e.rcode.unwrap_or_else(|| "lookup failed".into())
        )),
        ErrorCode::DestinationNotFound | ErrorCode::DestinationUnavailable => {
            HttpError::Connect("destination unavailable".into())
        }
        ErrorCode::TlsCertificateError
        | ErrorCode::TlsProtocolError
        | ErrorCode::TlsAlertReceived(_) => HttpError::Connect(format!(
            "TLS failure ({code:?}): check the datasource's CA settings"
        )),
        other => HttpError::Other(format!("{other:?}")),
    }
}
