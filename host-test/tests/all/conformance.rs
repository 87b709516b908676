//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, pinned in
//! `tests/conformance/package.json`) against the real host, for the 2025-11-25 and 2026-07-28
//! requirement sets. Failures must be exactly those in `tests/conformance/expected-failures-*.yaml`
//! (scenarios that need the suite's own fixture tools, prompts and resources): the suite fails the
//! run on any other failure and on any listed entry that passes.

use std::path::PathBuf;
use std::process::Command;

use crate::fixture::Stack;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

fn run(url: &str, revision: &str) -> String {
    let dir = suite_dir();
    let node = dir.join("node_modules/.bin/node");
    let cli = dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(
        node.exists() && cli.exists(),
        "the conformance suite is not installed in {}: run `make deps` (make test does)",
        dir.display()
    );
    let baseline = dir.join(format!("expected-failures-{revision}.yaml"));
    let out = Command::new(node)
        .arg(cli)
        .args([
            "server",
            "--url",
            url,
            "--requirements",
            revision,
            "--expected-failures",
        ])
        .arg(baseline)
        .env("NO_COLOR", "1")
        .output()
        .expect("run the conformance suite");
    let stdout = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.starts_with("Total:")
                || l.contains("Baseline")
                || l.contains("Unexpected")
                || l.trim_start().starts_with('✗') && l.contains("(not in baseline)")
        })
        .collect();
    println!("conformance {revision}: {}", summary.join(" | "));
    assert!(
        out.status.success(),
        "conformance {revision} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The suite colours its output whatever NO_COLOR says; drop the escape sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_2025_11_25_and_2026_07_28() {
    let stack = Stack::start();
    let url = stack.host.mcp_url.clone();
    for revision in ["2025-11-25", "2026-07-28"] {
        let url = url.clone();
        let out = tokio::task::spawn_blocking(move || run(&url, revision))
            .await
            .unwrap();
        assert!(out.contains("Baseline check passed"), "{out}");
    }
}
