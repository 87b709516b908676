//! The filter language of the logs and traces tools: KubeSense's SQL-like WHERE clause, parsed
//! into a [`Filter`] tree.
//!
//! ```text
//! namespace = "default" AND (level = ERROR OR message LIKE "%timeout%")
//! pod_name NOT IN ('service-a', 'service-b') AND duration > 1000 AND @http.status_code >= 500
//! ```
//!
//! [`parse`](fn@parse) reads the text; the tree says which fields are compared how, with the
//! position of each condition, and knows nothing of any backend. Turning it into ClickHouse SQL,
//! LogQL or TraceQL (which fields exist, what they map to, what a backend cannot express) is left
//! to the compilers in other modules. [`LikePattern::pieces`] splits LIKE patterns into literals
//! and wildcards for them to escape in their own syntax. `Display` prints a canonical form that
//! parses back to the same tree, for echoing a filter to the caller.
//!
//! # Grammar
//!
//! ```text
//! filter     = [ or ] ;                        (* empty or only whitespace: no filter *)
//! or         = and { "OR" and } ;
//! and        = unary { "AND" unary } ;         (* AND binds tighter than OR *)
//! unary      = "NOT" unary | "(" or ")" | condition ;
//! condition  = field ( compare-op value
//!                    | [ "NOT" ] "IN" "(" value { "," value } ")"
//!                    | [ "NOT" ] "LIKE" value ) ;
//! compare-op = "=" | "!=" | "<>" | ">" | ">=" | "<" | "<=" ;
//! field      = name | "@" key | "@" string ;
//! name       = ( letter | "_" ) { letter | digit | "_" | "." } ;    (* not a keyword *)
//! key        = ( letter | digit | "_" | "." | "-" | "/" ) { ... } ;
//! value      = string | number | word ;
//! number     = [ "+" | "-" ] ( digits [ "." [ digits ] ] | "." digits )
//!              [ ( "e" | "E" ) [ "+" | "-" ] digits ] ;
//! word       = ( letter | digit | "_" | "." | ":" | "/" | "-" | "+" ) { ... } ;
//!              (* not a number, not a keyword *)
//! string     = '"' { char | escape } '"' | "'" { char | escape } "'" ;
//! escape     = "\\" | '\"' | "\'" | "\n" | "\t" | "\r" | "\%" | "\_" ;
//! ```
//!
//! - Letters and digits are ASCII; other characters (and spaces) only inside quotes. Tokens are
//!   separated by any Unicode whitespace, needed only between two words.
//! - Keywords (`AND`, `OR`, `NOT`, `IN`, `LIKE`) are case-insensitive and reserved: they are not
//!   field names, and as values they must be quoted (`status = "and"`).
//! - A bare word is a string: `level = ERROR`, `service = service-a`, `ip = 10.0.0.1` (not a
//!   number: it has two dots), `method = GET`, `ok = true`, `path = /api/v1`. A bare word that is
//!   exactly a number is a [`Value::Number`] (`1000`, `-2.5`, `1e3`; kept as text and as `f64`;
//!   out-of-range numbers such as `1e999` are refused). `"1000"` in quotes is a string.
//! - In strings, `\\`, `\"`, `\'`, `\n`, `\t` and `\r` are escapes; `\%` and `\_` stay as
//!   written, backslash included, so that `message LIKE "100\%"` matches a literal `100%`; any
//!   other backslash sequence is an error.
//! - The LIKE pattern is the value's text (a number's as written). `%` matches any run of
//!   characters, `_` one character, and a backslash makes `%`, `_` or `\` literal.
//! - A prefix `NOT` negates what follows it (binding tighter than AND) with SQL's meaning; it is
//!   pushed down to the conditions while parsing ([`Filter::negated`]), so the tree has no `Not`.
//! - `==`, `=~`, `!~`, `&&` and `||` are refused with a hint at what to write instead.
//!
//! # Bounds
//!
//! At most [`MAX_FILTER_BYTES`] bytes of text, [`MAX_DEPTH`] levels of parentheses and prefix
//! NOTs, [`MAX_CONDITIONS`] conditions and [`MAX_IN_VALUES`] values in each IN list. Parsing
//! never panics; errors ([`FilterError`]) give a character position and what was expected.
//!
//! # Layout
//!
//! | Module | What lives there |
//! |---|---|
//! | here | The public API: [`parse`](fn@parse), the bounds, the re-exported types |
//! | `ast` | [`Filter`] and its parts, negation, LIKE pieces, the canonical `Display` |
//! | `lex` | Tokens: words, numbers, strings and escapes, attributes, operators, keywords |
//! | `parse` | The recursive-descent parser and the depth, condition and IN-list bounds |
//! | `error` | [`FilterError`], [`ErrorKind`], the excerpt with a caret |

mod ast;
mod error;
mod lex;
mod parse;
#[cfg(test)]
mod random;

pub use ast::{CompareOp, Condition, Field, Filter, LikePattern, LikePiece, Predicate, Value};
pub use error::{ErrorKind, FilterError};

/// Longest filter [`parse`](fn@parse) accepts, in bytes of UTF-8.
pub const MAX_FILTER_BYTES: usize = 4096;

/// Deepest nesting of parentheses and prefix `NOT`s [`parse`](fn@parse) accepts.
pub const MAX_DEPTH: usize = 32;

/// Most conditions (comparisons, IN and LIKE tests) in one filter.
pub const MAX_CONDITIONS: usize = 100;

/// Most values in one IN or NOT IN list.
pub const MAX_IN_VALUES: usize = 100;

/// Parses a filter; `Ok(None)` when `text` is empty or only whitespace (no filtering).
///
/// The grammar, the meaning of bare words and escapes, and the bounds are in the
/// [module documentation](self). Errors say where (a character offset into `text`) and what
/// was expected.
pub fn parse(text: &str) -> Result<Option<Filter>, FilterError> {
    if text.len() > MAX_FILTER_BYTES {
        let mut cut = MAX_FILTER_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(FilterError::new(
            text,
            ErrorKind::TooLong,
            text[..cut].chars().count(),
            format!(
                "the filter is {} bytes long, the limit is {MAX_FILTER_BYTES}; shorten it, e.g. \
                 with IN lists or LIKE patterns",
                text.len()
            ),
        ));
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse::Parser::new(text).parse_filter().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Filter {
        match parse(text) {
            Ok(Some(f)) => f,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn err(text: &str) -> FilterError {
        match parse(text) {
            Err(e) => e,
            other => panic!("{text}: expected an error, got {other:?}"),
        }
    }

    fn named(n: &str) -> Field {
        Field::Named(n.into())
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn num(text: &str, value: f64) -> Value {
        Value::Number {
            text: text.into(),
            value,
        }
    }

    fn cmp(field: Field, op: CompareOp, value: Value, position: usize) -> Filter {
        Filter::Condition(Condition {
            field,
            predicate: Predicate::Compare { op, value },
            position,
        })
    }

    fn is_in(field: Field, negated: bool, values: Vec<Value>, position: usize) -> Filter {
        Filter::Condition(Condition {
            field,
            predicate: Predicate::In { negated, values },
            position,
        })
    }

    fn like(field: Field, negated: bool, pattern: &str, position: usize) -> Filter {
        Filter::Condition(Condition {
            field,
            predicate: Predicate::Like {
                negated,
                pattern: LikePattern(pattern.into()),
            },
            position,
        })
    }

    /// The canonical form parses back to the same tree, and is a fixed point, positions included.
    fn assert_round_trip(f: &Filter) {
        let canonical = f.to_string();
        let again = p(&canonical);
        assert!(
            again.eq_ignoring_positions(f),
            "{canonical}: {again:?} != {f:?}"
        );
        assert_eq!(again.to_string(), canonical);
        assert_eq!(p(&again.to_string()), again);
    }

    #[test]
    fn kubesense_examples_parse_as_written() {
        use CompareOp::*;
        let cases = [
            (
                r#"namespace = "default" AND level = ERROR"#,
                Filter::And(vec![
                    cmp(named("namespace"), Eq, s("default"), 0),
                    cmp(named("level"), Eq, s("ERROR"), 26),
                ]),
                r#"namespace = "default" AND level = "ERROR""#,
            ),
            (
                "protocol_type = HTTP OR status = error",
                Filter::Or(vec![
                    cmp(named("protocol_type"), Eq, s("HTTP"), 0),
                    cmp(named("status"), Eq, s("error"), 24),
                ]),
                r#"protocol_type = "HTTP" OR status = "error""#,
            ),
            (
                r#"pod_name IN ("service-a", "service-b")"#,
                is_in(
                    named("pod_name"),
                    false,
                    vec![s("service-a"), s("service-b")],
                    0,
                ),
                r#"pod_name IN ("service-a", "service-b")"#,
            ),
            (
                "duration > 1000",
                cmp(named("duration"), Gt, num("1000", 1000.0), 0),
                "duration > 1000",
            ),
            (
                r#"message LIKE "%timeout%""#,
                like(named("message"), false, "%timeout%", 0),
                r#"message LIKE "%timeout%""#,
            ),
            (
                "@custom_field = value",
                cmp(Field::Attribute("custom_field".into()), Eq, s("value"), 0),
                r#"@custom_field = "value""#,
            ),
        ];
        for (text, want, canonical) in cases {
            let got = p(text);
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), canonical, "{text}");
            assert_round_trip(&got);
        }
    }

    #[test]
    fn nested_parentheses_and_precedence() {
        use CompareOp::*;
        let got = p("a = 1 OR b = 2 AND (c = 3 OR (d = 4 AND (e = 5)))");
        let want = Filter::Or(vec![
            cmp(named("a"), Eq, num("1", 1.0), 0),
            Filter::And(vec![
                cmp(named("b"), Eq, num("2", 2.0), 9),
                Filter::Or(vec![
                    cmp(named("c"), Eq, num("3", 3.0), 20),
                    Filter::And(vec![
                        cmp(named("d"), Eq, num("4", 4.0), 30),
                        cmp(named("e"), Eq, num("5", 5.0), 41),
                    ]),
                ]),
            ]),
        ]);
        assert_eq!(got, want);
        assert_eq!(
            got.to_string(),
            "a = 1 OR b = 2 AND (c = 3 OR d = 4 AND e = 5)"
        );
        assert_round_trip(&got);
    }

    #[test]
    fn same_operator_chains_are_flattened_through_parentheses() {
        let got = p("((a = 1 AND b = 2) AND (c = 3)) AND d = 4");
        let Filter::And(items) = &got else {
            panic!("{got:?}")
        };
        assert_eq!(items.len(), 4);
        assert_eq!(got.to_string(), "a = 1 AND b = 2 AND c = 3 AND d = 4");
        assert!(matches!(p("(((x = y)))"), Filter::Condition(_)));
    }

    #[test]
    fn not_in_not_like_single_quotes_and_escapes() {
        let cases = [
            (
                "ns NOT IN ('a', \"b\", 3)",
                is_in(named("ns"), true, vec![s("a"), s("b"), num("3", 3.0)], 0),
                r#"ns NOT IN ("a", "b", 3)"#,
            ),
            (
                r#"body NOT LIKE 'it\'s 100\% "done"'"#,
                like(named("body"), true, r#"it's 100\% "done""#, 0),
                r#"body NOT LIKE "it's 100\\% \"done\"""#,
            ),
            (
                r#"@"any key" != 'C:\\tmp\n'"#,
                cmp(
                    Field::Attribute("any key".into()),
                    CompareOp::Ne,
                    s("C:\\tmp\n"),
                    0,
                ),
                r#"@"any key" != "C:\\tmp\n""#,
            ),
            (
                "@app.kubernetes.io/name <> checkout",
                cmp(
                    Field::Attribute("app.kubernetes.io/name".into()),
                    CompareOp::Ne,
                    s("checkout"),
                    0,
                ),
                r#"@app.kubernetes.io/name != "checkout""#,
            ),
            (
                "k8s.namespace.name=prod",
                cmp(named("k8s.namespace.name"), CompareOp::Eq, s("prod"), 0),
                r#"k8s.namespace.name = "prod""#,
            ),
            (
                "latency <= -1.5e3",
                cmp(named("latency"), CompareOp::Le, num("-1.5e3", -1500.0), 0),
                "latency <= -1.5e3",
            ),
            (
                "code LIKE 5__",
                like(named("code"), false, "5__", 0),
                r#"code LIKE "5__""#,
            ),
        ];
        for (text, want, canonical) in cases {
            let got = p(text);
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), canonical, "{text}");
            assert_round_trip(&got);
        }
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let got = p("a in (1) and b Like 'x' oR c nOt iN (y)");
        assert_eq!(
            got.to_string(),
            r#"a IN (1) AND b LIKE "x" OR c NOT IN ("y")"#
        );
    }

    #[test]
    fn bare_words_are_strings_unless_exactly_numbers() {
        for (text, want) in [
            ("ip = 10.0.0.1", s("10.0.0.1")),
            ("svc = service-a", s("service-a")),
            ("m = GET", s("GET")),
            ("ok = true", s("true")),
            ("path = /api/v1", s("/api/v1")),
            ("t = 12:30", s("12:30")),
            ("c = 2xx", s("2xx")),
            ("n = \"1000\"", s("1000")),
            ("n = 0.5", num("0.5", 0.5)),
        ] {
            let Filter::Condition(c) = p(text) else {
                panic!("{text}")
            };
            assert_eq!(
                c.predicate,
                Predicate::Compare {
                    op: CompareOp::Eq,
                    value: want
                },
                "{text}"
            );
        }
    }

    #[test]
    fn prefix_not_is_pushed_down_to_the_conditions() {
        let got = p("NOT (a = 1 AND (b > 2 OR c IN (x))) AND NOT NOT d LIKE 'y'");
        assert_eq!(
            got.to_string(),
            r#"(a != 1 OR b <= 2 AND c NOT IN ("x")) AND d LIKE "y""#
        );
        let Filter::And(items) = &got else {
            panic!("{got:?}")
        };
        let positions: Vec<usize> = got.conditions().iter().map(|c| c.position).collect();
        assert_eq!(positions, vec![5, 16, 25, 48]);
        assert_eq!(items.len(), 2);
        assert_round_trip(&got);
        assert_eq!(
            p("NOT a = 1 OR b = 2").to_string(),
            "a != 1 OR b = 2",
            "NOT binds tighter than OR"
        );
    }

    #[test]
    fn empty_or_whitespace_only_is_no_filter() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse(" \t\n\u{a0}"), Ok(None));
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        for (text, pos, msg) in [
            (
                "level = ",
                8,
                "expected a value after '=', found the end of the filter",
            ),
            (
                "(a = 1 OR b = 2",
                15,
                "expected ')' to close the '(' at position 0, found the end of the filter",
            ),
            ("a = 1)", 5, "unexpected ')' with no matching '('"),
            ("a = 'x", 4, "unterminated string starting at position 4"),
            ("a IN 'x'", 5, "IN needs a parenthesised list"),
            ("a IN ()", 6, "IN needs at least one value"),
            ("a IN (1,)", 8, "expected a value after ','"),
            (
                "a IN (1 2)",
                8,
                "expected ',' or ')' in the IN list opened at position 5",
            ),
            (
                "a = b c = d",
                6,
                "expected AND, OR or the end of the filter, found 'c'",
            ),
            (
                "a = AND",
                4,
                "found keyword AND; if it is the value, quote it",
            ),
            ("a NOT = 1", 6, "expected IN or LIKE after NOT"),
            ("a", 1, "expected an operator after a"),
            ("a LIKE", 6, "expected a value (a pattern such as"),
            (
                "= 1",
                0,
                "expected a condition such as level = ERROR, found '='",
            ),
            (
                "()",
                1,
                "expected a condition such as level = ERROR, found ')'",
            ),
            ("a = 1 AND", 9, "expected a condition"),
            ("NOT", 3, "expected a condition"),
            ("'level' = x", 0, "write field names without quotes"),
            ("service-a = x", 0, "'service-a' is not a field name"),
            ("2xx = x", 0, "'2xx' is not a field name"),
            ("and = x", 0, "found keyword AND"),
            ("日本 = x", 0, "unexpected character '日'"),
            ("é = 'x' AND ü", 0, "unexpected character 'é'"),
            ("a = 'é' AND ü = 1", 12, "unexpected character 'ü'"),
        ] {
            let e = err(text);
            assert_eq!(e.kind, ErrorKind::Syntax, "{text}: {e}");
            assert_eq!(e.position, pos, "{text}: {e}");
            assert!(e.message.contains(msg), "{text}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid filter at position {pos}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn input_length_bound() {
        let ok = format!("a = \"{}\"", "x".repeat(MAX_FILTER_BYTES - 6));
        assert_eq!(ok.len(), MAX_FILTER_BYTES);
        assert!(parse(&ok).is_ok());
        let long = format!("a = \"{}\"", "é".repeat(MAX_FILTER_BYTES));
        let e = err(&long);
        assert_eq!(e.kind, ErrorKind::TooLong);
        assert_eq!(e.position, 4 + (MAX_FILTER_BYTES - 4) / 2);
        assert!(e.message.contains("the limit is 4096"), "{e}");
        assert_eq!(err(&" ".repeat(5000)).kind, ErrorKind::TooLong);
    }

    #[test]
    fn nesting_bound() {
        let ok = format!("{}a = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!(
            "{}a = 1{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let e = err(&deep);
        assert_eq!((e.kind, e.position), (ErrorKind::TooDeep, MAX_DEPTH));
        assert!(e.message.contains("more than 32 deep"), "{e}");
        let nots = format!("{}a = 1", "NOT ".repeat(MAX_DEPTH + 1));
        let e = err(&nots);
        assert_eq!((e.kind, e.position), (ErrorKind::TooDeep, 4 * MAX_DEPTH));
        assert_eq!(err(&"(".repeat(3000)).kind, ErrorKind::TooDeep);
    }

    #[test]
    fn condition_bound() {
        let conds = |n: usize| vec!["a = 1"; n].join(" OR ");
        assert!(parse(&conds(MAX_CONDITIONS)).is_ok());
        let e = err(&conds(MAX_CONDITIONS + 1));
        assert_eq!(e.kind, ErrorKind::TooManyConditions);
        assert_eq!(e.position, MAX_CONDITIONS * 9);
        assert!(e.message.contains("more than 100 conditions"), "{e}");
    }

    #[test]
    fn in_list_bound() {
        let list = |n: usize| format!("a IN ({})", vec!["1"; n].join(","));
        assert!(parse(&list(MAX_IN_VALUES)).is_ok());
        let e = err(&list(MAX_IN_VALUES + 1));
        assert_eq!(e.kind, ErrorKind::TooManyValues);
        assert_eq!(e.position, 6 + 2 * MAX_IN_VALUES);
        assert!(e.message.contains("more than 100 values"), "{e}");
    }
}
