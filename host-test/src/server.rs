//! The HTTP listeners: MCP at `/mcp` and `/mcp/` (one handler, never a redirect) on `PORT`, and
//! `/health` plus `/metrics` on `HEALTH_METRICS_PORT`. Protocol handling is rmcp's Streamable HTTP
//! service over [`proms_mcp::front::McpFront`], with authentication from [`proms_mcp::auth`]; or, for
//! `serve-component`, the `server` component answers everything on the MCP port itself. This module
//! only routes, logs and counts.

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
use proms_mcp::front::{Caller, McpFront, McpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::{KubeReviewer, kube_reviewer};
use crate::config::{AuthMode, HostConfig};
use crate::metrics::Metrics;
use crate::runtime::{PluginRuntime, ProxyRuntime};
use proms_mcp::auth::{PROTECTED_RESOURCE_PATH, ReviewCache, protected_resource_metadata, refusal};

type Body = BoxBody<Bytes, Infallible>;

/// Time a client has to send its request headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
    endpoint: Endpoint,
    metrics: Arc<Metrics>,
    datasources: usize,
}

/// Who answers on the MCP port.
enum Endpoint {
    /// The host's MCP front (and authentication) over the `plugin` component.
    Front(Box<Front>),
    /// The `server` component, which serves MCP (and authenticates) itself.
    Component(Arc<ProxyRuntime>),
}

/// The host's own MCP front.
struct Front {
    mcp: McpService<PluginRuntime>,
    auth: Option<Auth>,
}

/// What the MCP port runs.
pub enum Serve {
    /// The native front over the `plugin` component (`host-test serve`).
    Plugin(Arc<PluginRuntime>),
    /// The `server` world component (`host-test serve-component`), as Spin would run it.
    Component(Arc<ProxyRuntime>),
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
        proms_mcp::auth::base_url(self.public_url.as_deref(), req.headers(), "http")
    }
}

fn front_endpoint(
    config: &HostConfig,
    runtime: Arc<PluginRuntime>,
    metrics: &Arc<Metrics>,
    stop: &CancellationToken,
) -> anyhow::Result<Endpoint> {
    let http_config = config
        .http
        .server_config()
        .with_cancellation_token(stop.child_token());
    let mcp = McpFront::new(runtime).into_service(http_config);
    let auth = match &config.auth_mode {
        AuthMode::None => None,
        AuthMode::Active(active) => Some(Auth {
            reviews: ReviewCache::new(kube_reviewer(active, metrics.clone())?, active.cache),
            public_url: active.public_url.clone(),
            authorization_servers: active.authorization_servers.clone(),
        }),
    };
    Ok(Endpoint::Front(Box::new(Front { mcp, auth })))
}

/// Binds both listeners and serves until [`Running::shutdown`].
pub async fn start(
    config: &HostConfig,
    serve: Serve,
    metrics: Arc<Metrics>,
    datasources: usize,
) -> anyhow::Result<Running> {
    let stop = CancellationToken::new();
    let endpoint = match serve {
        Serve::Plugin(runtime) => front_endpoint(config, runtime, &metrics, &stop)?,
        Serve::Component(runtime) => Endpoint::Component(runtime),
    };
    let shared = Arc::new(Shared {
        endpoint,
        metrics,
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
    let response = match (port, path.as_str(), &shared.endpoint) {
        // The `server` component routes everything on the MCP port itself.
        (Port::Mcp, _, Endpoint::Component(runtime)) => component(runtime, req).await,
        (Port::Mcp, "/mcp" | "/mcp/", Endpoint::Front(front)) => {
            mcp(front, &shared.metrics, req).await
        }
        (Port::Mcp, p, Endpoint::Front(front))
            if p == PROTECTED_RESOURCE_PATH
                || p.strip_prefix(PROTECTED_RESOURCE_PATH) == Some("/mcp") =>
        {
            match &front.auth {
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
        (Port::Health, "/health", _) => json(
            StatusCode::OK,
            serde_json::json!({"status": "ok", "datasources": shared.datasources}).to_string(),
        ),
        (Port::Health, "/metrics", _) => Response::builder()
            .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
            .body(full(shared.metrics.encode()))
            .expect("static response"),
        (Port::Mcp, _, _) => json(
            StatusCode::NOT_FOUND,
            r#"{"error":"not found: the MCP endpoint is /mcp"}"#.into(),
        ),
        (Port::Health, _, _) => json(
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

/// Hands the request to the `server` component; its body is collected (MCP answers are small and
/// bounded by the tools' limits).
async fn component(runtime: &ProxyRuntime, req: Request<Incoming>) -> Response<Body> {
    match runtime.handle(req).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            match body.collect().await {
                Ok(collected) => {
                    Response::from_parts(parts, Full::new(collected.to_bytes()).boxed())
                }
                Err(e) => json(
                    StatusCode::BAD_GATEWAY,
                    serde_json::json!({"error": format!("the component's response failed: {e:?}")})
                        .to_string(),
                ),
            }
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "server component failed");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"error": format!("{e:#}")}).to_string(),
            )
        }
    }
}

/// Authenticates, then hands the request to rmcp with the caller attached.
async fn mcp(front: &Front, metrics: &Metrics, mut req: Request<Incoming>) -> Response<Body> {
    let caller = match &front.auth {
        None => Caller::anonymous(),
        Some(auth) => {
            let header = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            match auth.reviews.authenticate(header).await {
                Ok(caller) => caller,
                Err(failure) => {
                    metrics.auth_request(failure.outcome());
                    tracing::info!(
                        outcome = failure.outcome(),
                        status = failure.status(),
                        "authentication failed"
                    );
                    return refusal(&failure, &auth.base_url(&req)).map(full);
                }
            }
        }
    };
    metrics.auth_request("ok");
    // Who is calling, never with what token.
    tracing::debug!(user = %caller.username, uid = %caller.uid, groups = ?caller.groups, "authenticated");
    req.extensions_mut().insert(caller);
    let response = front.mcp.handle(req).await;
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
