//! What `proms-mcp demo` serves: a local Prometheus and, when it starts, a VictoriaMetrics, both with
//! the demo data, and ClickHouse's engine with an hour of demo logs and spans (when chdb is
//! installed), and a datasources file naming them.
//!
//! What does not live here: serving them (the same `serve` path as any datasources file, in `main.rs`).

use std::path::PathBuf;

use anyhow::Context as _;

use super::backends::{self, Backend};
use super::clickhouse::ClickHouse;
use super::demo_data::DemoData;

/// The running demo backends and the datasources file naming them. Dropping it stops the backends
/// and removes the file.
pub struct Demo {
    /// The running backends: Prometheus, then VictoriaMetrics if it started.
    pub backends: Vec<Backend>,
    /// ClickHouse with the demo logs and spans, served as `otel`, if it started.
    pub clickhouse: Option<ClickHouse>,
    /// The datasources file: `prometheus` (the default) and `victoriametrics`.
    pub datasources_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Demo {
    /// Starts Prometheus with six hours of demo data ending now (an error if it cannot), then
    /// VictoriaMetrics with the same data and ClickHouse with the demo logs and spans of the last hour
    /// (only a warning if either cannot), and writes the datasources file.
    pub fn start() -> anyhow::Result<Demo> {
        let mut backends = Vec::new();
        let data = DemoData::new_ending_near_now();
        let prometheus =
            backends::start_prometheus(&data).context("starting the demo Prometheus")?;
        let mut yaml = prometheus.datasources_file();
        backends.push(prometheus);
        match backends::start_victoria_metrics(&data) {
            Ok(vm) => {
                yaml.push_str(&format!(
                    "  - name: victoriametrics\n    type: victoriametrics-metrics-datasource\n    url: {}\n",
                    vm.url
                ));
                backends.push(vm);
            }
            Err(e) => {
                tracing::warn!(error = %e, "VictoriaMetrics not started; serving Prometheus only")
            }
        }
        let clickhouse = match ClickHouse::start("now", &[]) {
            Ok(ch) => {
                yaml.push_str(&ch.datasource_entry("otel", ""));
                Some(ch)
            }
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "ClickHouse not started; serving metrics only"
                );
                None
            }
        };
        let dir = tempfile::tempdir()?;
        let datasources_path = dir.path().join("datasources.yaml");
        std::fs::write(&datasources_path, yaml)?;
        Ok(Demo {
            backends,
            clickhouse,
            datasources_path,
            _dir: dir,
        })
    }
}
