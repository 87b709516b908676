//! One entry of the provisioning file: what every kind has in common (name, uid, url, isDefault,
//! headers, basic auth, TLS, timeout) read here once, and the kind's own settings handed to its module
//! (`metrics`). Entries of types no kind serves become [`Skipped`].

use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};

use super::envelope::{bool_field, mapping_field, scalar_string, secret_field, string_field};
use super::headers::parse_headers;
use super::metrics::{self, Flavour};
use super::url::parse_url;
use super::{BasicAuth, Datasource, Family, Kind, Secret, Skipped};
use super::{clickhouse, loki, tempo};

/// What an entry became.
pub(super) enum Parsed {
    /// An entry this server queries.
    Served(Box<Datasource>),
    /// An entry of another type, kept for the start-up log.
    Skipped(Skipped),
}

/// The plugin an entry names, among the ones a kind serves.
enum Plugin {
    Metrics(Flavour),
    ClickHouse,
    Loki,
    Tempo,
}

impl Plugin {
    fn of(grafana_type: &str) -> Option<Plugin> {
        let t = grafana_type.trim().to_ascii_lowercase();
        match t.as_str() {
            clickhouse::TYPE => return Some(Plugin::ClickHouse),
            loki::TYPE => return Some(Plugin::Loki),
            tempo::TYPE => return Some(Plugin::Tempo),
            _ => {}
        }
        metrics::plugin_flavour(&t).map(Plugin::Metrics)
    }
}

/// The family a known Grafana type belongs to whose kind this version does not parse yet, so the
/// start-up log can say so rather than "unsupported".
fn later_family(grafana_type: &str) -> Option<Family> {
    match grafana_type.trim().to_ascii_lowercase().as_str() {
        "victoriametrics-logs-datasource" => Some(Family::Logs),
        "jaeger" | "zipkin" => Some(Family::Traces),
        _ => None,
    }
}

/// The `type` values served, for messages.
pub(super) fn supported_types() -> String {
    let mut types = metrics::TYPES.to_vec();
    types.extend([clickhouse::TYPE, loki::TYPE, tempo::TYPE]);
    types.join(", ")
}

/// A timeout in seconds at `jsonData.<key>` (`timeout` in Grafana's HTTP settings, `queryTimeout`
/// in the ClickHouse plugin): a number or a numeric string; absent, empty or 0 means none.
fn timeout_field(json_data: &Mapping, key: &str) -> Result<Option<Duration>, String> {
    let Some(value) = json_data.get(key) else {
        return Ok(None);
    };
    let text = match value {
        Value::Null => return Ok(None),
        v => scalar_string(v).unwrap_or_default(),
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(s) if (0.0..=86_400.0).contains(&s) => Ok((s > 0.0).then(|| Duration::from_secs_f64(s))),
        _ => Err(format!(
            "jsonData.{key} must be a number of seconds from 1 to 86400, not '{text}'"
        )),
    }
}

pub(super) fn parse_entry(
    entry: &Value,
    label: &str,
    warnings: &mut Vec<String>,
) -> Result<Parsed, String> {
    let Value::Mapping(map) = entry else {
        return Err("each datasource must be a mapping with 'name', 'type' and 'url'".into());
    };
    let mut warn = |w: String| warnings.push(format!("entry {label}: {w}"));

    let name = match string_field(map, "name", "name")? {
        None => {
            return Err(
                "missing 'name'; every datasource needs a unique name, which tools use as its id"
                    .into(),
            );
        }
        Some(n) if n.trim().is_empty() => {
            return Err(
                "'name' is empty; every datasource needs a unique name, which tools use as its id"
                    .into(),
            );
        }
        Some(n) => n,
    };
    let grafana_type = match string_field(map, "type", "type")? {
        Some(t) if !t.trim().is_empty() => t,
        _ => {
            return Err(format!(
                "missing 'type'; use {} (other types are skipped)",
                supported_types()
            ));
        }
    };
    let Some(plugin) = Plugin::of(&grafana_type) else {
        let reason = match later_family(&grafana_type) {
            Some(family) => format!("{family} datasources are not served yet"),
            None => format!(
                "type not supported; supported types are {}",
                supported_types()
            ),
        };
        return Ok(Parsed::Skipped(Skipped {
            name,
            kind: grafana_type,
            reason,
        }));
    };

    let uid = string_field(map, "uid", "uid")?.filter(|u| !u.trim().is_empty());
    let empty = Mapping::new();
    let json_data = mapping_field(map, "jsonData")?.unwrap_or(&empty);
    let secure = mapping_field(map, "secureJsonData")?.unwrap_or(&empty);

    // The kind's own settings, and what it says instead of the common fields: ClickHouse gives its
    // address as jsonData.host/port, its credentials and headers in its own fields.
    let (kind, own_url, own_auth, own_headers, timeout_key) = match plugin {
        Plugin::Metrics(flavour) => (
            Kind::Metrics(metrics::parse(flavour, json_data)?),
            None,
            None,
            Vec::new(),
            "timeout",
        ),
        Plugin::ClickHouse => {
            let parts = clickhouse::parse(json_data, secure, &mut warn)?;
            (
                Kind::ClickHouse(Box::new(parts.settings)),
                Some(parts.url),
                parts.basic_auth,
                parts.headers,
                "queryTimeout",
            )
        }
        Plugin::Loki => (
            Kind::Loki(loki::parse(json_data)?),
            None,
            None,
            Vec::new(),
            "timeout",
        ),
        Plugin::Tempo => (Kind::Tempo, None, None, Vec::new(), "timeout"),
    };
    let (url, origin) = match own_url {
        Some(own) => {
            parse_url(&own).map_err(|p| format!("invalid jsonData.host/port/path: {p}"))?
        }
        None => {
            let raw_url = string_field(map, "url", "url")?.ok_or(
                "missing 'url'; give the base URL of the datasource, e.g. http://prometheus:9090",
            )?;
            parse_url(&raw_url).map_err(|p| format!("invalid 'url': {p}"))?
        }
    };
    let is_default = bool_field(map, "isDefault", "isDefault")?.unwrap_or(false);
    let timeout = timeout_field(json_data, timeout_key)?;

    let mut headers = parse_headers(json_data, secure)?;
    for (name, value) in own_headers {
        if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return Err(format!("header '{name}' is configured twice"));
        }
        headers.push((name, value));
    }

    let basic_auth = if bool_field(map, "basicAuth", "basicAuth")?.unwrap_or(false) {
        let user = string_field(map, "basicAuthUser", "basicAuthUser")?
            .filter(|u| !u.is_empty())
            .ok_or(
                "basicAuth is true but 'basicAuthUser' is missing; set basicAuthUser (and \
                 secureJsonData.basicAuthPassword), or set basicAuth: false",
            )?;
        if user.contains(':') {
            return Err(
                "basicAuthUser must not contain ':' (HTTP basic auth cannot encode it)".into(),
            );
        }
        let password = match secret_field(
            secure,
            "basicAuthPassword",
            "secureJsonData.basicAuthPassword",
        )? {
            Some(p) => p,
            // Older provisioning files had the password at the top level.
            None => match secret_field(map, "basicAuthPassword", "basicAuthPassword")? {
                Some(p) => {
                    warn("'basicAuthPassword' at the top level is deprecated; move it to secureJsonData.basicAuthPassword".into());
                    p
                }
                None => {
                    warn("basicAuth is true but secureJsonData.basicAuthPassword is missing; using an empty password".into());
                    String::new()
                }
            },
        };
        if password.contains(['\r', '\n', '\0']) {
            return Err(
                "secureJsonData.basicAuthPassword contains a line break or NUL character".into(),
            );
        }
        Some(BasicAuth {
            user,
            password: Secret::new(password),
        })
    } else {
        own_auth
    };
    // Both would set Authorization; as in Grafana, the configured header wins.
    let basic_auth = if basic_auth.is_some()
        && headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Authorization"))
    {
        warn("basicAuth is ignored because an Authorization header is configured too (as Grafana does); remove one of them".into());
        None
    } else {
        basic_auth
    };

    let tls_skip_verify =
        bool_field(json_data, "tlsSkipVerify", "jsonData.tlsSkipVerify")?.unwrap_or(false);
    let ca = string_field(secure, "tlsCACert", "secureJsonData.tlsCACert")?
        .filter(|c| !c.trim().is_empty());
    let tls_ca_cert = if bool_field(json_data, "tlsAuthWithCACert", "jsonData.tlsAuthWithCACert")?
        .unwrap_or(false)
    {
        let Some(ca) = ca else {
            return Err(
                "jsonData.tlsAuthWithCACert is true but secureJsonData.tlsCACert is missing; paste the CA \
                 certificate (PEM) there, or set tlsAuthWithCACert: false"
                    .into(),
            );
        };
        if !ca.contains("-----BEGIN CERTIFICATE-----") {
            return Err(
                "secureJsonData.tlsCACert is not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line); \
                 paste the CA certificate in PEM form"
                    .into(),
            );
        }
        Some(ca)
    } else {
        if ca.is_some() {
            warn("secureJsonData.tlsCACert is ignored because jsonData.tlsAuthWithCACert is not true".into());
        }
        None
    };
    if bool_field(json_data, "tlsAuth", "jsonData.tlsAuth")?.unwrap_or(false) {
        warn("TLS client authentication (jsonData.tlsAuth) is not supported and is ignored".into());
    }
    if origin.scheme == "http" && (tls_skip_verify || tls_ca_cert.is_some()) {
        warn("TLS settings have no effect on an http:// url".into());
    }

    Ok(Parsed::Served(Box::new(Datasource {
        name,
        uid,
        kind,
        url,
        origin,
        is_default,
        timeout,
        headers,
        basic_auth,
        tls_skip_verify,
        tls_ca_cert,
    })))
}
