//! The OpenTelemetry collector's ClickHouse exporter schema (`otel_logs`, `otel_traces`) as the logs
//! and traces tools see it: which table and columns hold what, and the field map from KubeSense's
//! default fields to columns or semantic-convention keys of the attribute maps.
//!
//! Every identifier that reaches SQL comes from here: table and column names are checked once
//! ([`is_identifier`]) and written back-quoted; attribute keys are never identifiers at all, they are
//! query parameters (`ResourceAttributes[{p0:String}]`). What a filter compiles to is `sql`'s business.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which kind of record a table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Signal {
    /// `otel_logs`.
    Logs,
    /// `otel_traces`.
    Traces,
}

impl Signal {
    /// `logs` or `traces`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Traces => "traces",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a signal's records live and what the columns the tools rely on are called. The defaults
/// are the exporter's; Grafana's ClickHouse plugin lets a datasource override the table and some
/// column names (`jsonData.logs`, `jsonData.traces`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Which signal.
    pub signal: Signal,
    /// Database (`otel`).
    pub database: String,
    /// Table (`otel_logs` / `otel_traces`).
    pub table: String,
    /// Record time, `DateTime64(9)` (`Timestamp`).
    pub time_column: String,
    /// Logs: severity text (`SeverityText`). Traces: span name (`SpanName`).
    pub name_column: String,
    /// Logs: the message (`Body`). Traces: the service (`ServiceName`).
    pub text_column: String,
    /// Traces: duration in the unit of [`Table::duration_unit_ns`] (`Duration`, nanoseconds).
    pub duration_column: String,
    /// Nanoseconds per unit of the duration column (1 for the exporter's nanoseconds).
    pub duration_unit_ns: u64,
    /// Trace id (`TraceId`).
    pub trace_id_column: String,
    /// Span id (`SpanId`).
    pub span_id_column: String,
    /// Traces: parent span id (`ParentSpanId`).
    pub parent_span_id_column: String,
    /// Service name (`ServiceName`).
    pub service_column: String,
}

impl Table {
    /// The exporter's table for `signal`.
    pub fn otel(signal: Signal) -> Table {
        let (table, name, text) = match signal {
            Signal::Logs => ("otel_logs", "SeverityText", "Body"),
            Signal::Traces => ("otel_traces", "SpanName", "ServiceName"),
        };
        Table {
            signal,
            database: "otel".into(),
            table: table.into(),
            time_column: "Timestamp".into(),
            name_column: name.into(),
            text_column: text.into(),
            duration_column: "Duration".into(),
            duration_unit_ns: 1,
            trace_id_column: "TraceId".into(),
            span_id_column: "SpanId".into(),
            parent_span_id_column: "ParentSpanId".into(),
            service_column: "ServiceName".into(),
        }
    }

    /// `` `db`.`table` ``.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.database), quote(&self.table))
    }

    /// The names that must be identifiers, with what they are, for start-up checks.
    pub fn identifiers(&self) -> [(&'static str, &str); 10] {
        [
            ("database", &self.database),
            ("table", &self.table),
            ("time column", &self.time_column),
            ("name column", &self.name_column),
            ("text column", &self.text_column),
            ("duration column", &self.duration_column),
            ("trace id column", &self.trace_id_column),
            ("span id column", &self.span_id_column),
            ("parent span id column", &self.parent_span_id_column),
            ("service column", &self.service_column),
        ]
    }

    /// The attribute maps a custom `@key` is looked up in, most specific first.
    pub fn attribute_maps(&self) -> &'static [&'static str] {
        match self.signal {
            Signal::Logs => &["LogAttributes", "ResourceAttributes"],
            Signal::Traces => &["SpanAttributes", "ResourceAttributes"],
        }
    }
}

/// Whether `name` can be written as a ClickHouse identifier here: ASCII letters, digits and `_`, not
/// starting with a digit, at most 128 bytes. Checked at start-up for every configured name.
pub fn is_identifier(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// `` `name` ``; `name` must pass [`is_identifier`], so it needs no escaping.
pub fn quote(name: &str) -> String {
    debug_assert!(is_identifier(name), "{name}");
    format!("`{name}`")
}

/// What a field compares as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Text, compared as given.
    Text,
    /// Text compared without regard to case (`level`, `status`, `role`, `protocol_type`).
    TextIgnoreCase,
    /// A number (`duration` in milliseconds, `body_length`).
    Number,
}

/// One known field: its KubeSense name, what it is, and its SQL expression over the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownField {
    /// The name a filter, `groupBy` or `fields` uses.
    pub name: &'static str,
    /// Where it comes from, for the README table and `get_trace_or_log_fields`.
    pub source: &'static str,
    /// How it compares.
    pub field_type: FieldType,
    /// The SQL expression (built only from [`Table`]'s checked identifiers and constants).
    pub sql: String,
}

/// A resource attribute as SQL; `key` is a constant semantic-convention key.
fn resource(key: &str) -> String {
    format!("ResourceAttributes['{key}']")
}

/// The first non-empty of `exprs`.
fn first_non_empty(exprs: &[String]) -> String {
    let mut sql = exprs.last().cloned().unwrap_or_default();
    for e in exprs.iter().rev().skip(1) {
        sql = format!("if({e} != '', {e}, {sql})");
    }
    sql
}

/// The known fields of `table`'s signal: KubeSense's default fields, plus `service` and the
/// message/name fields, mapped to the exporter's columns or semantic-convention keys.
pub fn known_fields(table: &Table) -> Vec<KnownField> {
    use FieldType::{Number, Text, TextIgnoreCase};
    let col = |c: &str| quote(c);
    let workload = first_non_empty(&[
        resource("k8s.deployment.name"),
        resource("k8s.statefulset.name"),
        resource("k8s.daemonset.name"),
        resource("k8s.job.name"),
        resource("k8s.cronjob.name"),
    ]);
    let kubernetes = [
        (
            "workload",
            "resource k8s.deployment/statefulset/daemonset/job/cronjob.name (the first set)",
            workload,
        ),
        (
            "namespace",
            "resource k8s.namespace.name",
            resource("k8s.namespace.name"),
        ),
        (
            "cluster",
            "resource k8s.cluster.name",
            resource("k8s.cluster.name"),
        ),
        (
            "pod_name",
            "resource k8s.pod.name",
            resource("k8s.pod.name"),
        ),
        (
            "container_name",
            "resource k8s.container.name",
            resource("k8s.container.name"),
        ),
        (
            "node_name",
            "resource k8s.node.name",
            resource("k8s.node.name"),
        ),
    ];
    let mut fields: Vec<KnownField> = kubernetes
        .into_iter()
        .map(|(name, source, sql)| KnownField {
            name,
            source,
            field_type: Text,
            sql,
        })
        .collect();
    let mut add = |name, source, field_type, sql: String| {
        fields.push(KnownField {
            name,
            source,
            field_type,
            sql,
        })
    };
    add(
        "service",
        "column ServiceName (resource service.name)",
        Text,
        col(&table.service_column),
    );
    match table.signal {
        Signal::Logs => {
            add(
                "level",
                "column SeverityText, compared ignoring case",
                TextIgnoreCase,
                col(&table.name_column),
            );
            let body = col(&table.text_column);
            add(
                "format",
                "'json' when the body is a JSON document, else 'plain'",
                TextIgnoreCase,
                format!("if(isValidJSON({body}), 'json', 'plain')"),
            );
            add(
                "body_length",
                "length of the body in bytes",
                Number,
                format!("length({body})"),
            );
            add("message", "column Body", Text, body.clone());
            add("body", "column Body (same as message)", Text, body);
        }
        Signal::Traces => {
            add(
                "role",
                "column SpanKind (server, client, internal, producer, consumer), ignoring case",
                TextIgnoreCase,
                "replaceOne(lower(`SpanKind`), 'span_kind_', '')".into(),
            );
            add(
                "status",
                "column StatusCode (ok, error, unset), ignoring case",
                TextIgnoreCase,
                "replaceOne(lower(`StatusCode`), 'status_code_', '')".into(),
            );
            add(
                "protocol_type",
                "span rpc.system (GRPC, …), else HTTP when the span has an HTTP method, ignoring case",
                TextIgnoreCase,
                "if(SpanAttributes['rpc.system'] != '', upper(SpanAttributes['rpc.system']), \
                 if(SpanAttributes['http.request.method'] != '' OR SpanAttributes['http.method'] != '', 'HTTP', ''))"
                    .into(),
            );
            add(
                "operation_name",
                "column SpanName",
                Text,
                col(&table.name_column),
            );
            add(
                "duration",
                "column Duration, in milliseconds",
                Number,
                duration_ms(table),
            );
            add(
                "return_code",
                "span http.response.status_code, http.status_code or rpc.grpc.status_code",
                Text,
                first_non_empty(&[
                    "SpanAttributes['http.response.status_code']".into(),
                    "SpanAttributes['http.status_code']".into(),
                    "SpanAttributes['rpc.grpc.status_code']".into(),
                ]),
            );
            add(
                "trace_id",
                "column TraceId",
                Text,
                col(&table.trace_id_column),
            );
        }
    }
    fields
}

/// The duration column in milliseconds, as a Float64.
pub fn duration_ms(table: &Table) -> String {
    let ns = table.duration_unit_ns;
    format!(
        "(toFloat64({}) * {ns} / 1000000)",
        quote(&table.duration_column)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_strict() {
        for good in ["otel", "otel_logs", "_x", "Timestamp", "a1"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in [
            "",
            "1a",
            "a-b",
            "a b",
            "a`b",
            "a.b",
            "a;",
            "é",
            &"x".repeat(129),
        ] {
            assert!(!is_identifier(bad), "{bad}");
        }
        for signal in [Signal::Logs, Signal::Traces] {
            for (what, name) in Table::otel(signal).identifiers() {
                assert!(is_identifier(name), "{what}");
            }
        }
    }

    #[test]
    fn field_maps_cover_kubesense_defaults() {
        let names = |s| {
            known_fields(&Table::otel(s))
                .into_iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
        };
        let logs = names(Signal::Logs);
        for f in [
            "workload",
            "namespace",
            "cluster",
            "pod_name",
            "container_name",
            "node_name",
            "level",
            "format",
            "body_length",
            "message",
        ] {
            assert!(logs.contains(&f), "logs lacks {f}");
        }
        let traces = names(Signal::Traces);
        for f in [
            "pod_name",
            "namespace",
            "cluster",
            "workload",
            "container_name",
            "node_name",
            "role",
            "status",
            "protocol_type",
            "operation_name",
            "duration",
            "return_code",
        ] {
            assert!(traces.contains(&f), "traces lacks {f}");
        }
        assert_eq!(
            first_non_empty(&["a".into(), "b".into(), "c".into()]),
            "if(a != '', a, if(b != '', b, c))"
        );
    }
}
