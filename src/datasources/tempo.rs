//! The Tempo kind (Grafana type `tempo`): Grafana Tempo, or anything that answers Tempo's HTTP query
//! API (qryn). It serves the traces family.
//!
//! Tempo has no settings of its own that change a query: the common fields (url, headers such as
//! `X-Scope-OrgID` for a multi-tenant Tempo, basic auth, TLS, `jsonData.timeout`) are all it needs;
//! its Grafana-only settings (trace-to-logs links, service graph, node graph) are ignored.

/// The Grafana `type` of this kind.
pub(super) const TYPE: &str = "tempo";

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_entry_error, parse_err, parse_ok};
    use super::super::{Family, Kind};

    #[test]
    fn a_tempo_entry_serves_traces_with_its_tenant_header_and_tls() {
        let set = parse_ok(
            "datasources:\n  - name: loki\n    type: loki\n    url: http://loki:3100\n  - name: traces\n    type: tempo\n    url: https://tempo:3200/tempo\n    jsonData:\n      httpHeaderName1: X-Scope-OrgID\n      tlsSkipVerify: true\n      tracesToLogsV2: {datasourceUid: loki}\n    secureJsonData:\n      httpHeaderValue1: tenant-b\n",
        );
        let ds = set.get("traces").unwrap();
        assert_eq!(ds.kind, Kind::Tempo);
        assert_eq!(ds.kind.families(), &[Family::Traces]);
        assert_eq!(ds.url, "https://tempo:3200/tempo");
        assert!(ds.tls_skip_verify);
        assert_eq!(ds.headers[0].1.expose(), "tenant-b");
        assert_eq!(set.default_for(Family::Traces).unwrap().name, "traces");
        assert_eq!(set.default_for(Family::Logs).unwrap().name, "loki");
        assert!(set.skipped.is_empty());
        let summary = ds.summary_json();
        assert_eq!(summary["type"], "tempo");
        assert_eq!(summary["families"], serde_json::json!(["traces"]));
        assert!(!summary.to_string().contains("tenant-b"));
    }

    #[test]
    fn a_tempo_entry_checks_the_common_fields() {
        let err = parse_err(
            "datasources:\n  - name: traces\n    type: tempo\n    url: http://tempo:3200\n    basicAuth: true\n",
        );
        assert_entry_error(&err, "1 ('traces')", "basicAuthUser");
    }
}
