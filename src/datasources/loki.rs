//! The Loki kind (Grafana type `loki`): Grafana Loki, or anything that answers Loki's HTTP query API
//! (qryn, Grafana Enterprise Logs). It serves the logs family.
//!
//! The common fields (url, headers such as `X-Scope-OrgID` for a multi-tenant Loki, basic auth,
//! TLS, `jsonData.timeout`) are read by `common`. Read here: `jsonData.parser`, proms-mcp's own
//! setting (Grafana ignores it), which says whether log lines are structured, so that filters on
//! fields inside the lines become label filters after a `| json` or `| logfmt` stage.

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Mapping;

use super::envelope::string_field;

/// The Grafana `type` of this kind.
pub(super) const TYPE: &str = "loki";

/// How the lines of a Loki datasource are structured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineParser {
    /// Plain text (the default): only stream labels and structured metadata are fields.
    #[default]
    None,
    /// JSON documents: `| json` makes their keys labels.
    Json,
    /// `key=value` pairs: `| logfmt` makes their keys labels.
    Logfmt,
}

impl LineParser {
    /// `none`, `json` or `logfmt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LineParser::None => "none",
            LineParser::Json => "json",
            LineParser::Logfmt => "logfmt",
        }
    }
}

/// What only a Loki datasource has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LokiSettings {
    /// `jsonData.parser`: how lines are structured.
    pub parser: LineParser,
}

/// Reads a Loki entry's `jsonData`.
pub(super) fn parse(json_data: &Mapping) -> Result<LokiSettings, String> {
    let parser = match string_field(json_data, "parser", "jsonData.parser")?
        .map(|p| p.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("none") => LineParser::None,
        Some("json") => LineParser::Json,
        Some("logfmt") => LineParser::Logfmt,
        Some(other) => {
            return Err(format!(
                "jsonData.parser must be json, logfmt or none (how log lines are structured), not '{other}'"
            ));
        }
    };
    Ok(LokiSettings { parser })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_entry_error, parse_err, parse_ok};
    use super::super::{Family, Kind};
    use super::*;

    fn loki(extra: &str) -> String {
        format!("datasources:\n  - name: logs\n    type: loki\n    url: http://loki:3100/\n{extra}")
    }

    #[test]
    fn a_loki_entry_serves_logs_with_its_tenant_header_and_basic_auth() {
        let set = parse_ok(&loki(
            "    basicAuth: true\n    basicAuthUser: reader\n    jsonData:\n      httpHeaderName1: X-Scope-OrgID\n      timeout: 20\n    secureJsonData:\n      httpHeaderValue1: tenant-a\n      basicAuthPassword: \"s3cret\"\n",
        ));
        let ds = set.get("logs").unwrap();
        assert_eq!(ds.kind, Kind::Loki(LokiSettings::default()));
        assert_eq!(ds.kind.families(), &[Family::Logs]);
        assert_eq!(ds.url, "http://loki:3100");
        assert_eq!(ds.headers[0].0, "X-Scope-OrgID");
        assert_eq!(ds.headers[0].1.expose(), "tenant-a");
        assert_eq!(ds.basic_auth.as_ref().unwrap().user, "reader");
        assert_eq!(ds.timeout, Some(std::time::Duration::from_secs(20)));
        assert_eq!(set.default_for(Family::Logs).unwrap().name, "logs");
        assert!(set.default_for(Family::Traces).is_none());
        let summary = ds.summary_json();
        assert_eq!(summary["type"], "loki");
        assert_eq!(summary["families"], serde_json::json!(["logs"]));
        assert_eq!(summary["parser"], "none");
        assert_eq!(
            summary["auth"],
            serde_json::json!(["basic", "headers:X-Scope-OrgID"])
        );
        assert!(!summary.to_string().contains("tenant-a"));
        assert!(!summary.to_string().contains("s3cret"));
    }

    #[test]
    fn the_parser_setting_is_json_logfmt_or_none() {
        for (text, parser) in [
            ("json", LineParser::Json),
            ("LOGFMT", LineParser::Logfmt),
            ("none", LineParser::None),
        ] {
            let set = parse_ok(&loki(&format!("    jsonData:\n      parser: {text}\n")));
            assert_eq!(set.all()[0].loki().unwrap().parser, parser);
        }
        let err = parse_err(&loki("    jsonData:\n      parser: xml\n"));
        assert_entry_error(
            &err,
            "1 ('logs')",
            "jsonData.parser must be json, logfmt or none",
        );
    }

    #[test]
    fn a_loki_entry_needs_a_url() {
        let err = parse_err("datasources:\n  - name: logs\n    type: loki\n");
        assert_entry_error(&err, "1 ('logs')", "missing 'url'");
    }
}
