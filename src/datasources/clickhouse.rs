//! The ClickHouse kind: Grafana's ClickHouse plugin (`grafana-clickhouse-datasource`) provisioning,
//! holding the OpenTelemetry exporter's logs and traces tables. It serves the logs and traces
//! families.
//!
//! Read here: `jsonData.host`, `port`, `protocol` (`http`; the native protocol is refused: the
//! component speaks HTTP), `secure`, `path`, `username` with `secureJsonData.password`,
//! `defaultDatabase`, `queryTimeout`, the plugin's custom headers (`httpHeaders` and
//! `secureJsonData."secureHttpHeaders.<name>"`), and its `logs` / `traces` settings (database, table,
//! OTel on/off, the column names it lets users override). Names that reach SQL as identifiers are
//! checked here, once.

use serde::{Deserialize, Serialize};
use serde_yaml_ng::{Mapping, Value};

use super::envelope::{bool_field, mapping_field, scalar_string, secret_field, string_field};
use super::headers::push_header;
use super::{BasicAuth, Secret};
use crate::backends::clickhouse::schema::{Signal, Table, is_identifier};

/// The Grafana `type` of this kind.
pub(super) const TYPE: &str = "grafana-clickhouse-datasource";

/// What only a ClickHouse datasource has: where its logs and traces are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClickHouseSettings {
    /// The logs table (`otel.otel_logs` unless `jsonData.logs` says otherwise).
    pub logs: Table,
    /// The traces table (`otel.otel_traces` unless `jsonData.traces` says otherwise).
    pub traces: Table,
}

impl ClickHouseSettings {
    /// The table of `signal`.
    pub fn table(&self, signal: Signal) -> &Table {
        match signal {
            Signal::Logs => &self.logs,
            Signal::Traces => &self.traces,
        }
    }
}

/// What the ClickHouse entry contributes besides its settings: the URL it is reached at, the
/// credentials and the headers, which other kinds read from the common fields.
pub(super) struct Parts {
    pub settings: ClickHouseSettings,
    pub url: String,
    pub basic_auth: Option<BasicAuth>,
    pub headers: Vec<(String, Secret)>,
}

/// Reads a ClickHouse entry's `jsonData` and `secureJsonData`.
pub(super) fn parse(
    json_data: &Mapping,
    secure: &Mapping,
    warn: &mut dyn FnMut(String),
) -> Result<Parts, String> {
    let protocol = string_field(json_data, "protocol", "jsonData.protocol")?
        .map(|p| p.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let tls = bool_field(json_data, "secure", "jsonData.secure")?.unwrap_or(false);
    let http_port = if tls { 8443 } else { 8123 };
    match protocol.as_str() {
        "http" => {}
        "native" | "" => {
            return Err(format!(
                "jsonData.protocol is {}: proms-mcp reaches ClickHouse over its HTTP interface; set \
                 protocol: http and the HTTP port (port: {http_port}{})",
                if protocol.is_empty() {
                    "missing"
                } else {
                    "native"
                },
                if tls { ", with secure: true" } else { "" }
            ));
        }
        other => {
            return Err(format!(
                "jsonData.protocol must be http (or native, which proms-mcp does not speak), not '{other}'"
            ));
        }
    }
    // Plugin v3 called the host `server`.
    let host = match string_field(json_data, "host", "jsonData.host")? {
        Some(h) if !h.trim().is_empty() => h.trim().to_string(),
        _ => string_field(json_data, "server", "jsonData.server")?
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .ok_or(
                "missing jsonData.host; give the ClickHouse server's host name, e.g. clickhouse",
            )?,
    };
    let port = match json_data.get("port").and_then(scalar_string) {
        None => http_port,
        Some(p) => match p.trim().parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(format!(
                    "jsonData.port must be a port number, not '{p}'; ClickHouse's HTTP port is {http_port}"
                ));
            }
        },
    };
    if port == 9000 || port == 9440 {
        warn(format!(
            "jsonData.port {port} is ClickHouse's native port; the HTTP interface usually listens on {http_port}"
        ));
    }
    let path = string_field(json_data, "path", "jsonData.path")?.unwrap_or_default();
    let path = path.trim().trim_matches('/');
    let scheme = if tls { "https" } else { "http" };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    let url = if path.is_empty() {
        format!("{scheme}://{host}:{port}")
    } else {
        format!("{scheme}://{host}:{port}/{path}")
    };

    let username =
        string_field(json_data, "username", "jsonData.username")?.filter(|u| !u.is_empty());
    let password = secret_field(secure, "password", "secureJsonData.password")?;
    let basic_auth = match (username, password) {
        (Some(user), password) => {
            if user.contains(':') {
                return Err(
                    "jsonData.username must not contain ':' (HTTP basic auth cannot encode it)"
                        .into(),
                );
            }
            let password = password.unwrap_or_default();
            if password.contains(['\r', '\n', '\0']) {
                return Err(
                    "secureJsonData.password contains a line break or NUL character".into(),
                );
            }
            Some(BasicAuth {
                user,
                password: Secret::new(password),
            })
        }
        (None, Some(_)) => {
            warn("secureJsonData.password is ignored because jsonData.username is not set; ClickHouse would take the request as user 'default'".into());
            None
        }
        (None, None) => None,
    };

    let headers = plugin_headers(json_data, secure)?;
    let database = string_field(json_data, "defaultDatabase", "jsonData.defaultDatabase")?
        .filter(|d| !d.trim().is_empty());
    let logs = table(json_data, Signal::Logs, database.as_deref(), warn)?;
    let traces = table(json_data, Signal::Traces, database.as_deref(), warn)?;
    Ok(Parts {
        settings: ClickHouseSettings { logs, traces },
        url,
        basic_auth,
        headers,
    })
}

/// The plugin's custom headers: `jsonData.httpHeaders: [{name, value, secure}]`, with the value of a
/// secure one in `secureJsonData."secureHttpHeaders.<name>"`.
fn plugin_headers(json_data: &Mapping, secure: &Mapping) -> Result<Vec<(String, Secret)>, String> {
    let mut headers = Vec::new();
    let list = match json_data.get("httpHeaders") {
        None | Some(Value::Null) => return Ok(headers),
        Some(Value::Sequence(list)) => list,
        Some(_) => {
            return Err("jsonData.httpHeaders must be a list of {name, value, secure}".into());
        }
    };
    for (i, item) in list.iter().enumerate() {
        let label = format!("jsonData.httpHeaders[{i}]");
        let Value::Mapping(item) = item else {
            return Err(format!("{label} must be a mapping with name and value"));
        };
        let name = string_field(item, "name", format_args!("{label}.name"))?.unwrap_or_default();
        let is_secure =
            bool_field(item, "secure", format_args!("{label}.secure"))?.unwrap_or(false);
        let (value, value_label) = if is_secure {
            let key = format!("secureHttpHeaders.{}", name.trim());
            let label = format!("secureJsonData.\"{key}\"");
            (
                secret_field(secure, &key, &label)?.unwrap_or_default(),
                label,
            )
        } else {
            let label = format!("{label}.value");
            (
                string_field(item, "value", &label)?.unwrap_or_default(),
                label,
            )
        };
        if value.is_empty() {
            // The plugin skips headers without a value.
            continue;
        }
        push_header(
            &mut headers,
            &name,
            value,
            &format!("{label}.name"),
            &value_label,
        )?;
    }
    Ok(headers)
}

/// The table of `signal` from `jsonData.logs` / `jsonData.traces`, over the exporter's defaults.
fn table(
    json_data: &Mapping,
    signal: Signal,
    default_database: Option<&str>,
    warn: &mut dyn FnMut(String),
) -> Result<Table, String> {
    let section = signal.as_str();
    let mut table = Table::otel(signal);
    if let Some(db) = default_database {
        table.database = db.trim().to_string();
    }
    let empty = Mapping::new();
    let config = mapping_field(json_data, section)
        .map_err(|e| format!("jsonData.{e}"))?
        .unwrap_or(&empty);
    // Labels are written only into errors and warnings: the file is parsed on every call.
    let label = |key: &str| format!("jsonData.{section}.{key}");
    let set = |key: &str, slot: &mut String| -> Result<(), String> {
        let field = format_args!("jsonData.{section}.{key}");
        if let Some(v) = string_field(config, key, field)?.filter(|v| !v.trim().is_empty()) {
            *slot = v.trim().to_string();
        }
        Ok(())
    };
    set("defaultDatabase", &mut table.database)?;
    set("defaultTable", &mut table.table)?;
    match signal {
        Signal::Logs => {
            set("timeColumn", &mut table.time_column)?;
            set("levelColumn", &mut table.name_column)?;
            set("messageColumn", &mut table.text_column)?;
        }
        Signal::Traces => {
            set("startTimeColumn", &mut table.time_column)?;
            set("operationNameColumn", &mut table.name_column)?;
            set("serviceNameColumn", &mut table.service_column)?;
            set("durationColumn", &mut table.duration_column)?;
            set("traceIdColumn", &mut table.trace_id_column)?;
            set("spanIdColumn", &mut table.span_id_column)?;
            set("parentSpanIdColumn", &mut table.parent_span_id_column)?;
            table.text_column = table.service_column.clone();
            if let Some(unit) = string_field(
                config,
                "durationUnit",
                format_args!("jsonData.{section}.durationUnit"),
            )? {
                table.duration_unit_ns = match unit.trim().to_ascii_lowercase().as_str() {
                    "" | "nanoseconds" | "ns" => 1,
                    "microseconds" | "us" => 1_000,
                    "milliseconds" | "ms" => 1_000_000,
                    "seconds" | "s" => 1_000_000_000,
                    other => {
                        return Err(format!(
                            "{} must be seconds, milliseconds, microseconds or nanoseconds, not '{other}'",
                            label("durationUnit")
                        ));
                    }
                };
            }
        }
    }
    if bool_field(
        config,
        "otelEnabled",
        format_args!("jsonData.{section}.otelEnabled"),
    )? == Some(false)
    {
        warn(format!(
            "{} is false, but the {section} tools read the OpenTelemetry exporter's schema (attribute maps ResourceAttributes and {}); a table without them fails at query time",
            label("otelEnabled"),
            table.attribute_maps()[0]
        ));
    }
    for (what, name) in table.identifiers() {
        if !is_identifier(name) {
            return Err(format!(
                "the {section} {what} '{name}' is not a plain ClickHouse identifier (ASCII letters, digits and _); proms-mcp writes it into SQL, so it accepts only such names"
            ));
        }
    }
    Ok(table)
}
