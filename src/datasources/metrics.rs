//! The metrics kind: Prometheus and its flavours (Thanos, Mimir, Cortex, VictoriaMetrics), with the
//! settings only they have (`httpMethod`, `timeInterval`, `prometheusType`) and, in one place, how
//! the flavours differ where it changes a request ([`Flavour`]'s methods). Tools never look at the
//! flavour themselves; the Prometheus client does.

use std::fmt;

use serde_yaml_ng::Mapping;

use serde::{Deserialize, Serialize};

use super::envelope::string_field;

/// Which Prometheus-compatible server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Flavour {
    /// Prometheus itself (Grafana type `prometheus`, `prometheusType` absent or `Prometheus`).
    Prometheus,
    /// Thanos Query (`prometheusType: Thanos`).
    Thanos,
    /// Grafana Mimir (`prometheusType: Mimir`).
    Mimir,
    /// Cortex (`prometheusType: Cortex`).
    Cortex,
    /// VictoriaMetrics (Grafana types `victoriametrics-metrics-datasource`, `victoriametrics-datasource`).
    VictoriaMetrics,
}

impl Flavour {
    /// The name shown to tools: `prometheus`, `thanos`, `mimir`, `cortex` or `victoriametrics`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Flavour::Prometheus => "prometheus",
            Flavour::Thanos => "thanos",
            Flavour::Mimir => "mimir",
            Flavour::Cortex => "cortex",
            Flavour::VictoriaMetrics => "victoriametrics",
        }
    }

    /// The Grafana plugin this flavour is provisioned with: `prometheus` or `victoriametrics`.
    pub fn grafana_plugin(&self) -> &'static str {
        match self {
            Flavour::VictoriaMetrics => "victoriametrics",
            _ => "prometheus",
        }
    }

    /// Whether a label name outside the legacy charset goes into a URL path in Prometheus 3's `U__`
    /// escaping (`/api/v1/label/U__k8s_2e_pod/values`). VictoriaMetrics does not know it and takes
    /// the name percent-encoded instead.
    pub fn escapes_label_names_in_paths(&self) -> bool {
        *self != Flavour::VictoriaMetrics
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HTTP method used for query endpoints (`jsonData.httpMethod`); Grafana's default is POST.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HttpMethod {
    /// Parameters in the query string.
    Get,
    /// Parameters as a form body (allows long queries).
    #[default]
    Post,
}

impl HttpMethod {
    /// `"GET"` or `"POST"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// What only a metrics datasource has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsSettings {
    /// Which server this is.
    pub flavour: Flavour,
    /// `jsonData.httpMethod`; POST when not given.
    pub http_method: HttpMethod,
    /// `jsonData.timeInterval`, the scrape interval, a valid Prometheus duration such as `15s`.
    pub scrape_interval: Option<String>,
}

/// The Grafana `type` values of the metrics kind, for messages.
pub(super) const TYPES: &[&str] = &[
    "prometheus",
    "victoriametrics-metrics-datasource",
    "victoriametrics-datasource",
];

/// The flavour a Grafana `type` (lowercase) names before `prometheusType` is read; `None` when the
/// type is not of this kind.
pub(super) fn plugin_flavour(grafana_type: &str) -> Option<Flavour> {
    match grafana_type {
        "prometheus" => Some(Flavour::Prometheus),
        "victoriametrics-metrics-datasource" | "victoriametrics-datasource" => {
            Some(Flavour::VictoriaMetrics)
        }
        _ => None,
    }
}

/// Reads the metrics settings of an entry whose plugin is `plugin`.
pub(super) fn parse(plugin: Flavour, json_data: &Mapping) -> Result<MetricsSettings, String> {
    let flavour = match (
        plugin,
        string_field(json_data, "prometheusType", "jsonData.prometheusType")?,
    ) {
        (Flavour::Prometheus, Some(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "" | "prometheus" => Flavour::Prometheus,
            "thanos" => Flavour::Thanos,
            "mimir" => Flavour::Mimir,
            "cortex" => Flavour::Cortex,
            other => {
                return Err(format!(
                    "jsonData.prometheusType must be Prometheus, Thanos, Mimir or Cortex, not '{other}'"
                ));
            }
        },
        (plugin, _) => plugin,
    };
    let http_method = match string_field(json_data, "httpMethod", "jsonData.httpMethod")? {
        None => HttpMethod::Post,
        Some(m) => match m.trim() {
            "" => HttpMethod::Post,
            m if m.eq_ignore_ascii_case("post") => HttpMethod::Post,
            m if m.eq_ignore_ascii_case("get") => HttpMethod::Get,
            m => {
                return Err(format!(
                    "jsonData.httpMethod must be GET or POST, not '{m}'"
                ));
            }
        },
    };
    let scrape_interval = match string_field(json_data, "timeInterval", "jsonData.timeInterval")? {
        Some(t) if !t.trim().is_empty() => {
            let t = t.trim();
            if !is_prometheus_duration(t) {
                return Err(format!(
                    "jsonData.timeInterval '{t}' is not a valid duration; use a Prometheus duration such as 15s, 1m or 1h30m"
                ));
            }
            Some(t.to_string())
        }
        _ => None,
    };
    Ok(MetricsSettings {
        flavour,
        http_method,
        scrape_interval,
    })
}

/// A Prometheus duration: one or more `<digits><unit>` with units in decreasing order among
/// y, w, d, h, m, s, ms (`15s`, `1h30m`), and not zero (it is a scrape interval).
pub(super) fn is_prometheus_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut last_unit: Option<usize> = None;
    let mut nonzero = false;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, tail) = rest.split_at(digits);
        let Ok(value) = number.parse::<u64>() else {
            return false;
        };
        let unit_len = match tail.as_bytes() {
            [b'm', b's', ..] => 2,
            [b'y' | b'w' | b'd' | b'h' | b'm' | b's', ..] => 1,
            _ => return false,
        };
        let Some(unit) = UNITS.iter().position(|u| *u == &tail[..unit_len]) else {
            return false;
        };
        if last_unit.is_some_and(|last| unit <= last) {
            return false;
        }
        last_unit = Some(unit);
        nonzero |= value > 0;
        rest = &tail[unit_len..];
    }
    nonzero
}

#[cfg(test)]
mod tests {
    //! Metrics settings through the public parse entry point.

    use super::super::tests::{assert_entry_error, one, parse_err, parse_ok};
    use super::*;

    #[test]
    fn invalid_time_interval_is_an_error() {
        for bad in ["15", "1m1h", "abc", "0s", "1.5s", "-1m"] {
            let err = parse_err(&one(&format!(
                "    url: http://p:9090\n    jsonData: {{timeInterval: '{bad}'}}\n"
            )));
            assert_entry_error(&err, "1 ('prom')", "jsonData.timeInterval");
        }
        for good in [
            "15s",
            "1m",
            "1h30m",
            "500ms",
            "1d",
            "2w",
            "1y",
            "1m30s500ms",
        ] {
            assert!(is_prometheus_duration(good), "{good}");
        }
    }

    #[test]
    fn invalid_http_method_is_an_error() {
        let err = parse_err(&one(
            "    url: http://p:9090\n    jsonData: {httpMethod: PUT}\n",
        ));
        assert_entry_error(
            &err,
            "1 ('prom')",
            "jsonData.httpMethod must be GET or POST, not 'PUT'",
        );
    }

    #[test]
    fn flavours_and_timeouts_are_checked() {
        for (value, flavour) in [
            ("Prometheus", Flavour::Prometheus),
            ("mimir", Flavour::Mimir),
            ("Cortex", Flavour::Cortex),
            ("", Flavour::Prometheus),
        ] {
            let set = parse_ok(&one(&format!(
                "    url: http://p:9090\n    jsonData: {{prometheusType: '{value}'}}\n"
            )));
            assert_eq!(set.all()[0].metrics().unwrap().flavour, flavour, "{value}");
        }
        let err = parse_err(&one(
            "    url: http://p:9090\n    jsonData: {prometheusType: Graphite}\n",
        ));
        assert_entry_error(&err, "1 ('prom')", "jsonData.prometheusType must be");
        for bad in ["-1", "abc", "1e9"] {
            let err = parse_err(&one(&format!(
                "    url: http://p:9090\n    jsonData: {{timeout: '{bad}'}}\n"
            )));
            assert_entry_error(
                &err,
                "1 ('prom')",
                "jsonData.timeout must be a number of seconds",
            );
        }
        let set = parse_ok(&one("    url: http://p:9090\n    jsonData: {timeout: 0}\n"));
        assert_eq!(set.all()[0].timeout, None);
    }
}
