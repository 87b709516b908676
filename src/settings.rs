//! Settings read from the environment, shared by the component and the host so both read the same
//! variables the same way. Parsing only; where the environment comes from is the caller's business.

use std::time::Duration;

use crate::datasources;
use crate::timespec::parse_duration;
use crate::tools::DEFAULT_QUERY_TIMEOUT;

/// Every variable [`Settings::from_env`] reads.
pub const SETTINGS_ENV: &[&str] = &[datasources::PATH_ENV, QUERY_TIMEOUT_ENV];

/// Environment variable: deadline of each backend request (`30s`, `1m`, or seconds).
pub const QUERY_TIMEOUT_ENV: &str = "QUERY_TIMEOUT";

/// The settings the tools need.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Path of the Grafana datasources provisioning file.
    pub datasources_path: String,
    /// Deadline of each backend request.
    pub query_timeout: Duration,
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
        Ok(Settings {
            datasources_path,
            query_timeout,
        })
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
