//! The tree [`parse`](fn@super::parse) builds, helpers for the compilers that walk it, and its
//! canonical text form (`Display`).
//!
//! Not here: reading text (`lex`, `parse`), and any backend language.

use std::fmt;

/// A parsed filter: conditions combined with AND and OR.
///
/// Trees from [`parse`](fn@super::parse) are normalised: an `And` has at least two children and
/// none of them is an `And` (likewise for `Or`): `a AND (b AND c)` is `And([a, b, c])`. There is no
/// `Not`: a prefix `NOT` is pushed down to the conditions when parsing (see [`Filter::negated`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every child matches.
    And(Vec<Filter>),
    /// At least one child matches.
    Or(Vec<Filter>),
    /// One condition on one field.
    Condition(Condition),
}

/// One condition on one field, e.g. `level = ERROR` or `pod_name NOT IN ("a", "b")`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field the condition tests.
    pub field: Field,
    /// What the field is tested against.
    pub predicate: Predicate,
    /// Where the condition starts in the parsed text: the 0-based character offset of its field
    /// name (after a prefix `NOT`). Lets a compiler say "the condition at position N cannot be
    /// expressed in ...".
    pub position: usize,
}

/// What a condition refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// A field known to the tool, written as an identifier: `namespace`, `k8s.namespace.name`.
    /// Which fields exist, and what they map to, is the compilers' business.
    Named(String),
    /// A custom attribute, written `@http.status_code` or `@"any key"`; holds the key without `@`.
    Attribute(String),
}

/// The test a [`Condition`] applies to its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `field OP value`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// The right-hand side.
        value: Value,
    },
    /// `field IN (v1, v2, ...)`, or `NOT IN` when `negated`. Never empty.
    In {
        /// True for `NOT IN`.
        negated: bool,
        /// The listed values, in the order given (duplicates kept).
        values: Vec<Value>,
    },
    /// `field LIKE pattern`, or `NOT LIKE` when `negated`.
    Like {
        /// True for `NOT LIKE`.
        negated: bool,
        /// The pattern as given (after string unescaping).
        pattern: LikePattern,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=` (also written `<>`)
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// A value on the right of an operator or in an IN list.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A quoted string (unescaped) or a bare word such as `ERROR`, `service-a` or `10.0.0.1`.
    String(String),
    /// A bare number such as `1000`, `-2.5` or `1e3`.
    Number {
        /// The number as written, e.g. `1e3` (useful where the backend compares text).
        text: String,
        /// Its value; always finite.
        value: f64,
    },
}

/// The pattern of a LIKE condition, as given: `%` matches any run of characters (also none), `_`
/// exactly one character, and a backslash makes the next `%`, `_` or `\` literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LikePattern(pub String);

/// One piece of a [`LikePattern`], free of any escaping, so that each compiler can escape
/// literals for its own language (regex, SQL LIKE, LogQL line filter).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LikePiece {
    /// Characters matched as they are (never empty).
    Literal(String),
    /// `%`: any run of characters, also none. Never two in a row.
    AnyRun,
    /// `_`: exactly one character.
    AnyOne,
}

impl Filter {
    /// An `And` of `items`, flattened: nested `And`s are spliced in, one item is returned as it
    /// is. `items` must not be empty.
    pub(super) fn all(items: Vec<Filter>) -> Filter {
        Self::join(items, true)
    }

    /// An `Or` of `items`, flattened like [`Filter::all`].
    pub(super) fn any(items: Vec<Filter>) -> Filter {
        Self::join(items, false)
    }

    fn join(items: Vec<Filter>, and: bool) -> Filter {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Filter::And(children) if and => out.extend(children),
                Filter::Or(children) if !and => out.extend(children),
                other => out.push(other),
            }
        }
        if out.len() == 1 {
            out.pop().unwrap_or(Filter::And(Vec::new()))
        } else if and {
            Filter::And(out)
        } else {
            Filter::Or(out)
        }
    }

    /// The filter matching exactly what `NOT (self)` matches, with the negation pushed down to the
    /// conditions (De Morgan's laws, then `=`↔`!=`, `>`↔`<=`, `<`↔`>=`, `IN`↔`NOT IN`,
    /// `LIKE`↔`NOT LIKE`).
    ///
    /// This is exact under SQL's three-valued logic, which is what the filter language means by
    /// NOT: a record whose field is missing (NULL) matches neither `x > 1` nor `NOT x > 1`.
    pub fn negated(self) -> Filter {
        match self {
            Filter::And(children) => Filter::any(children.into_iter().map(Self::negated).collect()),
            Filter::Or(children) => Filter::all(children.into_iter().map(Self::negated).collect()),
            Filter::Condition(c) => Filter::Condition(Condition {
                predicate: c.predicate.negated(),
                ..c
            }),
        }
    }

    /// Every condition in the filter, left to right.
    pub fn conditions(&self) -> Vec<&Condition> {
        let mut out = Vec::new();
        self.collect_conditions(&mut out);
        out
    }

    fn collect_conditions<'a>(&'a self, out: &mut Vec<&'a Condition>) {
        match self {
            Filter::And(children) | Filter::Or(children) => {
                for child in children {
                    child.collect_conditions(out);
                }
            }
            Filter::Condition(c) => out.push(c),
        }
    }

    /// Whether two filters are the same apart from the positions of their conditions, e.g. a
    /// filter and the parse of its canonical form.
    pub fn eq_ignoring_positions(&self, other: &Filter) -> bool {
        match (self, other) {
            (Filter::And(a), Filter::And(b)) | (Filter::Or(a), Filter::Or(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignoring_positions(y))
            }
            (Filter::Condition(a), Filter::Condition(b)) => {
                a.field == b.field && a.predicate == b.predicate
            }
            _ => false,
        }
    }
}

impl Predicate {
    /// The predicate matching what this one does not (see [`Filter::negated`]).
    pub fn negated(self) -> Predicate {
        match self {
            Predicate::Compare { op, value } => Predicate::Compare {
                op: op.negated(),
                value,
            },
            Predicate::In { negated, values } => Predicate::In {
                negated: !negated,
                values,
            },
            Predicate::Like { negated, pattern } => Predicate::Like {
                negated: !negated,
                pattern,
            },
        }
    }
}

impl CompareOp {
    /// The operator as written in canonical form: `=`, `!=`, `>`, `>=`, `<`, `<=`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }

    /// The complementary operator: `=`↔`!=`, `>`↔`<=`, `<`↔`>=`.
    pub fn negated(self) -> CompareOp {
        match self {
            CompareOp::Eq => CompareOp::Ne,
            CompareOp::Ne => CompareOp::Eq,
            CompareOp::Gt => CompareOp::Le,
            CompareOp::Le => CompareOp::Gt,
            CompareOp::Lt => CompareOp::Ge,
            CompareOp::Ge => CompareOp::Lt,
        }
    }
}

impl Field {
    /// The field name or attribute key (without `@`).
    pub fn name(&self) -> &str {
        match self {
            Field::Named(name) | Field::Attribute(name) => name,
        }
    }
}

impl Value {
    /// The value as text: the string, or the number as written.
    pub fn text(&self) -> &str {
        match self {
            Value::String(s) => s,
            Value::Number { text, .. } => text,
        }
    }
}

impl LikePattern {
    /// The pattern split into literals and wildcards.
    ///
    /// `\%`, `\_` and `\\` are a literal `%`, `_` and `\`; a backslash before any other character,
    /// or at the end, is a literal backslash. Adjacent `%` are merged into one
    /// [`LikePiece::AnyRun`] (they match the same). An empty pattern gives no pieces (it matches
    /// only the empty string).
    pub fn pieces(&self) -> Vec<LikePiece> {
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut chars = self.0.chars().peekable();
        while let Some(c) = chars.next() {
            let piece = match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('%' | '_' | '\\')) => {
                        chars.next();
                        lit.push(n);
                        continue;
                    }
                    _ => {
                        lit.push('\\');
                        continue;
                    }
                },
                '%' => LikePiece::AnyRun,
                '_' => LikePiece::AnyOne,
                c => {
                    lit.push(c);
                    continue;
                }
            };
            if !lit.is_empty() {
                out.push(LikePiece::Literal(std::mem::take(&mut lit)));
            }
            if !(piece == LikePiece::AnyRun && out.last() == Some(&LikePiece::AnyRun)) {
                out.push(piece);
            }
        }
        if !lit.is_empty() {
            out.push(LikePiece::Literal(lit));
        }
        out
    }
}

/// Whether `c` may appear in a bare attribute key after `@`.
pub(super) fn is_attribute_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// `s` as a double-quoted string literal of the filter language.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The canonical form: keywords in capitals, single spaces, strings double-quoted, parentheses
/// only around an `Or` inside an `And`. For trees from [`parse`](fn@super::parse) it parses back to
/// the same tree (positions aside); an `And`/`Or` without children prints as nothing.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (children, sep) = match self {
            Filter::Condition(c) => return c.fmt(f),
            Filter::And(children) => (children, " AND "),
            Filter::Or(children) => (children, " OR "),
        };
        for (i, child) in children.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            if matches!((self, child), (Filter::And(_), Filter::Or(_))) {
                write!(f, "({child})")?;
            } else {
                child.fmt(f)?;
            }
        }
        Ok(())
    }
}

/// The condition in canonical form, e.g. `pod_name NOT IN ("a", "b")`.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.predicate)
    }
}

/// `name`, or `@key` (`@"key"` when the key has other characters than letters, digits, `_`, `.`,
/// `-` and `/`).
impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Named(name) => f.write_str(name),
            Field::Attribute(key) if !key.is_empty() && key.chars().all(is_attribute_char) => {
                write!(f, "@{key}")
            }
            Field::Attribute(key) => write!(f, "@{}", quote(key)),
        }
    }
}

/// The predicate without its field, e.g. `>= 10`, `NOT LIKE "%x%"`.
impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |negated: bool| if negated { "NOT " } else { "" };
        match self {
            Predicate::Compare { op, value } => write!(f, "{op} {value}"),
            Predicate::In { negated, values } => {
                write!(f, "{}IN (", not(*negated))?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    v.fmt(f)?;
                }
                f.write_str(")")
            }
            Predicate::Like { negated, pattern } => {
                write!(f, "{}LIKE {}", not(*negated), quote(&pattern.0))
            }
        }
    }
}

/// `=`, `!=`, `>`, `>=`, `<` or `<=`.
impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string double-quoted (escaping `\`, `"`, newline, carriage return, tab), a number as written.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => f.write_str(&quote(s)),
            Value::Number { text, .. } => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(p: &str) -> Vec<LikePiece> {
        LikePattern(p.to_string()).pieces()
    }

    fn lit(s: &str) -> LikePiece {
        LikePiece::Literal(s.to_string())
    }

    #[test]
    fn like_pieces_split_wildcards_and_literals() {
        use LikePiece::{AnyOne, AnyRun};
        assert_eq!(pieces("%timeout%"), vec![AnyRun, lit("timeout"), AnyRun]);
        assert_eq!(pieces("a_c"), vec![lit("a"), AnyOne, lit("c")]);
        assert_eq!(pieces("%%x%%%"), vec![AnyRun, lit("x"), AnyRun]);
        assert_eq!(pieces("_%_"), vec![AnyOne, AnyRun, AnyOne]);
        assert_eq!(pieces(""), vec![]);
        assert_eq!(pieces("plain"), vec![lit("plain")]);
    }

    #[test]
    fn like_backslash_escapes_wildcards_and_itself_only() {
        use LikePiece::AnyRun;
        assert_eq!(pieces(r"100\%"), vec![lit("100%")]);
        assert_eq!(pieces(r"a\_b%"), vec![lit("a_b"), AnyRun]);
        assert_eq!(pieces(r"C:\\dir"), vec![lit(r"C:\dir")]);
        assert_eq!(pieces(r"\d+"), vec![lit(r"\d+")]);
        assert_eq!(pieces(r"end\"), vec![lit(r"end\")]);
        assert_eq!(pieces("é_日"), vec![lit("é"), LikePiece::AnyOne, lit("日")]);
    }

    #[test]
    fn negation_is_de_morgan_and_operator_complement() {
        let c = |op, v: &str| {
            Filter::Condition(Condition {
                field: Field::Named("a".into()),
                predicate: Predicate::Compare {
                    op,
                    value: Value::String(v.into()),
                },
                position: 0,
            })
        };
        let f = Filter::And(vec![
            c(CompareOp::Gt, "1"),
            Filter::Or(vec![c(CompareOp::Eq, "2"), c(CompareOp::Lt, "3")]),
        ]);
        let n = f.clone().negated();
        assert_eq!(
            n,
            Filter::Or(vec![
                c(CompareOp::Le, "1"),
                Filter::And(vec![c(CompareOp::Ne, "2"), c(CompareOp::Ge, "3")]),
            ])
        );
        assert_eq!(n.negated(), f);
    }

    #[test]
    fn join_flattens_and_unwraps_single_items() {
        let leaf = |n: &str| {
            Filter::Condition(Condition {
                field: Field::Attribute(n.into()),
                predicate: Predicate::Like {
                    negated: false,
                    pattern: LikePattern("%".into()),
                },
                position: 0,
            })
        };
        let inner = Filter::all(vec![leaf("a"), leaf("b")]);
        assert_eq!(
            Filter::all(vec![inner.clone(), leaf("c")]),
            Filter::And(vec![leaf("a"), leaf("b"), leaf("c")])
        );
        assert_eq!(
            Filter::any(vec![inner.clone(), leaf("c")]),
            Filter::Or(vec![inner, leaf("c")])
        );
        assert_eq!(Filter::any(vec![leaf("x")]), leaf("x"));
    }

    #[test]
    fn display_quotes_attribute_keys_only_when_needed() {
        assert_eq!(
            Field::Attribute("app.kubernetes.io/name".into()).to_string(),
            "@app.kubernetes.io/name"
        );
        assert_eq!(
            Field::Attribute("any key".into()).to_string(),
            "@\"any key\""
        );
        assert_eq!(Field::Attribute(String::new()).to_string(), "@\"\"");
        assert_eq!(
            Value::String("a\"b\\c\nd\te%".into()).to_string(),
            r#""a\"b\\c\nd\te%""#
        );
    }
}
