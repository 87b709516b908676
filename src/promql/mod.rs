//! PromQL checks that run before a query is sent to a datasource.
//!
//! [`validate`] rejects an expression only when Prometheus itself would refuse to parse it, and
//! then says what is wrong, where (a byte offset into the caller's string) and how to fix it;
//! [`check`] is the same verdict without the canonical rendering, for the tools.
//! [`validate_metric_regex`] checks a regex that will be sent as `{__name__=~"<pattern>"}`, and
//! [`quote_label_value`] builds PromQL string literals for selectors.
//!
//! Nothing here evaluates PromQL: no series are looked up, no functions run, no time ranges are
//! resolved, no feature flags of the target server are known. An accepted expression can still
//! fail on the server (an experimental function that is not enabled there, `label_replace` with
//! a bad regex, too many points in a subquery, a timeout).
//!
//! # How [`validate`] works
//!
//! 1. Size: non-empty after trimming, at most [`MAX_EXPR_CHARS`] characters.
//! 2. Syntax: a lexer (`lex`) and a recursive-descent parser (`parse`) written here after
//!    Prometheus' own `promql/parser/lex.go` and `generated_parser.y` (3.x head, plus a few 2.x
//!    quirks), so they know syntax the `promql-parser` crate (=0.11.1) does not yet, and report
//!    byte positions.
//! 3. The structural checks Prometheus makes while parsing: where `offset`, `@`, ranges and
//!    `anchored`/`smoothed` may go (`check`), duration and number values (`parse`), a metric
//!    name given twice, selectors that match everything, `info()`'s second argument
//!    (`check`), label-matcher regexes (`go_regex`).
//! 4. Types, functions and operators are left to `promql-parser`: it parses the expression,
//!    rewritten where needed (table below, `rewrite`); its complaint is located by re-parsing
//!    sub-expressions. The canonical form returned is the crate's `Display` of the expression
//!    when it parsed the original text unchanged, else the trimmed original. [`check`] skips the
//!    crate when `types` can tell from our tree that the crate would accept the text as written
//!    (most queries: selectors, ranges, listed functions, aggregations, plain binary operators);
//!    everything else, and every type error, still goes to the crate, so the words of an error
//!    are always the crate's.
//!
//! Errors carry a byte position; `error` renders them with the text near the position and a
//! hint on how to fix the problem.
//!
//! # Layout
//!
//! | Module | What lives there |
//! |---|---|
//! | here | The public API, [`PromqlError`], and [`validate`] running the steps above in order |
//! | `token` | The tokens, and the keyword tables the lexer and the parser share |
//! | `lex` | The lexer: text into tokens |
//! | `literal` | The values of string, number and duration literals, as Go computes them |
//! | `chars` | The lexer's character classes (whitespace, identifier letters), shared with `error` |
//! | `parse` | The parser; checks on literals; the nesting limit |
//! | `tree` | The tree the parser builds |
//! | `check` | Structural checks on the tree; collects node rewrites, spans and regex matchers for step 4 |
//! | `go_regex` | Regexes as Go's RE2 reads them: Go-only syntax translated for the `regex` crate |
//! | `go_unicode` | The Unicode class names Go accepts in `\p{...}`, and the crate's name for each |
//! | `rewrite` | Edits applied to the text for `promql-parser`, calls into the crate, locating its complaints |
//! | `types` | Whether the crate would accept a tree, without calling it: value types, its function table |
//! | `error` | Errors with positions, their messages and fix hints |
//!
//! # Workarounds around `promql-parser` 0.11.1
//!
//! Each rewrite only changes the text handed to the crate; our own parser has already checked
//! the construct the way Prometheus does.
//!
//! | Construct | Why | What we do | Where |
//! |---|---|---|---|
//! | Duration expressions: `foo[5m+1m]`, `[step()]`, `[1h:min_of(range(), 5m)]`, `offset (1h / 2)`, `offset -step()`, signed or parenthesised ranges | Prometheus 3.x syntax; the crate's lexer only knows a single literal inside `[...]` and after `offset` | Parsed and checked here (division/modulo by a literal 0, literal ranges > 0, values in range); the span is replaced by `1s` | `parse`, `check` |
//! | `anchored` / `smoothed` modifiers: `rate(x[5m] anchored)` | Prometheus 3.x extended range selectors; unknown to the crate | Checked here (selectors only, not both, not on subqueries); the keyword is removed | `check` |
//! | Durations as `fill()` values: `a + fill(-5m) b` | Prometheus 3.x takes number or duration literals there; the crate only numbers | The duration is replaced by `0` | `parse` |
//! | `anchored` / `smoothed` as a metric or grouping-label name: `anchored{job="a"}`, `by (smoothed)` | Prometheus lets these keywords be names; the crate's lexer takes them as keywords only | Renamed (`anchored_`) for the crate | `parse` |
//! | Trim operators `</` and `>/`: `h </ 0.5` | Prometheus 3.x native-histogram operators; unknown to the crate | Replaced by `/` with both operands parenthesised: same operand typing, original grouping kept | `check` |
//! | `info(v, {data=~".*"})`: a second argument matching the empty string | Prometheus waives the empty-matcher rule for `info()`'s label selector; the crate does not | Checked here (label matchers only, no metric name); the braces are replaced by `{__name__="target_info"}` | `check` |
//! | Raw strings with backslashes: `` {path=`a\dos`} `` | The crate interprets escapes inside backquotes | Replaced by the equivalent double-quoted literal | `rewrite` |
//! | Numbers with `_` separators: `1_000`, `0x_1F` | Prometheus 3.x literals; the crate's lexer rejects them | Underscores removed (Go allows them only between digits, so the value is unchanged) | `lex`, `literal`, `rewrite` |
//! | `holt_winters(...)` | Prometheus 2.x name of `double_exponential_smoothing`; still valid on 2.x servers | Renamed for the crate | `check`, [`validate`] |
//! | `foo @ start() [5m]`, `@ end()` before a range | Prometheus 2.x accepted it (it only refused a numeric `@` there) | Accepted; the `@` modifier is removed for the crate | `check` |
//! | `0xce` at the end of the input | Prometheus 3.x's lexer takes the final `e` for an exponent and refuses it; 2.x read a hex integer (the crate does too) | Lexed as a hex integer | `lex` |
//! | `foo[5s x 5s]`: one letter between range and step | Prometheus 2.x lexed any letter inside brackets as `:` | Accepted as `[5s:5s]`; the letter is replaced by `:` | `lex`, `check` |
//! | Label regexes that Go's RE2 accepts but the Rust `regex` crate does not (`\Q...\E`, octal escapes, `a{bbb}`, `\p{^Greek}`, `[\d-z]`, Unicode 17 scripts) | The crate compiles matchers with the `regex` crate | Checked here with a Go-compatible translation; the values are replaced by regexes with the same empty-string behaviour (`""` or `"x"`): always in [`check`], on the crate's "illegal regex" in [`validate`] | `go_regex`, `check`, [`validate`] |
//! | `# comments`, e.g. inside a range: `x[5m:1m # step\n]` | Prometheus skips them wherever a token may start; the crate only in some places | Removed | `lex`, [`validate`] |
//! | Expressions more than 100 levels deep (long operator chains) | The crate recurses on the tree and can overflow the stack (a trap in wasm) | The crate is skipped; our own checks only | [`validate`] |
//! | The crate reports a pure syntax error (a lexer error or "invalid promql query") on the rewritten text although our parser accepted it | The crate's grammar lags Prometheus in a way not listed above | Last resort: accepted, since syntax is our parser's call | [`validate`] |
//!
//! One limit Prometheus does not have: nesting deeper than 100 levels (parentheses, calls, unary
//! signs, `^` chains, modifiers) is refused, so that recursion stays within a small stack.

mod chars;
mod check;
mod error;
mod go_regex;
mod go_unicode;
mod lex;
mod literal;
mod parse;
mod rewrite;
mod token;
mod tree;
mod types;

use std::fmt;

use chars::is_space;
use check::Checker;
use error::{PErr, Span};
use go_regex::{RegexErr, check_go_regex};
use lex::lex;
use parse::Parser;
use rewrite::{
    Edit, apply_edits, benign_regexes, crate_lex_fails, crate_parse, locate_complaint, token_edits,
};
use token::T;

/// Longest expression [`validate`] accepts, in characters (after trimming surrounding whitespace).
pub const MAX_EXPR_CHARS: usize = 10_000;

/// Longest pattern [`validate_metric_regex`] accepts, in characters.
pub const MAX_METRIC_REGEX_CHARS: usize = 1_000;

/// Deepest tree handed to `promql-parser`, which recurses over it.
const CRATE_MAX_DEPTH: u32 = 100;

/// Why an expression or regex was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct PromqlError {
    /// What is wrong, where and how to fix it, e.g.
    /// `PromQL parse error at char 16: unexpected <by> ...; near 'sum(rate(x[5m]) by'. ...`.
    pub message: String,
    /// Byte offset of the problem in the string that was checked, when known.
    pub position: Option<usize>,
}

impl fmt::Display for PromqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PromqlError {}

/// Checks a PromQL expression before it is sent, and returns its canonical form.
///
/// The expression must be non-empty after trimming, at most [`MAX_EXPR_CHARS`] characters, and
/// parse as PromQL for Prometheus 3.x (or 2.x). The canonical form is `promql-parser`'s
/// single-line rendering when the crate parsed the expression as given, otherwise (a workaround
/// from the module table was needed) the trimmed original. On error, the message says what is
/// wrong and how to fix it, and the position is a byte offset into `expr`.
pub fn validate(expr: &str) -> Result<String, PromqlError> {
    Ok(match accept(expr, Form::Canonical)? {
        Accepted::Canonical(tree) => tree.to_string(),
        Accepted::AsGiven(body) => body.to_string(),
    })
}

/// Checks a PromQL expression before it is sent, as [`validate`] does, without its canonical form:
/// the tools send the caller's text. Skips the crate's rendering and its compiling of label regexes
/// our own check has already read (most of the check's time for an expression with `=~`), and the
/// crate itself when `types` shows it would accept (its LR parse was the dearest step).
pub fn check(expr: &str) -> Result<(), PromqlError> {
    accept(expr, Form::Verdict).map(drop)
}

/// What [`accept`] must produce besides the verdict.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// The canonical rendering when the crate parses the text as given.
    Canonical,
    /// Nothing: label regexes are handed to the crate as equivalent trivial ones from the start.
    Verdict,
}

/// What [`accept`] found an accepted expression to be.
enum Accepted<'a> {
    /// `promql-parser` parsed the text as given: its tree, for the canonical rendering.
    Canonical(promql_parser::parser::Expr),
    /// A workaround was needed, or the crate was skipped: the trimmed original.
    AsGiven(&'a str),
}

/// The steps of the module doc, in order.
fn accept(expr: &str, form: Form) -> Result<Accepted<'_>, PromqlError> {
    let body = expr.trim_matches(is_space);
    if body.is_empty() {
        return Err(PromqlError {
            message: "PromQL expression is empty: pass an expression such as `up` or \
                      `rate(http_requests_total[5m])`"
                .to_string(),
            position: None,
        });
    }
    let chars = body.chars().count();
    if chars > MAX_EXPR_CHARS {
        return Err(PromqlError {
            message: format!(
                "PromQL expression is too long: {chars} characters, the limit is \
                 {MAX_EXPR_CHARS}; shorten it (split it into several queries, or use recording rules)"
            ),
            position: None,
        });
    }
    // Our parser and the checks Prometheus makes while parsing, with positions.
    let (mut toks, lex_err) = lex(expr);
    let comments: Vec<Span> = toks
        .iter()
        .filter(|t| t.t == T::Comment)
        .map(|t| (t.start, t.end))
        .collect();
    toks.retain(|t| t.t != T::Comment);
    let mut parser = Parser::new(expr, toks, lex_err);
    let root = parser.parse_top().map_err(|e| e.into_error(expr))?;
    let mut checker = Checker::new(&parser.ast);
    checker.check_root(root).map_err(|e| e.into_error(expr))?;
    let Checker {
        mut edits,
        spans,
        regexes,
        ..
    } = checker;
    // Types, functions and operators: promql-parser, on the text rewritten per the module table.
    edits.extend(token_edits(expr, &parser.toks));
    edits.append(&mut parser.edits);
    let rewritten = !edits.is_empty();
    edits.extend(comments.into_iter().map(|c| Edit::new(c, "")));
    if parser.ast[root].depth > CRATE_MAX_DEPTH {
        return Ok(Accepted::AsGiven(body));
    }
    // The tools need only the verdict: skip the crate when it surely accepts the text as written.
    if form == Form::Verdict
        && !rewritten
        && types::crate_accepts(expr, &parser.toks, &parser.ast, root)
    {
        return Ok(Accepted::AsGiven(body));
    }
    if form == Form::Verdict {
        edits.extend(benign_regexes(&regexes));
    }
    let mut text = apply_edits(expr, &edits, 0, expr.len());
    let mut msg = match crate_parse(&text) {
        Ok(tree) if edits.is_empty() => return Ok(Accepted::Canonical(tree)),
        Ok(_) => return Ok(Accepted::AsGiven(body)),
        Err(msg) => msg,
    };
    if form == Form::Canonical && msg.starts_with("illegal regex") && !regexes.is_empty() {
        edits.extend(benign_regexes(&regexes));
        text = apply_edits(expr, &edits, 0, expr.len());
        msg = match crate_parse(&text) {
            Ok(_) => return Ok(Accepted::AsGiven(body)),
            Err(msg) => msg,
        };
    }
    // Last resort: a syntax complaint of the crate about text our parser accepted.
    if msg == "invalid promql query" || crate_lex_fails(&text) {
        return Ok(Accepted::AsGiven(body));
    }
    // Locate the complaint: the innermost sub-expression the crate refuses the same way.
    let span = locate_complaint(expr, &edits, &spans, &msg).unwrap_or(parser.ast[root].span);
    if parser
        .toks
        .iter()
        .any(|t| t.t == T::Ident && &expr[t.start..t.end] == "holt_winters")
    {
        msg = msg.replace("'double_exponential_smoothing'", "'holt_winters'");
    }
    Err(PErr::new(span, msg).into_error(expr))
}

/// Checks a regex that will be sent as `{__name__=~"<pattern>"}`.
///
/// The pattern must be non-empty, at most [`MAX_METRIC_REGEX_CHARS`] characters and valid RE2
/// (Go `regexp`) syntax as Prometheus compiles it, anchored at both ends: no look-around, no
/// backreferences, no nested repetition such as `a**`.
pub fn validate_metric_regex(pattern: &str) -> Result<(), PromqlError> {
    if pattern.is_empty() {
        return Err(PromqlError {
            message:
                "metric-name regex is empty: pass a pattern such as `http_.*` (it is anchored \
                      at both ends; use `.*word.*` to match anywhere)"
                    .to_string(),
            position: None,
        });
    }
    let chars = pattern.chars().count();
    if chars > MAX_METRIC_REGEX_CHARS {
        return Err(PromqlError {
            message: format!(
                "metric-name regex is too long: {chars} characters, the limit is \
                 {MAX_METRIC_REGEX_CHARS}; use a shorter pattern, e.g. a common prefix such as `http_.*`"
            ),
            position: None,
        });
    }
    match check_go_regex(pattern) {
        Ok(_) => Ok(()),
        Err(RegexErr { pos, msg }) => {
            let at = pos
                .map(|p| format!(" at char {}", pattern[..p].chars().count()))
                .unwrap_or_default();
            Err(PromqlError {
                message: format!(
                    "invalid metric-name regex{at}: {msg}. Use RE2 syntax as Prometheus does: no \
                     look-around ((?=, (?!, (?<=, (?<!), no backreferences (\\1), no nested \
                     repetition (a**); escape literal metacharacters such as . ( ) [ {{ with a backslash"
                ),
                position: pos,
            })
        }
    }
}

/// A vector selector of an expression, as [`selectors`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// The metric name, given before the braces or as `__name__="…"`; `None` when the selector
    /// matches by labels only or by a `__name__` regex.
    pub metric: Option<String>,
    /// The label matchers other than the metric name, as `(label, op, value)` with `op` one of
    /// `=`, `!=`, `=~`, `!~`.
    pub matchers: Vec<(String, &'static str, String)>,
}

/// The vector selectors of `expr`, in the order they appear; empty when it does not parse. Used to
/// explain an empty answer (which metric or label value does not exist), not to check anything.
pub fn selectors(expr: &str) -> Vec<Selector> {
    let (mut toks, lex_err) = lex(expr);
    toks.retain(|t| t.t != T::Comment);
    let mut parser = Parser::new(expr, toks, lex_err);
    if parser.parse_top().is_err() {
        return Vec::new();
    }
    let mut found: Vec<(usize, Selector)> = Vec::new();
    for node in &parser.ast {
        let tree::Kind::Sel(sel) = &node.kind else {
            continue;
        };
        let mut metric = (sel.named && !sel.name.is_empty()).then(|| sel.name.clone());
        let mut matchers = Vec::new();
        for m in &sel.matchers {
            let op = match m.op {
                T::Eql => "=",
                T::Neq => "!=",
                T::EqlRegex => "=~",
                T::NeqRegex => "!~",
                _ => continue,
            };
            if m.name == "__name__" {
                if op == "=" {
                    metric = Some(m.value.clone());
                }
                continue;
            }
            matchers.push((m.name.clone(), op, m.value.clone()));
        }
        found.push((node.span.0, Selector { metric, matchers }));
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, s)| s).collect()
}

/// Returns `value` as a PromQL double-quoted string literal, e.g. for `{__name__=~"..."}`.
///
/// PromQL strings are Go string literals, as LogQL's and TraceQL's are: the one quoting of all
/// three is `backends::quoting::go_string` (backslashes, double quotes, `\n`, `\r`, `\t`
/// escaped, other control characters as `\uXXXX`, everything else kept).
pub fn quote_label_value(value: &str) -> String {
    crate::backends::quoting::go_string(value)
}

#[cfg(test)]
mod tests {
    use super::literal::unquote;
    use super::*;

    fn err(expr: &str) -> PromqlError {
        validate(expr).expect_err(expr)
    }

    #[test]
    fn empty_and_whitespace_only() {
        assert!(err("").message.contains("empty"));
        let e = err(" \n\t ");
        assert!(e.message.contains("empty"), "{e}");
        assert_eq!(e.position, None);
    }

    #[test]
    fn comment_only_is_no_expression() {
        let e = err("# just a comment\n");
        assert!(e.message.contains("no expression found"), "{e}");
    }

    #[test]
    fn too_long() {
        let e = err(&"a".repeat(MAX_EXPR_CHARS + 1));
        assert!(e.message.contains("10001 characters"), "{e}");
        assert!(e.message.contains("10000"), "{e}");
        assert!(validate(&"a".repeat(MAX_EXPR_CHARS)).is_ok());
    }

    #[test]
    fn canonical_form_of_a_valid_expression() {
        assert_eq!(
            validate("  sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))\n").unwrap(),
            "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))"
        );
        assert_eq!(validate("up").unwrap(), "up");
    }

    #[test]
    fn error_position_of_a_known_bad_expression() {
        let e = err("sum(rate(x[5m]) by");
        assert_eq!(e.position, Some(16));
        assert!(e.message.contains("at char 16"), "{e}");
        assert!(e.message.contains("unexpected <by>"), "{e}");
        assert!(e.message.contains("near 'sum(rate(x[5m]) by'"), "{e}");

        let e = err("rate(foo[5m)");
        assert!(e.message.contains("unexpected"), "{e}");

        let e = err("up{job=\"a\"");
        assert!(e.message.contains("inside braces"), "{e}");
    }

    #[test]
    fn positions_are_byte_offsets_into_the_original() {
        let e = err("  \"é\" + foo{");
        assert_eq!(e.position, Some(13));
        assert!(e.message.contains("char 12"), "{e}");
    }

    #[test]
    fn semantic_errors_from_the_crate_are_located() {
        let e = err("sum(x) + rate(foo)");
        assert_eq!(e.position, Some(9), "{e}");
        assert!(e.message.contains("rate(metric[5m])"), "{e}");
        let e = err("up + nosuchfunc(up)");
        assert_eq!(e.position, Some(5), "{e}");
        let e = err("1 == 1");
        assert!(e.message.contains("BOOL"), "{e}");
        assert_eq!(
            e.position,
            Some(2),
            "binary errors point at the operator: {e}"
        );
        let e = err("(1))");
        assert!(e.message.contains("unexpected right parenthesis"), "{e}");
        assert_eq!(e.position, Some(3));
    }

    #[test]
    fn check_reads_regex_matchers_as_validate_does() {
        // The crate sees `""` or `"x"` in place of each regex under `check`: which matchers match
        // the empty string must not change.
        for expr in [
            "{job=~\".*\"}",
            "{job!~\".+\"}",
            "{job=~\"a|\"}",
            "{job=~\"api|web\"}",
            "{job!~\".*\"}",
            "{job=~\".*\", env=~\"prod\"}",
            "foo{job=~\".*\"}",
            "rate(x{code=~\"5..\", path!~\"/health\"}[5m])",
            "{job=~\"(\"}",
            "{job=~\"\\\\Qa.b\\\\E\"}",
            "{__name__=~\"http_.*\"}",
        ] {
            assert_eq!(check(expr), validate(expr).map(drop), "{expr}");
        }
        assert!(check("{job=~\".*\"}").is_err());
        assert!(check("{job!~\".+\"}").is_err());
        assert!(check("{job=~\"api|web\"}").is_ok());
        assert!(check("{job!~\".*\"}").is_ok());
    }

    #[test]
    fn structural_errors() {
        assert!(
            err("foo offset 1s offset 2s")
                .message
                .contains("multiple times")
        );
        assert!(err("(foo)[5m]").message.contains("ranges only allowed"));
        assert!(err("foo{__name__=\"bar\"}").message.contains("set twice"));
        assert!(err("{x=~\".*\"}").message.contains("non-empty matcher"));
        assert!(err("foo @ NaN").message.contains("out of bounds"));
        assert!(err("foo[0m]").message.contains("greater than 0"));
        assert!(err("foo{a=~\"(\"}").message.contains("regular expression"));
        let e = err(&"(".repeat(150));
        assert!(
            e.message.contains("unclosed") || e.message.contains("nested"),
            "{e}"
        );
        let e = err(&format!("{}1{}", "(".repeat(150), ")".repeat(150)));
        assert!(e.message.contains("nested more than"), "{e}");
    }

    #[test]
    fn regex_validation() {
        assert!(validate_metric_regex("http_.*").is_ok());
        assert!(validate_metric_regex("(?i)node_(cpu|memory)_.+").is_ok());
        assert!(
            validate_metric_regex("a{bbb}").is_ok(),
            "Go reads a{{bbb}} literally"
        );
        assert!(validate_metric_regex("\\Q.*\\E").is_ok());
        assert!(
            validate_metric_regex("a)|(b").is_ok(),
            "anchored as ^(?s:a)|(b)$"
        );
        assert!(validate_metric_regex("").is_err());
        let e = validate_metric_regex(&"a".repeat(1001)).unwrap_err();
        assert!(e.message.contains("1001 characters"), "{e}");
        for bad in [
            "(foo", "(?=x)", "(?!x)", "(?<=x)y", "(a)\\1", "a**", "[z-a]", "(?x)a", "a{1001}",
        ] {
            let e = validate_metric_regex(bad).expect_err(bad);
            assert!(e.message.contains("RE2"), "{e}");
        }
        assert_eq!(validate_metric_regex("ab[c").unwrap_err().position, Some(2));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_label_value("up"), "\"up\"");
        assert_eq!(quote_label_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote_label_value("x\ny\tz\r"), "\"x\\ny\\tz\\r\"");
        assert_eq!(quote_label_value("\u{1}é"), "\"\\u0001é\"");
        for v in ["a\"b\\c", "x\ny", "\u{1}\u{7f}é😀", "`'"] {
            let sel = format!("{{__name__={}}}", quote_label_value(v));
            assert!(validate(&sel).is_ok(), "{sel}");
            assert_eq!(unquote(&quote_label_value(v)), v);
        }
    }

    // One test per workaround of the module table.

    #[test]
    fn workaround_duration_expressions() {
        for ok in [
            "foo[5m+1m]",
            "rate(foo[step()])",
            "some_metric[1h:min_of(range(), 5m)]",
            "foo offset (1h / 2)",
            "foo offset -step()",
            "foo[-(10s-5s)+20s]",
            "foo[+5m]",
            "foo[.5]",
            "foo offset(5m)and bar",
            "foo offset-range()",
        ] {
            assert_eq!(validate(ok).unwrap(), ok);
        }
        assert!(err("foo[5s/0d]").message.contains("division by zero"));
        assert!(err("foo[-5m]").message.contains("greater than 0"));
        assert!(err("foo[9.5e10]").message.contains("out of range"));
        assert!(
            err("some_metric offset step()[5m]")
                .message
                .contains("offset modifiers")
        );
    }

    #[test]
    fn workaround_fill_durations() {
        assert!(validate("a + on (b) group_left () fill (-5m) c").is_ok());
        assert!(validate("a + fill_left(1m) fill_right(2) b").is_ok());
        assert!(
            err("a + fill(5mm) b")
                .message
                .contains("bad number or duration")
        );
        assert!(err("a and fill(1m) b").message.contains("set operators"));
        assert!(
            err("a + fill(0) (1 + time())")
                .message
                .contains("instant vectors")
        );
    }

    #[test]
    fn workaround_anchored_and_smoothed() {
        assert!(validate("rate(x[5m] anchored)").is_ok());
        assert!(validate("x smoothed offset 1m").is_ok());
        assert!(validate("anchored{job=\"a\"} + sum by (smoothed) (x)").is_ok());
        assert!(validate("smoothed anchored").is_ok());
        assert!(
            err("anchored{job=\"a\"} + sum by (smoothed) (rate(x))")
                .message
                .contains("matrix")
        );
        assert!(err("x[5m:1m] anchored").message.contains("subqueries"));
        assert!(
            err("1[5m] smoothed")
                .message
                .contains("ranges only allowed")
        );
        assert!(err("x anchored smoothed").message.contains("together"));
    }

    #[test]
    fn workaround_trim_operators() {
        assert!(validate("h </ 0.5").is_ok());
        assert!(validate("histogram_count(h >/ on (le) other + 1)").is_ok());
        assert!(validate("a >/ ignoring() group_left c").is_ok());
        assert!(err("h </ bool 1").message.contains("bool"));
    }

    #[test]
    fn workaround_info_label_selector() {
        assert!(validate("info(metric, {data=~\".*\"})").is_ok());
        assert!(validate("info(rate(x[5m]), {k8s_cluster_name=~\".+\"})").is_ok());
        assert!(
            err("info(x, target_info{a=\"b\"})")
                .message
                .contains("label selectors only")
        );
        assert!(
            err("info(x, {a=\"b\"} == 1)")
                .message
                .contains("label selectors only")
        );
    }

    #[test]
    fn workaround_raw_strings_with_backslashes() {
        assert!(validate("{'foo\\'bar', `a\\dos\\path`=\"boo\"}").is_ok());
        assert!(validate("x{path=~`C:\\\\Temp\\d+`}").is_ok());
    }

    #[test]
    fn workaround_number_underscores() {
        assert!(validate("1_000 + 0x_1F").is_ok());
        assert!(err("1__0").message.contains("bad number"));
        assert!(err("0deadbeef").message.contains("bad number"));
    }

    #[test]
    fn workaround_holt_winters() {
        assert!(validate("holt_winters(x[1m], 0.1, 0.1)").is_ok());
        let e = err("holt_winters(x, 0.1, 0.1)");
        assert!(e.message.contains("'holt_winters'"), "{e}");
    }

    #[test]
    fn workaround_legacy_at_before_range() {
        assert!(validate("some_metric @ start() [5m]").is_ok());
        assert!(
            err("some_metric @ 1234 [5m]")
                .message
                .contains("@ modifiers")
        );
    }

    #[test]
    fn workaround_legacy_hex_ending_in_e() {
        assert_eq!(validate("0xce").unwrap(), "206");
        assert!(validate("x + 0xCAFE").is_ok());
        assert!(err("0xce.5").message.contains("number"));
    }

    #[test]
    fn workaround_legacy_letter_as_colon() {
        assert!(validate("foo[5s x 5s]").is_ok());
        assert!(err("foo[5s xy 5s]").message.contains("expected ':'"));
    }

    #[test]
    fn workaround_go_only_regexes() {
        assert!(validate("x{a=~\"\\\\Q1.5\\\\E\"}").is_ok());
        assert!(validate("x{a=~\"\\\\101\"}").is_ok());
        assert!(err("x{a=~\"a**\"}").message.contains("nested repetition"));
    }

    #[test]
    fn unicode_classes_in_regex_matchers() {
        assert_eq!(
            validate("up{job=~\"\\\\p{Greek}+\"}").unwrap(),
            "up{job=~\"\\\\p{Greek}+\"}"
        );
        for ok in [
            r#"up{job=~"\\pL\\pN+"}"#,
            r#"up{job!~"\\P{L}"}"#,
            r#"up{job=~"\\p{Lu}.*"}"#,
            r#"up{job=~"\\p{^Greek}+"}"#,
            r#"up{job=~"[\\p{L}\\d]+"}"#,
            r#"up{job=~"[^\\pL]*"}"#,
            r#"up{job=~"\\p{Sidetic}"}"#,
            r#"up{job=~"[\\d-z]+"}"#,
        ] {
            assert!(validate(ok).is_ok(), "{ok}: {:?}", validate(ok));
        }
        let bad = r#"up{job=~"ab\\p{Foo}"}"#;
        let e = err(bad);
        assert!(
            e.message
                .contains(r"at char 2: invalid character class range: `\p{Foo}`"),
            "{e}"
        );
        assert_eq!(e.position, Some(3), "the matcher");
        assert!(e.message.contains("a script (\\p{Greek}"), "{e}");
        assert!(validate_metric_regex(r"\p{Greek}_.*").is_ok());
        let e = validate_metric_regex(r"x\p{^Foo}").unwrap_err();
        assert_eq!(e.position, Some(1));
        assert!(e.message.contains("invalid character class range"), "{e}");
    }

    #[test]
    fn workaround_comments() {
        assert!(validate("rate(x[30s:10s # step\n])").is_ok());
        assert!(validate("sum( # all\n x{a=\"b\", # label\n})").is_ok());
    }

    #[test]
    fn workaround_deep_chains_skip_the_crate() {
        let chain = format!("{}a", "a + ".repeat(1500));
        assert_eq!(validate(&chain).unwrap(), chain);
        let fill = format!("{}a + fill(0) b", "1 + ".repeat(2400));
        assert!(validate(&fill).is_ok());
        assert!(validate(&format!("{chain} +")).is_err());
    }

    #[test]
    fn workaround_lenient_path_only_for_crate_syntax_gaps() {
        // Every syntax the crate lacks is rewritten above, so the lenient path is a fallback:
        // semantic complaints of the crate still reject.
        assert!(
            err("foo[5m] anchored + 1")
                .message
                .contains("scalar and instant vector")
        );
    }
}

#[cfg(test)]
mod selector_tests {
    use super::*;

    #[test]
    fn selectors_list_metric_names_and_label_matchers_in_order() {
        let got = selectors(
            r#"sum by (job) (rate(http_requests_total{code=~"5..", job="api"}[5m])) / on() {__name__="up", env!="dev"}"#,
        );
        assert_eq!(
            got,
            vec![
                Selector {
                    metric: Some("http_requests_total".into()),
                    matchers: vec![
                        ("code".into(), "=~", "5..".into()),
                        ("job".into(), "=", "api".into())
                    ],
                },
                Selector {
                    metric: Some("up".into()),
                    matchers: vec![("env".into(), "!=", "dev".into())],
                },
            ]
        );
        assert_eq!(
            selectors(r#"{__name__=~"x.*"}"#),
            vec![Selector {
                metric: None,
                matchers: vec![]
            }]
        );
        assert!(selectors("sum(").is_empty());
        assert!(selectors("1 + 2").is_empty());
    }
}
