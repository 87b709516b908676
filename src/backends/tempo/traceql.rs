//! The filter language compiled to one TraceQL span set: `{ cond && (cond || cond) }`, so every
//! condition holds on the same span, as on ClickHouse where a filter tests one span row.
//!
//! - KubeSense's Kubernetes fields are the resource attributes of the semantic conventions, as on
//!   ClickHouse (`namespace` → `resource.k8s.namespace.name`; `workload` →
//!   `resource.k8s.deployment.name`, the only one of the five workload keys TraceQL can test without
//!   changing what `!=` means); `service` → `resource.service.name`.
//! - Intrinsics: `operation_name` → `name`, `duration` (milliseconds) → `duration` (`1000ms`),
//!   `status` → `status` (`ok`, `error`, `unset`), `role` → `kind` (`server`, `client`, `internal`,
//!   `producer`, `consumer`).
//! - `return_code` is any of `span.http.response.status_code`, `span.http.status_code`,
//!   `span.rpc.grpc.status_code`; `protocol_type` is `span.rpc.system`, or HTTP when the span has an
//!   HTTP method.
//! - `@key` is `.key`: the span's attribute, else the resource's, as on ClickHouse.
//! - `IN` / `NOT IN` on strings and `LIKE` / `NOT LIKE` are anchored regexes (`=~ "(?s)^(?:a|b)$"`)
//!   with every value escaped; numbers are compared as numbers.
//!
//! One difference TraceQL imposes: a condition on an attribute a span lacks is false, also with
//! `!=` and `NOT IN` (on ClickHouse a missing attribute is the empty string, which `!=` matches).
//! Refused, with what to write instead: `trace_id` (use `get_trace`), `LIKE` or `>` on `status`,
//! `role` and `duration`, negated `return_code` and `protocol_type` conditions, log-only fields.

use crate::backends::clickhouse::sql::CompileError;
use crate::backends::quoting::{alternation, anchored, go_string, like_body};
use crate::filter::{CompareOp, Condition, Field, Filter, Predicate, Value};

/// Known trace fields that are one resource attribute.
const RESOURCE: &[(&str, &str)] = &[
    ("workload", "resource.k8s.deployment.name"),
    ("namespace", "resource.k8s.namespace.name"),
    ("cluster", "resource.k8s.cluster.name"),
    ("pod_name", "resource.k8s.pod.name"),
    ("container_name", "resource.k8s.container.name"),
    ("node_name", "resource.k8s.node.name"),
    ("service", "resource.service.name"),
];

/// The attributes `return_code` may be in.
const RETURN_CODES: &[&str] = &[
    "span.http.response.status_code",
    "span.http.status_code",
    "span.rpc.grpc.status_code",
];

/// The values of TraceQL's `status` intrinsic.
const STATUSES: &[&str] = &["ok", "error", "unset"];

/// The values of TraceQL's `kind` intrinsic.
const KINDS: &[&str] = &[
    "server",
    "client",
    "internal",
    "producer",
    "consumer",
    "unspecified",
];

/// The known field names, for error messages and `get_trace_or_log_fields`.
pub fn known_field_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = RESOURCE.iter().map(|(n, _)| *n).collect();
    names.extend([
        "operation_name",
        "duration",
        "status",
        "role",
        "protocol_type",
        "return_code",
    ]);
    names
}

/// The TraceQL attribute or intrinsic a known field or `@key` reads, for `select(…)` and `by(…)`;
/// `None` for `return_code` and `protocol_type`, which are several attributes.
pub fn attribute_of(field: &Field) -> Option<String> {
    match field {
        Field::Attribute(key) => Some(unscoped(key)),
        Field::Named(name) => match name.as_str() {
            "operation_name" => Some("name".into()),
            "duration" => Some("duration".into()),
            "status" => Some("status".into()),
            "role" => Some("kind".into()),
            other => RESOURCE
                .iter()
                .find(|(n, _)| *n == other)
                .map(|(_, a)| a.to_string()),
        },
    }
}

/// `.key`, quoted (`."a key"`) when the key has characters TraceQL does not take bare.
fn unscoped(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | ':'))
    {
        format!(".{key}")
    } else {
        format!(".{}", go_string(key))
    }
}

/// Compiles `filter` (or none: every span) into one TraceQL span set.
pub fn compile(filter: Option<&Filter>) -> Result<String, CompileError> {
    match filter {
        // `{}` (not `{ }`, which qryn cannot parse) is every span.
        None => Ok("{}".into()),
        Some(f) => {
            let body = expression(f, true)?;
            Ok(format!("{{ {body} }}"))
        }
    }
}

fn expression(f: &Filter, top: bool) -> Result<String, CompileError> {
    let join = |items: &[Filter], op: &str| -> Result<String, CompileError> {
        let parts = items
            .iter()
            .map(|i| expression(i, false))
            .collect::<Result<Vec<_>, _>>()?;
        let joined = parts.join(op);
        Ok(if top { joined } else { format!("({joined})") })
    };
    match f {
        Filter::And(items) => join(items, " && "),
        Filter::Or(items) => join(items, " || "),
        Filter::Condition(c) => condition(c),
    }
}

fn at(c: &Condition, message: impl Into<String>) -> CompileError {
    CompileError {
        position: c.position,
        message: message.into(),
    }
}

/// A TraceQL literal: numbers as written, strings quoted.
fn literal(v: &Value) -> String {
    match v {
        Value::Number { text, .. } => text.clone(),
        Value::String(s) => go_string(s),
    }
}

fn condition(c: &Condition) -> Result<String, CompileError> {
    let name = match &c.field {
        Field::Attribute(key) => return attribute(&unscoped(key), c, false),
        Field::Named(name) => name.as_str(),
    };
    if let Some((_, attr)) = RESOURCE.iter().find(|(n, _)| *n == name) {
        return attribute(attr, c, false);
    }
    match name {
        "operation_name" => attribute("name", c, false),
        "duration" => duration(c),
        "status" => intrinsic_enum("status", STATUSES, c),
        "role" => intrinsic_enum("kind", KINDS, c),
        "return_code" => return_code(c),
        "protocol_type" => protocol(c),
        "trace_id" => Err(at(
            c,
            "TraceQL search does not filter by trace id; call get_trace with trace_id to read one trace",
        )),
        _ => Err(at(
            c,
            format!(
                "unknown field '{name}'; known trace fields on Tempo: {}, or @key for any span or resource attribute (get_trace_or_log_fields lists them)",
                known_field_names().join(", ")
            ),
        )),
    }
}

/// `attr op value` for an attribute or a string intrinsic (`name`).
fn attribute(attr: &str, c: &Condition, ignore_case: bool) -> Result<String, CompileError> {
    Ok(match &c.predicate {
        Predicate::Compare { op, value } => {
            if ignore_case && matches!(op, CompareOp::Eq | CompareOp::Ne) {
                let op = if *op == CompareOp::Eq { "=~" } else { "!~" };
                let re = anchored(&alternation([value.text()]), true);
                format!("{attr} {op} {}", go_string(&re))
            } else {
                format!("{attr} {} {}", op.as_str(), literal(value))
            }
        }
        Predicate::In { negated, values } => {
            if values.iter().all(|v| matches!(v, Value::String(_))) {
                let op = if *negated { "!~" } else { "=~" };
                let re = anchored(&alternation(values.iter().map(Value::text)), ignore_case);
                format!("{attr} {op} {}", go_string(&re))
            } else {
                each_value(*negated, values, |op, v| {
                    Ok(format!("{attr} {op} {}", literal(v)))
                })?
            }
        }
        Predicate::Like { negated, pattern } => {
            let op = if *negated { "!~" } else { "=~" };
            let re = anchored(&like_body(pattern), ignore_case);
            format!("{attr} {op} {}", go_string(&re))
        }
    })
}

/// `duration op Nms`: the filter's milliseconds as a TraceQL duration.
fn duration(c: &Condition) -> Result<String, CompileError> {
    let ms = |v: &Value| -> Result<String, CompileError> {
        match v {
            Value::Number { text, value } if *value >= 0.0 => Ok(format!("{text}ms")),
            _ => Err(at(
                c,
                format!(
                    "duration is in milliseconds: compare it with a number such as 250, not '{}'",
                    v.text()
                ),
            )),
        }
    };
    match &c.predicate {
        Predicate::Compare { op, value } => Ok(format!("duration {} {}", op.as_str(), ms(value)?)),
        Predicate::In { negated, values } => each_value(*negated, values, |op, v| {
            Ok(format!("duration {op} {}", ms(v)?))
        }),
        Predicate::Like { .. } => Err(at(
            c,
            "duration is a number of milliseconds; compare it (duration > 250) instead of LIKE",
        )),
    }
}

/// `IN` as `(x = a || x = b)`, `NOT IN` as `(x != a && x != b)`: one comparison per value, each
/// written by `one` with the operator to use.
fn each_value(
    negated: bool,
    values: &[Value],
    one: impl Fn(&str, &Value) -> Result<String, CompileError>,
) -> Result<String, CompileError> {
    let (op, join) = if negated {
        ("!=", " && ")
    } else {
        ("=", " || ")
    };
    let parts = values
        .iter()
        .map(|v| one(op, v))
        .collect::<Result<Vec<_>, CompileError>>()?;
    Ok(format!("({})", parts.join(join)))
}

/// `status = error`, `kind = server`: an enum intrinsic, compared ignoring case as on ClickHouse.
fn intrinsic_enum(name: &str, allowed: &[&str], c: &Condition) -> Result<String, CompileError> {
    let field = c.field.name();
    let value = |v: &Value| -> Result<String, CompileError> {
        let lower = v.text().to_ascii_lowercase();
        if allowed.contains(&lower.as_str()) {
            Ok(lower)
        } else {
            Err(at(
                c,
                format!(
                    "{field} is one of {}, not '{}'",
                    allowed.join(", "),
                    v.text()
                ),
            ))
        }
    };
    match &c.predicate {
        Predicate::Compare {
            op: op @ (CompareOp::Eq | CompareOp::Ne),
            value: v,
        } => Ok(format!("{name} {} {}", op.as_str(), value(v)?)),
        Predicate::In { negated, values } => each_value(*negated, values, |op, v| {
            Ok(format!("{name} {op} {}", value(v)?))
        }),
        _ => Err(at(
            c,
            format!(
                "{field} is one of {}: compare it with = or IN (e.g. {field} = {}), not with LIKE or an order",
                allowed.join(", "),
                allowed[1]
            ),
        )),
    }
}

/// `return_code`: whichever of the HTTP and gRPC status attributes the span has.
fn return_code(c: &Condition) -> Result<String, CompileError> {
    let negated = match &c.predicate {
        Predicate::Compare { op, .. } => *op == CompareOp::Ne,
        Predicate::In { negated, .. } | Predicate::Like { negated, .. } => *negated,
    };
    if negated {
        return Err(at(
            c,
            "TraceQL cannot say \"none of the status-code attributes is X\" for spans lacking some of them; list the codes you want instead (return_code IN (200, 201)), or compare one attribute (@http.response.status_code != 500)",
        ));
    }
    let parts = RETURN_CODES
        .iter()
        .map(|attr| attribute(attr, c, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!("({})", parts.join(" || ")))
}

/// `protocol_type`: `span.rpc.system` ignoring case, or HTTP when the span has an HTTP method.
fn protocol(c: &Condition) -> Result<String, CompileError> {
    let values: Vec<&Value> = match &c.predicate {
        Predicate::Compare {
            op: CompareOp::Eq,
            value,
        } => vec![value],
        Predicate::In {
            negated: false,
            values,
        } => values.iter().collect(),
        _ => {
            return Err(at(
                c,
                "TraceQL cannot say which protocol a span does not use for spans lacking the attributes; write protocol_type = X or protocol_type IN (…) for the protocols you want",
            ));
        }
    };
    let mut parts = Vec::new();
    let mut rpc = Vec::new();
    for v in values {
        if v.text().eq_ignore_ascii_case("http") {
            parts.push("span.http.request.method != nil || span.http.method != nil".to_string());
        } else {
            rpc.push(v.text());
        }
    }
    if !rpc.is_empty() {
        let re = anchored(&alternation(rpc), true);
        parts.push(format!("span.rpc.system =~ {}", go_string(&re)));
    }
    Ok(format!("({})", parts.join(" || ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;

    fn traceql(filter: &str) -> String {
        let f = parse(filter).unwrap();
        match compile(f.as_ref()) {
            Ok(q) => q,
            Err(e) => panic!("{filter}: {e}"),
        }
    }

    #[test]
    fn the_operator_table_compiles_to_one_span_set() {
        let cases: &[(&str, &str)] = &[
            ("", "{}"),
            (
                "namespace = payments",
                r#"{ resource.k8s.namespace.name = "payments" }"#,
            ),
            ("service != cart", r#"{ resource.service.name != "cart" }"#),
            (
                r#"pod_name IN ("a.1", "b")"#,
                r#"{ resource.k8s.pod.name =~ "(?s)^(?:a\\.1|b)$" }"#,
            ),
            (
                "workload NOT IN (a, b)",
                r#"{ resource.k8s.deployment.name !~ "(?s)^(?:a|b)$" }"#,
            ),
            (
                r#"operation_name LIKE "GET /api/%""#,
                r#"{ name =~ "(?s)^(?:GET /api/.*)$" }"#,
            ),
            (
                r#"operation_name NOT LIKE "%Cart_""#,
                r#"{ name !~ "(?s)^(?:.*Cart.)$" }"#,
            ),
            ("duration > 1000", "{ duration > 1000ms }"),
            ("duration <= 2.5", "{ duration <= 2.5ms }"),
            (
                "duration IN (10, 20)",
                "{ (duration = 10ms || duration = 20ms) }",
            ),
            ("status = ERROR", "{ status = error }"),
            ("status != ok", "{ status != ok }"),
            (
                "status IN (error, unset)",
                "{ (status = error || status = unset) }",
            ),
            ("role = Server", "{ kind = server }"),
            (
                "role NOT IN (client, internal)",
                "{ (kind != client && kind != internal) }",
            ),
            (
                "return_code = 500",
                "{ (span.http.response.status_code = 500 || span.http.status_code = 500 || span.rpc.grpc.status_code = 500) }",
            ),
            (
                "return_code >= 500",
                "{ (span.http.response.status_code >= 500 || span.http.status_code >= 500 || span.rpc.grpc.status_code >= 500) }",
            ),
            (
                "protocol_type = grpc",
                r#"{ (span.rpc.system =~ "(?is)^(?:grpc)$") }"#,
            ),
            (
                "protocol_type IN (HTTP, GRPC)",
                r#"{ (span.http.request.method != nil || span.http.method != nil || span.rpc.system =~ "(?is)^(?:GRPC)$") }"#,
            ),
            ("@tenant = acme", r#"{ .tenant = "acme" }"#),
            (
                "@http.response.status_code >= 500",
                "{ .http.response.status_code >= 500 }",
            ),
            (r#"@"user id" = 7"#, r#"{ ."user id" = 7 }"#),
            ("@tenant IN (1, 2)", "{ (.tenant = 1 || .tenant = 2) }"),
            (
                "@tenant NOT IN (1, two)",
                r#"{ (.tenant != 1 && .tenant != "two") }"#,
            ),
            (
                "namespace = payments AND (status = error OR duration > 2000)",
                r#"{ resource.k8s.namespace.name = "payments" && (status = error || duration > 2000ms) }"#,
            ),
            (
                "service = a OR service = b AND role = client",
                r#"{ resource.service.name = "a" || (resource.service.name = "b" && kind = client) }"#,
            ),
        ];
        for (filter, want) in cases {
            assert_eq!(&traceql(filter), want, "{filter}");
        }
    }

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            traceql(r#"@tenant = "acme' OR '1'='1""#),
            r#"{ .tenant = "acme' OR '1'='1" }"#
        );
        assert_eq!(
            traceql(r#"service = "a\"}||{ true""#),
            r#"{ resource.service.name = "a\"}||{ true" }"#
        );
        assert_eq!(
            traceql(r#"@note IN ("x|y", "(.*)")"#),
            r#"{ .note =~ "(?s)^(?:x\\|y|\\(\\.\\*\\))$" }"#
        );
    }

    #[test]
    fn what_traceql_cannot_express_is_refused_with_the_position_and_an_alternative() {
        let cases: &[(&str, usize, &str)] = &[
            ("trace_id = abc", 0, "call get_trace"),
            ("status LIKE 'err%'", 0, "compare it with = or IN"),
            (
                "status = broken",
                0,
                "status is one of ok, error, unset, not 'broken'",
            ),
            ("role > server", 0, "not with LIKE or an order"),
            ("duration = slow", 0, "compare it with a number"),
            ("duration LIKE '1%'", 0, "instead of LIKE"),
            (
                "service = a AND return_code != 200",
                16,
                "list the codes you want",
            ),
            ("protocol_type != HTTP", 0, "protocol_type IN"),
            (
                "level = error",
                0,
                "unknown field 'level'; known trace fields on Tempo",
            ),
        ];
        for (filter, position, needle) in cases {
            let f = parse(filter).unwrap();
            let e = compile(f.as_ref()).expect_err(filter);
            assert_eq!(e.position, *position, "{filter}: {e}");
            assert!(e.message.contains(needle), "{filter}: {e}");
        }
    }
}
