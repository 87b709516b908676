//! Loki and Tempo for the tests: qryn (npm `qryn` 3.2, a real server implementing Loki's and Tempo's
//! HTTP query and push APIs on top of ClickHouse) over our ClickHouse front, loaded with the same
//! logs and spans as the ClickHouse tests (`tests/qryn/push.py` pushes `tests/clickhouse/seed.py`'s
//! dataset as Loki push JSON and Zipkin JSON).
//!
//! What does not live here: qryn itself (`make qryn-deps` installs the pinned
//! `tests/qryn/package-lock.json` into `target/qryn`) and the ClickHouse engine ([`super::clickhouse`]).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::clickhouse::{ClickHouse, python};
use super::process::Stopped;

/// A running qryn and the ClickHouse front under it; both stopped on drop (qryn first).
pub struct Qryn {
    _child: Stopped,
    /// How many times the seed has been pushed.
    pushed: std::cell::Cell<u32>,
    _clickhouse: ClickHouse,
    /// The loopback port qryn listens on (Loki and Tempo APIs on the same port).
    pub port: u16,
}

/// qryn's package directory: `PROMS_MCP_QRYN`, else the project's `target/qryn/node_modules/qryn`.
pub fn package_dir() -> PathBuf {
    std::env::var_os("PROMS_MCP_QRYN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qryn/node_modules/qryn")
        })
}

/// The Node.js to run qryn with: `PROMS_MCP_NODE`, else the Node 22 the conformance suite pins
/// (`make test-deps` installs it), else `node` on the `PATH`.
fn node() -> PathBuf {
    if let Some(node) = std::env::var_os("PROMS_MCP_NODE") {
        return PathBuf::from(node);
    }
    let pinned = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/conformance/node_modules/.bin/node");
    if pinned.exists() {
        pinned
    } else {
        PathBuf::from("node")
    }
}

/// A free loopback port. qryn takes its port from `PORT` and cannot be told to pick one, so one is
/// reserved and released just before it starts; another process taking it in between makes the
/// start fail loudly, not wrongly.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Qryn {
    /// Starts the ClickHouse front, qryn on it (which creates its own tables in database `qryn`),
    /// and pushes the seed with its base time at `base` (RFC 3339 or Unix nanoseconds).
    pub fn start(base: &str) -> anyhow::Result<Qryn> {
        let clickhouse = ClickHouse::start(base, &[])?;
        let dir = package_dir();
        if !dir.join("qryn_node.js").exists() {
            bail!(
                "qryn is not installed at {} (make qryn-deps)",
                dir.display()
            );
        }
        let port = free_port()?;
        let mut child = Command::new(node())
            .arg("qryn_node.js")
            .current_dir(&dir)
            .env("CLICKHOUSE_SERVER", "127.0.0.1")
            .env("CLICKHOUSE_PORT", clickhouse.port.to_string())
            .env("CLICKHOUSE_DB", "qryn")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LOG_LEVEL", "info")
            // qryn's tables drop rows older than 7 days on insert by default; the seed may be older.
            .env("SAMPLES_DAYS", "3650")
            .env("LABELS_DAYS", "3650")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting qryn with node (make qryn-deps installs qryn)")?;
        let stdout = child.stdout.take().context("qryn stdout")?;
        let child = Stopped(child);
        // qryn runs its schema migrations first, then logs "Qryn API up"; its log is JSON lines.
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        loop {
            let Some(line) = lines.next() else {
                bail!(
                    "qryn exited before it was up; its log:\n{}",
                    seen.join("\n")
                );
            };
            let line = line?;
            if line.contains("Qryn API up") {
                break;
            }
            if line.contains("\"level\":50") || line.contains("\"level\":60") {
                bail!("qryn failed to start: {line}");
            }
            seen.push(line);
            if Instant::now() > deadline {
                bail!("qryn was not up within 90 s; its log:\n{}", seen.join("\n"));
            }
        }
        // Keep draining its log so qryn never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        let qryn = Qryn {
            pushed: std::cell::Cell::new(0),
            _child: child,
            _clickhouse: clickhouse,
            port,
        };
        qryn.push(base)?;
        Ok(qryn)
    }

    /// Pushes the seed again with its base time at `base` and waits until it reads back (qryn lists
    /// search tags only for recent spans, so a test of them pushes a copy at `now`).
    pub fn push(&self, base: &str) -> anyhow::Result<()> {
        self.pushed.set(self.pushed.get() + 1);
        let push = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/qryn/push.py");
        let out = Command::new(python())
            .arg(push)
            .args(["--url", &self.url(), "--base", base])
            .args(["--copies", &self.pushed.get().to_string()])
            .output()
            .context("running tests/qryn/push.py")?;
        if !out.status.success() {
            bail!(
                "pushing the seed into qryn failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// qryn's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
