//! The filter language compiled to a ClickHouse `WHERE` expression over the OTel exporter's tables.
//!
//! Nothing a caller writes is spliced into SQL text: every value, every attribute key and every LIKE
//! pattern becomes a query parameter (`{p0:String}`, sent as `param_p0=`), and every identifier comes
//! from the field map ([`super::schema`]). Comparisons on attribute values, which are strings, cast
//! with `toFloat64OrNull` when the other side is a number, so a non-numeric value never matches
//! rather than failing the query.

use std::fmt;

use super::schema::{FieldType, KnownField, Table, known_fields};
use crate::filter::{CompareOp, Condition, Field, Filter, LikePiece, Predicate, Value};

/// Query parameters collected while compiling: `(name, value)`, the type is in the placeholder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    list: Vec<(String, String)>,
}

impl Params {
    /// A placeholder `{pN:ty}` for `value`, remembered under the next free name.
    pub fn add(&mut self, ty: &str, value: impl Into<String>) -> String {
        let name = format!("p{}", self.list.len());
        let placeholder = format!("{{{name}:{ty}}}");
        self.list.push((name, value.into()));
        placeholder
    }

    /// The parameters as `(name, value)` pairs, in the order they were added.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.list
    }
}

/// Why a filter cannot be compiled for this table: the position of the condition and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// 0-based character offset of the condition in the filter text.
    pub position: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter at position {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for CompileError {}

/// What a field resolves to: its SQL expression, how it compares, and its name as written back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operand {
    /// The SQL expression.
    pub sql: String,
    /// How it compares.
    pub field_type: FieldType,
    /// The known field's name, or `@key`.
    pub name: String,
}

/// Resolves a field as `fields` and `groupBy` name it: a known field (`namespace`) or `@key`.
pub fn field(text: &str, table: &Table, params: &mut Params) -> Result<Operand, String> {
    let text = text.trim();
    let field = match text.strip_prefix('@') {
        Some(key) if !key.is_empty() => Field::Attribute(key.to_string()),
        _ => Field::Named(text.to_string()),
    };
    let c = Condition {
        field,
        predicate: Predicate::Compare {
            op: CompareOp::Eq,
            value: Value::String(String::new()),
        },
        position: 0,
    };
    operand(&c, table, &known_fields(table), params).map_err(|e| e.message)
}

/// Compiles `filter` over `table` into a boolean SQL expression, adding its values to `params`.
pub fn compile(
    filter: &Filter,
    table: &Table,
    params: &mut Params,
) -> Result<String, CompileError> {
    let fields = known_fields(table);
    compile_node(filter, table, &fields, params)
}

fn compile_node(
    filter: &Filter,
    table: &Table,
    fields: &[KnownField],
    params: &mut Params,
) -> Result<String, CompileError> {
    let join = |items: &[Filter], op: &str, params: &mut Params| -> Result<String, CompileError> {
        let parts = items
            .iter()
            .map(|f| compile_node(f, table, fields, params))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(op)))
    };
    match filter {
        Filter::And(items) => join(items, " AND ", params),
        Filter::Or(items) => join(items, " OR ", params),
        Filter::Condition(c) => condition(c, table, fields, params),
    }
}

/// The SQL of a known field or attribute; an unknown field lists the known ones.
fn operand(
    c: &Condition,
    table: &Table,
    fields: &[KnownField],
    params: &mut Params,
) -> Result<Operand, CompileError> {
    match &c.field {
        Field::Named(name) => {
            let lower = name.to_ascii_lowercase();
            let known = fields.iter().find(|f| f.name == lower).ok_or_else(|| {
                let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                CompileError {
                    position: c.position,
                    message: format!(
                        "unknown {} field '{name}'; known fields: {}. For a custom attribute write \
                         @{name}; get_trace_or_log_fields lists the attribute keys seen",
                        table.signal,
                        names.join(", ")
                    ),
                }
            })?;
            Ok(Operand {
                sql: known.sql.clone(),
                field_type: known.field_type,
                name: known.name.to_string(),
            })
        }
        Field::Attribute(key) => {
            let key_param = params.add("String", key.as_str());
            let maps = table.attribute_maps();
            // The most specific map that has the key, else the next; '' when none has it.
            let mut sql = format!("{}[{key_param}]", maps[maps.len() - 1]);
            for map in maps.iter().rev().skip(1) {
                sql = format!("if(mapContains({map}, {key_param}), {map}[{key_param}], {sql})");
            }
            Ok(Operand {
                sql,
                field_type: FieldType::Text,
                name: format!("@{key}"),
            })
        }
    }
}

fn condition(
    c: &Condition,
    table: &Table,
    fields: &[KnownField],
    params: &mut Params,
) -> Result<String, CompileError> {
    let field = operand(c, table, fields, params)?;
    let error = |message: String| CompileError {
        position: c.position,
        message,
    };
    match &c.predicate {
        Predicate::Compare { op, value } => compare(&field, *op, value, params).map_err(error),
        Predicate::In { negated, values } => {
            let mut items = Vec::with_capacity(values.len());
            let lhs = match field.field_type {
                FieldType::Number => {
                    for v in values {
                        items.push(params.add("Float64", number(&field, v).map_err(error)?));
                    }
                    field.sql.clone()
                }
                FieldType::Text => {
                    for v in values {
                        items.push(params.add("String", v.text()));
                    }
                    field.sql.clone()
                }
                FieldType::TextIgnoreCase => {
                    for v in values {
                        items.push(params.add("String", v.text().to_lowercase()));
                    }
                    format!("lower({})", field.sql)
                }
            };
            let not = if *negated { "NOT " } else { "" };
            Ok(format!("{lhs} {not}IN ({})", items.join(", ")))
        }
        Predicate::Like { negated, pattern } => {
            let mut text = String::new();
            for piece in pattern.pieces() {
                match piece {
                    LikePiece::AnyRun => text.push('%'),
                    LikePiece::AnyOne => text.push('_'),
                    LikePiece::Literal(l) => {
                        for ch in l.chars() {
                            if matches!(ch, '%' | '_' | '\\') {
                                text.push('\\');
                            }
                            text.push(ch);
                        }
                    }
                }
            }
            let p = params.add("String", text);
            let (lhs, op) = match field.field_type {
                FieldType::Text => (field.sql.clone(), "LIKE"),
                FieldType::TextIgnoreCase => (field.sql.clone(), "ILIKE"),
                FieldType::Number => (format!("toString({})", field.sql), "LIKE"),
            };
            let not = if *negated { "NOT " } else { "" };
            Ok(format!("{lhs} {not}{op} {p}"))
        }
    }
}

/// `value` as a number for a numeric field, or a message saying how to write it.
fn number(field: &Operand, value: &Value) -> Result<String, String> {
    match value {
        Value::Number { value, .. } => Ok(value.to_string()),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n.to_string()),
            _ => Err(format!(
                "field '{}' is a number{}; compare it with a number, e.g. {} > 1000",
                field.name,
                if field.name == "duration" {
                    " of milliseconds"
                } else {
                    ""
                },
                field.name
            )),
        },
    }
}

fn compare(
    field: &Operand,
    op: CompareOp,
    value: &Value,
    params: &mut Params,
) -> Result<String, String> {
    let sql_op = match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "!=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    };
    let ordering = !matches!(op, CompareOp::Eq | CompareOp::Ne);
    Ok(match (field.field_type, value) {
        (FieldType::Number, _) => {
            let p = params.add("Float64", number(field, value)?);
            format!("{} {sql_op} {p}", field.sql)
        }
        // A text field ordered against a number: numerically, where the text is a number.
        (FieldType::Text | FieldType::TextIgnoreCase, Value::Number { value, .. }) if ordering => {
            let p = params.add("Float64", value.to_string());
            format!("toFloat64OrNull({}) {sql_op} {p}", field.sql)
        }
        (FieldType::TextIgnoreCase, v) => {
            let p = params.add("String", v.text().to_lowercase());
            format!("lower({}) {sql_op} {p}", field.sql)
        }
        (FieldType::Text, v) => {
            let p = params.add("String", v.text());
            format!("{} {sql_op} {p}", field.sql)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::clickhouse::schema::Signal;

    fn sql(signal: Signal, filter: &str) -> (String, Vec<(String, String)>) {
        let f = crate::filter::parse(filter).unwrap().unwrap();
        let mut params = Params::default();
        let sql = compile(&f, &Table::otel(signal), &mut params).unwrap();
        (sql, params.pairs().to_vec())
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn kubesense_examples_compile_with_every_value_a_parameter() {
        let (s, ps) = sql(Signal::Logs, r#"namespace = "default" AND level = ERROR"#);
        assert_eq!(
            s,
            "(ResourceAttributes['k8s.namespace.name'] = {p0:String} AND lower(`SeverityText`) = {p1:String})"
        );
        assert_eq!(ps, p(&[("p0", "default"), ("p1", "error")]));

        let (s, ps) = sql(Signal::Traces, "protocol_type = HTTP OR status = error");
        assert!(
            s.starts_with("(lower(if(SpanAttributes['rpc.system']"),
            "{s}"
        );
        assert!(
            s.ends_with(
                "OR lower(replaceOne(lower(`StatusCode`), 'status_code_', '')) = {p1:String})"
            ),
            "{s}"
        );
        assert_eq!(ps, p(&[("p0", "http"), ("p1", "error")]));

        let (s, ps) = sql(Signal::Traces, r#"pod_name IN ("service-a", "service-b")"#);
        assert_eq!(
            s,
            "ResourceAttributes['k8s.pod.name'] IN ({p0:String}, {p1:String})"
        );
        assert_eq!(ps, p(&[("p0", "service-a"), ("p1", "service-b")]));

        let (s, ps) = sql(Signal::Traces, "duration > 1000");
        assert_eq!(s, "(toFloat64(`Duration`) * 1 / 1000000) > {p0:Float64}");
        assert_eq!(ps, p(&[("p0", "1000")]));

        let (s, ps) = sql(Signal::Logs, r#"message LIKE "%timeout%""#);
        assert_eq!(s, "`Body` LIKE {p0:String}");
        assert_eq!(ps, p(&[("p0", "%timeout%")]));

        let (s, ps) = sql(Signal::Logs, "@custom_field = value");
        assert_eq!(
            s,
            "if(mapContains(LogAttributes, {p0:String}), LogAttributes[{p0:String}], ResourceAttributes[{p0:String}]) = {p1:String}"
        );
        assert_eq!(ps, p(&[("p0", "custom_field"), ("p1", "value")]));
    }

    #[test]
    fn injection_attempts_stay_parameters() {
        let evil = r#"x' OR 1=1 -- ; `) OR 1=1 \\ é"#;
        let filter = format!(
            "@\"{}\" = \"{}\"",
            evil.replace('\\', "\\\\").replace('"', "\\\""),
            evil.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let (s, ps) = sql(Signal::Traces, &filter);
        assert!(!s.contains("OR 1=1") && !s.contains("--"), "{s}");
        assert_eq!((ps[0].1.as_str(), ps[1].1.as_str()), (evil, evil));
    }

    #[test]
    fn numbers_text_and_like_escapes() {
        // An attribute ordered against a number casts; equality compares the text as written.
        let (s, _) = sql(Signal::Traces, "@http.response.status_code >= 500");
        assert!(
            s.starts_with("toFloat64OrNull(if(mapContains(SpanAttributes"),
            "{s}"
        );
        let (s, ps) = sql(Signal::Traces, "return_code = 500");
        assert!(s.ends_with("= {p0:String}"), "{s}");
        assert_eq!(ps, p(&[("p0", "500")]));
        // LIKE literals are escaped for SQL LIKE; wildcards stay wildcards.
        let (_, ps) = sql(Signal::Logs, r#"message LIKE "100\% done_%""#);
        assert_eq!(ps, p(&[("p0", "100\\% done_%")]));
        let (s, _) = sql(Signal::Logs, r#"level NOT LIKE "warn%""#);
        assert_eq!(s, "`SeverityText` NOT ILIKE {p0:String}");
        let (s, ps) = sql(Signal::Logs, "level NOT IN (Error, WARN)");
        assert_eq!(s, "lower(`SeverityText`) NOT IN ({p0:String}, {p1:String})");
        assert_eq!(ps, p(&[("p0", "error"), ("p1", "warn")]));
    }

    #[test]
    fn unknown_fields_and_non_numbers_are_positioned_errors() {
        let f = crate::filter::parse("namespace = a AND colour = red")
            .unwrap()
            .unwrap();
        let e = compile(&f, &Table::otel(Signal::Logs), &mut Params::default()).unwrap_err();
        assert_eq!(e.position, 18);
        assert!(
            e.message.contains("unknown logs field 'colour'")
                && e.message.contains("get_trace_or_log_fields")
                && e.message.contains("@colour"),
            "{e}"
        );
        let f = crate::filter::parse("duration > slow").unwrap().unwrap();
        let e = compile(&f, &Table::otel(Signal::Traces), &mut Params::default()).unwrap_err();
        assert!(e.message.contains("milliseconds"), "{e}");
    }
}
