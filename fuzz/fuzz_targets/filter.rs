//! Filter parsing never panics, error positions are inside the input, and a parsed filter's
//! canonical form (`Display`) parses back to the same filter and prints the same. A parsed filter
//! also compiles to ClickHouse SQL for logs and traces without panicking, and no value the caller
//! wrote reaches the SQL text: every SQL string literal is one of the field map's constant keys.
//! It compiles to LogQL and TraceQL without panicking too, and there every value stays inside a
//! well-formed Go string literal: outside the literals only the compiler's own syntax remains.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proms_mcp::backends::clickhouse::schema::{Signal, Table};
use proms_mcp::backends::clickhouse::sql::{Params, compile};
use proms_mcp::backends::loki::logql::{self, Labels};
use proms_mcp::backends::tempo::traceql;
use proms_mcp::datasources::LineParser;
use proms_mcp::filter::{MAX_FILTER_BYTES, parse};

/// `query` with its double-quoted literals removed; panics on an unterminated one.
fn outside_strings(query: &str) -> String {
    let mut out = String::new();
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        loop {
            match chars.next() {
                Some('\\') => {
                    chars.next().expect("escape inside a literal");
                }
                Some('"') => break,
                Some(_) => {}
                None => panic!("unterminated literal in {query}"),
            }
        }
    }
    out
}

/// Compiles `filter` to LogQL (two label sets, every parser) and TraceQL; what lies outside string
/// literals may only be names, numbers and operators.
fn compiles_to_grafana_languages(filter: &proms_mcp::filter::Filter) {
    let allowed = |c: char| c.is_ascii_alphanumeric() || " _.{}|=!~<>()&,:/+-".contains(c);
    for labels in [
        Labels::new(["service_name", "k8s_namespace_name", "level"]),
        Labels::new(["app"]),
    ] {
        for parser in [LineParser::None, LineParser::Json, LineParser::Logfmt] {
            if let Ok(q) = logql::compile(Some(filter), &labels, parser) {
                let rest = outside_strings(&q.text());
                assert!(rest.chars().all(allowed), "{rest:?} in {}", q.text());
                assert_eq!(rest.matches('{').count(), 1, "{}", q.text());
            }
        }
    }
    if let Ok(q) = traceql::compile(Some(filter)) {
        let rest = outside_strings(&q);
        assert!(rest.chars().all(allowed), "{rest:?} in {q}");
        assert_eq!(rest.matches('{').count(), 1, "{q}");
        assert!(rest.starts_with("{ ") && rest.ends_with(" }"), "{q}");
    }
}

/// The quoted literals the field map itself writes into SQL.
const CONSTANT_LITERALS: &[&str] = &[
    "'k8s.deployment.name'",
    "'k8s.statefulset.name'",
    "'k8s.daemonset.name'",
    "'k8s.job.name'",
    "'k8s.cronjob.name'",
    "'k8s.namespace.name'",
    "'k8s.cluster.name'",
    "'k8s.pod.name'",
    "'k8s.container.name'",
    "'k8s.node.name'",
    "'json'",
    "'plain'",
    "'span_kind_'",
    "'status_code_'",
    "'rpc.system'",
    "'HTTP'",
    "'http.request.method'",
    "'http.method'",
    "'http.response.status_code'",
    "'http.status_code'",
    "'rpc.grpc.status_code'",
    "''",
];

/// Compiles `filter` for both tables; the SQL's quoted literals must all be constants.
fn compiles_without_splicing(filter: &proms_mcp::filter::Filter) {
    for signal in [Signal::Logs, Signal::Traces] {
        let mut params = Params::default();
        let Ok(sql) = compile(filter, &Table::otel(signal), &mut params) else {
            continue;
        };
        let mut rest = sql.as_str();
        while let Some(start) = rest.find('\'') {
            let end = rest[start + 1..].find('\'').expect("closed literal") + start + 2;
            let literal = &rest[start..end];
            assert!(
                CONSTANT_LITERALS.contains(&literal),
                "{literal} spliced into {sql}"
            );
            rest = &rest[end..];
        }
    }
}

fuzz_target!(|text: &str| {
    match parse(text) {
        Ok(Some(filter)) => {
            compiles_without_splicing(&filter);
            compiles_to_grafana_languages(&filter);
            let canonical = filter.to_string();
            // The canonical form can be longer than the input (quotes, spaces, `!=` for `NOT =`).
            if canonical.len() > MAX_FILTER_BYTES {
                return;
            }
            let again = match parse(&canonical) {
                Ok(Some(again)) => again,
                other => panic!("{text:?}: canonical form {canonical:?} gave {other:?}"),
            };
            assert!(
                again.eq_ignoring_positions(&filter),
                "{text:?}: {canonical:?} parsed to {again:?}, not {filter:?}"
            );
            assert_eq!(again.to_string(), canonical);
        }
        Ok(None) => assert!(text.trim().is_empty(), "{text:?} taken for no filter"),
        Err(e) => {
            let chars = text.chars().count();
            assert!(
                e.position <= chars,
                "position {} past {chars} characters",
                e.position
            );
            let _ = e.to_string();
        }
    }
});
