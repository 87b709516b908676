//! Settings read from the environment, shared by the component and the host so both read the same
//! variables the same way. Parsing only; where the environment comes from is the caller's business.

use std::time::Duration;

use crate::datasources;
use crate::timespec::parse_duration;
use crate::tools::{DEFAULT_QUERY_TIMEOUT, Toolset};

/// Every variable [`Settings::from_env`] reads.
pub const SETTINGS_ENV: &[&str] = &[
    datasources::PATH_ENV,
    DATASOURCES_ENV,
    QUERY_TIMEOUT_ENV,
    TOOLS_ENABLED_ENV,
    TOOLS_DISABLED_ENV,
];

/// Environment variable (or Spin variable `grafana_datasources`): the datasources file's content
/// itself, used instead of the file at `GRAFANA_DATASOURCES_PATH` when set, so a platform can pass
/// it from a secret without rebuilding or mounting anything.
pub const DATASOURCES_ENV: &str = "GRAFANA_DATASOURCES";

/// Environment variable: deadline of each backend request (`30s`, `1m`, or seconds).
pub const QUERY_TIMEOUT_ENV: &str = "QUERY_TIMEOUT";

/// Environment variable: the only tools to offer, comma-separated names (default: all).
pub const TOOLS_ENABLED_ENV: &str = "TOOLS_ENABLED";

/// Environment variable: tools not to offer, comma-separated names; with `TOOLS_ENABLED`, removed
/// from the ones it names.
pub const TOOLS_DISABLED_ENV: &str = "TOOLS_DISABLED";

/// The settings the tools need.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Path of the Grafana datasources provisioning file.
    pub datasources_path: String,
    /// The provisioning file's content from `GRAFANA_DATASOURCES`, which wins over the path.
    pub datasources_inline: Option<String>,
    /// Deadline of each backend request.
    pub query_timeout: Duration,
    /// The tools offered (`TOOLS_ENABLED`, `TOOLS_DISABLED`).
    pub tools: Toolset,
}

impl Settings {
    /// Reads settings through `env` (a variable lookup), applying defaults; errors name the variable.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let datasources_path = env(datasources::PATH_ENV)
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| datasources::DEFAULT_PATH.to_string());
        let query_timeout = match env(QUERY_TIMEOUT_ENV).filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_QUERY_TIMEOUT,
            Some(v) => {
                let secs = parse_duration(&v).map_err(|e| format!("{QUERY_TIMEOUT_ENV}: {e}"))?;
                if !(1.0..=3600.0).contains(&secs) {
                    return Err(format!("{QUERY_TIMEOUT_ENV}: '{v}' is outside 1s to 1h"));
                }
                Duration::from_secs_f64(secs)
            }
        };
        let tools = Toolset::from_lists(
            env(TOOLS_ENABLED_ENV).as_deref(),
            env(TOOLS_DISABLED_ENV).as_deref(),
        )?;
        Ok(Settings {
            datasources_path,
            datasources_inline: env(DATASOURCES_ENV).filter(|t| !t.trim().is_empty()),
            query_timeout,
            tools,
        })
    }

    /// The datasources: the inline text when set, else the file; `env` resolves `$VAR` references.
    pub fn datasources(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<datasources::DatasourceSet, datasources::DatasourceError> {
        match &self.datasources_inline {
            Some(text) => datasources::parse(text, DATASOURCES_ENV, env),
            None => datasources::load(&self.datasources_path, env),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset() {
        let s = Settings::from_env(|_| None).unwrap();
        assert_eq!(s.datasources_path, datasources::DEFAULT_PATH);
        assert_eq!(s.query_timeout, Duration::from_secs(30));
        assert_eq!(s.datasources_inline, None);
        assert_eq!(s.tools, Toolset::all());
    }

    #[test]
    fn tools_enabled_and_disabled_are_read_and_checked() {
        let s = Settings::from_env(|k| match k {
            TOOLS_ENABLED_ENV => Some("query_range,query_instant,list_datasources".into()),
            TOOLS_DISABLED_ENV => Some("query_instant".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.tools.names(), "list_datasources, query_range");
        let e =
            Settings::from_env(|k| (k == TOOLS_DISABLED_ENV).then(|| "nope".into())).unwrap_err();
        assert!(
            e.contains("TOOLS_DISABLED: unknown tool 'nope'; tools: list_datasources"),
            "{e}"
        );
    }

    #[test]
    fn inline_datasources_win_over_the_file_and_resolve_variables() {
        let yaml =
            "apiVersion: 1\ndatasources:\n  - name: p\n    type: prometheus\n    url: $URL\n";
        let env = |k: &str| match k {
            DATASOURCES_ENV => Some(yaml.to_string()),
            "URL" => Some("http://127.0.0.1:9090".to_string()),
            _ => None,
        };
        let s = Settings::from_env(env).unwrap();
        let set = s.datasources(&env).unwrap();
        assert_eq!(set.all().len(), 1);
        assert_eq!(set.all()[0].url, "http://127.0.0.1:9090");
        let broken = Settings {
            datasources_inline: Some("datasources: [".into()),
            ..s
        };
        assert!(
            broken
                .datasources(&env)
                .unwrap_err()
                .to_string()
                .contains(DATASOURCES_ENV)
        );
    }

    #[test]
    fn timeout_accepts_durations_and_seconds_and_rejects_junk() {
        let with = |v: &str| {
            let v = v.to_string();
            Settings::from_env(move |k| (k == QUERY_TIMEOUT_ENV).then(|| v.clone()))
        };
        assert_eq!(with("45s").unwrap().query_timeout, Duration::from_secs(45));
        assert_eq!(with("10").unwrap().query_timeout, Duration::from_secs(10));
        assert!(with("soon").unwrap_err().contains("QUERY_TIMEOUT"));
        assert!(with("2h").is_err());
        assert!(with("500ms").is_err());
    }
}
