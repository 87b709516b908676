//! Compiled code across starts: a first start compiles the component and caches the code in
//! `PROMS_MCP_CACHE_DIR`, then serves it from that file; the next start loads it instead of compiling.
//! (Every other test's host has no cache and serves the code it compiled from memory.)

use std::path::PathBuf;

use serde_json::json;

use crate::fixture::{Host, call_ok};

/// The compiled code files in `dir`, and whether anything else (a half-written file) is there.
fn code_files(dir: &std::path::Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .partition(|p| p.extension().is_some_and(|x| x == "cwasm"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_code_is_cached_then_loaded() {
    // tempfile makes the directory 0700: private, as the cache must be.
    let cache = tempfile::tempdir().unwrap();
    let cache_env = cache.path().to_str().unwrap();
    // No backend is reached: list_datasources answers from the configuration alone.
    let yaml =
        "datasources:\n  - name: prometheus\n    type: prometheus\n    url: http://127.0.0.1:9\n";

    let first = Host::start(yaml, &[("PROMS_MCP_CACHE_DIR", cache_env)]);
    let client = first.client().await;
    let answer = call_ok(&client, "list_datasources", json!({})).await;
    assert_eq!(answer["datasources"][0]["id"], "prometheus", "{answer}");
    let (code, other) = code_files(cache.path());
    assert_eq!(code.len(), 1, "one compiled code file: {code:?}");
    assert!(other.is_empty(), "nothing else left behind: {other:?}");
    let written = std::fs::metadata(&code[0]).unwrap().modified().unwrap();
    drop(client);
    drop(first);

    let second = Host::start(yaml, &[("PROMS_MCP_CACHE_DIR", cache_env)]);
    let client = second.client().await;
    let answer = call_ok(&client, "list_datasources", json!({})).await;
    assert_eq!(answer["datasources"][0]["id"], "prometheus", "{answer}");
    let (again, _) = code_files(cache.path());
    assert_eq!(again, code, "the same file, not a second one");
    assert_eq!(
        std::fs::metadata(&again[0]).unwrap().modified().unwrap(),
        written,
        "loaded, not compiled and written again"
    );
}
