//! Implementation of `wasi:http/incoming-handler` for the `server` world: the whole MCP endpoint in
//! the component, for Spin, SpinKube and `wasmtime serve`. Each request builds what it needs from the
//! runtime's variables and the datasources file (a host may use a fresh instance per request), then
//! runs the same MCP port as the native host ([`crate::front::serve`]: routing, authentication, MCP)
//! with the tools in-process ([`crate::front::InProcess`]).
//!
//! Here only what is the component's own: the `wasi:http` request and response, settings from
//! `wasi:config` (Spin variables, else the environment), reviews remembered across requests in the
//! runtime's `wasi:keyvalue` store when it grants one, and token reviews sent through `wasi:http`
//! like datasource queries. Not here: TLS settings for the API server (the runtime's).

use std::borrow::Cow;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use super::generated;
use super::wasi_http::WasiHttp;
use generated::exports::wasi::http::incoming_handler::Guest;
use generated::wasi::config::store as config;
use generated::wasi::http::types::{
    Fields, IncomingRequest, Method as WasiMethod, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use generated::wasi::io::streams::StreamError;
use generated::wasi::keyvalue::store as keyvalue;

use crate::auth::{ApiClient, AuthSettings, BearerAuth, SelfReview, SharedStore, StoredReviews};
use crate::front::{
    HttpPolicy, InProcess, MAX_REQUEST_BODY_BYTES, McpFront, McpService, Placement,
};
use crate::http::{HttpClient, HttpRequest, HttpResponse};
use crate::settings::Settings;

struct Server;

generated::export!(Server with_types_in generated);

type Response = http::Response<Bytes>;

impl Guest for Server {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let response = match read_request(request) {
            Ok(request) => match tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                Ok(runtime) => runtime.block_on(serve(request)),
                Err(e) => json_response(500, json!({"error": format!("no async runtime: {e}")})),
            },
            Err(response) => response,
        };
        write_response(response, response_out);
    }
}

/// A setting: the runtime variable of the same name in lower case (Spin variables must be lower
/// case: `auth_mode`), else the environment variable. A runtime that does not know the variable
/// answers none or an error, and an empty value means "not set" (a Spin variable needs a default,
/// and "" is the way to leave one unset); all three fall through to the environment.
fn setting(name: &str) -> Option<String> {
    match config::get(&name.to_ascii_lowercase()) {
        Ok(Some(value)) if !value.is_empty() => Some(value),
        _ => std::env::var(name).ok(),
    }
}

/// A `wasi:keyvalue` bucket as the review cache's [`SharedStore`].
struct RuntimeStore(keyvalue::Bucket);

impl RuntimeStore {
    /// The store named `name`, when the runtime grants it (Spin: `key_value_stores` in spin.toml).
    fn open(name: &str) -> Option<RuntimeStore> {
        keyvalue::open(name).ok().map(RuntimeStore)
    }
}

impl SharedStore for RuntimeStore {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).ok().flatten()
    }

    fn set(&self, key: &str, value: &[u8]) {
        let _ = self.0.set(key, value);
    }

    fn delete(&self, key: &str) {
        let _ = self.0.delete(key);
    }

    fn list_keys(&self, cursor: Option<String>) -> Option<(Vec<String>, Option<String>)> {
        let page = self.0.list_keys(cursor.as_deref()).ok()?;
        Some((page.keys, page.cursor))
    }
}

fn json_response(status: u16, body: Value) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .expect("static response")
}

async fn serve(request: http::Request<Full<Bytes>>) -> Response {
    let auth = match AuthSettings::from_env(&setting) {
        Ok(auth) => auth,
        Err(e) => return json_response(500, json!({"error": format!("configuration: {e}")})),
    };
    let component = Component {
        auth: auth.map(|settings| {
            let reviewer = SelfReview::new(
                WasiApi,
                &settings.api_url,
                settings.audiences.clone(),
                settings.timeout,
            );
            let store = settings.cache_store.as_deref().and_then(RuntimeStore::open);
            BearerAuth::new(
                StoredReviews::new(reviewer, store, settings.cache.ttl),
                &settings,
            )
        }),
    };
    let response = crate::front::serve(&component, request).await;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    http::Response::from_parts(parts, bytes)
}

type Reviewer = StoredReviews<SelfReview<WasiApi>, RuntimeStore>;

/// This component's MCP port: authentication from its settings, the tools in-process.
struct Component {
    auth: Option<BearerAuth<Reviewer>>,
}

impl Placement for Component {
    type Provider = InProcess<WasiHttp>;
    type Reviewer = Reviewer;
    // Spin and gateways terminate TLS in front of the component.
    const SCHEME: &'static str = "https";
    const SERVES_HEALTH: bool = true;

    fn auth(&self) -> Option<&BearerAuth<Reviewer>> {
        self.auth.as_ref()
    }

    /// Reads the settings and the datasources for this request: a fresh instance has no other.
    fn service(&self) -> Result<Cow<'_, McpService<InProcess<WasiHttp>>>, String> {
        let settings = Settings::from_env(setting)?;
        let datasources = settings.datasources(&setting).map_err(|e| e.to_string())?;
        let provider = InProcess::new(datasources, WasiHttp, settings.query_timeout);
        let service = McpFront::new(std::sync::Arc::new(provider))
            .with_toolset(settings.tools)
            .into_service(HttpPolicy::from_env(&setting, false).server_config());
        Ok(Cow::Owned(service))
    }
}

/// The API server reached through `wasi:http` (the runtime applies TLS and its outbound policy).
struct WasiApi;

impl ApiClient for WasiApi {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl std::future::Future<Output = Result<HttpResponse, String>> + Send {
        // WASI HTTP blocks this (single-threaded) instance anyway: answer synchronously.
        std::future::ready(
            WasiHttp
                .send(&request)
                .map_err(|e| format!("API server: {e}")),
        )
    }
}

/// The incoming request as an `http::Request`, its body read up to one byte past the limit (rmcp
/// then answers 413).
fn read_request(request: IncomingRequest) -> Result<http::Request<Full<Bytes>>, Response> {
    let bad = |what: &str| json_response(400, json!({"error": format!("bad request: {what}")}));
    let method = match request.method() {
        WasiMethod::Get => http::Method::GET,
        WasiMethod::Post => http::Method::POST,
        WasiMethod::Delete => http::Method::DELETE,
        WasiMethod::Put => http::Method::PUT,
        WasiMethod::Head => http::Method::HEAD,
        WasiMethod::Options => http::Method::OPTIONS,
        WasiMethod::Patch => http::Method::PATCH,
        WasiMethod::Connect => http::Method::CONNECT,
        WasiMethod::Trace => http::Method::TRACE,
        WasiMethod::Other(m) => {
            http::Method::from_bytes(m.as_bytes()).map_err(|_| bad("method"))?
        }
    };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(request.path_with_query().unwrap_or_else(|| "/".into()));
    let mut has_host = false;
    for (name, value) in request.headers().entries() {
        has_host |= name.eq_ignore_ascii_case("host");
        builder = builder.header(name, value);
    }
    if !has_host && let Some(authority) = request.authority() {
        builder = builder.header(http::header::HOST, authority);
    }
    let incoming = request.consume().map_err(|_| bad("body"))?;
    let mut body = Vec::new();
    {
        let stream = incoming.stream().map_err(|_| bad("body"))?;
        while body.len() <= MAX_REQUEST_BODY_BYTES {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => return Err(bad("body")),
            }
        }
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| bad("headers"))
}

fn write_response(response: Response, out: ResponseOutparam) {
    let (parts, body) = response.into_parts();
    let fields = Fields::new();
    for (name, value) in &parts.headers {
        let _ = fields.append(name.as_str(), value.as_bytes());
    }
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(parts.status.as_u16());
    let Ok(outgoing_body) = outgoing.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(outgoing));
    if let Ok(stream) = outgoing_body.write() {
        for chunk in body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing_body, None);
}
