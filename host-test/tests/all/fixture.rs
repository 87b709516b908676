//! Starts backends and the host binary on free loopback ports, and gives tests an MCP client.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_test::dev::backends::{self, Backend};
use host_test::dev::demo_data::DemoData;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

/// The built plugin component.
pub fn component_path() -> PathBuf {
    let path = std::env::var_os("PROMS_MCP_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/wasm32-wasip2/release/proms_mcp.wasm")
        });
    assert!(
        path.exists(),
        "plugin component not found at {}: build it with `make component` (make test does)",
        path.display()
    );
    path
}

/// The built `server` world component (`make server-component`).
pub fn server_component_path() -> PathBuf {
    std::env::var_os("PROMS_MCP_SERVER_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/server/wasm32-wasip2/release/proms_mcp.wasm")
        })
}

/// A running host process; killed on drop.
pub struct Host {
    child: Child,
    /// `http://127.0.0.1:PORT/mcp`
    pub mcp_url: String,
    /// `http://127.0.0.1:PORT`
    pub health_url: String,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for Host {
    /// SIGTERM first, as Kubernetes does, so the host removes its config snapshot; SIGKILL after 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Host {
    /// Starts the host on `datasources_yaml` with extra environment `env`; retries on another port if
    /// the free port it picked was taken meanwhile.
    pub fn start(datasources_yaml: &str, env: &[(&str, &str)]) -> Host {
        Host::start_command("serve", datasources_yaml, env)
    }

    /// Like [`Host::start`], running `proms-mcp <command>` (e.g. `serve-component`).
    pub fn start_command(command: &str, datasources_yaml: &str, env: &[(&str, &str)]) -> Host {
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("datasources.yaml");
            std::fs::File::create(&path)
                .unwrap()
                .write_all(datasources_yaml.as_bytes())
                .unwrap();
            let log = dir.path().join("host.log");
            let port = backends::free_loopback_port().unwrap();
            let health = backends::free_loopback_port().unwrap();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_proms-mcp"));
            cmd.arg(command)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("GRAFANA_DATASOURCES_PATH", &path)
                .env("PROMS_MCP_COMPONENT", component_path())
                .env("PROMS_MCP_SERVER_COMPONENT", server_component_path())
                .env("HOST", "127.0.0.1")
                .env("PORT", port.to_string())
                .env("HEALTH_METRICS_PORT", health.to_string())
                .env("LOG_LEVEL", "debug")
                .env("QUERY_TIMEOUT", "5s")
                .env("AUTH_MODE", "none")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap());
            for (k, v) in env {
                cmd.env(k, v);
            }
            let mut host = Host {
                child: cmd.spawn().expect("spawn proms-mcp"),
                mcp_url: format!("http://127.0.0.1:{port}/mcp"),
                health_url: format!("http://127.0.0.1:{health}"),
                _dir: dir,
                log,
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = host.child.try_wait() {
                    break;
                }
                if host.log_text().contains("\"serving\"") {
                    return host;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last_log = host.log_text();
            if !last_log.contains("cannot listen") {
                break;
            }
        }
        panic!("host did not start:\n{last_log}");
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the host's `/metrics` says now.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.health_url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Everything the host logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An MCP client connected to this host.
    pub async fn client(&self) -> RunningService<RoleClient, ()> {
        let transport = StreamableHttpClientTransport::from_uri(self.mcp_url.clone());
        ().serve(transport).await.expect("MCP client connects")
    }
}

/// Both backends with the same demo data, and a host serving them as `prometheus` and `vm`.
pub struct Stack {
    pub data: DemoData,
    pub prometheus: Backend,
    /// Kept so that it stops only when the stack drops.
    pub _vm: Backend,
    pub host: Host,
}

impl Stack {
    pub fn start() -> Stack {
        let data = DemoData::new_ending_near_now();
        let prometheus = backends::start_prometheus(&data).expect("start Prometheus");
        let vm = backends::start_victoria_metrics(&data).expect("start VictoriaMetrics");
        let yaml = format!(
            "apiVersion: 1\ndatasources:\n  - name: prometheus\n    uid: prom-uid\n    type: prometheus\n    url: {}\n    isDefault: true\n    jsonData:\n      timeInterval: 15s\n  - name: vm\n    type: victoriametrics-metrics-datasource\n    url: {}\n    jsonData:\n      httpMethod: GET\n  - name: traces\n    type: jaeger\n    url: http://127.0.0.1:16686\n",
            prometheus.url, vm.url
        );
        let host = Host::start(&yaml, &[]);
        Stack {
            data,
            prometheus,
            _vm: vm,
            host,
        }
    }
}

/// Calls `tool` with `args` and returns the raw result.
pub async fn call(client: &Peer<RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// Calls `tool` and returns `structuredContent`, checking it equals the text block's JSON.
pub async fn call_ok(client: &Peer<RoleClient>, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args).await;
    let raw = serde_json::to_value(&result).unwrap();
    assert_ne!(result.is_error, Some(true), "{tool} failed: {raw}");
    let structured = result
        .structured_content
        .clone()
        .expect("structuredContent");
    let text = raw["content"][0]["text"].as_str().expect("text block");
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        structured,
        "text and structuredContent differ"
    );
    structured
}

/// Calls `tool`, expects `isError: true`, returns its text.
pub async fn call_err(client: &Peer<RoleClient>, tool: &str, args: Value) -> String {
    let result = call(client, tool, args).await;
    let raw = serde_json::to_value(&result).unwrap();
    assert_eq!(result.is_error, Some(true), "{tool} should fail: {raw}");
    raw["content"][0]["text"].as_str().unwrap().to_string()
}

/// A TLS server configuration for `127.0.0.1` signed by a fresh CA, and that CA's PEM.
pub fn loopback_tls() -> (rustls::ServerConfig, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![server_cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
    )
    .unwrap();
    (config, ca_cert.pem())
}
