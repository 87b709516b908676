//! The HTTP listeners: the MCP port (`PORT`) and `/health` plus `/metrics` on `HEALTH_METRICS_PORT`.
//! What the MCP port answers (routing, authentication, MCP) is [`proms_mcp::front::serve`] over the
//! `plugin` component, with the host's [`KubeReviewer`]; or, for `serve-component`, the `server`
//! component answers everything on the MCP port itself. This module only accepts connections, hands
//! requests over, logs and counts.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use proms_mcp::auth::{AuthFailure, BearerAuth, Caller};
use proms_mcp::front::{Body, CallGate, GateExpired, McpFront, McpService, Placement};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::{KubeReviewer, kube_reviewer};
use crate::config::{AuthMode, HostConfig};
use crate::metrics::Metrics;
use crate::runtime::{PluginRuntime, ProxyRuntime};

/// Time a client has to send its request headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a stopping server lets the requests it is answering finish: under Kubernetes' default
/// 30 s between the stop signal and the kill, so that a rollout does not cut answers off.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(25);

/// The running server's addresses and its stop switch.
pub struct Running {
    /// Where MCP is served.
    pub mcp_addr: SocketAddr,
    /// Where `/health` and `/metrics` are served.
    pub health_addr: SocketAddr,
    stop: CancellationToken,
    // Cancelled only after the drain: rmcp answers the requests it is serving with 500 once its
    // token is cancelled.
    mcp_stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections, lets the requests being answered finish (at most
    /// [`SHUTDOWN_GRACE`]; idle connections close at once) and waits for the listeners to end.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        self.mcp_stop.cancel();
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

/// The host's own MCP front: the MCP port of [`proms_mcp::front::serve`] over the `plugin`
/// component.
struct Front {
    mcp: McpService<PluginRuntime>,
    gate: CallGate,
    auth: Option<BearerAuth<KubeReviewer>>,
    metrics: Arc<Metrics>,
}

impl Placement for Front {
    type Provider = PluginRuntime;
    type Reviewer = KubeReviewer;
    const SCHEME: &'static str = "http";
    // `/health` is on HEALTH_METRICS_PORT.
    const SERVES_HEALTH: bool = false;

    fn auth(&self) -> Option<&BearerAuth<KubeReviewer>> {
        self.auth.as_ref()
    }

    fn service(&self) -> Result<Cow<'_, McpService<PluginRuntime>>, String> {
        Ok(Cow::Borrowed(&self.mcp))
    }

    fn call_gate(&self) -> Option<&CallGate> {
        Some(&self.gate)
    }

    fn turned_away(&self, busy: &GateExpired) {
        self.metrics.tool_call(&busy.tool, "busy", busy.waited);
        tracing::warn!(tool = %busy.tool, waited_s = busy.waited.as_secs_f64(), "tool call turned away: every place was taken");
    }

    fn refused(&self, failure: &AuthFailure) {
        self.metrics.auth_request(failure.outcome());
        tracing::info!(
            outcome = failure.outcome(),
            status = failure.status(),
            "authentication failed"
        );
    }

    fn admitted(&self, caller: &Caller) {
        self.metrics.auth_request("ok");
        // Who is calling, never with what token.
        tracing::debug!(user = %caller.username, uid = %caller.uid, groups = ?caller.groups, "authenticated");
    }
}

/// What the MCP port runs.
pub enum Serve {
    /// The native front over the `plugin` component (`proms-mcp serve`).
    Plugin(Arc<PluginRuntime>),
    /// The `server` world component (`proms-mcp serve-component`), as Spin would run it.
    Component(Arc<ProxyRuntime>),
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
    let gate = runtime.call_gate();
    let mcp = McpFront::new(runtime)
        .with_toolset(config.settings.tools.clone())
        .into_service(http_config);
    let auth = match &config.auth_mode {
        AuthMode::None => None,
        AuthMode::Active(active) => Some(BearerAuth::new(
            kube_reviewer(active, metrics.clone())?,
            active,
        )),
    };
    Ok(Endpoint::Front(Box::new(Front {
        mcp,
        gate,
        auth,
        metrics: metrics.clone(),
    })))
}

/// Binds both listeners and serves until [`Running::shutdown`].
pub async fn start(
    config: &HostConfig,
    serve: Serve,
    metrics: Arc<Metrics>,
    datasources: usize,
) -> anyhow::Result<Running> {
    let stop = CancellationToken::new();
    let mcp_stop = CancellationToken::new();
    let endpoint = match serve {
        Serve::Plugin(runtime) => front_endpoint(config, runtime, &metrics, &mcp_stop)?,
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
        mcp_stop,
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
    let connections = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
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
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(connections.watch(conn));
    }
    // Stopping: idle connections close now, busy ones after their answer.
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = SHUTDOWN_GRACE.as_secs(),
            "stopping with requests still unanswered after the grace period"
        );
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
        (Port::Mcp, _, Endpoint::Front(front)) => {
            proms_mcp::front::serve(front.as_ref(), req).await
        }
        (Port::Health, "/health", _) => json(
            StatusCode::OK,
            serde_json::json!({"status": "ok", "datasources": shared.datasources}).to_string(),
        ),
        (Port::Health, "/metrics", _) => Response::builder()
            .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
            .body(full(shared.metrics.encode()))
            .expect("static response"),
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
