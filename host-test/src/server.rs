//! The HTTP listeners: MCP at `/mcp` and `/mcp/` (one handler, never a redirect) on `PORT`, and
//! `/health` plus `/metrics` on `HEALTH_METRICS_PORT`. Protocol handling is rmcp's Streamable HTTP
//! service over [`proms_mcp::front::McpFront`]; this module only routes, authenticates (the seam for
//! `AUTH_MODE`), logs and counts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use proms_mcp::front::{Caller, McpFront};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::KubeReviewer;
use crate::config::{AuthMode, HostConfig};
use crate::metrics::Metrics;
use crate::runtime::PluginRuntime;
use proms_mcp::auth::{PROTECTED_RESOURCE_PATH, ReviewCache, protected_resource_metadata};

type Body = BoxBody<Bytes, Infallible>;

/// Time a client has to send its request headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Largest MCP request body accepted.
pub const MAX_REQUEST_BODY_BYTES: usize = 1 << 20;

/// The running server's addresses and its stop switch.
pub struct Running {
    /// Where MCP is served.
    pub mcp_addr: SocketAddr,
    /// Where `/health` and `/metrics` are served.
    pub health_addr: SocketAddr,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections and waits for the listeners to end.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

struct Shared {
    mcp: StreamableHttpService<McpFront<PluginRuntime>, NeverSessionManager>,
    metrics: Arc<Metrics>,
    auth: Option<Auth>,
    datasources: usize,
}

/// `AUTH_MODE=active`: the review cache and what the metadata document says.
struct Auth {
    reviews: ReviewCache<KubeReviewer>,
    public_url: Option<String>,
    authorization_servers: Vec<String>,
}

impl Auth {
    /// This server's external base URL: `PUBLIC_URL`, else from the request's `Host`.
    fn base_url(&self, req: &Request<Incoming>) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

/// Binds both listeners and serves until [`Running::shutdown`].
pub async fn start(
    config: &HostConfig,
    runtime: Arc<PluginRuntime>,
    metrics: Arc<Metrics>,
    datasources: usize,
) -> anyhow::Result<Running> {
    let stop = CancellationToken::new();
    let mut http_config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_REQUEST_BODY_BYTES)
        .with_cancellation_token(stop.child_token());
    http_config = match &config.allowed_origins {
        None => http_config.disable_allowed_origins(),
        Some(origins) => http_config
            .with_allowed_origins(origins.clone())
            .enforce_origin_validation(),
    };
    http_config = if config.allowed_hosts.is_empty() {
        http_config.disable_allowed_hosts()
    } else {
        http_config.with_allowed_hosts(config.allowed_hosts.clone())
    };
    let front = McpFront::new(runtime);
    let mcp = StreamableHttpService::new(
        move || Ok(front.clone()),
        Arc::new(NeverSessionManager::default()),
        http_config,
    );
    let auth = match &config.auth_mode {
        AuthMode::None => None,
        AuthMode::Active(active) => Some(Auth {
            reviews: ReviewCache::new(
                KubeReviewer::new(
                    &active.api_url,
                    active.ca_path.as_deref(),
                    active.audiences.clone(),
                    active.timeout,
                    metrics.clone(),
                )?,
                active.cache,
            ),
            public_url: active.public_url.clone(),
            authorization_servers: active.authorization_servers.clone(),
        }),
    };
    let shared = Arc::new(Shared {
        mcp,
        metrics,
        auth,
        datasources,
    });

    let mcp_listener = TcpListener::bind((config.host, config.port))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}:{} (PORT): {e}",
                config.host,
                config.port
            )
        })?;
    let health_listener = TcpListener::bind((config.host, config.health_metrics_port))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}:{} (HEALTH_METRICS_PORT): {e}",
                config.host,
                config.health_metrics_port
            )
        })?;
    let mcp_addr = mcp_listener.local_addr()?;
    let health_addr = health_listener.local_addr()?;
    let tasks = vec![
        tokio::spawn(accept_loop(
            mcp_listener,
            shared.clone(),
            stop.clone(),
            Port::Mcp,
        )),
        tokio::spawn(accept_loop(
            health_listener,
            shared,
            stop.clone(),
            Port::Health,
        )),
    ];
    Ok(Running {
        mcp_addr,
        health_addr,
        stop,
        tasks,
    })
}

#[derive(Clone, Copy)]
enum Port {
    Mcp,
    Health,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: CancellationToken,
    port: Port,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, port, req, peer).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            // A client that never finishes its headers does not hold the connection forever.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

async fn route(
    shared: &Shared,
    port: Port,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = match (port, path.as_str()) {
        (Port::Mcp, "/mcp" | "/mcp/") => mcp(shared, req).await,
        (Port::Mcp, p)
            if p == PROTECTED_RESOURCE_PATH
                || p.strip_prefix(PROTECTED_RESOURCE_PATH) == Some("/mcp") =>
        {
            match &shared.auth {
                Some(auth) => {
                    let base = auth.base_url(&req);
                    json(
                        StatusCode::OK,
                        protected_resource_metadata(
                            &format!("{base}/mcp"),
                            &auth.authorization_servers,
                        ),
                    )
                }
                None => json(
                    StatusCode::NOT_FOUND,
                    r#"{"error":"not found: authentication is off (AUTH_MODE=none)"}"#.into(),
                ),
            }
        }
        (Port::Health, "/health") => json(
            StatusCode::OK,
            serde_json::json!({"status": "ok", "datasources": shared.datasources}).to_string(),
        ),
        (Port::Health, "/metrics") => Response::builder()
            .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
            .body(full(shared.metrics.encode()))
            .expect("static response"),
        (Port::Mcp, _) => json(
            StatusCode::NOT_FOUND,
            r#"{"error":"not found: the MCP endpoint is /mcp"}"#.into(),
        ),
        (Port::Health, _) => json(
            StatusCode::NOT_FOUND,
            r#"{"error":"not found: this port serves /health and /metrics"}"#.into(),
        ),
    };
    let status = response.status().as_u16();
    shared
        .metrics
        .http_request(&path, status, started.elapsed());
    if !matches!(port, Port::Health) {
        tracing::info!(
            method = %method, path = %path, status, peer = %peer,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0, "request"
        );
    }
    response
}

/// Authenticates, then hands the request to rmcp with the caller attached.
async fn mcp(shared: &Shared, mut req: Request<Incoming>) -> Response<Body> {
    let caller = match &shared.auth {
        None => Caller {
            username: "anonymous".into(),
            uid: String::new(),
            groups: Vec::new(),
        },
        Some(auth) => {
            let header = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            match auth.reviews.authenticate(header).await {
                Ok(caller) => caller,
                Err(failure) => {
                    shared.metrics.auth_request(failure.outcome());
                    tracing::info!(
                        outcome = failure.outcome(),
                        status = failure.status(),
                        "authentication failed"
                    );
                    let metadata = format!("{}{PROTECTED_RESOURCE_PATH}/mcp", auth.base_url(&req));
                    let mut response = json(
                        StatusCode::from_u16(failure.status()).expect("401 or 503"),
                        failure.body(),
                    );
                    if let Some(challenge) = failure.www_authenticate(&metadata)
                        && let Ok(value) = http::HeaderValue::from_str(&challenge)
                    {
                        response
                            .headers_mut()
                            .insert(http::header::WWW_AUTHENTICATE, value);
                    }
                    return response;
                }
            }
        }
    };
    shared.metrics.auth_request("ok");
    // Who is calling, never with what token.
    tracing::debug!(user = %caller.username, uid = %caller.uid, groups = ?caller.groups, "authenticated");
    req.extensions_mut().insert(caller);
    let response = shared.mcp.handle(req).await;
    response.map(|b| b.boxed())
}

fn full(text: String) -> Body {
    Full::new(Bytes::from(text)).boxed()
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(body))
        .expect("static response")
}
