//! [`AuthSettings`] from the environment (`AUTH_MODE` and the settings of active mode), and
//! [`AUTH_ENV`], every variable read.
//!
//! What does not live here: what the settings are used for (`cache`, `endpoint`, each placement's
//! API client) and the variables of the rest of the server.

use super::CacheLimits;

/// Every variable [`AuthSettings::from_env`] reads.
pub const AUTH_ENV: &[&str] = &[
    "AUTH_MODE",
    "OPENSHIFT_API_URL",
    "OPENSHIFT_CA_CERT_PATH",
    "AUTH_AUDIENCES",
    "AUTH_TIMEOUT",
    "AUTH_CACHE_TTL",
    "AUTH_CACHE_FAILURE_TTL",
    "AUTH_CACHE_MAX_ENTRIES",
    "AUTH_AUTHORIZATION_SERVERS",
    "AUTH_CACHE_STORE",
    "PUBLIC_URL",
];

/// Settings of `AUTH_MODE=active`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSettings {
    /// `OPENSHIFT_API_URL` (default `https://kubernetes.default.svc`).
    pub api_url: String,
    /// `OPENSHIFT_CA_CERT_PATH`; default the service-account CA when present, else the system roots.
    /// (Only the native host can honour it; inside a component TLS is the runtime's.)
    pub ca_path: Option<std::path::PathBuf>,
    /// `AUTH_AUDIENCES`, comma-separated; the review must grant one of them.
    pub audiences: Vec<String>,
    /// `AUTH_TIMEOUT` (default 5s): a slow API server delays only the requests waiting for it.
    pub timeout: std::time::Duration,
    /// `AUTH_CACHE_TTL` (60s), `AUTH_CACHE_FAILURE_TTL` (5s), `AUTH_CACHE_MAX_ENTRIES` (10000).
    pub cache: CacheLimits,
    /// `AUTH_AUTHORIZATION_SERVERS`: issuers listed in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// `AUTH_CACHE_STORE` (default `default`; `none` turns it off): the key-value store in which
    /// the `server` component remembers reviews across requests. The native host keeps its cache
    /// in memory and ignores it.
    pub cache_store: Option<String>,
    /// `PUBLIC_URL`: this server's external base URL (for `resource` and `resource_metadata`);
    /// default: `http://<Host header>`.
    pub public_url: Option<String>,
}

/// The in-cluster service-account CA.
const SERVICE_ACCOUNT_CA: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

fn duration(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
) -> Result<std::time::Duration, String> {
    match env(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(std::time::Duration::from_secs(default)),
        Some(v) => crate::timespec::parse_duration(&v)
            .map(std::time::Duration::from_secs_f64)
            .map_err(|e| format!("{name}: {e}")),
    }
}

fn list(env: &impl Fn(&str) -> Option<String>, name: &str) -> Vec<String> {
    env(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl AuthSettings {
    /// Reads `AUTH_MODE` and the settings of active mode; `None` when `AUTH_MODE=none`. Errors name
    /// the variable and the expected form.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Option<AuthSettings>, String> {
        match env("AUTH_MODE").as_deref().map(str::trim) {
            Some("none") => return Ok(None),
            None | Some("active") => {}
            Some(other) => return Err(format!("AUTH_MODE: '{other}' is not one of: active, none")),
        }
        let api_url = env("OPENSHIFT_API_URL")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "https://kubernetes.default.svc".into());
        if !api_url.starts_with("https://") && !api_url.starts_with("http://") {
            return Err(format!(
                "OPENSHIFT_API_URL: '{api_url}' is not an http(s) URL"
            ));
        }
        let ca_path = env("OPENSHIFT_CA_CERT_PATH")
            .filter(|v| !v.trim().is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| Some(std::path::PathBuf::from(SERVICE_ACCOUNT_CA)).filter(|p| p.exists()));
        let max_entries = match env("AUTH_CACHE_MAX_ENTRIES") {
            None => 10_000,
            Some(v) => v.trim().parse().map_err(|_| {
                format!("AUTH_CACHE_MAX_ENTRIES: '{v}' is not a number (expected e.g. 10000)")
            })?,
        };
        Ok(Some(AuthSettings {
            api_url,
            ca_path,
            audiences: list(env, "AUTH_AUDIENCES"),
            timeout: duration(env, "AUTH_TIMEOUT", 5)?,
            cache: CacheLimits {
                ttl: duration(env, "AUTH_CACHE_TTL", 60)?,
                failure_ttl: duration(env, "AUTH_CACHE_FAILURE_TTL", 5)?,
                max_entries,
            },
            authorization_servers: list(env, "AUTH_AUTHORIZATION_SERVERS"),
            cache_store: match env("AUTH_CACHE_STORE").as_deref().map(str::trim) {
                None | Some("") => Some("default".to_string()),
                Some("none") => None,
                Some(name) => Some(name.to_string()),
            },
            public_url: env("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
        }))
    }
}
