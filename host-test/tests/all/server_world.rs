//! The `server` world component (the whole MCP server as one `wasi:http/proxy` component, for Spin):
//! run by the host as Spin would run it (`proms-mcp serve-component`), driven by rmcp's client against
//! real Prometheus, with and without authentication (the stand-in Kubernetes API of `auth.rs`).

use rmcp::model::{ClientConfig, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::fixture::{Host, call_ok, server_component_path};
use host_test::dev::backends;
use host_test::dev::demo_data::DemoData;

async fn exercise(client: &rmcp::service::Peer<RoleClient>, end: i64) {
    assert_eq!(
        client.list_all_tools().await.unwrap().len(),
        proms_mcp::tools::TOOLS.len()
    );
    let q = call_ok(
        client,
        "query_instant",
        json!({"datasource_id": "prometheus", "promql": "count(demo_items_info)", "time": end.to_string()}),
    )
    .await;
    assert_eq!(q["result"][0]["value"], json!(150.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_component_serves_mcp_on_every_version() {
    assert!(
        server_component_path().exists(),
        "build it with `make server-component` (make test does)"
    );
    let data = DemoData::new_ending_near_now();
    let prometheus = backends::start_prometheus(&data).unwrap();
    let yaml = format!(
        "datasources:\n- name: prometheus\n  type: prometheus\n  url: {}\n",
        prometheus.url
    );
    let host = Host::start_command("serve-component", &yaml, &[]);

    let transport = StreamableHttpClientTransport::from_uri(host.mcp_url.clone());
    let client = ClientConfig::default()
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
        .serve(transport)
        .await
        .expect("initialize");
    exercise(&client, data.end).await;
    client.cancel().await.unwrap();

    let transport = StreamableHttpClientTransport::from_uri(format!("{}/", host.mcp_url));
    let client = ()
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("server/discover");
    exercise(&client, data.end).await;
    client.cancel().await.unwrap();

    // A body that is not JSON: the same parse error as the native host, on every version.
    crate::errors::assert_parse_error_on_every_version(&host.mcp_url).await;

    // Unknown paths and errors come from the component itself.
    let http = reqwest::Client::new();
    let base = host.mcp_url.trim_end_matches("/mcp").to_string();
    let r = http.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let health: Value = http
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

/// The stand-in Kubernetes API (its CA written to a file) and a real Prometheus with demo data.
struct AuthStack {
    api_url: String,
    api: std::sync::Arc<crate::auth::ApiState>,
    api_task: tokio::task::JoinHandle<()>,
    ca_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    data: DemoData,
    prometheus: backends::Backend,
}

impl AuthStack {
    async fn start() -> AuthStack {
        let (api_url, ca_pem, api, api_task) = crate::auth::kube_api().await;
        let dir = tempfile::tempdir().unwrap();
        let ca_path = dir.path().join("ca.crt");
        std::fs::write(&ca_path, ca_pem).unwrap();
        let data = DemoData::new_ending_near_now();
        let prometheus = backends::start_prometheus(&data).unwrap();
        AuthStack {
            api_url,
            api,
            api_task,
            ca_path,
            _dir: dir,
            data,
            prometheus,
        }
    }

    /// `proms-mcp serve-component` on `datasources` with authentication against the stand-in, plus
    /// `extra` environment.
    fn host(&self, datasources: &str, extra: &[(&str, &str)]) -> Host {
        let mut env = vec![
            ("AUTH_MODE", "active"),
            ("OPENSHIFT_API_URL", self.api_url.as_str()),
            ("OPENSHIFT_CA_CERT_PATH", self.ca_path.to_str().unwrap()),
        ];
        env.extend_from_slice(extra);
        Host::start_command("serve-component", datasources, &env)
    }
}

impl Drop for AuthStack {
    fn drop(&mut self) {
        self.api_task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_component_authenticates_with_the_same_rules() {
    let stack = AuthStack::start().await;
    let (api, data, prometheus) = (&stack.api, &stack.data, &stack.prometheus);
    let yaml = format!(
        "datasources:\n- name: prometheus\n  type: prometheus\n  url: {}\n",
        prometheus.url
    );
    let host = stack.host(&yaml, &[]);
    let http = reqwest::Client::new();
    let url = host.mcp_url.clone();
    let base = url.trim_end_matches("/mcp").to_string();
    let ping = crate::auth::ping();

    let r = crate::auth::post(&http, &url, None, ping.clone()).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("/.well-known/oauth-protected-resource/mcp"),
        "{challenge}"
    );
    let doc: Value = http
        .get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["resource"].as_str().unwrap().ends_with("/mcp"), "{doc}");

    assert_eq!(
        crate::auth::post(&http, &url, Some("Bearer bad-token"), ping.clone())
            .await
            .status(),
        401
    );
    assert_eq!(
        crate::auth::post(&http, &url, Some("Bearer plain-user-token"), ping.clone())
            .await
            .status(),
        200
    );
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "query_instant",
        "arguments": {"datasource_id": "prometheus", "promql": "count(demo_items_info)", "time": data.end.to_string()}}});
    let r = crate::auth::post(&http, &url, Some("Bearer good-token"), call).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["result"][0]["value"],
        json!(150.0),
        "{body}"
    );
    assert!(!host.log_text().contains("good-token"));

    // Every request runs in a fresh instance: reviews are remembered across requests only through
    // the runtime's key-value store (`default`, which the host grants as Spin would).
    for _ in 0..3 {
        let r = crate::auth::post(&http, &url, Some("Bearer good-token"), ping.clone()).await;
        assert_eq!(r.status(), 200);
        let r = crate::auth::post(&http, &url, Some("Bearer plain-user-token"), ping.clone()).await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        api.calls("good-token"),
        1,
        "one TokenReview for four requests"
    );
    assert_eq!(
        api.calls("plain-user-token"),
        2,
        "TokenReview (403), then users/~, once"
    );
    // A rejection is not stored: the bad token is reviewed again.
    crate::auth::post(&http, &url, Some("Bearer bad-token"), ping.clone()).await;
    assert_eq!(api.calls("bad-token"), 2);
}

/// Settings come from the runtime's variables (Spin variables; `SPIN_VARIABLE_*` for this host, as
/// Spin's environment provider), and a store the runtime does not grant leaves reviews uncached but
/// working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_component_reads_variables_and_works_without_a_store() {
    let stack = AuthStack::start().await;
    let (api, prometheus) = (&stack.api, &stack.prometheus);
    let host_file = format!(
        "datasources:\n- name: from-file\n  type: prometheus\n  url: {}\n",
        prometheus.url
    );
    let host = stack.host(
        &host_file,
        &[
            // The variable wins over the environment's default store.
            ("SPIN_VARIABLE_AUTH_CACHE_STORE", "not-granted"),
            // The component applies the toolset itself, from its variable.
            ("SPIN_VARIABLE_TOOLS_DISABLED", "get_trace"),
            // The datasources themselves, as a variable (e.g. from a Kubernetes secret), which
            // wins over the file.
            (
                "SPIN_VARIABLE_GRAFANA_DATASOURCES",
                &format!(
                    "datasources:\n- name: from-variable\n  type: prometheus\n  url: {}\n",
                    prometheus.url
                ),
            ),
        ],
    );
    let http = reqwest::Client::new();
    let url = host.mcp_url.clone();
    for _ in 0..3 {
        let r =
            crate::auth::post(&http, &url, Some("Bearer good-token"), crate::auth::ping()).await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        api.calls("good-token"),
        3,
        "no store granted: one review per request"
    );
    let list = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "list_datasources", "arguments": {}}});
    let body: Value = crate::auth::post(&http, &url, Some("Bearer good-token"), list)
        .await
        .json()
        .await
        .unwrap();
    let text = body.to_string();
    assert!(
        text.contains("from-variable") && !text.contains("from-file"),
        "{body}"
    );
    let list = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});
    let body: Value = crate::auth::post(&http, &url, Some("Bearer good-token"), list)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), proms_mcp::tools::TOOLS.len() - 1, "{names:?}");
    assert!(!names.contains(&"get_trace") && names.contains(&"search_traces"));
}

/// `wasmtime serve` (wasmtime-cli 48.0.8, installed by `make deps`).
fn wasmtime_cli() -> std::path::PathBuf {
    let path = std::env::var_os("PROMS_MCP_WASMTIME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/tools/bin/wasmtime")
        });
    assert!(
        path.exists(),
        "wasmtime-cli not found at {}: run `make deps` (make test does)",
        path.display()
    );
    path
}

/// A `wasmtime serve` process; stopped on drop.
struct WasmtimeServe(std::process::Child);

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The test adapter that maps Spin's key-value and variables interfaces onto the drafts `wasmtime
/// serve` offers (`host-test/tests/spin-adapter`, built by `make test`).
fn spin_adapter_path() -> std::path::PathBuf {
    let path = std::env::var_os("PROMS_MCP_SPIN_ADAPTER")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/spin-adapter/wasm32-wasip2/release/spin_adapter.wasm")
        });
    assert!(
        path.exists(),
        "{} is missing: run `make spin-adapter` (make test does)",
        path.display()
    );
    path
}

/// The unchanged `server` component with the adapter plugged into its `wasi:keyvalue` and
/// `wasi:config` imports; every other import stays for `wasmtime serve` to satisfy.
fn server_with_adapter() -> Vec<u8> {
    use wac_graph::{CompositionGraph, EncodeOptions, types::Package};
    let mut graph = CompositionGraph::new();
    let server = Package::from_file(
        "proms:server",
        None,
        server_component_path(),
        graph.types_mut(),
    )
    .unwrap();
    let server = graph.register_package(server).unwrap();
    let adapter = Package::from_file(
        "proms:spin-adapter",
        None,
        spin_adapter_path(),
        graph.types_mut(),
    )
    .unwrap();
    let adapter = graph.register_package(adapter).unwrap();
    wac_graph::plug(&mut graph, vec![adapter], server)
        .expect("the adapter fits the server's imports");
    graph.encode(EncodeOptions::default()).expect("encodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_component_runs_under_wasmtime_serve() {
    let data = DemoData::new_ending_near_now();
    let prometheus = backends::start_prometheus(&data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("datasources.yaml"),
        format!(
            "datasources:\n- name: prometheus\n  type: prometheus\n  url: {}\n",
            prometheus.url
        ),
    )
    .unwrap();
    let port = backends::free_loopback_port().unwrap();
    let log = dir.path().join("wasmtime.log");
    let composed = dir.path().join("server-for-wasmtime-serve.wasm");
    std::fs::write(&composed, server_with_adapter()).unwrap();
    // Rust's std links wasi:cli pieces outside wasi:http/proxy, hence -Scli; the adapter needs
    // wasmtime's key-value and config. The datasources path arrives as a variable, the auth mode
    // from the environment: both ways in work.
    let _serve = WasmtimeServe(
        std::process::Command::new(wasmtime_cli())
            .arg("serve")
            .args(["-Scli", "-Skeyvalue", "-Sconfig"])
            .arg("-Sconfig-var=grafana_datasources_path=/config/datasources.yaml")
            .arg(format!("--addr=127.0.0.1:{port}"))
            .arg(format!("--dir={}::/config", dir.path().display()))
            .arg("--env=AUTH_MODE=none")
            .arg(&composed)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start wasmtime serve"),
    );
    let url = format!("http://127.0.0.1:{port}/mcp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "wasmtime serve did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let transport = StreamableHttpClientTransport::from_uri(url);
    let client = ClientConfig::default()
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
        .serve(transport)
        .await
        .expect("initialize through wasmtime serve");
    exercise(&client, data.end).await;
    client.cancel().await.unwrap();
}
