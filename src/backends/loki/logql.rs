//! The filter language compiled to LogQL: a stream selector, then pipeline stages.
//!
//! - A condition on a field that maps to an **indexed** label (one `/loki/api/v1/labels` lists) and
//!   is a top-level AND term goes into the stream selector: `{k8s_namespace_name="payments"}`.
//!   LogQL needs one positive matcher there; when the filter has none, the selector reads every
//!   stream that has `service_name` (Loki 3 gives each stream one) or else the first preferred label
//!   the server has, with `=~".+"`, and the query says so in its notes.
//! - `message` / `body` become line filters: `|= "x"` for `LIKE '%x%'`, `|~` with an anchored regex
//!   for `=`, `IN` and other LIKE patterns (negated: `!=`, `!~`).
//! - Everything else is a label filter stage (`| level=~"(?is)^(?:error)$"`, `| @key` as the label
//!   `key` with every other character `_`), after `| json` or `| logfmt` when the datasource says
//!   its lines are structured, so it reads stream labels, structured metadata and parsed fields
//!   alike. `OR` across label conditions is one stage with `or`; `OR` across message conditions is
//!   one `|~` alternation.
//! - `IN` / `NOT IN` and `LIKE` are anchored regexes with every value escaped; `level` and other
//!   case-insensitive fields add `(?i)`. Comparisons (`>`, `>=`, `<`, `<=`) are numeric label
//!   filters, and then `| __error__=""` drops records whose value is not a number.
//!
//! Refused, with what to write instead: `format` and `body_length` (Loki cannot compute them), an
//! `OR` mixing the message with a label, a negated message condition inside `OR`, `>`/`<` on the
//! message or with a string.

use std::collections::BTreeSet;

use crate::backends::clickhouse::sql::CompileError;
use crate::backends::quoting::{alternation, anchored, go_string, like_body, like_matches_empty};
use crate::datasources::LineParser;
use crate::filter::{CompareOp, Condition, Field, Filter, LikePiece, Predicate, Value};

/// A known log field: its KubeSense name, the labels it may be stored under (most specific first)
/// and whether case matters.
struct KnownLabel {
    name: &'static str,
    labels: &'static [&'static str],
    ignore_case: bool,
}

/// KubeSense's log fields as Loki labels: the OTel resource attributes with `.` as `_` (Loki's own
/// OTLP ingestion), then the names promtail's Kubernetes discovery uses.
const KNOWN: &[KnownLabel] = &[
    KnownLabel {
        name: "workload",
        labels: &[
            "k8s_deployment_name",
            "k8s_statefulset_name",
            "k8s_daemonset_name",
            "k8s_job_name",
            "k8s_cronjob_name",
            "workload",
        ],
        ignore_case: false,
    },
    KnownLabel {
        name: "namespace",
        labels: &["k8s_namespace_name", "namespace"],
        ignore_case: false,
    },
    KnownLabel {
        name: "cluster",
        labels: &["k8s_cluster_name", "cluster"],
        ignore_case: false,
    },
    KnownLabel {
        name: "pod_name",
        labels: &["k8s_pod_name", "pod"],
        ignore_case: false,
    },
    KnownLabel {
        name: "container_name",
        labels: &["k8s_container_name", "container"],
        ignore_case: false,
    },
    KnownLabel {
        name: "node_name",
        labels: &["k8s_node_name", "node_name", "node"],
        ignore_case: false,
    },
    KnownLabel {
        name: "service",
        labels: &["service_name", "service", "app", "job"],
        ignore_case: false,
    },
    KnownLabel {
        name: "level",
        labels: &["level", "detected_level", "severity_text"],
        ignore_case: true,
    },
];

/// Fields that are the log line itself.
const LINE_FIELDS: &[&str] = &["message", "body"];

/// Labels tried, in order, for the catch-all selector of a filter without a positive indexed term.
const CATCH_ALL: &[&str] = &[
    "service_name",
    "k8s_namespace_name",
    "namespace",
    "k8s_cluster_name",
    "cluster",
    "job",
];

/// What the server knows about its streams: the labels `/loki/api/v1/labels` listed for the window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    /// The indexed (stream) label names.
    pub indexed: BTreeSet<String>,
}

impl Labels {
    /// Labels from a list of names.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Labels {
            indexed: names.into_iter().map(str::to_string).collect(),
        }
    }
}

/// A compiled log query: `{selector} pipeline`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogQuery {
    /// The stream selector, braces included.
    pub selector: String,
    /// The pipeline stages after it, each starting with a space (` |= "x"`, ` | json`), or empty.
    pub pipeline: String,
    /// What was rewritten, for the answer (the catch-all selector).
    pub notes: Vec<String>,
    /// The datasource's parser stage (` | json`), when the pipeline does not have it yet.
    missing_parser: &'static str,
}

impl LogQuery {
    /// The whole log query.
    pub fn text(&self) -> String {
        format!("{}{}", self.selector, self.pipeline)
    }

    /// ` | json` or ` | logfmt` when the datasource's lines are structured and the pipeline has no
    /// parser yet (an `unwrap` of a field inside the line needs one), else nothing.
    pub fn parser_stage(&self) -> &'static str {
        self.missing_parser
    }
}

/// Where a field lives in a log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The log line (`message`, `body`).
    Line,
    /// A label: stream label, structured metadata or parsed field.
    Label {
        /// The label name.
        name: String,
        /// Whether it is a stream label the server indexes.
        indexed: bool,
        /// Whether case is ignored when comparing.
        ignore_case: bool,
    },
}

/// `key` as a Loki label name: every character other than ASCII letters, digits and `_` becomes
/// `_` (Loki's rule for OTLP attributes and for `| json` keys), and a leading digit gets a `_`.
pub fn label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The known field names, for error messages and `get_trace_or_log_fields`.
pub fn known_field_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = KNOWN.iter().map(|k| k.name).collect();
    names.extend(LINE_FIELDS);
    names
}

/// The labels a known field may be stored under, most specific first (`None` for the line fields
/// and unknown names).
pub fn candidate_labels(name: &str) -> Option<&'static [&'static str]> {
    KNOWN.iter().find(|k| k.name == name).map(|k| k.labels)
}

/// Where `field` lives, given the server's indexed labels.
pub fn resolve(field: &Field, labels: &Labels) -> Result<Target, String> {
    let name = match field {
        Field::Attribute(key) => {
            let name = label_name(key);
            return Ok(Target::Label {
                indexed: labels.indexed.contains(&name),
                name,
                ignore_case: false,
            });
        }
        Field::Named(name) => name.as_str(),
    };
    if LINE_FIELDS.contains(&name) {
        return Ok(Target::Line);
    }
    match name {
        "format" => {
            return Err(
                "Loki cannot tell whether a line is JSON without parsing it; to find JSON lines write message LIKE '{%'"
                    .into(),
            );
        }
        "body_length" => {
            return Err(
                "Loki cannot filter on the length of a line; filter on its text instead (message LIKE '%…%')"
                    .into(),
            );
        }
        _ => {}
    }
    let Some(known) = KNOWN.iter().find(|k| k.name == name) else {
        return Err(format!(
            "unknown field '{name}'; known log fields on Loki: {}, or @key for any label, structured metadata or parsed field (get_trace_or_log_fields lists them)",
            known_field_names().join(", ")
        ));
    };
    let (label, indexed) = match known.labels.iter().find(|l| labels.indexed.contains(**l)) {
        Some(l) => (*l, true),
        None => (known.labels[0], false),
    };
    Ok(Target::Label {
        name: label.to_string(),
        indexed,
        ignore_case: known.ignore_case,
    })
}

/// Compiles `filter` (or none) into a log query for a server with `labels`, whose lines `parser`
/// describes.
pub fn compile(
    filter: Option<&Filter>,
    labels: &Labels,
    parser: LineParser,
) -> Result<LogQuery, CompileError> {
    let terms: Vec<&Filter> = match filter {
        None => Vec::new(),
        Some(Filter::And(children)) => children.iter().collect(),
        Some(other) => vec![other],
    };
    let mut selector = Vec::new();
    let mut positive = false;
    let mut lines = Vec::new();
    let mut stages = Vec::new();
    let mut numeric = false;
    for term in terms {
        match term {
            Filter::Condition(c) => match resolve(&c.field, labels).map_err(|m| at(c, m))? {
                Target::Line => lines.push(line_filter(c)?),
                Target::Label {
                    name,
                    indexed,
                    ignore_case,
                } => {
                    if indexed && selector_compatible(&c.predicate) {
                        positive |= is_positive(&c.predicate);
                        selector.push(label_matcher(&name, ignore_case, c)?);
                    } else {
                        numeric |= is_numeric(&c.predicate);
                        stages.push(label_matcher(&name, ignore_case, c)?);
                    }
                }
            },
            Filter::Or(children) => {
                let conditions: Vec<&Condition> = term.conditions();
                let mut on_line = 0;
                for c in &conditions {
                    if resolve(&c.field, labels).map_err(|m| at(c, m))? == Target::Line {
                        on_line += 1;
                    }
                }
                if on_line == conditions.len() {
                    lines.push(line_alternation(children)?);
                } else if on_line == 0 {
                    numeric |= conditions.iter().any(|c| is_numeric(&c.predicate));
                    stages.push(label_expression(term, labels)?);
                } else {
                    let c = conditions[0];
                    return Err(at(
                        c,
                        "LogQL cannot combine a condition on the message (a line filter) and one on a label with OR; run one search per side of the OR, or put the message condition outside the OR"
                            .into(),
                    ));
                }
            }
            Filter::And(_) => {
                // Parsed filters are flat: an And never holds an And.
                stages.push(label_expression(term, labels)?);
            }
        }
    }
    let mut notes = Vec::new();
    if !positive {
        let Some(label) = CATCH_ALL
            .iter()
            .find(|l| labels.indexed.contains(**l))
            .map(|l| l.to_string())
            .or_else(|| labels.indexed.iter().next().cloned())
        else {
            return Err(CompileError {
                position: 0,
                message: "the Loki datasource lists no labels in this window, so no stream selector can be built: it holds no logs in the window; widen from_time/to_time".into(),
            });
        };
        notes.push(format!(
            "LogQL needs a positive condition on an indexed label ({}); none was given, so the query reads every stream that has the label '{label}'",
            labels.indexed.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
        selector.insert(0, format!("{label}=~\".+\""));
    }
    let parser_stage = match parser {
        LineParser::None => "",
        LineParser::Json => " | json",
        LineParser::Logfmt => " | logfmt",
    };
    let mut pipeline = String::new();
    for l in lines {
        pipeline.push(' ');
        pipeline.push_str(&l);
    }
    let parsed = !stages.is_empty();
    if parsed {
        pipeline.push_str(parser_stage);
        for s in stages {
            pipeline.push_str(" | ");
            pipeline.push_str(&s);
        }
    }
    if numeric {
        pipeline.push_str(" | __error__=\"\"");
    }
    Ok(LogQuery {
        selector: format!("{{{}}}", selector.join(", ")),
        pipeline,
        notes,
        missing_parser: if parsed { "" } else { parser_stage },
    })
}

/// A compile error at `c`.
fn at(c: &Condition, message: String) -> CompileError {
    CompileError {
        position: c.position,
        message,
    }
}

/// Whether a stream selector can hold this predicate (only `=`, `!=`, `=~`, `!~` on strings).
fn selector_compatible(p: &Predicate) -> bool {
    match p {
        Predicate::Compare { op, .. } => matches!(op, CompareOp::Eq | CompareOp::Ne),
        Predicate::In { .. } | Predicate::Like { .. } => true,
    }
}

/// Whether a selector matcher of this predicate matches no empty value (what LogQL requires of at
/// least one matcher).
fn is_positive(p: &Predicate) -> bool {
    match p {
        Predicate::Compare {
            op: CompareOp::Eq,
            value,
        } => !value.text().is_empty(),
        Predicate::In {
            negated: false,
            values,
        } => values.iter().all(|v| !v.text().is_empty()),
        Predicate::Like {
            negated: false,
            pattern,
        } => !like_matches_empty(pattern),
        _ => false,
    }
}

/// Whether the predicate is a numeric comparison (after which non-numbers carry `__error__`).
fn is_numeric(p: &Predicate) -> bool {
    matches!(
        p,
        Predicate::Compare {
            op: CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le,
            ..
        }
    )
}

/// `name op value` for a selector matcher or a label filter.
fn label_matcher(name: &str, ignore_case: bool, c: &Condition) -> Result<String, CompileError> {
    Ok(match &c.predicate {
        Predicate::Compare { op, value } => match op {
            CompareOp::Eq | CompareOp::Ne => {
                let negated = *op == CompareOp::Ne;
                if ignore_case {
                    let op = if negated { "!~" } else { "=~" };
                    let re = anchored(&alternation([value.text()]), true);
                    format!("{name}{op}{}", go_string(&re))
                } else {
                    let op = if negated { "!=" } else { "=" };
                    format!("{name}{op}{}", go_string(value.text()))
                }
            }
            op => match value {
                Value::Number { text, .. } => format!("{name} {} {text}", op.as_str()),
                Value::String(s) => {
                    return Err(at(
                        c,
                        format!(
                            "LogQL compares labels with {} only as numbers, and '{s}' is not one; compare with a number, or use =, IN or LIKE",
                            op.as_str()
                        ),
                    ));
                }
            },
        },
        Predicate::In { negated, values } => {
            let op = if *negated { "!~" } else { "=~" };
            let re = anchored(&alternation(values.iter().map(Value::text)), ignore_case);
            format!("{name}{op}{}", go_string(&re))
        }
        Predicate::Like { negated, pattern } => {
            let op = if *negated { "!~" } else { "=~" };
            let re = anchored(&like_body(pattern), ignore_case);
            format!("{name}{op}{}", go_string(&re))
        }
    })
}

/// A label filter expression for a subtree (`(a="x" or b="y")`): `and`/`or` with parentheses.
fn label_expression(f: &Filter, labels: &Labels) -> Result<String, CompileError> {
    let join = |items: &[Filter], word: &str| -> Result<String, CompileError> {
        let parts = items
            .iter()
            .map(|i| label_expression(i, labels))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(word)))
    };
    match f {
        Filter::And(items) => join(items, " and "),
        Filter::Or(items) => join(items, " or "),
        Filter::Condition(c) => match resolve(&c.field, labels).map_err(|m| at(c, m))? {
            Target::Label {
                name, ignore_case, ..
            } => label_matcher(&name, ignore_case, c),
            Target::Line => Err(at(
                c,
                "LogQL cannot combine a condition on the message (a line filter) and one on a label with OR; run one search per side of the OR, or put the message condition outside the OR"
                    .into(),
            )),
        },
    }
}

/// A line filter for one condition on the message.
fn line_filter(c: &Condition) -> Result<String, CompileError> {
    let (negated, body) = line_regex(c)?;
    // `LIKE '%x%'` is a plain substring test, which Loki runs much faster than a regex.
    if let Predicate::Like { pattern, .. } = &c.predicate
        && let [
            LikePiece::AnyRun,
            LikePiece::Literal(text),
            LikePiece::AnyRun,
        ] = pattern.pieces().as_slice()
    {
        let op = if negated { "!=" } else { "|=" };
        return Ok(format!("{op} {}", go_string(text)));
    }
    let op = if negated { "!~" } else { "|~" };
    Ok(format!("{op} {}", go_string(&anchored(&body, false))))
}

/// `(negated, regex body)` of a condition on the message.
fn line_regex(c: &Condition) -> Result<(bool, String), CompileError> {
    Ok(match &c.predicate {
        Predicate::Compare { op, value } => match op {
            CompareOp::Eq => (false, alternation([value.text()])),
            CompareOp::Ne => (true, alternation([value.text()])),
            op => {
                return Err(at(
                    c,
                    format!(
                        "the message can only be matched, not compared with {}; use =, IN or LIKE '%…%'",
                        op.as_str()
                    ),
                ));
            }
        },
        Predicate::In { negated, values } => {
            (*negated, alternation(values.iter().map(Value::text)))
        }
        Predicate::Like { negated, pattern } => (*negated, like_body(pattern)),
    })
}

/// One `|~` for an OR of positive conditions on the message.
fn line_alternation(children: &[Filter]) -> Result<String, CompileError> {
    let mut bodies = Vec::new();
    for child in children {
        for c in child.conditions() {
            if matches!(child, Filter::And(_)) {
                return Err(at(
                    c,
                    "LogQL cannot express (A AND B) OR C over the message in one line filter; split it into separate searches".into(),
                ));
            }
            let (negated, body) = line_regex(c)?;
            if negated {
                return Err(at(
                    c,
                    "LogQL cannot OR a negative condition on the message with another one (a line filter has no OR of negations); split it into separate searches".into(),
                ));
            }
            bodies.push(body);
        }
    }
    Ok(format!(
        "|~ {}",
        go_string(&anchored(&bodies.join("|"), false))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;

    /// The labels qryn holds for the test dataset (tests/qryn/push.py).
    fn seeded() -> Labels {
        Labels::new([
            "customer_tier",
            "k8s_cluster_name",
            "k8s_container_name",
            "k8s_deployment_name",
            "k8s_namespace_name",
            "k8s_node_name",
            "k8s_pod_name",
            "level",
            "log_format",
            "log_iostream",
            "note",
            "service_name",
            "span_id",
            "trace_id",
        ])
    }

    /// Loki 3 with OTLP ingestion: only service_name and a few resource attributes indexed.
    fn otlp() -> Labels {
        Labels::new(["service_name", "k8s_namespace_name", "k8s_cluster_name"])
    }

    fn logql(filter: &str, labels: &Labels, parser: LineParser) -> String {
        let f = parse(filter).unwrap();
        match compile(f.as_ref(), labels, parser) {
            Ok(q) => q.text(),
            Err(e) => panic!("{filter}: {e}"),
        }
    }

    fn refused(filter: &str, labels: &Labels) -> CompileError {
        let f = parse(filter).unwrap();
        match compile(f.as_ref(), labels, LineParser::None) {
            Ok(q) => panic!("{filter}: compiled to {}", q.text()),
            Err(e) => e,
        }
    }

    /// Every operator on an indexed label, a non-indexed one, the message and a case-insensitive
    /// field: the whole operator table, as text.
    #[test]
    fn the_operator_table_compiles_to_selector_matchers_line_filters_and_label_filters() {
        let l = otlp();
        let n = LineParser::None;
        let cases: &[(&str, &str)] = &[
            // indexed label → selector
            (
                r#"namespace = "payments""#,
                r#"{k8s_namespace_name="payments"}"#,
            ),
            (
                r#"service = cart AND namespace != "default""#,
                r#"{service_name="cart", k8s_namespace_name!="default"}"#,
            ),
            (
                r#"service IN ("cart", "check.out")"#,
                r#"{service_name=~"(?s)^(?:cart|check\\.out)$"}"#,
            ),
            (
                r#"service = cart AND namespace NOT IN ("a", "b")"#,
                r#"{service_name="cart", k8s_namespace_name!~"(?s)^(?:a|b)$"}"#,
            ),
            (
                r#"service LIKE "check%""#,
                r#"{service_name=~"(?s)^(?:check.*)$"}"#,
            ),
            (
                r#"service = cart AND namespace NOT LIKE "%pay_""#,
                r#"{service_name="cart", k8s_namespace_name!~"(?s)^(?:.*pay.)$"}"#,
            ),
            // not indexed → label filter stage, after a catch-all selector
            (
                r#"pod_name = "cart-1""#,
                r#"{service_name=~".+"} | k8s_pod_name="cart-1""#,
            ),
            (
                "level = error",
                r#"{service_name=~".+"} | level=~"(?is)^(?:error)$""#,
            ),
            (
                "service = cart AND level != error",
                r#"{service_name="cart"} | level!~"(?is)^(?:error)$""#,
            ),
            (
                "service = cart AND level IN (warn, error)",
                r#"{service_name="cart"} | level=~"(?is)^(?:warn|error)$""#,
            ),
            (
                "service = cart AND @http.status_code >= 500",
                r#"{service_name="cart"} | http_status_code >= 500 | __error__="""#,
            ),
            (
                "service = cart AND @latency < 2.5",
                r#"{service_name="cart"} | latency < 2.5 | __error__="""#,
            ),
            (
                r#"service = cart AND @"user id" = "u-1""#,
                r#"{service_name="cart"} | user_id="u-1""#,
            ),
            // the message → line filters
            (
                r#"service = cart AND message LIKE "%timeout%""#,
                r#"{service_name="cart"} |= "timeout""#,
            ),
            (
                r#"service = cart AND message NOT LIKE "%timeout%""#,
                r#"{service_name="cart"} != "timeout""#,
            ),
            (
                r#"service = cart AND body LIKE "GET /api/%ms""#,
                r#"{service_name="cart"} |~ "(?s)^(?:GET /api/.*ms)$""#,
            ),
            (
                r#"service = cart AND message = "a.b""#,
                r#"{service_name="cart"} |~ "(?s)^(?:a\\.b)$""#,
            ),
            (
                r#"service = cart AND message != "a""#,
                r#"{service_name="cart"} !~ "(?s)^(?:a)$""#,
            ),
            (
                r#"service = cart AND message IN ("a", "b")"#,
                r#"{service_name="cart"} |~ "(?s)^(?:a|b)$""#,
            ),
            (
                r#"service = cart AND message NOT IN ("a", "b")"#,
                r#"{service_name="cart"} !~ "(?s)^(?:a|b)$""#,
            ),
            // OR: within labels one stage; within the message one alternation
            (
                "service = cart OR level = error",
                r#"{service_name=~".+"} | (service_name="cart" or level=~"(?is)^(?:error)$")"#,
            ),
            (
                "namespace = payments AND (pod_name = a OR (level = warn AND @x = 1))",
                r#"{k8s_namespace_name="payments"} | (k8s_pod_name="a" or (level=~"(?is)^(?:warn)$" and x="1"))"#,
            ),
            (
                r#"service = cart AND (message LIKE "%timeout%" OR message LIKE "%refused%")"#,
                r#"{service_name="cart"} |~ "(?s)^(?:.*timeout.*|.*refused.*)$""#,
            ),
            // an empty filter reads every stream
            ("", r#"{service_name=~".+"}"#),
        ];
        for (filter, want) in cases {
            assert_eq!(&logql(filter, &l, n), want, "{filter}");
        }
    }

    #[test]
    fn the_same_field_goes_to_the_selector_only_where_the_server_indexes_it() {
        let f = r#"level = ERROR AND @customer_tier = gold"#;
        assert_eq!(
            logql(f, &seeded(), LineParser::None),
            r#"{level=~"(?is)^(?:ERROR)$", customer_tier="gold"}"#
        );
        assert_eq!(
            logql(f, &otlp(), LineParser::Json),
            r#"{service_name=~".+"} | json | level=~"(?is)^(?:ERROR)$" | customer_tier="gold""#
        );
        assert_eq!(
            logql("service = cart AND @a = 1", &otlp(), LineParser::Logfmt),
            r#"{service_name="cart"} | logfmt | a="1""#
        );
        // Inside an OR even an indexed label is a label filter: a selector has no OR.
        assert_eq!(
            logql(
                "level = error OR @customer_tier = gold",
                &seeded(),
                LineParser::None
            ),
            r#"{service_name=~".+"} | (level=~"(?is)^(?:error)$" or customer_tier="gold")"#
        );
        // A negative matcher alone is not enough for a selector: the catch-all is added.
        assert_eq!(
            logql("namespace != default", &otlp(), LineParser::None),
            r#"{service_name=~".+", k8s_namespace_name!="default"}"#
        );
    }

    #[test]
    fn values_are_escaped_and_regex_metacharacters_quoted() {
        let l = otlp();
        assert_eq!(
            logql(
                r#"service = "a\"b\\c" AND @note = "tab\there""#,
                &l,
                LineParser::None
            ),
            r#"{service_name="a\"b\\c"} | note="tab\there""#
        );
        assert_eq!(
            logql(
                r#"service IN ("x') OR 1=1 --", "a|b", "(.*)")"#,
                &l,
                LineParser::None
            ),
            r#"{service_name=~"(?s)^(?:x'\\) OR 1=1 --|a\\|b|\\(\\.\\*\\))$"}"#
        );
        assert_eq!(
            logql(
                r#"service = cart AND message LIKE "%100\%%""#,
                &l,
                LineParser::None
            ),
            r#"{service_name="cart"} |= "100%""#
        );
        assert_eq!(
            logql(r#"service = "Zürich ✓ 日本語 🚀""#, &l, LineParser::None),
            r#"{service_name="Zürich ✓ 日本語 🚀"}"#
        );
    }

    #[test]
    fn what_logql_cannot_express_is_refused_with_the_position_and_an_alternative() {
        let l = otlp();
        let cases: &[(&str, usize, &str)] = &[
            ("format = json", 0, "message LIKE '{%'"),
            (
                "service = a AND body_length > 10",
                16,
                "cannot filter on the length",
            ),
            (
                r#"service = a OR message LIKE "%x%""#,
                0,
                "run one search per side of the OR",
            ),
            (
                r#"message LIKE "%x%" OR message NOT LIKE "%y%""#,
                22,
                "negative condition on the message",
            ),
            ("message > 3", 0, "not compared with >"),
            ("level > warn", 0, "only as numbers"),
            (
                "nope = 1",
                0,
                "unknown field 'nope'; known log fields on Loki: workload",
            ),
        ];
        for (filter, position, needle) in cases {
            let e = refused(filter, &l);
            assert_eq!(e.position, *position, "{filter}: {e}");
            assert!(e.message.contains(needle), "{filter}: {e}");
        }
        let e = refused("", &Labels::default());
        assert!(e.message.contains("lists no labels"), "{e}");
    }

    #[test]
    fn label_names_follow_lokis_rule() {
        assert_eq!(label_name("k8s.pod.name"), "k8s_pod_name");
        assert_eq!(label_name("user id/ü"), "user_id__");
        assert_eq!(label_name("5xx"), "_5xx");
    }
}
