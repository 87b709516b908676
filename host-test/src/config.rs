//! Host settings, read from the environment once at start-up (two stages: raw variables are checked
//! here; defaults that depend on other settings, like allowed hosts, are resolved here too).

use std::net::IpAddr;
use std::path::PathBuf;

use proms_mcp::settings::Settings;

/// How MCP requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every request is served as an anonymous caller.
    None,
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
            None | Some("none") => AuthMode::None,
            Some("active") => {
                return Err("AUTH_MODE=active (Kubernetes TokenReview) is not available in this build yet; set AUTH_MODE=none and keep the server on a trusted network".into());
            }
            Some(other) => return Err(format!("AUTH_MODE: '{other}' is not one of: none, active")),
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
        let c = from(&[]).unwrap();
        assert_eq!((c.port, c.health_metrics_port), (8000, 8080));
        assert!(c.host.is_loopback());
        assert_eq!(c.allowed_hosts, ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(c.auth_mode, AuthMode::None);
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
