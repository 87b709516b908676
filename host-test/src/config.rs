//! Host settings, read from the environment once at start-up (two stages: raw variables are checked
//! here; defaults that depend on other settings, like allowed hosts, are resolved here too).

use std::net::IpAddr;
use std::path::PathBuf;

use proms_mcp::auth::AuthSettings;
use proms_mcp::front::HttpPolicy;
use proms_mcp::settings::Settings;

/// How MCP requests are authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthMode {
    /// Every request is served as an anonymous caller.
    None,
    /// Every MCP request needs a bearer token that the Kubernetes API accepts.
    Active(AuthSettings),
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
    /// `ALLOWED_HOSTS` and `ALLOWED_ORIGINS`.
    pub http: HttpPolicy,
    /// The plugin component (`PROMS_MCP_COMPONENT`, else found next to the build output).
    pub component: PathBuf,
    /// The `server` world component (`PROMS_MCP_SERVER_COMPONENT`), for `serve-component`.
    pub server_component: PathBuf,
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
        let auth_mode = match AuthSettings::from_env(&env)? {
            None => AuthMode::None,
            Some(active) => AuthMode::Active(active),
        };
        let http = HttpPolicy::from_env(&env, host.is_loopback());
        Ok(HostConfig {
            settings,
            host,
            port: port(&env, "PORT", 8000)?,
            health_metrics_port: port(&env, "HEALTH_METRICS_PORT", 8080)?,
            log_level: env("LOG_LEVEL").unwrap_or_else(|| "info".into()),
            auth_mode,
            http,
            component: env("PROMS_MCP_COMPONENT")
                .map(PathBuf::from)
                .unwrap_or_else(default_component),
            server_component: env("PROMS_MCP_SERVER_COMPONENT")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from("target/server/wasm32-wasip2/release/proms_mcp.wasm")
                }),
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
        assert_eq!(c.http.allowed_hosts, ["localhost", "127.0.0.1", "::1"]);
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
        assert_eq!(
            c.http.allowed_origins.as_ref().unwrap()[1],
            "http://127.0.0.1:*"
        );
        let public = from(&[("HOST", "0.0.0.0")]).unwrap();
        assert_eq!(
            public.http.allowed_origins,
            Some(vec![]),
            "browsers refused unless configured"
        );
        assert_eq!(
            from(&[("ALLOWED_ORIGINS", "*")])
                .unwrap()
                .http
                .allowed_origins,
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
        // An unknown tool name stops the start, listing the tools there are.
        let e = from(&[("TOOLS_ENABLED", "query_range,query_everything")]).unwrap_err();
        assert!(
            e.contains("TOOLS_ENABLED: unknown tool 'query_everything'; tools: list_datasources"),
            "{e}"
        );
    }

    #[test]
    fn public_bind_takes_allowed_hosts_from_the_environment() {
        let c = from(&[
            ("HOST", "0.0.0.0"),
            ("ALLOWED_HOSTS", "mcp.example, mcp.example:8000"),
        ])
        .unwrap();
        assert_eq!(c.http.allowed_hosts, ["mcp.example", "mcp.example:8000"]);
    }
}
