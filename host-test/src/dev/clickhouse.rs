//! ClickHouse for the demo and the tests: our HTTP front (`tests/clickhouse/front.py`, a stand-in
//! for clickhouse-server's HTTP interface) over the real ClickHouse engine (chdb), with the
//! OpenTelemetry exporter's tables and the seeded logs and spans of `tests/clickhouse/seed.py`.
//!
//! What does not live here: the engine itself (the `chdb-core` Python package, which
//! `make test-deps` and `make run` install into `target/pyenv`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use super::process::Stopped;

/// A running front; stopped (SIGTERM, then SIGKILL) on drop, which removes its database.
pub struct ClickHouse {
    _child: Stopped,
    /// The loopback port it listens on.
    pub port: u16,
}

/// The Python with chdb: `PROMS_MCP_PYTHON`, else the project's `target/pyenv`.
pub fn python() -> PathBuf {
    std::env::var_os("PROMS_MCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python")
        })
}

impl ClickHouse {
    /// Starts the front on a free loopback port, creates the OTel tables and loads the seed with
    /// its base time at `base` (`now`, RFC 3339 or Unix nanoseconds); `extra` adds front options
    /// (`--delay-ms`, `--user`, `--password`).
    pub fn start(base: &str, extra: &[&str]) -> anyhow::Result<ClickHouse> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/clickhouse");
        let python = python();
        let mut child = Command::new(&python)
            .arg(dir.join("front.py"))
            .args(["--host", "127.0.0.1", "--port", "0", "--init-sql"])
            .arg(dir.join("otel_schema.sql"))
            .args(["--seed", base])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!(
                    "starting the ClickHouse front with {} (make test-deps installs it)",
                    python.display()
                )
            })?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("front stdout")?).read_line(&mut line)?;
        let Some(port) = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|url| url.rsplit(':').next())
            .and_then(|p| p.parse().ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the ClickHouse front did not start (is chdb installed? make test-deps): {line:?}"
            );
        };
        Ok(ClickHouse {
            _child: Stopped(child),
            port,
        })
    }

    /// A datasources entry naming this ClickHouse `name`, with `extra_json` added to its jsonData
    /// (`, logs: {defaultTable: x}`).
    pub fn datasource_entry(&self, name: &str, extra_json: &str) -> String {
        format!(
            "  - name: {name}\n    type: grafana-clickhouse-datasource\n    jsonData: {{host: 127.0.0.1, port: {}, protocol: http{extra_json}}}\n",
            self.port
        )
    }
}
