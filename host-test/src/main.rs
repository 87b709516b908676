//! `proms-mcp`: the shipped binary.
//!
//! `proms-mcp serve` (the default) serves the datasources in `GRAFANA_DATASOURCES_PATH`;
//! `proms-mcp demo` first starts a local Prometheus and VictoriaMetrics with demo data and serves those;
//! `proms-mcp serve-component` runs the `server` world component instead, as Spin would;
//! `proms-mcp compile DIR` pre-initialises and compiles the plugin component ahead of time (image build).

use std::sync::Arc;

use anyhow::Context as _;
use host_test::config::{AuthMode, HostConfig};
use host_test::dev::demo::Demo;
use host_test::egress::Egress;
use host_test::metrics::Metrics;
use host_test::runtime::{PluginRuntime, ProxyRuntime};
use host_test::server::{self, Serve};

const USAGE: &str = "usage: proms-mcp [serve | demo | serve-component | compile DIR]
  serve            serve MCP for the datasources in GRAFANA_DATASOURCES_PATH (default)
  compile DIR      pre-initialise and compile PROMS_MCP_COMPONENT into DIR (at image build; serve
                   with PROMS_MCP_COMPILED_DIR=DIR starts without compiling)
  demo             start a local Prometheus, VictoriaMetrics and ClickHouse with demo data, then serve them
  serve-component  run the `server` world component (PROMS_MCP_SERVER_COMPONENT), which serves MCP itself
Settings (environment): GRAFANA_DATASOURCES_PATH, QUERY_TIMEOUT, HOST, PORT, HEALTH_METRICS_PORT,
LOG_LEVEL, AUTH_MODE, ALLOWED_HOSTS, ALLOWED_ORIGINS, PROMS_MCP_COMPONENT — see README.md.";

fn main() -> std::process::ExitCode {
    fix_mmap_threshold();
    let command = match std::env::args().nth(1).as_deref() {
        None | Some("serve") => Command::Serve,
        Some("demo") => Command::Demo,
        Some("serve-component") => Command::ServeComponent,
        Some("compile") => {
            let Some(dir) = std::env::args().nth(2) else {
                eprintln!("{USAGE}");
                return 2.into();
            };
            let env = |k: &str| std::env::var(k).ok();
            let component = match HostConfig::from_env(env) {
                Ok(config) => config.component,
                Err(e) => {
                    eprintln!("proms-mcp: {e}");
                    return 1.into();
                }
            };
            return match host_test::runtime::compile_into(&component, dir.as_ref(), &env) {
                Ok(path) => {
                    println!(
                        "proms-mcp: compiled {} into {}",
                        component.display(),
                        path.display()
                    );
                    0.into()
                }
                Err(e) => {
                    eprintln!("proms-mcp: {e:#}");
                    1.into()
                }
            };
        }
        Some(other) => {
            eprintln!("{USAGE}");
            return if matches!(other, "-h" | "--help" | "help") {
                0.into()
            } else {
                2.into()
            };
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(command)) {
        Ok(()) => 0.into(),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "fatal");
            eprintln!("proms-mcp: {e:#}");
            1.into()
        }
    }
}

/// Allocations of 64 KiB and more get their own mapping, returned to the kernel when freed.
///
/// glibc starts at 128 KiB but raises the threshold to the size of each large block freed (up to
/// 32 MiB), after which request and answer buffers come from the arenas, which keep freed memory
/// (see README, "Sixth pass"). Measured in the soak: 4-5 MiB less peak RSS, no measurable CPU
/// per call. An operator's own `MALLOC_MMAP_THRESHOLD_` or `GLIBC_TUNABLES` wins.
fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none()
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        // SAFETY: `mallopt` only sets a parameter of the allocator; nothing else runs yet.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 10);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Serve,
    Demo,
    ServeComponent,
}

async fn run(command: Command) -> anyhow::Result<()> {
    let demo = command == Command::Demo;
    // The local demo has no Kubernetes API to ask: authentication is off unless AUTH_MODE says otherwise.
    let env = move |k: &str| match std::env::var(k).ok() {
        None if demo && k == "AUTH_MODE" => Some("none".to_string()),
        value => value,
    };
    let mut config = HostConfig::from_env(env).map_err(anyhow::Error::msg)?;
    init_logging(&config.log_level);

    // `demo`: the backends live until the server stops (Drop stops them).
    let _demo = if demo {
        let started = Demo::start()?;
        config.settings.datasources_path = started.datasources_path.display().to_string();
        config.settings.datasources_inline = None;
        for b in &started.backends {
            println!(
                "demo: started a local {:?} with 6 hours of demo data at {}",
                b.kind, b.url
            );
        }
        if let Some(ch) = &started.clickhouse {
            println!(
                "demo: started ClickHouse's engine (chdb, behind our HTTP front) with an hour of demo logs and spans at http://127.0.0.1:{}",
                ch.port
            );
        }
        Some(started)
    } else {
        None
    };

    // GRAFANA_DATASOURCES (the content) wins over the file. Parsed once, here: the `plugin`
    // component gets the checked set, the `server` component a snapshot of this text.
    let (text, source) = match &config.settings.datasources_inline {
        Some(text) => (
            text.clone(),
            proms_mcp::settings::DATASOURCES_ENV.to_string(),
        ),
        None => {
            let path = &config.settings.datasources_path;
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "reading the datasources file '{path}' (set GRAFANA_DATASOURCES_PATH or GRAFANA_DATASOURCES, or run `proms-mcp demo`)"
                )
            })?;
            (text, path.clone())
        }
    };
    let datasources = proms_mcp::datasources::parse(&text, &source, &env)?;
    for s in &datasources.skipped {
        tracing::info!(datasource = %s.name, kind = %s.kind, reason = %s.reason, "skipping datasource");
    }
    for w in &datasources.warnings {
        tracing::warn!(warning = %w, "datasources file");
    }
    let metrics = Arc::new(Metrics::default());
    let mut egress = Egress::new(&datasources, config.settings.query_timeout, metrics.clone())?;
    let started = std::time::Instant::now();
    let (serve, component) = if command == Command::ServeComponent {
        // The component reviews tokens itself: let it reach the API server, with its CA.
        if let AuthMode::Active(auth) = &config.auth_mode {
            let ca = match &auth.ca_path {
                Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                    format!("OPENSHIFT_CA_CERT_PATH: reading {}", path.display())
                })?),
                None => None,
            };
            egress.allow(&auth.api_url, ca.as_deref(), config.settings.query_timeout)?;
        }
        let runtime = ProxyRuntime::load(
            &config.server_component,
            &config.settings,
            &text,
            Arc::new(egress),
            metrics.clone(),
            env,
        )?;
        (
            Serve::Component(Arc::new(runtime)),
            &config.server_component,
        )
    } else {
        let runtime = PluginRuntime::load(
            &config.component,
            &config.settings,
            &datasources,
            Arc::new(egress),
            metrics.clone(),
            env,
        )?;
        (Serve::Plugin(Arc::new(runtime)), &config.component)
    };
    tracing::info!(
        component = %component.display(),
        compile_ms = started.elapsed().as_millis() as u64,
        "component loaded"
    );
    let running = server::start(&config, serve, metrics, datasources.all().len()).await?;
    tracing::info!(
        mcp = %format!("http://{}/mcp", running.mcp_addr),
        health = %format!("http://{}/health", running.health_addr),
        datasources = %datasources.names().join(","),
        "serving"
    );
    // The banner goes to stdout: stderr carries only JSON log lines.
    println!(
        "proms-mcp: MCP at http://{}/mcp, health and metrics at http://{}/ (datasources: {})",
        running.mcp_addr,
        running.health_addr,
        datasources.names().join(", ")
    );
    shutdown_signal().await;
    tracing::info!(
        grace_s = server::SHUTDOWN_GRACE.as_secs(),
        "shutting down: letting the requests being answered finish"
    );
    // A second signal stops at once.
    tokio::select! {
        _ = running.shutdown() => {}
        _ = shutdown_signal() => tracing::warn!("second stop signal: stopping now"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Crates whose debug logs are the compiler's own (one line per compiled function, half a million
/// for the component): a plain `LOG_LEVEL` keeps them at `warn`, or `debug` would stall start-up
/// writing them. A full filter (`LOG_LEVEL=debug,cranelift_codegen=debug`) is taken as written.
const COMPILER_LOGS: &str = "cranelift_codegen=warn,cranelift_frontend=warn,cranelift_wasm=warn,regalloc2=warn,wasmtime_cranelift=warn";

fn init_logging(level: &str) {
    let directives = if level.contains(['=', ',']) {
        level.to_string()
    } else {
        format!("{level},{COMPILER_LOGS}")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|_| {
        eprintln!(
            "LOG_LEVEL: '{level}' is not a level (error, warn, info, debug, trace); using info"
        );
        tracing_subscriber::EnvFilter::new("info")
    });
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .finish()
        .with(ClientHangups)
        .init();
}

/// Drops rmcp's ERRORs for an answer it could not write because the client has gone: it hung up
/// mid-call, so the channel to its HTTP response is closed. That is not a server error and nothing
/// an operator can act on; the call itself is logged and counted with `outcome="cancelled"`
/// (`runtime::Abandoned`). Any other error from rmcp is logged as it comes.
struct ClientHangups;

/// What rmcp 3.9 logs (`rmcp::service`, at ERROR) when sending an answer fails, during its serve
/// loop and while draining; with the error "channel closed" the receiving side is gone.
const RMCP_UNSENT_RESPONSE: [&str; 2] = [
    "fail to response message",
    "failed to send pending response during drain",
];

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ClientHangups {
    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        let meta = event.metadata();
        if *meta.level() != tracing::Level::ERROR || meta.target() != "rmcp::service" {
            return true;
        }
        #[derive(Default)]
        struct Fields {
            unsent: bool,
            closed: bool,
        }
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                let text = format!("{value:?}");
                match field.name() {
                    "message" => self.unsent = RMCP_UNSENT_RESPONSE.contains(&text.as_str()),
                    "error" => self.closed = text == "channel closed",
                    _ => {}
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        !(fields.unsent && fields.closed)
    }
}
