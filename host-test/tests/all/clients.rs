//! Two independent official MCP SDK clients against the real host and Prometheus, on every protocol
//! version each supports: rmcp (Rust) on 2025-03-26, 2025-06-18, 2025-11-25 (initialize) and
//! 2026-07-28 (server/discover, stateless); the Python `mcp` SDK on 2025-11-25 and 2026-07-28.

use std::path::PathBuf;
use std::process::Command;

use rmcp::model::{ClientConfig, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::fixture::{Stack, call_ok};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn exercise<S: rmcp::Service<RoleClient>>(
    client: &rmcp::service::RunningService<RoleClient, S>,
    version: &ProtocolVersion,
    end: i64,
) {
    let info = client.peer_info().expect("negotiated");
    assert_eq!(&info.protocol_version, version);
    assert_eq!(
        client.list_all_tools().await.unwrap().len(),
        proms_mcp::tools::TOOLS.len(),
        "{version}"
    );
    let q = call_ok(
        client,
        "query_instant",
        json!({"datasource_id": "prometheus", "promql": "count(demo_items_info)", "time": end.to_string()}),
    )
    .await;
    assert_eq!(q["result"][0]["value"], json!(150.0), "{version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_client_on_every_protocol_version() {
    let stack = Stack::start();
    let end = stack.data.end;
    for version in [
        ProtocolVersion::V_2025_03_26,
        ProtocolVersion::V_2025_06_18,
        ProtocolVersion::V_2025_11_25,
    ] {
        let transport = StreamableHttpClientTransport::from_uri(stack.host.mcp_url.clone());
        let client = ClientConfig::default()
            .with_protocol_version(version.clone())
            .serve(transport)
            .await
            .unwrap_or_else(|e| panic!("initialize on {version}: {e}"));
        exercise(&client, &version, end).await;
        client.cancel().await.unwrap();
    }
    // 2026-07-28: no initialize, no session; discovery, then self-contained requests.
    let version = ProtocolVersion::V_2026_07_28;
    let transport = StreamableHttpClientTransport::from_uri(stack.host.mcp_url.clone());
    let client = ()
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![version.clone()],
            },
        )
        .await
        .expect("server/discover");
    exercise(&client, &version, end).await;
    client.cancel().await.unwrap();
}

/// The Python interpreter with the `mcp` SDK (`make deps` creates it).
fn python() -> PathBuf {
    let path = std::env::var_os("PROMS_MCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/pyenv/bin/python"));
    assert!(
        path.exists(),
        "Python with the mcp SDK not found at {}: run `make deps` (make test does)",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_on_2025_11_25_and_2026_07_28() {
    let stack = Stack::start();
    let url = stack.host.mcp_url.clone();
    let end = stack.data.end.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(workspace().join("tests/clients/python_sdk_client.py"))
            .arg(url)
            .arg(end)
            .output()
            .expect("run the Python client")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let versions: Vec<&str> = runs
        .iter()
        .map(|r| r["protocol_version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        ["2025-11-25", "2026-07-28", "2026-07-28"],
        "legacy, pinned, auto"
    );
    for run in &runs {
        assert_eq!(
            run["tools"].as_array().unwrap().len(),
            proms_mcp::tools::TOOLS.len(),
            "{run}"
        );
        assert_eq!(run["is_error"], false, "{run}");
        assert_eq!(run["value"], json!(150.0), "{run}");
        assert_eq!(run["text_matches"], true, "{run}");
    }
}
