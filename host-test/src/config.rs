//! Host settings, read from the environment once at start-up (two stages: raw variables are checked
//! here; defaults that depend on other settings, like allowed hosts, are resolved here too).

use std::net::IpAddr;
use std::path::PathBuf;

use proms_mcp::settings::Settings;

/// How MCP requests are authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthMode {
    /// Every request is served as an anonymous caller.
    None,
    /// Every MCP request needs a bearer token that the Kubernetes API accepts.
    Active(ActiveAuth),
}

/// Settings of `AUTH_MODE=active`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAuth {
    /// `OPENSHIFT_API_URL` (default `https://kubernetes.default.svc`).
    pub api_url: String,
    /// `OPENSHIFT_CA_CERT_PATH`; default the service-account CA when present, else the system roots.
    pub ca_path: Option<PathBuf>,
    /// `AUTH_AUDIENCES`, comma-separated; the review must grant one of them.
    pub audiences: Vec<String>,
    /// `AUTH_TIMEOUT` (default 5s): a slow API server delays only the requests waiting for it.
    pub timeout: std::time::Duration,
    /// `AUTH_CACHE_TTL` (60s), `AUTH_CACHE_FAILURE_TTL` (5s), `AUTH_CACHE_MAX_ENTRIES` (10000).
    pub cache: proms_mcp::auth::CacheLimits,
    /// `AUTH_AUTHORIZATION_SERVERS`: issuers listed in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
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
        Some(v) => proms_mcp::timespec::parse_duration(&v)
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

impl ActiveAuth {
    fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<ActiveAuth, String> {
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
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from(SERVICE_ACCOUNT_CA)).filter(|p| p.exists()));
        let max_entries = match env("AUTH_CACHE_MAX_ENTRIES") {
            None => 10_000,
            Some(v) => v.trim().parse().map_err(|_| {
                format!("AUTH_CACHE_MAX_ENTRIES: '{v}' is not a number (expected e.g. 10000)")
            })?,
        };
        Ok(ActiveAuth {
            api_url,
            ca_path,
            audiences: list(env, "AUTH_AUDIENCES"),
            timeout: duration(env, "AUTH_TIMEOUT", 5)?,
            cache: proms_mcp::auth::CacheLimits {
                ttl: duration(env, "AUTH_CACHE_TTL", 60)?,
                failure_ttl: duration(env, "AUTH_CACHE_FAILURE_TTL", 5)?,
                max_entries,
            },
            authorization_servers: list(env, "AUTH_AUTHORIZATION_SERVERS"),
            public_url: env("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
        })
    }
}

/// Everything the host needs to start.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Settings shared with the component (datasources path, query timeout).
    pub settings: Settings,
    /// Address both listeners bind to (`HOST`, default `127.0.0.1`).
    pub host: IpAddr,
    /// MCP port (`PORT`, default 8000).
    pub port: u16,
    /// Health and metrics port (`HEALTH_METRICS_PORT`, default 8080).
    pub health_metrics_port: u16,
    /// Log filter (`LOG_LEVEL`, default `info`).
    pub log_level: String,
    /// `AUTH_MODE` (`none`).
    pub auth_mode: AuthMode,
    /// Accepted `Host` header values (`ALLOWED_HOSTS`, comma-separated); empty means any.
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin`s (`ALLOWED_ORIGINS`, comma-separated, e.g. `https://app.example:443`
    /// or `http://localhost:*`); `None` (`ALLOWED_ORIGINS=*`) turns the check off. A request without
    /// `Origin` (any non-browser client) is never refused for it.
    pub allowed_origins: Option<Vec<String>>,
    /// The plugin component (`PROMS_MCP_COMPONENT`, else found next to the build output).
    pub component: PathBuf,
}

fn port(env: &impl Fn(&str) -> Option<String>, name: &str, default: u16) -> Result<u16, String> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}: '{v}' is not a port number (expected e.g. {default})")),
    }
}

impl HostConfig {
    /// Reads the configuration through `env`; errors name the variable and the expected form.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<HostConfig, String> {
        let settings = Settings::from_env(&env)?;
        let host: IpAddr = match env("HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(v) => v.trim().parse().map_err(|_| {
                format!("HOST: '{v}' is not an IP address (expected e.g. 127.0.0.1 or 0.0.0.0)")
            })?,
        };
        let auth_mode = match env("AUTH_MODE").as_deref().map(str::trim) {
            Some("none") => AuthMode::None,
            None | Some("active") => AuthMode::Active(ActiveAuth::from_env(&env)?),
            Some(other) => return Err(format!("AUTH_MODE: '{other}' is not one of: active, none")),
        };
        let allowed_hosts = match env("ALLOWED_HOSTS") {
            Some(list) => list
                .split(',')
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect(),
            // DNS-rebinding protection: a loopback server answers only loopback names.
            None if host.is_loopback() => {
                vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
            }
            None => Vec::new(),
        };
        let allowed_origins = match env("ALLOWED_ORIGINS") {
            Some(list) if list.trim() == "*" => None,
            Some(list) => Some(
                list.split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
            // A page in the user's own browser may reach a loopback server; nothing else may.
            None if host.is_loopback() => Some(vec![
                "http://localhost:*".into(),
                "http://127.0.0.1:*".into(),
                "http://[::1]:*".into(),
            ]),
            None => Some(Vec::new()),
        };
        Ok(HostConfig {
            settings,
            allowed_origins,
            host,
            port: port(&env, "PORT", 8000)?,
            health_metrics_port: port(&env, "HEALTH_METRICS_PORT", 8080)?,
            log_level: env("LOG_LEVEL").unwrap_or_else(|| "info".into()),
            auth_mode,
            allowed_hosts,
            component: env("PROMS_MCP_COMPONENT")
                .map(PathBuf::from)
                .unwrap_or_else(default_component),
        })
    }
}

/// `proms_mcp.wasm` as `make component` builds it: beside this executable's target directory, or under
/// `./target`.
fn default_component() -> PathBuf {
    let relative = PathBuf::from("wasm32-wasip2/release/proms_mcp.wasm");
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join(&relative)));
    match beside_exe {
        Some(p) if p.exists() => p,
        _ => PathBuf::from("target").join(relative),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<HostConfig, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HostConfig::from_env(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_are_local_and_safe() {
        let c = from(&[("AUTH_MODE", "none")]).unwrap();
        assert_eq!((c.port, c.health_metrics_port), (8000, 8080));
        assert!(c.host.is_loopback());
        assert_eq!(c.allowed_hosts, ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(c.auth_mode, AuthMode::None);
        let AuthMode::Active(active) = from(&[]).unwrap().auth_mode else {
            panic!("active is the default");
        };
        assert_eq!(active.api_url, "https://kubernetes.default.svc");
        assert_eq!(active.cache.ttl, std::time::Duration::from_secs(60));
        assert!(
            from(&[("AUTH_CACHE_TTL", "soon")])
                .unwrap_err()
                .contains("AUTH_CACHE_TTL")
        );
        assert_eq!(c.allowed_origins.as_ref().unwrap()[1], "http://127.0.0.1:*");
        let public = from(&[("HOST", "0.0.0.0")]).unwrap();
        assert_eq!(
            public.allowed_origins,
            Some(vec![]),
            "browsers refused unless configured"
        );
        assert_eq!(
            from(&[("ALLOWED_ORIGINS", "*")]).unwrap().allowed_origins,
            None
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert!(from(&[("PORT", "http")]).unwrap_err().contains("PORT"));
        assert!(from(&[("HOST", "example")]).unwrap_err().contains("HOST"));
        assert!(
            from(&[("AUTH_MODE", "maybe")])
                .unwrap_err()
                .contains("AUTH_MODE")
        );
        assert!(
            from(&[("QUERY_TIMEOUT", "x")])
                .unwrap_err()
                .contains("QUERY_TIMEOUT")
        );
    }

    #[test]
    fn public_bind_takes_allowed_hosts_from_the_environment() {
        let c = from(&[
            ("HOST", "0.0.0.0"),
            ("ALLOWED_HOSTS", "mcp.example, mcp.example:8000"),
        ])
        .unwrap();
        assert_eq!(c.allowed_hosts, ["mcp.example", "mcp.example:8000"]);
    }
}
