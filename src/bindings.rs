//! The one bindings module: implementation of the `plugin` world's exports (`proms:mcp/tools`,
//! `proms:mcp/promql`) and of [`HttpClient`] over `wasi:http/outgoing-handler`.
//!
//! Everything else in the crate is plain Rust that also compiles natively; only this module knows
//! about WIT. Each export call is independent: the host may instantiate the component per call.

mod generated {
    wit_bindgen::generate!({
        world: "plugin",
        path: "wit",
        generate_all,
    });
}

use generated::exports::proms::mcp::{promql, tools};
use generated::wasi::http::outgoing_handler;
use generated::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use generated::wasi::io::streams::StreamError;

use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, Method};
use crate::settings::Settings;

struct Component;

generated::export!(Component with_types_in generated);

impl tools::Guest for Component {
    fn list_tools() -> Vec<tools::Tool> {
        crate::tools::list()
            .into_iter()
            .map(|(name, definition)| tools::Tool {
                name: name.to_string(),
                definition_json: definition.to_string(),
            })
            .collect()
    }

    fn call_tool(
        name: String,
        arguments_json: String,
        _caller: Option<tools::Caller>,
    ) -> Result<tools::CallToolResult, tools::ToolError> {
        let arguments: serde_json::Value = serde_json::from_str(&arguments_json).map_err(|e| {
            tools::ToolError::InvalidArguments(format!("arguments are not valid JSON: {e}"))
        })?;
        let settings =
            Settings::from_env(|k| std::env::var(k).ok()).map_err(tools::ToolError::Unavailable)?;
        let datasources = crate::datasources::load(&settings.datasources_path)
            .map_err(|e| tools::ToolError::Unavailable(e.to_string()))?;
        let ctx = crate::tools::Context {
            datasources: &datasources,
            http: &WasiHttp,
            now: crate::timespec::now_unix(),
            timeout: settings.query_timeout,
        };
        crate::tools::call(&ctx, &name, arguments)
            .map(|v| tools::CallToolResult {
                result_json: v.to_string(),
            })
            .map_err(|e| tools::ToolError::UnknownTool(e.to_string()))
    }
}

impl promql::Guest for Component {
    fn validate(expr: String) -> Result<String, promql::PromqlError> {
        crate::promql::validate(&expr).map_err(|e| promql::PromqlError {
            message: e.message,
            position: e.position.map(|p| p as u32),
        })
    }
}

/// [`HttpClient`] over `wasi:http/outgoing-handler`; the host applies TLS and the egress policy.
struct WasiHttp;

/// Bytes per body write: `blocking-write-and-flush` accepts at most 4096.
const WRITE_CHUNK: usize = 4096;

impl HttpClient for WasiHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let (scheme, authority, path) = split_url(&request.url)?;
        let headers = Fields::new();
        for (name, value) in &request.headers {
            headers
                .append(name, value.as_bytes())
                .map_err(|e| HttpError::Other(format!("header '{name}' rejected: {e:?}")))?;
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
        let body = outgoing.body().map_err(|_| invalid("body"))?;

        let options = RequestOptions::new();
        let nanos = request.timeout.as_nanos().min(u64::MAX as u128) as u64;
        // Hosts may not support every timeout; an unsupported one is not an error.
        let _ = options.set_connect_timeout(Some(nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));

        // Start the request before writing the body: the host streams it, so a large body written
        // first could fill the host's buffer with nobody reading it.
        let future = outgoing_handler::handle(outgoing, Some(options)).map_err(map_error)?;
        {
            let stream = body.write().map_err(|_| invalid("body stream"))?;
            for chunk in request
                .body
                .as_deref()
                .unwrap_or_default()
                .chunks(WRITE_CHUNK)
            {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| HttpError::Other(format!("writing the request body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(map_error)?;

        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(map_error(code)),
            Some(Err(())) | None => {
                return Err(HttpError::Other("response already taken".into()));
            }
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
                        bytes.extend_from_slice(&chunk);
                    }
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(HttpError::Other(format!(
                            "reading the response: {}",
                            e.to_debug_string()
                        )));
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
