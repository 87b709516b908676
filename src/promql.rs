//! PromQL checks that run before a query is sent to a datasource.
//!
//! [`validate`] rejects an expression only when Prometheus itself would refuse to parse it, and
//! then says what is wrong, where (a byte offset into the caller's string) and how to fix it.
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
//! 2. Syntax: a lexer and a recursive-descent parser written here after Prometheus' own
//!    `promql/parser/lex.go` and `generated_parser.y` (3.x head, plus a few 2.x quirks), so they
//!    know syntax the `promql-parser` crate (=0.11.1) does not yet, and report byte positions.
//! 3. The structural checks Prometheus makes while parsing: where `offset`, `@`, ranges and
//!    `anchored`/`smoothed` may go, duration and number values, a metric name given twice,
//!    selectors that match everything, `info()`'s second argument, label-matcher regexes.
//! 4. Types, functions and operators are left to `promql-parser`: it parses the expression,
//!    rewritten where needed (table below); its complaint is located by re-parsing
//!    sub-expressions. The canonical form returned is the crate's `Display` of the expression
//!    when it parsed the original text unchanged, else the trimmed original.
//!
//! # Workarounds around `promql-parser` 0.11.1
//!
//! Each rewrite only changes the text handed to the crate; our own parser has already checked
//! the construct the way Prometheus does.
//!
//! | Construct | Why | What we do |
//! |---|---|---|
//! | Duration expressions: `foo[5m+1m]`, `[step()]`, `[1h:min_of(range(), 5m)]`, `offset (1h / 2)`, `offset -step()`, signed or parenthesised ranges | Prometheus 3.x syntax; the crate's lexer only knows a single literal inside `[...]` and after `offset` | Parsed and checked here (division/modulo by a literal 0, literal ranges > 0, values in range); the span is replaced by `1s` |
//! | `anchored` / `smoothed` modifiers: `rate(x[5m] anchored)` | Prometheus 3.x extended range selectors; unknown to the crate | Checked here (selectors only, not both, not on subqueries); the keyword is removed |
//! | Durations as `fill()` values: `a + fill(-5m) b` | Prometheus 3.x takes number or duration literals there; the crate only numbers | The duration is replaced by `0` |
//! | `anchored` / `smoothed` as a metric or grouping-label name: `anchored{job="a"}`, `by (smoothed)` | Prometheus lets these keywords be names; the crate's lexer takes them as keywords only | Renamed (`anchored_`) for the crate |
//! | Trim operators `</` and `>/`: `h </ 0.5` | Prometheus 3.x native-histogram operators; unknown to the crate | Replaced by `/` with both operands parenthesised: same operand typing, original grouping kept |
//! | `info(v, {data=~".*"})`: a second argument matching the empty string | Prometheus waives the empty-matcher rule for `info()`'s label selector; the crate does not | Checked here (label matchers only, no metric name); the braces are replaced by `{__name__="target_info"}` |
//! | Raw strings with backslashes: `` {path=`a\dos`} `` | The crate interprets escapes inside backquotes | Replaced by the equivalent double-quoted literal |
//! | Numbers with `_` separators: `1_000`, `0x_1F` | Prometheus 3.x literals; the crate's lexer rejects them | Underscores removed (Go allows them only between digits, so the value is unchanged) |
//! | `holt_winters(...)` | Prometheus 2.x name of `double_exponential_smoothing`; still valid on 2.x servers | Renamed for the crate |
//! | `foo @ start() [5m]`, `@ end()` before a range | Prometheus 2.x accepted it (it only refused a numeric `@` there) | Accepted; the `@` modifier is removed for the crate |
//! | `0xce` at the end of the input | Prometheus 3.x's lexer takes the final `e` for an exponent and refuses it; 2.x read a hex integer (the crate does too) | Lexed as a hex integer |
//! | `foo[5s x 5s]`: one letter between range and step | Prometheus 2.x lexed any letter inside brackets as `:` | Accepted as `[5s:5s]`; the letter is replaced by `:` |
//! | Label regexes that Go's RE2 accepts but the Rust `regex` crate does not (`\Q...\E`, octal escapes, `a{bbb}`) | The crate compiles matchers with the `regex` crate | Checked here with a Go-compatible translation; on the crate's "illegal regex" the values are replaced by regexes with the same empty-string behaviour |
//! | `# comments`, e.g. inside a range: `x[5m:1m # step\n]` | Prometheus skips them wherever a token may start; the crate only in some places | Removed |
//! | Expressions more than 100 levels deep (long operator chains) | The crate recurses on the tree and can overflow the stack (a trap in wasm) | The crate is skipped; our own checks only |
//! | The crate reports a pure syntax error (a lexer error or "invalid promql query") on the rewritten text although our parser accepted it | The crate's grammar lags Prometheus in a way not listed above | Last resort: accepted, since syntax is our parser's call |
//!
//! One limit Prometheus does not have: nesting deeper than 100 levels (parentheses, calls, unary
//! signs, `^` chains, modifiers) is refused, so that recursion stays within a small stack.

use std::fmt;

/// Longest expression [`validate`] accepts, in characters (after trimming surrounding whitespace).
pub const MAX_EXPR_CHARS: usize = 10_000;

/// Longest pattern [`validate_metric_regex`] accepts, in characters.
pub const MAX_METRIC_REGEX_CHARS: usize = 1_000;

/// Deepest nesting our recursive parser and checker follow.
const MAX_NESTING: usize = 100;

/// Deepest tree handed to `promql-parser`, which recurses over it.
const CRATE_MAX_DEPTH: u32 = 100;

/// Sub-expressions re-parsed at most to locate a complaint of `promql-parser`.
const LOCATE_MAX_TRIES: usize = 300;

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
    let mut parser = Parser {
        src: expr,
        toks,
        lex_err,
        i: 0,
        depth: 0,
        ast: Vec::new(),
        edits: Vec::new(),
    };
    let root = parser.parse_top().map_err(|e| e.into_error(expr))?;
    let mut checker = Checker {
        ast: &parser.ast,
        edits: Vec::new(),
        spans: Vec::new(),
        regexes: Vec::new(),
    };
    checker.check(root, false).map_err(|e| e.into_error(expr))?;
    let Checker {
        mut edits,
        spans,
        regexes,
        ..
    } = checker;
    // Types, functions and operators: promql-parser, on the text rewritten per the module table.
    edits.extend(token_edits(expr, &parser.toks));
    edits.append(&mut parser.edits);
    edits.extend(comments.into_iter().map(|c| Edit::new(c, "")));
    if parser.ast[root].depth > CRATE_MAX_DEPTH {
        return Ok(body.to_string());
    }
    let mut text = apply_edits(expr, &edits, 0, expr.len());
    let mut msg = match crate_parse(&text) {
        Ok(canonical) if edits.is_empty() => return Ok(canonical),
        Ok(_) => return Ok(body.to_string()),
        Err(msg) => msg,
    };
    if msg.starts_with("illegal regex") && !regexes.is_empty() {
        for r in &regexes {
            let benign = match (r.positive, r.matches_empty) {
                (true, true) | (false, false) => "\".*\"",
                (true, false) | (false, true) => "\".+\"",
            };
            edits.push(Edit::new(r.value_span, benign));
        }
        text = apply_edits(expr, &edits, 0, expr.len());
        msg = match crate_parse(&text) {
            Ok(_) => return Ok(body.to_string()),
            Err(msg) => msg,
        };
    }
    // Last resort: a syntax complaint of the crate about text our parser accepted.
    if msg == "invalid promql query" || promql_parser::parser::lex::lexer(&text).is_err() {
        return Ok(body.to_string());
    }
    // Locate the complaint: the innermost sub-expression the crate refuses the same way.
    let span = spans
        .iter()
        .take(LOCATE_MAX_TRIES)
        .find(|((s, e), _)| {
            crate_parse(&apply_edits(expr, &edits, *s, *e))
                .err()
                .as_ref()
                == Some(&msg)
        })
        .map(|((_, end), focus)| (*focus, *end))
        .unwrap_or(parser.ast[root].span);
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

/// Returns `value` as a PromQL double-quoted string literal, e.g. for `{__name__=~"..."}`.
///
/// Backslashes, double quotes, newlines, carriage returns and tabs are escaped, other control
/// characters become `\uXXXX`; everything else is kept as is.
pub fn quote_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------
// Errors with positions.

type Span = (usize, usize);

/// An error at a span of the checked string.
#[derive(Debug)]
struct PErr {
    span: Span,
    msg: String,
}

impl PErr {
    fn new(span: Span, msg: impl Into<String>) -> Self {
        PErr {
            span,
            msg: msg.into(),
        }
    }

    fn into_error(self, src: &str) -> PromqlError {
        let pos = floor_boundary(src, self.span.0.min(src.len()));
        let end = floor_boundary(src, self.span.1.clamp(pos, src.len()));
        let before = &src[..pos];
        let char_at = before.chars().count();
        let loc = if src.contains('\n') {
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("char {char_at} (line {line}, column {col})")
        } else {
            format!("char {char_at}")
        };
        let from = before
            .char_indices()
            .rev()
            .nth(29)
            .map(|(i, _)| i)
            .unwrap_or(0);
        let to = if end > pos {
            let limit = src[pos..]
                .char_indices()
                .nth(40)
                .map(|(i, _)| pos + i)
                .unwrap_or(src.len());
            end.min(limit)
        } else {
            src[pos..]
                .chars()
                .next()
                .map(|c| pos + c.len_utf8())
                .unwrap_or(pos)
        };
        let snippet: String = src[from..to]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let snippet = snippet.trim();
        let near = if pos >= src.trim_end_matches(is_space).len() {
            format!("near '{snippet}' (at the end of the input)")
        } else {
            format!("near '{snippet}'")
        };
        PromqlError {
            message: format!(
                "PromQL parse error at {loc}: {}; {near}. {}",
                self.msg,
                hint_for(&self.msg)
            ),
            position: Some(pos),
        }
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How to fix a problem, by the wording of Prometheus' (or the crate's) message.
fn hint_for(msg: &str) -> &'static str {
    const HINTS: &[(&str, &str)] = &[
        (
            "<by>",
            "by/without go right after the aggregation operator or after its parentheses, e.g. sum by (job) (rate(x[5m])) or sum(rate(x[5m])) by (job); functions do not take them.",
        ),
        (
            "<without>",
            "by/without go right after the aggregation operator or after its parentheses, e.g. sum without (pod) (x); functions do not take them.",
        ),
        (
            "in grouping opts, expected \"(\"",
            "Put the label names in parentheses, e.g. by (job).",
        ),
        (
            "in aggregation, expected \"(\"",
            "Give the aggregation its argument in parentheses, e.g. sum by (job) (rate(x[5m])).",
        ),
        (
            "in label matching, expected string",
            "Quote label values, e.g. {job=\"api\"}.",
        ),
        (
            "expected \":\" or \"]\"",
            "Close the range with ']' (x[5m]) or give a subquery step after ':' (x[1h:1m]).",
        ),
        (
            "in offset, expected",
            "offset takes a duration, e.g. x offset 1h.",
        ),
        (
            "in @, expected",
            "@ takes a Unix timestamp in seconds, start() or end(), e.g. x @ 1700000000.",
        ),
        ("unclosed left parenthesis", "Add the missing ')'."),
        ("unclosed left bracket", "Add the missing ']'."),
        (
            "unexpected right parenthesis",
            "Remove the extra ')' or add the matching '('.",
        ),
        (
            "unexpected right bracket",
            "Remove the extra ']' or add the matching '['.",
        ),
        (
            "end of input inside braces",
            "Close the label matchers with '}'.",
        ),
        (
            "unterminated",
            "Close the string with the quote character it was opened with.",
        ),
        (
            "escape sequence",
            "Inside \"...\" and '...' only \\a \\b \\f \\n \\r \\t \\v \\\\, the quote character, \\xHH, \\uHHHH, \\UHHHHHHHH and octal \\OOO escapes exist; write \\\\ for a backslash or use a `raw string`.",
        ),
        (
            "no expression found",
            "Pass a PromQL expression, not only a comment.",
        ),
        (
            "nested more than",
            "Simplify the expression or split it into several queries.",
        ),
        (
            "unknown function",
            "Check the function name (names are case-sensitive): https://prometheus.io/docs/prometheus/latest/querying/functions/.",
        ),
        (
            "expected type range vector",
            "Give this argument a range, e.g. rate(metric[5m]), or make a subquery: (expr)[5m:1m].",
        ),
        (
            "expected type matrix",
            "Give this argument a range, e.g. rate(metric[5m]), or make a subquery: (expr)[5m:1m].",
        ),
        (
            "expected type instant vector",
            "Pass an instant vector here: drop the [range], or reduce a range vector with a function such as rate().",
        ),
        (
            "expected type vector",
            "Pass an instant vector here: drop the [range], or reduce a range vector with a function such as rate().",
        ),
        (
            "expected type scalar",
            "Pass a number here (or wrap a one-element vector in scalar()).",
        ),
        (
            "expected type string",
            "Pass a quoted string here, e.g. \"label_name\".",
        ),
        (
            "argument",
            "Fix the number of arguments; see the function's documentation.",
        ),
        (
            "between scalars must use BOOL",
            "Compare two numbers with the bool modifier, e.g. 1 > bool 0.",
        ),
        (
            "bool modifier can only",
            "Remove `bool`: it only applies to ==, !=, >, <, >= and <=.",
        ),
        (
            "set operator",
            "and/or/unless work only between two instant vectors.",
        ),
        (
            "grouping allowed",
            "and/or/unless do not take group_left/group_right.",
        ),
        (
            "set operations must",
            "and/or/unless do not take group_left/group_right.",
        ),
        (
            "vector matching only allowed",
            "Remove on()/ignoring(): they need instant vectors on both sides.",
        ),
        (
            "ON and GROUP",
            "List a label either in on(...) or in group_left/group_right(...), not in both.",
        ),
        (
            "only scalar and instant vector",
            "Operators work on numbers and instant vectors: reduce a range vector with a function such as rate() first.",
        ),
        (
            "filling in missing series",
            "fill() needs instant vectors on both sides and is not allowed with and/or/unless.",
        ),
        (
            "non-empty matcher",
            "Add a metric name or a matcher that cannot match the empty string, e.g. {job=~\".+\"}.",
        ),
        (
            "set twice",
            "Give the metric name either before the braces or inside them, not both.",
        ),
        (
            "ranges only allowed",
            "To take a range over an expression use a subquery: (expr)[5m:1m].",
        ),
        (
            "no offset modifiers allowed before range",
            "Put offset after the range: metric[5m] offset 1h.",
        ),
        (
            "no @ modifiers allowed before range",
            "Put @ after the range: metric[5m] @ 1700000000.",
        ),
        (
            "must be preceded by",
            "Attach offset/@ directly to a selector or subquery, e.g. rate(metric[5m] offset 1h).",
        ),
        (
            "multiple times",
            "Use at most one offset and one @ per selector.",
        ),
        ("greater than 0", "Use a positive range or step, e.g. [5m]."),
        (
            "out of range",
            "Use a smaller value: durations must stay under about 292 years, numbers within 64-bit floats.",
        ),
        (
            "bad number or duration",
            "Numbers look like 1, 1.5, 1e3, 0x1F or 1_000; durations like 5m or 1h30m (units y, w, d, h, m, s, ms, largest first).",
        ),
        (
            "duration",
            "Durations are integers with units from largest to smallest: y, w, d, h, m, s, ms (e.g. 1h30m); ranges may not be negative.",
        ),
        ("by zero", "Do not divide a duration by a literal 0."),
        (
            "timestamp out of bounds",
            "Use a Unix timestamp in seconds, start() or end().",
        ),
        (
            "parsing number",
            "Use a number within the 64-bit float range.",
        ),
        (
            "unary expression",
            "A leading + or - applies to numbers and instant vectors only.",
        ),
        (
            "subquery is only allowed",
            "A subquery needs an instant-vector expression inside: drop the inner [range] or wrap it in a function such as rate().",
        ),
        (
            "subqueries",
            "anchored/smoothed apply to selectors and range selectors only.",
        ),
        (
            "anchored",
            "anchored/smoothed apply to selectors and range selectors only, one of them at a time.",
        ),
        (
            "smoothed",
            "anchored/smoothed apply to selectors and range selectors only, one of them at a time.",
        ),
        (
            "regular expression",
            "Use RE2 syntax (no look-around, no backreferences) and escape literal metacharacters with \\\\.",
        ),
        (
            "illegal regex",
            "Use RE2 syntax (no look-around, no backreferences) and escape literal metacharacters with \\\\.",
        ),
        (
            "label selectors only",
            "info()'s second argument takes label matchers only, e.g. info(metric, {k8s_cluster_name=~\".+\"}).",
        ),
        ("trailing comma", "Remove the trailing comma."),
        ("invalid label name", "Label names must not be empty."),
        ("expected \"]\"", "Close the range with ']'."),
        (
            "unexpected",
            "Check the syntax at this position: https://prometheus.io/docs/prometheus/latest/querying/basics/.",
        ),
    ];
    HINTS
        .iter()
        .find(|(key, _)| msg.contains(key))
        .map(|(_, hint)| *hint)
        .unwrap_or("See https://prometheus.io/docs/prometheus/latest/querying/basics/.")
}

// ---------------------------------------------------------------------------------------------
// Lexer, after Prometheus' promql/parser/lex.go (expressions only, no series descriptions).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Eof,
    Error,
    /// `# ...` up to the end of the line; dropped before parsing.
    Comment,
    Ident,
    MetricIdent,
    Number,
    Duration,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Eql,
    EqlC,
    Neq,
    EqlRegex,
    NeqRegex,
    Lss,
    Lte,
    Gtr,
    Gte,
    TrimUpper,
    TrimLower,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    At,
    Kw(&'static str),
}

#[derive(Debug, Clone)]
struct Tok {
    t: T,
    start: usize,
    end: usize,
    /// A letter that Prometheus 2.x lexed as `:` inside brackets.
    legacy_colon: bool,
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "atan2",
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
    "offset",
    "smoothed",
    "anchored",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "fill",
    "fill_left",
    "fill_right",
    "bool",
    "start",
    "end",
    "step",
    "range",
    "max_of",
    "min_of",
];

const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

const PARAM_AGGREGATORS: &[&str] = &[
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Keywords that may be called like functions: `start()`, `step()`, `min_of(a, b)`, ...
const PREPROCESSORS: &[&str] = &["start", "end", "step", "range", "max_of", "min_of"];

/// Keywords the grammar accepts as a metric name (`metric_identifier`).
const METRIC_KEYWORDS: &[&str] = &[
    "avg",
    "bottomk",
    "by",
    "count",
    "count_values",
    "fill",
    "fill_left",
    "fill_right",
    "group",
    "and",
    "or",
    "unless",
    "max",
    "min",
    "offset",
    "quantile",
    "stddev",
    "stdvar",
    "sum",
    "topk",
    "without",
    "start",
    "end",
    "limitk",
    "limit_ratio",
    "step",
    "range",
    "anchored",
    "smoothed",
    "max_of",
    "min_of",
];

/// Keywords the grammar accepts as a label name in grouping clauses (`maybe_label`).
const LABEL_KEYWORDS: &[&str] = &[
    "avg",
    "bool",
    "bottomk",
    "by",
    "count",
    "count_values",
    "group",
    "group_left",
    "group_right",
    "fill",
    "fill_left",
    "fill_right",
    "ignoring",
    "and",
    "or",
    "unless",
    "max",
    "min",
    "offset",
    "on",
    "quantile",
    "stddev",
    "stdvar",
    "sum",
    "topk",
    "start",
    "end",
    "atan2",
    "limitk",
    "limit_ratio",
    "step",
    "range",
    "anchored",
    "smoothed",
    "max_of",
    "min_of",
];

const DIGITS: &str = "0123456789";
const HEX_DIGITS: &str = "0123456789abcdefABCDEF";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

#[derive(Clone, Copy)]
enum St {
    Statements,
    Braces,
    Dur,
    Done,
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    start: usize,
    width: usize,
    paren_depth: i32,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    got_duration: bool,
    toks: Vec<Tok>,
}

type LexResult = Result<St, PErr>;

/// Tokens of `s`; the last one is `Eof`, or `Error` with the lexer's complaint.
fn lex(s: &str) -> (Vec<Tok>, Option<PErr>) {
    let mut l = Lexer {
        s,
        pos: 0,
        start: 0,
        width: 0,
        paren_depth: 0,
        brace_open: false,
        bracket_open: false,
        got_colon: false,
        got_duration: false,
        toks: Vec::new(),
    };
    let mut st = St::Statements;
    loop {
        let next = match st {
            St::Statements => l.statements(),
            St::Braces => l.inside_braces(),
            St::Dur => l.duration_expr(),
            St::Done => return (l.toks, None),
        };
        match next {
            Ok(n) => st = n,
            Err(e) => {
                l.toks.push(Tok {
                    t: T::Error,
                    start: e.span.0,
                    end: e.span.1,
                    legacy_colon: false,
                });
                return (l.toks, Some(e));
            }
        }
    }
}

impl Lexer<'_> {
    fn next(&mut self) -> Option<char> {
        match self.s[self.pos..].chars().next() {
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
            None => {
                self.width = 0;
                None
            }
        }
    }

    fn backup(&mut self) {
        self.pos -= self.width;
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn is(&self, valid: &str) -> bool {
        self.peek().is_some_and(|c| valid.contains(c))
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn emit(&mut self, t: T) {
        self.toks.push(Tok {
            t,
            start: self.start,
            end: self.pos,
            legacy_colon: false,
        });
        self.start = self.pos;
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn err(&self, msg: impl Into<String>) -> PErr {
        PErr::new((self.start, self.pos.max(self.start + 1)), msg)
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.next();
        }
        self.ignore();
    }

    fn line_comment(&mut self) {
        while self.peek().is_some_and(|c| c != '\n' && c != '\r') {
            self.next();
        }
        self.emit(T::Comment);
    }

    fn statements(&mut self) -> LexResult {
        if self.brace_open {
            return Ok(St::Braces);
        }
        if self.s[self.pos..].starts_with('#') {
            self.line_comment();
            return Ok(St::Statements);
        }
        let Some(r) = self.next() else {
            if self.paren_depth != 0 {
                return Err(self.err("unclosed left parenthesis"));
            }
            if self.bracket_open {
                return Err(self.err("unclosed left bracket"));
            }
            self.emit(T::Eof);
            return Ok(St::Done);
        };
        match r {
            ',' => self.emit(T::Comma),
            c if is_space(c) => self.skip_spaces(),
            '*' => self.emit(T::Mul),
            '/' => self.emit(T::Div),
            '%' => self.emit(T::Mod),
            '+' => self.emit(T::Add),
            '-' => self.emit(T::Sub),
            '^' => self.emit(T::Pow),
            '=' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(T::EqlC);
                }
                Some('~') => {
                    return Err(self.err("unexpected character after '=': '~'"));
                }
                _ => self.emit(T::Eql),
            },
            '!' => match self.next() {
                Some('=') => self.emit(T::Neq),
                other => {
                    return Err(self.err(format!(
                        "unexpected character after '!': {}",
                        quote_char(other)
                    )));
                }
            },
            '<' | '>' => {
                let (eq, trim, plain) = if r == '<' {
                    (T::Lte, T::TrimUpper, T::Lss)
                } else {
                    (T::Gte, T::TrimLower, T::Gtr)
                };
                if self.accept("=") {
                    self.emit(eq);
                } else if self.accept("/") {
                    self.emit(trim);
                } else {
                    self.emit(plain);
                }
            }
            c if c.is_ascii_digit() || (c == '.' && self.is(DIGITS)) => {
                self.backup();
                return self.number_or_duration();
            }
            '"' | '\'' => return self.string(r),
            '`' => return self.raw_string(),
            c if is_alpha(c) || c == ':' => {
                if !self.bracket_open {
                    self.backup();
                    return self.keyword_or_identifier();
                }
                if c == ':' {
                    if self.got_colon {
                        return Err(self.err("unexpected colon ':'"));
                    }
                    self.emit(T::Colon);
                    self.got_colon = true;
                    return Ok(St::Statements);
                }
                if is_duration_keyword_start(c) && self.scan_duration_keyword() {
                    return Ok(St::Statements);
                }
                // Prometheus 2.x emitted any letter inside brackets as ':' (`foo[5s x 5s]`).
                self.pos = self.start + c.len_utf8();
                let single = !self.peek().is_some_and(is_alnum);
                let toks: Vec<T> = self
                    .toks
                    .iter()
                    .map(|t| t.t)
                    .filter(|t| *t != T::Comment)
                    .collect();
                let after_range = toks.len() >= 2
                    && toks[toks.len() - 1] == T::Duration
                    && toks[toks.len() - 2] == T::LBracket;
                if single && after_range && !self.got_colon {
                    self.emit(T::Colon);
                    if let Some(t) = self.toks.last_mut() {
                        t.legacy_colon = true;
                    }
                    self.got_colon = true;
                    return Ok(St::Statements);
                }
                return Err(self.err(format!(
                    "unexpected character: {}, expected ':'",
                    quote_char(Some(c))
                )));
            }
            '(' => {
                self.emit(T::LParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.emit(T::RParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.toks.pop();
                    return Err(PErr::new(
                        (self.pos - 1, self.pos),
                        "unexpected right parenthesis ')'",
                    ));
                }
            }
            '{' => {
                self.emit(T::LBrace);
                self.brace_open = true;
                return Ok(St::Braces);
            }
            '[' => {
                if self.bracket_open {
                    return Err(self.err("unexpected left bracket '['"));
                }
                self.got_colon = false;
                self.emit(T::LBracket);
                self.skip_spaces();
                self.bracket_open = true;
                return Ok(St::Dur);
            }
            ']' => {
                if !self.bracket_open {
                    return Err(self.err("unexpected right bracket ']'"));
                }
                self.emit(T::RBracket);
                self.bracket_open = false;
            }
            '@' => self.emit(T::At),
            c => {
                return Err(self.err(format!("unexpected character: {}", quote_char(Some(c)))));
            }
        }
        Ok(St::Statements)
    }

    fn inside_braces(&mut self) -> LexResult {
        if self.s[self.pos..].starts_with('#') {
            self.line_comment();
            return Ok(St::Braces);
        }
        let Some(r) = self.next() else {
            return Err(self.err("unexpected end of input inside braces"));
        };
        match r {
            c if is_space(c) => self.skip_spaces(),
            c if is_alpha(c) => {
                while self.peek().is_some_and(is_alnum) {
                    self.next();
                }
                self.emit(T::Ident);
            }
            ',' => self.emit(T::Comma),
            '"' | '\'' => return self.string(r),
            '`' => return self.raw_string(),
            '=' => {
                if self.next() == Some('~') {
                    self.emit(T::EqlRegex);
                } else {
                    self.backup();
                    self.emit(T::Eql);
                }
            }
            '!' => match self.next() {
                Some('~') => self.emit(T::NeqRegex),
                Some('=') => self.emit(T::Neq),
                other => {
                    return Err(self.err(format!(
                        "unexpected character after '!' inside braces: {}",
                        quote_char(other)
                    )));
                }
            },
            '{' => return Err(self.err("unexpected left brace '{'")),
            '}' => {
                self.emit(T::RBrace);
                self.brace_open = false;
                return Ok(St::Statements);
            }
            c => {
                return Err(self.err(format!(
                    "unexpected character inside braces: {}",
                    quote_char(Some(c))
                )));
            }
        }
        Ok(St::Braces)
    }

    fn duration_expr(&mut self) -> LexResult {
        let Some(r) = self.next() else {
            return Err(self.err("unexpected end of input in duration expression"));
        };
        match r {
            ']' => {
                self.emit(T::RBracket);
                self.bracket_open = false;
                self.got_colon = false;
                return Ok(St::Statements);
            }
            ':' => {
                if !self.got_duration {
                    return Err(self.err("unexpected colon before duration in duration expression"));
                }
                if self.got_colon {
                    return Err(self.err("unexpected repeated colon in duration expression"));
                }
                self.emit(T::Colon);
                self.got_colon = true;
            }
            '(' => {
                self.emit(T::LParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.emit(T::RParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.toks.pop();
                    return Err(PErr::new(
                        (self.pos - 1, self.pos),
                        "unexpected right parenthesis ')'",
                    ));
                }
            }
            c if is_space(c) => self.skip_spaces(),
            '+' => self.emit(T::Add),
            '-' => self.emit(T::Sub),
            '*' => self.emit(T::Mul),
            '/' => self.emit(T::Div),
            '%' => self.emit(T::Mod),
            '^' => self.emit(T::Pow),
            ',' => self.emit(T::Comma),
            c if is_duration_keyword_start(c) => {
                if !self.scan_duration_keyword() {
                    return Err(self.err(format!(
                        "unexpected character in duration expression: {}",
                        quote_char(Some(c))
                    )));
                }
            }
            c if c.is_ascii_digit() || (c == '.' && self.is(DIGITS)) => {
                self.backup();
                self.got_duration = true;
                return self.number_or_duration();
            }
            c => {
                return Err(self.err(format!(
                    "unexpected character in duration expression: {}",
                    quote_char(Some(c))
                )));
            }
        }
        Ok(St::Dur)
    }

    fn scan_duration_keyword(&mut self) -> bool {
        while self.peek().is_some_and(is_alpha) {
            self.next();
        }
        let word = self.s[self.start..self.pos].to_ascii_lowercase();
        match ["step", "range", "max_of", "min_of"]
            .into_iter()
            .find(|k| *k == word)
        {
            Some(k) => {
                self.emit(T::Kw(k));
                true
            }
            None => false,
        }
    }

    fn number_or_duration(&mut self) -> LexResult {
        if self.scan_number() {
            self.emit(T::Number);
            return Ok(St::Statements);
        }
        if self.accept_remaining_duration() {
            self.backup();
            self.emit(T::Duration);
            return Ok(St::Statements);
        }
        Err(self.err(format!(
            "bad number or duration syntax: {:?}",
            &self.s[self.start..self.pos]
        )))
    }

    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept(DIGITS) {
            while self.accept(DIGITS) {}
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        !self.next().is_some_and(is_alnum)
    }

    fn scan_number(&mut self) -> bool {
        let initial = self.pos;
        if self.scan_number_head() {
            return true;
        }
        // Prometheus 2.x: `0x` and a run of hex digits. Head takes a final `e` for an exponent
        // and refuses `0xce` at the end of the input.
        let end = self.pos;
        self.pos = initial;
        if self.accept("0") && self.accept("xX") {
            let digits = self.pos;
            self.accept_run(HEX_DIGITS);
            if self.pos > digits && !self.peek().is_some_and(|c| is_alnum(c) || c == '.') {
                return true;
            }
        }
        self.pos = end;
        false
    }

    fn scan_number_head(&mut self) -> bool {
        let initial = self.pos;
        let mut digits = DIGITS;
        if self.accept("0") && self.accept("xX") {
            self.accept("_");
            digits = HEX_DIGITS;
        }
        let hex = digits.len() > 10;
        let all = format!("{digits}._eE");
        self.accept(".");
        self.accept(digits);
        let (mut dot, mut exp) = (false, false);
        while self.is(&all) {
            if self.is(".") && dot {
                self.accept(".");
                return false;
            }
            if self.is("eE") && exp {
                self.accept("eE");
                return false;
            }
            if self.accept(".") {
                dot = true;
                if self.accept("_.") || hex {
                    return false;
                }
                continue;
            }
            if self.accept("eE") {
                exp = true;
                self.accept("+-");
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            if self.accept("_") {
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            self.accept_run(digits);
        }
        if self.pos == initial {
            return false;
        }
        !self.peek().is_some_and(is_alnum)
    }

    fn keyword_or_identifier(&mut self) -> LexResult {
        while self.peek().is_some_and(|c| is_alnum(c) || c == ':') {
            self.next();
        }
        let word = &self.s[self.start..self.pos];
        let lower = word.to_ascii_lowercase();
        if lower == "inf" || lower == "nan" {
            self.emit(T::Number);
        } else if let Some(kw) = KEYWORDS.iter().find(|k| **k == lower) {
            let fill = matches!(*kw, "fill" | "fill_left" | "fill_right");
            if fill
                && !self.s[self.pos..]
                    .trim_start_matches(is_space)
                    .starts_with('(')
            {
                self.emit(T::Ident);
            } else {
                self.emit(T::Kw(kw));
            }
        } else if word.contains(':') {
            self.emit(T::MetricIdent);
        } else {
            self.emit(T::Ident);
        }
        Ok(St::Statements)
    }

    fn string(&mut self, quote: char) -> LexResult {
        loop {
            match self.next() {
                Some('\\') => self.escape(quote)?,
                None | Some('\n') => return Err(self.err("unterminated quoted string")),
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        self.emit(T::Str);
        Ok(St::Statements)
    }

    fn escape(&mut self, quote: char) -> Result<(), PErr> {
        let (mut n, base, max, mut ch) = match self.next() {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => return Ok(()),
            Some(c) if c == quote => return Ok(()),
            Some(c @ '0'..='7') => (3, 8, 255, Some(c)),
            Some('x') => (2, 16, 255, self.next()),
            Some('u') => (4, 16, 0x10FFFF, self.next()),
            Some('U') => (8, 16, 0x10FFFF, self.next()),
            None => return Err(self.err("escape sequence not terminated")),
            Some(c) => {
                return Err(self.err(format!("unknown escape sequence {}", go_rune(c))));
            }
        };
        let mut x: u64 = 0;
        while n > 0 {
            let d = ch.and_then(|c| c.to_digit(16)).unwrap_or(16);
            if d >= base {
                return Err(match ch {
                    None => self.err("escape sequence not terminated"),
                    Some(c) => self.err(format!(
                        "illegal character {} in escape sequence",
                        go_rune(c)
                    )),
                });
            }
            x = x * u64::from(base) + u64::from(d);
            n -= 1;
            if n > 0 {
                ch = self.next();
            }
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Err(self.err("escape sequence is an invalid Unicode code point"));
        }
        Ok(())
    }

    fn raw_string(&mut self) -> LexResult {
        loop {
            match self.next() {
                None => return Err(self.err("unterminated raw string")),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(T::Str);
        Ok(St::Statements)
    }
}

fn is_duration_keyword_start(c: char) -> bool {
    matches!(c.to_ascii_lowercase(), 's' | 'r' | 'm')
}

fn quote_char(c: Option<char>) -> String {
    match c {
        Some(c) => format!("{c:?}"),
        None => "end of input".to_string(),
    }
}

/// Go's `%#U`: `U+0063 'c'`.
fn go_rune(c: char) -> String {
    format!("U+{:04X} {c:?}", c as u32)
}

/// The value of a string token (Go `strconv.Unquote`); escapes were checked by the lexer.
fn unquote(tok: &str) -> String {
    let quote = tok.chars().next().unwrap_or('"');
    let inner = &tok[quote.len_utf8()..tok.len().saturating_sub(1).max(quote.len_utf8())];
    if quote == '`' {
        return inner.to_string();
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else { break };
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' => Some(b'\''),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (count, radix, byte) = match e {
            '0'..='7' => (2, 8, true),
            'x' => (2, 16, true),
            'u' => (4, 16, false),
            'U' => (8, 16, false),
            _ => (0, 16, false),
        };
        let mut v: u32 = if radix == 8 {
            e.to_digit(8).unwrap_or(0)
        } else {
            0
        };
        for _ in 0..count {
            if let Some(d) = chars.peek().and_then(|c| c.to_digit(radix)) {
                v = v * radix + d;
                chars.next();
            }
        }
        if byte {
            out.push((v & 0xFF) as u8);
        } else if let Some(c) = char::from_u32(v) {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A number token's value as Prometheus computes it (`strconv.ParseInt(s, 0, 64)`, then
/// `strconv.ParseFloat(s, 64)`).
fn parse_go_number(s: &str) -> Result<f64, String> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" => return Ok(f64::INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (digits, radix) = if let Some(h) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        (h, 16)
    } else if clean.len() > 1 && clean.starts_with('0') {
        (&clean[1..], 8)
    } else {
        (clean.as_str(), 10)
    };
    if !digits.is_empty()
        && let Ok(v) = i64::from_str_radix(digits, radix)
    {
        return Ok(v as f64);
    }
    if radix == 16 {
        return Err(format!("error parsing number: {s:?} is not a valid number"));
    }
    match clean.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!(
            "error parsing number: {s:?} is out of the 64-bit float range"
        )),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("error parsing number: {s:?} is not a valid number")),
    }
}

/// A duration token's value in seconds (Prometheus' `model.ParseDuration`).
fn parse_go_duration(s: &str) -> Result<f64, String> {
    const NS: u128 = 1_000_000_000;
    const UNITS: [(&str, u128, u8); 7] = [
        ("ms", 1_000_000, 7),
        ("s", NS, 6),
        ("m", 60 * NS, 5),
        ("h", 3_600 * NS, 4),
        ("d", 86_400 * NS, 3),
        ("w", 604_800 * NS, 2),
        ("y", 31_536_000 * NS, 1),
    ];
    if s == "0" {
        return Ok(0.0);
    }
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut last = 0u8;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..n].parse().map_err(|_| invalid())?;
        rest = &rest[n..];
        let u = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if u == 0 {
            return Err(invalid());
        }
        let unit = &rest[..u];
        rest = &rest[u..];
        let Some(&(_, mult, pos)) = UNITS.iter().find(|(name, _, _)| *name == unit) else {
            return Err(format!("unknown unit {unit:?} in duration {s:?}"));
        };
        if pos <= last {
            return Err(invalid());
        }
        last = pos;
        if u128::from(v) > (1u128 << 63) / mult {
            return Err("duration out of range".to_string());
        }
        total += u128::from(v) * mult;
        if total > i64::MAX as u128 {
            return Err("duration out of range".to_string());
        }
    }
    Ok(total as f64 / NS as f64)
}

/// Whether `v` seconds overflow a Go `time.Duration`.
fn duration_out_of_range(v: f64) -> bool {
    // `abs` keeps NaN in range, as Go's comparison does.
    v.abs() > 9_223_372_036.854_775
}

// ---------------------------------------------------------------------------------------------
// Parser, after Prometheus' promql/parser/generated_parser.y.

type NodeId = usize;

#[derive(Debug)]
struct Node {
    span: Span,
    kind: Kind,
    /// Height of the tree below and including this node.
    depth: u32,
    /// Recursion our checker needs (operator chains are walked iteratively).
    nest: u32,
}

#[derive(Debug)]
enum Kind {
    Num,
    Str,
    Sel(Sel),
    Paren(NodeId),
    Unary(NodeId),
    Binary {
        op: T,
        op_span: Span,
        /// A `fill`, `fill_left` or `fill_right` modifier was given.
        fill: bool,
        /// `group_left` / `group_right` without a label list ends the modifiers.
        bare_group: bool,
        lhs: NodeId,
        rhs: NodeId,
    },
    Call {
        name: String,
        name_span: Span,
        args: Vec<NodeId>,
    },
    Agg {
        param: bool,
        args: Vec<NodeId>,
    },
    Range {
        inner: NodeId,
        brackets: Span,
        range: Dur,
    },
    Subquery {
        inner: NodeId,
        range: Dur,
        step: Option<Dur>,
        legacy_colon: Option<Span>,
    },
    Offset {
        inner: NodeId,
        dur: Dur,
    },
    At {
        inner: NodeId,
        /// `None` for `start()` / `end()`.
        ts: Option<f64>,
        modifier: Span,
    },
    Modifier {
        inner: NodeId,
        smoothed: bool,
        kw: Span,
    },
}

impl Kind {
    fn children(&self) -> Vec<NodeId> {
        match self {
            Kind::Num | Kind::Str | Kind::Sel(_) => Vec::new(),
            Kind::Paren(i) | Kind::Unary(i) => vec![*i],
            Kind::Binary { lhs, rhs, .. } => vec![*lhs, *rhs],
            Kind::Call { args, .. } | Kind::Agg { args, .. } => args.clone(),
            Kind::Range { inner, .. }
            | Kind::Subquery { inner, .. }
            | Kind::Offset { inner, .. }
            | Kind::At { inner, .. }
            | Kind::Modifier { inner, .. } => vec![*inner],
        }
    }
}

#[derive(Debug, Default)]
struct Sel {
    /// The metric name was given before the braces.
    named: bool,
    name: String,
    braces: Option<Span>,
    matchers: Vec<Matcher>,
}

#[derive(Debug)]
struct Matcher {
    name: String,
    op: T,
    value: String,
    span: Span,
    value_span: Span,
}

impl Matcher {
    /// Whether the matcher accepts the empty string (`None` if its regex does not compile).
    fn matches_empty(&self) -> Option<bool> {
        match self.op {
            T::Eql => Some(self.value.is_empty()),
            T::Neq => Some(!self.value.is_empty()),
            T::EqlRegex => check_go_regex(&self.value).ok(),
            T::NeqRegex => check_go_regex(&self.value).ok().map(|m| !m),
            _ => None,
        }
    }
}

/// A duration in a range, subquery step or offset.
#[derive(Debug, Clone)]
struct Dur {
    span: Span,
    /// The value when the duration is a literal, possibly signed (not parenthesised).
    lit: Option<f64>,
    /// A single literal token (optionally signed, for offsets): `promql-parser` reads it.
    simple: bool,
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Tok>,
    lex_err: Option<PErr>,
    i: usize,
    depth: usize,
    ast: Vec<Node>,
    /// Rewrites for `promql-parser` found while parsing (keywords used as names, durations as
    /// `fill()` values).
    edits: Vec<Edit>,
}

impl Parser<'_> {
    fn t(&self) -> T {
        self.toks[self.i].t
    }

    fn t_at(&self, k: usize) -> T {
        self.toks[(self.i + k).min(self.toks.len() - 1)].t
    }

    fn is_kw(&self, k: &str) -> bool {
        matches!(self.t(), T::Kw(x) if x == k)
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn text(&self, t: &Tok) -> &str {
        &self.src[t.start..t.end]
    }

    fn desc(&self, t: &Tok) -> String {
        let text = self.text(t);
        match t.t {
            T::Eof => "end of input".to_string(),
            T::Ident => format!("identifier {text:?}"),
            T::MetricIdent => format!("metric identifier {text:?}"),
            T::Number => format!("number {text:?}"),
            T::Duration => format!("duration {text:?}"),
            T::Str => format!("string {text:?}"),
            T::Kw(k) if ["and", "or", "unless", "atan2"].contains(&k) => format!("<op:{text}>"),
            T::Kw(k) if AGGREGATORS.contains(&k) => format!("<aggr:{text}>"),
            T::Kw(k) if PREPROCESSORS.contains(&k) => format!("{text:?}"),
            T::Kw(_) => format!("<{text}>"),
            T::Eql
            | T::LParen
            | T::RParen
            | T::LBrace
            | T::RBrace
            | T::LBracket
            | T::RBracket
            | T::Comma
            | T::Colon
            | T::Error => format!("{text:?}"),
            _ => format!("<op:{text}>"),
        }
    }

    /// "unexpected X in CONTEXT, expected Y" at the current token (or the lexer's error).
    fn unexpected(&mut self, context: &str, expected: &str) -> PErr {
        let tok = self.toks[self.i].clone();
        if tok.t == T::Error
            && let Some(e) = self.lex_err.take()
        {
            return e;
        }
        let mut msg = format!("unexpected {}", self.desc(&tok));
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        PErr::new((tok.start, tok.end), msg)
    }

    fn expect(&mut self, t: T, context: &str, expected: &str) -> Result<Tok, PErr> {
        if self.t() == t {
            Ok(self.bump())
        } else {
            Err(self.unexpected(context, expected))
        }
    }

    fn add(&mut self, span: Span, kind: Kind) -> Result<NodeId, PErr> {
        let (mut depth, mut nest) = (0, 0);
        for c in kind.children() {
            depth = depth.max(self.ast[c].depth);
            nest = nest.max(self.ast[c].nest);
        }
        if let Kind::Binary { lhs, rhs, .. } = &kind {
            nest = self.ast[*lhs].nest.max(self.ast[*rhs].nest + 1);
        } else {
            nest += 1;
        }
        if nest as usize > MAX_NESTING {
            return Err(self.too_deep(span.0));
        }
        self.ast.push(Node {
            span,
            kind,
            depth: depth + 1,
            nest,
        });
        Ok(self.ast.len() - 1)
    }

    fn too_deep(&self, pos: usize) -> PErr {
        PErr::new(
            (pos, pos + 1),
            format!("expression is nested more than {MAX_NESTING} levels deep"),
        )
    }

    fn enter(&mut self) -> Result<(), PErr> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.too_deep(self.toks[self.i].start));
        }
        Ok(())
    }

    fn start_of(&self, id: NodeId) -> usize {
        self.ast[id].span.0
    }

    fn end_of(&self, id: NodeId) -> usize {
        self.ast[id].span.1
    }

    fn parse_top(&mut self) -> Result<NodeId, PErr> {
        if self.t() == T::Eof {
            let at = self.toks[self.i].start;
            return Err(PErr::new((at, at), "no expression found in input"));
        }
        let root = self.parse_expr(0)?;
        if self.t() != T::Eof {
            return Err(self.unexpected("", ""));
        }
        Ok(root)
    }

    fn parse_expr(&mut self, min_prec: u8) -> Result<NodeId, PErr> {
        self.enter()?;
        let mut lhs = self.parse_unary()?;
        loop {
            let (prec, right) = match self.t() {
                T::Kw("or") => (1, false),
                T::Kw("and" | "unless") => (2, false),
                T::EqlC
                | T::Neq
                | T::Lte
                | T::Lss
                | T::Gte
                | T::Gtr
                | T::TrimUpper
                | T::TrimLower => (3, false),
                T::Add | T::Sub => (4, false),
                T::Mul | T::Div | T::Mod | T::Kw("atan2") => (5, false),
                T::Pow => (6, true),
                _ => break,
            };
            if prec < min_prec {
                break;
            }
            let op = self.bump();
            let (fill, bare_group) = self.parse_bin_modifiers()?;
            let rhs = self.parse_expr(if right { prec } else { prec + 1 })?;
            let span = (self.start_of(lhs), self.end_of(rhs));
            lhs = self.add(
                span,
                Kind::Binary {
                    op: op.t,
                    op_span: (op.start, op.end),
                    fill,
                    bare_group,
                    lhs,
                    rhs,
                },
            )?;
        }
        self.depth -= 1;
        Ok(lhs)
    }

    /// `bool`, `on`/`ignoring`, `group_left`/`group_right`, `fill...`; returns whether a fill
    /// modifier was given, and whether the modifiers end with a `group_x` without labels.
    fn parse_bin_modifiers(&mut self) -> Result<(bool, bool), PErr> {
        let mut bare_group = false;
        if self.is_kw("bool") {
            self.bump();
        }
        if self.is_kw("on") || self.is_kw("ignoring") {
            self.bump();
            self.parse_grouping_labels()?;
            if self.is_kw("group_left") || self.is_kw("group_right") {
                self.bump();
                if self.t() == T::LParen {
                    self.parse_grouping_labels()?;
                } else {
                    bare_group = true;
                }
            }
        }
        let fill = self.is_kw("fill") || self.is_kw("fill_left") || self.is_kw("fill_right");
        bare_group &= !fill;
        if self.is_kw("fill") {
            self.bump();
            self.parse_fill_value()?;
        } else if fill {
            let other = if self.is_kw("fill_left") {
                "fill_right"
            } else {
                "fill_left"
            };
            self.bump();
            self.parse_fill_value()?;
            if self.is_kw(other) {
                self.bump();
                self.parse_fill_value()?;
            }
        }
        Ok((fill, bare_group))
    }

    fn parse_fill_value(&mut self) -> Result<(), PErr> {
        self.expect(T::LParen, "fill modifier", "\"(\"")?;
        if matches!(self.t(), T::Add | T::Sub) {
            self.bump();
        }
        let tok = self.toks[self.i].clone();
        match tok.t {
            T::Number => {
                self.bump();
                parse_go_number(self.text(&tok)).map_err(|m| PErr::new((tok.start, tok.end), m))?;
            }
            T::Duration => {
                self.bump();
                parse_go_duration(self.text(&tok))
                    .map_err(|m| PErr::new((tok.start, tok.end), m))?;
                self.edits.push(Edit::new((tok.start, tok.end), "0"));
            }
            _ => return Err(self.unexpected("fill modifier", "number")),
        }
        self.expect(T::RParen, "fill modifier", "\")\"")?;
        Ok(())
    }

    /// `( label, ... )`; returns the end of the closing parenthesis.
    fn parse_grouping_labels(&mut self) -> Result<usize, PErr> {
        self.expect(T::LParen, "grouping opts", "\"(\"")?;
        if self.t() == T::RParen {
            return Ok(self.bump().end);
        }
        loop {
            let tok = self.toks[self.i].clone();
            match tok.t {
                T::Ident | T::MetricIdent => {
                    self.bump();
                }
                T::Kw(k) if LABEL_KEYWORDS.contains(&k) => {
                    self.bump();
                    if matches!(k, "anchored" | "smoothed") {
                        self.edits
                            .push(Edit::new((tok.start, tok.end), format!("{k}_")));
                    }
                }
                T::Str => {
                    self.bump();
                    if unquote(self.text(&tok)).is_empty() {
                        return Err(PErr::new(
                            (tok.start, tok.end),
                            "invalid label name for grouping: \"\"",
                        ));
                    }
                }
                _ => return Err(self.unexpected("grouping opts", "label")),
            }
            match self.t() {
                T::Comma => {
                    self.bump();
                    if self.t() == T::RParen {
                        return Ok(self.bump().end);
                    }
                }
                T::RParen => return Ok(self.bump().end),
                _ => return Err(self.unexpected("grouping opts", "\",\" or \")\"")),
            }
        }
    }

    fn parse_unary(&mut self) -> Result<NodeId, PErr> {
        if matches!(self.t(), T::Add | T::Sub) {
            let op = self.bump();
            let operand = self.parse_expr(6)?;
            if matches!(self.ast[operand].kind, Kind::Num) {
                self.ast[operand].span.0 = op.start;
                return Ok(operand);
            }
            let span = (op.start, self.end_of(operand));
            return self.add(span, Kind::Unary(operand));
        }
        let primary = self.parse_primary()?;
        self.parse_postfix(primary)
    }

    fn parse_primary(&mut self) -> Result<NodeId, PErr> {
        let tok = self.toks[self.i].clone();
        let span = (tok.start, tok.end);
        match tok.t {
            T::Number => {
                self.bump();
                parse_go_number(self.text(&tok)).map_err(|m| PErr::new(span, m))?;
                self.add(span, Kind::Num)
            }
            T::Duration => {
                self.bump();
                parse_go_duration(self.text(&tok)).map_err(|m| PErr::new(span, m))?;
                self.add(span, Kind::Num)
            }
            T::Str => {
                self.bump();
                self.add(span, Kind::Str)
            }
            T::LParen => {
                self.bump();
                let inner = self.parse_expr(0)?;
                let close = self.expect(T::RParen, "parenthesized expression", "\")\"")?;
                self.add((tok.start, close.end), Kind::Paren(inner))
            }
            T::LBrace => self.parse_selector(false),
            T::Kw(k)
                if AGGREGATORS.contains(&k)
                    && matches!(self.t_at(1), T::LParen | T::Kw("by" | "without")) =>
            {
                self.parse_aggregate(PARAM_AGGREGATORS.contains(&k))
            }
            T::Kw(k) if PREPROCESSORS.contains(&k) && self.t_at(1) == T::LParen => {
                self.parse_call()
            }
            T::Ident if self.t_at(1) == T::LParen => self.parse_call(),
            T::Ident | T::MetricIdent => self.parse_selector(true),
            T::Kw(k) if METRIC_KEYWORDS.contains(&k) => self.parse_selector(true),
            _ => Err(self.unexpected("", "")),
        }
    }

    fn parse_call(&mut self) -> Result<NodeId, PErr> {
        let name = self.bump();
        let (args, end) = self.parse_call_args("function call")?;
        let name_text = self.text(&name).to_string();
        self.add(
            (name.start, end),
            Kind::Call {
                name: name_text,
                name_span: (name.start, name.end),
                args,
            },
        )
    }

    /// `( expr, ... )`; returns the arguments and the end of the closing parenthesis.
    fn parse_call_args(&mut self, context: &str) -> Result<(Vec<NodeId>, usize), PErr> {
        self.expect(T::LParen, context, "\"(\"")?;
        let mut args = Vec::new();
        if self.t() == T::RParen {
            return Ok((args, self.bump().end));
        }
        loop {
            args.push(self.parse_expr(0)?);
            match self.t() {
                T::Comma => {
                    let comma = self.bump();
                    if self.t() == T::RParen {
                        return Err(PErr::new(
                            (comma.start, comma.end),
                            "trailing commas not allowed in function call args",
                        ));
                    }
                }
                T::RParen => return Ok((args, self.bump().end)),
                _ => return Err(self.unexpected(context, "\",\" or \")\"")),
            }
        }
    }

    fn parse_aggregate(&mut self, param: bool) -> Result<NodeId, PErr> {
        let op = self.bump();
        let mut grouped = false;
        if self.is_kw("by") || self.is_kw("without") {
            self.bump();
            self.parse_grouping_labels()?;
            grouped = true;
        }
        let (args, mut end) = self.parse_call_args("aggregation")?;
        if !grouped && (self.is_kw("by") || self.is_kw("without")) {
            self.bump();
            end = self.parse_grouping_labels()?;
        }
        self.add((op.start, end), Kind::Agg { param, args })
    }

    fn parse_selector(&mut self, named: bool) -> Result<NodeId, PErr> {
        let first = self.toks[self.i].clone();
        let mut sel = Sel::default();
        let mut end = first.end;
        if named {
            self.bump();
            if let T::Kw(k @ ("anchored" | "smoothed")) = first.t {
                self.edits
                    .push(Edit::new((first.start, first.end), format!("{k}_")));
            }
            sel.named = true;
            sel.name = self.text(&first).to_string();
        }
        if self.t() == T::LBrace {
            let open = self.bump();
            let close = loop {
                if self.t() == T::RBrace {
                    break self.bump();
                }
                let tok = self.toks[self.i].clone();
                let matcher = match tok.t {
                    T::Ident | T::Str => {
                        self.bump();
                        let is_op = matches!(self.t(), T::Eql | T::Neq | T::EqlRegex | T::NeqRegex);
                        let name = if tok.t == T::Str {
                            unquote(self.text(&tok))
                        } else {
                            self.text(&tok).to_string()
                        };
                        if tok.t == T::Str && !is_op {
                            Matcher {
                                name: "__name__".to_string(),
                                op: T::Eql,
                                value: name,
                                span: (tok.start, tok.end),
                                value_span: (tok.start, tok.end),
                            }
                        } else {
                            if !is_op {
                                return Err(
                                    self.unexpected("label matching", "label matching operator")
                                );
                            }
                            let op = self.bump();
                            let value = self.expect(T::Str, "label matching", "string")?;
                            Matcher {
                                name,
                                op: op.t,
                                value: unquote(self.text(&value)),
                                span: (tok.start, value.end),
                                value_span: (value.start, value.end),
                            }
                        }
                    }
                    _ => return Err(self.unexpected("label matching", "identifier or \"}\"")),
                };
                sel.matchers.push(matcher);
                match self.t() {
                    T::Comma => {
                        self.bump();
                    }
                    T::RBrace => {}
                    _ => return Err(self.unexpected("label matching", "\",\" or \"}\"")),
                }
            };
            end = close.end;
            sel.braces = Some((open.start, close.end));
        }
        self.add((first.start, end), Kind::Sel(sel))
    }

    fn parse_postfix(&mut self, mut e: NodeId) -> Result<NodeId, PErr> {
        loop {
            let start = self.start_of(e);
            match self.t() {
                T::LBracket => e = self.parse_range_or_subquery(e)?,
                T::Kw("offset") => {
                    self.bump();
                    let dur = self.parse_offset_duration()?;
                    e = self.add((start, dur.span.1), Kind::Offset { inner: e, dur })?;
                }
                T::At => {
                    let at = self.bump();
                    let (ts, end) = match self.t() {
                        T::Kw("start" | "end") => {
                            self.bump();
                            self.expect(T::LParen, "@", "\"(\"")?;
                            (None, self.expect(T::RParen, "@", "\")\"")?.end)
                        }
                        T::Add | T::Sub | T::Number | T::Duration => {
                            let sign = if matches!(self.t(), T::Add | T::Sub) {
                                Some(self.bump().t)
                            } else {
                                None
                            };
                            let tok = self.toks[self.i].clone();
                            let span = (tok.start, tok.end);
                            let v = match tok.t {
                                T::Number => parse_go_number(self.text(&tok)),
                                T::Duration => parse_go_duration(self.text(&tok)),
                                _ => return Err(self.unexpected("@", "timestamp")),
                            }
                            .map_err(|m| PErr::new(span, m))?;
                            self.bump();
                            (Some(if sign == Some(T::Sub) { -v } else { v }), tok.end)
                        }
                        _ => return Err(self.unexpected("@", "timestamp")),
                    };
                    e = self.add(
                        (start, end),
                        Kind::At {
                            inner: e,
                            ts,
                            modifier: (at.start, end),
                        },
                    )?;
                }
                T::Kw(k @ ("anchored" | "smoothed")) => {
                    let kw = self.bump();
                    e = self.add(
                        (start, kw.end),
                        Kind::Modifier {
                            inner: e,
                            smoothed: k == "smoothed",
                            kw: (kw.start, kw.end),
                        },
                    )?;
                }
                _ => return Ok(e),
            }
        }
    }

    fn starts_duration(&self) -> bool {
        matches!(
            self.t(),
            T::Number
                | T::Duration
                | T::Add
                | T::Sub
                | T::LParen
                | T::Kw("step" | "range" | "max_of" | "min_of")
        )
    }

    fn parse_range_or_subquery(&mut self, inner: NodeId) -> Result<NodeId, PErr> {
        let open = self.bump();
        if !self.starts_duration() {
            return Err(self.unexpected(
                "subquery or range selector",
                "number, duration, step(), or range()",
            ));
        }
        let range = self.parse_positive_duration()?;
        match self.t() {
            T::RBracket => {
                let close = self.bump();
                let span = (self.start_of(inner), close.end);
                self.add(
                    span,
                    Kind::Range {
                        inner,
                        brackets: (open.start, close.end),
                        range,
                    },
                )
            }
            T::Colon => {
                let colon = self.bump();
                let legacy_colon = colon.legacy_colon.then_some((colon.start, colon.end));
                let step = if self.t() == T::RBracket {
                    None
                } else if self.starts_duration() {
                    Some(self.parse_positive_duration()?)
                } else {
                    return Err(self.unexpected(
                        "subquery selector",
                        "number, duration, step(), range(), or \"]\"",
                    ));
                };
                let close = self.expect(T::RBracket, "subquery selector", "\"]\"")?;
                let span = (self.start_of(inner), close.end);
                self.add(
                    span,
                    Kind::Subquery {
                        inner,
                        range,
                        step,
                        legacy_colon,
                    },
                )
            }
            _ => Err(self.unexpected("subquery or range", "\":\" or \"]\"")),
        }
    }

    fn parse_positive_duration(&mut self) -> Result<Dur, PErr> {
        let start_i = self.i;
        let mut d = self.parse_dur_expr(0)?;
        // promql-parser reads one duration or number token here, but not `.5`.
        d.simple = self.i == start_i + 1 && !self.src[d.span.0..].starts_with('.');
        if let Some(v) = d.lit
            && v <= 0.0
        {
            return Err(PErr::new(d.span, "duration must be greater than 0"));
        }
        Ok(d)
    }

    fn parse_dur_expr(&mut self, min_prec: u8) -> Result<Dur, PErr> {
        self.enter()?;
        let mut lhs = self.parse_dur_unary()?;
        loop {
            let (prec, right) = match self.t() {
                T::Add | T::Sub => (4, false),
                T::Mul | T::Div | T::Mod => (5, false),
                T::Pow => (6, true),
                _ => break,
            };
            if prec < min_prec {
                break;
            }
            let op = self.bump();
            let rhs = self.parse_dur_expr(if right { prec } else { prec + 1 })?;
            if rhs.lit == Some(0.0) && matches!(op.t, T::Div | T::Mod) {
                let what = if op.t == T::Div {
                    "division by zero"
                } else {
                    "modulo by zero"
                };
                return Err(PErr::new((op.start, op.end), what));
            }
            lhs = Dur {
                span: (lhs.span.0, rhs.span.1),
                lit: None,
                simple: false,
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn parse_dur_unary(&mut self) -> Result<Dur, PErr> {
        if matches!(self.t(), T::Add | T::Sub) {
            let op = self.bump();
            let inner = self.parse_dur_expr(6)?;
            return signed_duration(&op, inner);
        }
        self.parse_dur_primary()
    }

    fn parse_dur_primary(&mut self) -> Result<Dur, PErr> {
        let tok = self.toks[self.i].clone();
        let span = (tok.start, tok.end);
        let lit = |v: f64| Dur {
            span,
            lit: Some(v),
            simple: false,
        };
        match tok.t {
            T::Number => {
                self.bump();
                let v = parse_go_number(self.text(&tok)).map_err(|m| PErr::new(span, m))?;
                if duration_out_of_range(v) {
                    return Err(PErr::new(span, "duration out of range"));
                }
                Ok(lit(v))
            }
            T::Duration => {
                self.bump();
                let v = parse_go_duration(self.text(&tok)).map_err(|m| PErr::new(span, m))?;
                Ok(lit(v))
            }
            T::Kw(k @ ("step" | "range" | "max_of" | "min_of")) => {
                self.bump();
                self.expect(T::LParen, "duration expression", "\"(\"")?;
                if k == "max_of" || k == "min_of" {
                    self.parse_dur_expr(0)?;
                    self.expect(T::Comma, "duration expression", "\",\"")?;
                    self.parse_dur_expr(0)?;
                }
                let close = self.expect(T::RParen, "duration expression", "\")\"")?;
                Ok(Dur {
                    span: (tok.start, close.end),
                    lit: None,
                    simple: false,
                })
            }
            T::LParen => {
                self.bump();
                self.parse_dur_expr(0)?;
                let close = self.expect(T::RParen, "duration expression", "\")\"")?;
                Ok(Dur {
                    span: (tok.start, close.end),
                    lit: None,
                    simple: false,
                })
            }
            _ => Err(self.unexpected(
                "duration expression",
                "number, duration, step(), range(), max_of(), min_of() or \"(\"",
            )),
        }
    }

    /// The duration after `offset`: one literal, call or parenthesised expression, optionally
    /// signed; a following operator belongs to the enclosing expression (`foo offset 5s - 8`).
    fn parse_offset_duration(&mut self) -> Result<Dur, PErr> {
        self.enter()?;
        let start_i = self.i;
        let mut d = match self.t() {
            T::Add | T::Sub => {
                let op = self.bump();
                let inner = if matches!(self.t(), T::Add | T::Sub) {
                    self.parse_offset_duration()?
                } else if self.starts_duration() {
                    self.parse_dur_primary()?
                } else {
                    return Err(self.unexpected("offset", "number, duration, step(), or range()"));
                };
                signed_duration(&op, inner)?
            }
            _ if self.starts_duration() => self.parse_dur_primary()?,
            _ => return Err(self.unexpected("offset", "number, duration, step(), or range()")),
        };
        // NaN is a valid offset for Prometheus but makes promql-parser panic: never hand it over.
        d.simple = d.lit.is_some_and(f64::is_finite) && self.i - start_i <= 2;
        self.depth -= 1;
        Ok(d)
    }
}

/// `+d` or `-d`: a literal stays a literal (Prometheus folds the sign into it).
fn signed_duration(op: &Tok, inner: Dur) -> Result<Dur, PErr> {
    let lit = inner.lit.map(|v| if op.t == T::Sub { -v } else { v });
    if lit.is_some_and(duration_out_of_range) {
        return Err(PErr::new((op.start, op.end), "duration out of range"));
    }
    Ok(Dur {
        span: (op.start, inner.span.1),
        lit,
        simple: false,
    })
}

// ---------------------------------------------------------------------------------------------
// Structural checks Prometheus makes while parsing, and the rewrites for promql-parser.

#[derive(Debug, Clone, Copy, Default)]
struct Mods {
    offset: bool,
    at: bool,
    /// The span of an `@ start()` / `@ end()` modifier.
    at_preproc: Option<Span>,
    anchored: bool,
    smoothed: bool,
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    Vector(Mods),
    Matrix(Mods),
    Subquery(Mods),
    Other,
}

/// A replacement of `src[start..end]` in the text given to `promql-parser`.
#[derive(Debug, Clone)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

impl Edit {
    fn new(span: Span, text: impl Into<String>) -> Self {
        Edit {
            start: span.0,
            end: span.1,
            text: text.into(),
        }
    }
}

struct RegexUse {
    value_span: Span,
    positive: bool,
    matches_empty: bool,
}

struct Checker<'a> {
    ast: &'a [Node],
    edits: Vec<Edit>,
    /// Spans of the nodes, children before parents, with the position to report for each
    /// (a binary expression's operator, else the start).
    spans: Vec<(Span, usize)>,
    regexes: Vec<RegexUse>,
}

const MODIFIER_TARGET: &str =
    "must be preceded by an instant vector selector or range vector selector or a subquery";

impl Checker<'_> {
    fn check(&mut self, id: NodeId, info_labels: bool) -> Result<Shape, PErr> {
        let ast = self.ast;
        let node = &ast[id];
        let shape = match &node.kind {
            Kind::Num | Kind::Str => Shape::Other,
            Kind::Sel(sel) => {
                self.check_selector(node.span, sel, info_labels)?;
                Shape::Vector(Mods::default())
            }
            Kind::Paren(inner) | Kind::Unary(inner) => {
                self.check(*inner, false)?;
                Shape::Other
            }
            Kind::Binary { .. } => return self.check_binary(id),
            Kind::Call {
                name,
                name_span,
                args,
            } => {
                if name == "holt_winters" {
                    self.edits
                        .push(Edit::new(*name_span, "double_exponential_smoothing"));
                }
                let info = name == "info" && args.len() >= 2;
                if info {
                    match base_selector(ast, args[1]) {
                        Some(sel) if !sel.named => {}
                        Some(_) => {
                            return Err(PErr::new(
                                ast[args[1]].span,
                                "expected label selectors only, got vector selector instead",
                            ));
                        }
                        None => {
                            return Err(PErr::new(
                                ast[args[1]].span,
                                "expected label selectors only",
                            ));
                        }
                    }
                }
                for (i, arg) in args.iter().enumerate() {
                    self.check(*arg, info && i == 1)?;
                }
                Shape::Other
            }
            Kind::Agg { param, args } => {
                if args.is_empty() {
                    return Err(PErr::new(
                        node.span,
                        "no arguments for aggregate expression provided",
                    ));
                }
                let want = if *param { 2 } else { 1 };
                if args.len() != want {
                    return Err(PErr::new(
                        node.span,
                        format!(
                            "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                            args.len()
                        ),
                    ));
                }
                for arg in args {
                    self.check(*arg, false)?;
                }
                Shape::Other
            }
            Kind::Range {
                inner,
                brackets,
                range,
            } => {
                let Shape::Vector(m) = self.check(*inner, false)? else {
                    return Err(PErr::new(
                        *brackets,
                        "ranges only allowed for vector selectors",
                    ));
                };
                if m.offset {
                    return Err(PErr::new(
                        *brackets,
                        "no offset modifiers allowed before range",
                    ));
                }
                if m.at {
                    // Prometheus 2.x only refused a numeric @ before a range.
                    let Some(at) = m.at_preproc else {
                        return Err(PErr::new(*brackets, "no @ modifiers allowed before range"));
                    };
                    self.edits.push(Edit::new(at, ""));
                }
                self.duration_edit(range, "1s");
                Shape::Matrix(m)
            }
            Kind::Subquery {
                inner,
                range,
                step,
                legacy_colon,
            } => {
                self.check(*inner, false)?;
                self.duration_edit(range, "1s");
                if let Some(step) = step {
                    self.duration_edit(step, "1s");
                }
                if let Some(colon) = legacy_colon {
                    self.edits.push(Edit::new(*colon, ":"));
                }
                Shape::Subquery(Mods::default())
            }
            Kind::Offset { inner, dur } => {
                let shape = self.check(*inner, false)?;
                let Some(mut m) = mods(shape) else {
                    return Err(PErr::new(
                        ast[*inner].span,
                        format!("offset modifier {MODIFIER_TARGET}"),
                    ));
                };
                if m.offset {
                    return Err(PErr::new(node.span, "offset may not be set multiple times"));
                }
                m.offset = true;
                self.duration_edit(dur, " 1s ");
                with_mods(shape, m)
            }
            Kind::At {
                inner,
                ts,
                modifier,
            } => {
                let shape = self.check(*inner, false)?;
                if let Some(ts) = ts
                    && (!ts.is_finite()
                        || *ts >= 9_223_372_036_854_775_807.0
                        || *ts <= -9_223_372_036_854_775_808.0)
                {
                    return Err(PErr::new(
                        *modifier,
                        format!("timestamp out of bounds for @ modifier: {ts:.6}"),
                    ));
                }
                let Some(mut m) = mods(shape) else {
                    return Err(PErr::new(
                        ast[*inner].span,
                        format!("@ modifier {MODIFIER_TARGET}"),
                    ));
                };
                if m.at {
                    return Err(PErr::new(
                        node.span,
                        "@ <timestamp> may not be set multiple times",
                    ));
                }
                m.at = true;
                m.at_preproc = ts.is_none().then_some(*modifier);
                with_mods(shape, m)
            }
            Kind::Modifier {
                inner,
                smoothed,
                kw,
            } => {
                let word = if *smoothed { "smoothed" } else { "anchored" };
                let shape = self.check(*inner, false)?;
                let m = match shape {
                    Shape::Vector(m) | Shape::Matrix(m) => m,
                    Shape::Subquery(_) => {
                        return Err(PErr::new(
                            node.span,
                            format!("{word} modifier is not supported for subqueries"),
                        ));
                    }
                    Shape::Other => {
                        return Err(PErr::new(
                            node.span,
                            format!("{word} modifier not implemented"),
                        ));
                    }
                };
                if (*smoothed && m.anchored) || (!*smoothed && m.smoothed) {
                    return Err(PErr::new(
                        node.span,
                        "anchored and smoothed modifiers cannot be used together",
                    ));
                }
                let m = Mods {
                    anchored: m.anchored || !*smoothed,
                    smoothed: m.smoothed || *smoothed,
                    ..m
                };
                self.edits.push(Edit::new(*kw, ""));
                with_mods(shape, m)
            }
        };
        self.spans.push((node.span, node.span.0));
        Ok(shape)
    }

    /// Operator chains are walked along their left spine without recursion.
    fn check_binary(&mut self, id: NodeId) -> Result<Shape, PErr> {
        let ast = self.ast;
        let mut spine = vec![id];
        let mut leftmost = id;
        while let Kind::Binary { lhs, .. } = &ast[leftmost].kind {
            if leftmost != id {
                spine.push(leftmost);
            }
            leftmost = *lhs;
        }
        self.check(leftmost, false)?;
        for &b in spine.iter().rev() {
            let Kind::Binary {
                op,
                op_span,
                fill,
                bare_group,
                lhs,
                rhs,
            } = &ast[b].kind
            else {
                continue;
            };
            self.check(*rhs, false)?;
            // promql-parser does not check fill modifiers.
            if *fill && (!maybe_vector(ast, *lhs) || !maybe_vector(ast, *rhs)) {
                return Err(PErr::new(
                    *op_span,
                    "filling in missing series only allowed between instant vectors",
                ));
            }
            if *fill && matches!(op, T::Kw("and" | "or" | "unless")) {
                return Err(PErr::new(
                    *op_span,
                    "filling in missing series not allowed for set operators",
                ));
            }
            if matches!(op, T::TrimUpper | T::TrimLower) {
                let (l, r) = (ast[*lhs].span, ast[*rhs].span);
                self.edits.push(Edit::new((l.0, l.0), "("));
                self.edits.push(Edit::new((l.1, l.1), ")"));
                self.edits.push(Edit::new(*op_span, "/"));
                // After a bare `group_left`, `(` would be read as its label list.
                let open = if *bare_group { "() (" } else { "(" };
                self.edits.push(Edit::new((r.0, r.0), open));
                self.edits.push(Edit::new((r.1, r.1), ")"));
            }
            self.spans.push((ast[b].span, op_span.0));
        }
        Ok(Shape::Other)
    }

    fn check_selector(&mut self, span: Span, sel: &Sel, info_labels: bool) -> Result<(), PErr> {
        if sel.named
            && let Some(m) = sel.matchers.iter().find(|m| m.name == "__name__")
        {
            return Err(PErr::new(
                span,
                format!(
                    "metric name must not be set twice: {:?} or {:?}",
                    sel.name, m.value
                ),
            ));
        }
        let mut all_empty = true;
        for m in &sel.matchers {
            if matches!(m.op, T::EqlRegex | T::NeqRegex) {
                if let Err(e) = check_go_regex(&m.value) {
                    let at = e
                        .pos
                        .map(|p| format!(" at char {}", m.value[..p].chars().count()))
                        .unwrap_or_default();
                    return Err(PErr::new(
                        m.span,
                        format!(
                            "invalid regular expression {:?} in label matcher{at}: {}",
                            m.value, e.msg
                        ),
                    ));
                }
                self.regexes.push(RegexUse {
                    value_span: m.value_span,
                    positive: m.op == T::EqlRegex,
                    matches_empty: m.matches_empty().unwrap_or(false),
                });
            }
            all_empty &= m.matches_empty().unwrap_or(false);
        }
        if !sel.named && all_empty {
            if !info_labels {
                return Err(PErr::new(
                    span,
                    "vector selector must contain at least one non-empty matcher",
                ));
            }
            if let Some(braces) = sel.braces {
                self.edits
                    .push(Edit::new(braces, "{__name__=\"target_info\"}"));
            }
        }
        Ok(())
    }

    /// Ranges, steps and offsets that are not one literal token are replaced by `1s` (spaced
    /// after `offset`, which may touch the duration: `offset(5m)and x`).
    fn duration_edit(&mut self, d: &Dur, text: &str) {
        if !d.simple {
            self.edits.push(Edit::new(d.span, text));
        }
    }
}

/// False when `id` is certainly not an instant vector (a number, string or scalar expression).
/// Iterative: operator chains can be thousands of nodes deep.
fn maybe_vector(ast: &[Node], id: NodeId) -> bool {
    let mut todo = vec![id];
    while let Some(i) = todo.pop() {
        match &ast[i].kind {
            Kind::Num | Kind::Str => {}
            Kind::Paren(inner) | Kind::Unary(inner) => todo.push(*inner),
            Kind::Binary { lhs, rhs, .. } => todo.extend([*lhs, *rhs]),
            Kind::Call { name, .. }
                if matches!(
                    name.as_str(),
                    "pi" | "scalar"
                        | "time"
                        | "start"
                        | "end"
                        | "step"
                        | "range"
                        | "max_of"
                        | "min_of"
                ) => {}
            _ => return true,
        }
    }
    false
}

fn mods(shape: Shape) -> Option<Mods> {
    match shape {
        Shape::Vector(m) | Shape::Matrix(m) | Shape::Subquery(m) => Some(m),
        Shape::Other => None,
    }
}

fn with_mods(shape: Shape, m: Mods) -> Shape {
    match shape {
        Shape::Vector(_) => Shape::Vector(m),
        Shape::Matrix(_) => Shape::Matrix(m),
        Shape::Subquery(_) => Shape::Subquery(m),
        Shape::Other => Shape::Other,
    }
}

/// The selector under `offset`/`@`/`anchored`/`smoothed` modifiers, if `id` is one.
fn base_selector(ast: &[Node], mut id: NodeId) -> Option<&Sel> {
    loop {
        match &ast[id].kind {
            Kind::Sel(sel) => return Some(sel),
            Kind::Offset { inner, .. } | Kind::At { inner, .. } | Kind::Modifier { inner, .. } => {
                id = *inner;
            }
            _ => return None,
        }
    }
}

/// Token rewrites for `promql-parser`: raw strings with backslashes, numbers with underscores.
fn token_edits(src: &str, toks: &[Tok]) -> Vec<Edit> {
    let mut edits = Vec::new();
    for t in toks {
        let text = &src[t.start..t.end];
        match t.t {
            T::Str if text.starts_with('`') && text.contains('\\') => {
                edits.push(Edit::new(
                    (t.start, t.end),
                    quote_label_value(&unquote(text)),
                ));
            }
            T::Number if text.contains('_') => {
                edits.push(Edit::new((t.start, t.end), text.replace('_', "")));
            }
            _ => {}
        }
    }
    edits
}

/// `src[from..to]` with the edits inside that range applied (outer edits win over inner ones).
fn apply_edits(src: &str, edits: &[Edit], from: usize, to: usize) -> String {
    let mut inside: Vec<&Edit> = edits
        .iter()
        .filter(|e| e.start >= from && e.end <= to)
        .collect();
    inside.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then_with(|| (a.end > a.start).cmp(&(b.end > b.start)))
            .then_with(|| b.end.cmp(&a.end))
    });
    let mut out = String::with_capacity(to - from + 16);
    let mut cursor = from;
    for e in inside {
        if e.start < cursor {
            continue;
        }
        out.push_str(&src[cursor..e.start]);
        out.push_str(&e.text);
        cursor = e.end;
    }
    out.push_str(&src[cursor..to]);
    out
}

fn crate_parse(text: &str) -> Result<String, String> {
    promql_parser::parser::parse(text).map(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Regexes as Go's regexp (RE2) reads them, checked with the `regex` crate.

#[derive(Debug)]
struct RegexErr {
    /// Byte offset in the pattern, when known.
    pos: Option<usize>,
    msg: String,
}

/// Compiles `pattern` as Prometheus does (`^(?s:pattern)$`, Go syntax); returns whether it
/// matches the empty string.
fn check_go_regex(pattern: &str) -> Result<bool, RegexErr> {
    const PREFIX: &str = "^(?s:";
    let (translated, map) = translate_go_regex(pattern)?;
    let full = format!("{PREFIX}{translated})$");
    match regex::Regex::new(&full) {
        Ok(re) => Ok(re.is_match("")),
        Err(regex::Error::Syntax(text)) => {
            let caret = text.lines().find_map(|line| {
                let body = line.strip_prefix("    ")?;
                let col = body.find('^')?;
                body.trim().chars().all(|c| c == '^').then_some(col)
            });
            let pos = caret
                .and_then(|c| c.checked_sub(PREFIX.len()))
                .and_then(|c| map.get(c).copied());
            let msg = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("invalid regular expression")
                .to_string();
            Err(RegexErr { pos, msg })
        }
        Err(e) => Err(RegexErr {
            pos: None,
            msg: e.to_string(),
        }),
    }
}

/// Rewrites Go-only regex syntax for the `regex` crate, and refuses what Go refuses but the
/// crate would accept. Returns the pattern and, per output character, the input byte offset.
fn translate_go_regex(p: &str) -> Result<(String, Vec<usize>), RegexErr> {
    let chars: Vec<(usize, char)> = p.char_indices().collect();
    let n = chars.len();
    let mut out = String::with_capacity(p.len() + 8);
    let mut map = Vec::with_capacity(p.len() + 8);
    let mut push = |s: &str, at: usize| {
        for c in s.chars() {
            out.push(c);
            map.push(at);
        }
    };
    let err = |at: usize, msg: String| RegexErr { pos: Some(at), msg };
    let ch = |k: usize| chars.get(k).map(|x| x.1);
    let mut i = 0;
    let mut in_class = false;
    // Whether the last item was a repetition operator (Go refuses `a**`, `a{2}*`, `a*??`).
    let mut after_repeat = false;
    while i < n {
        let (at, c) = chars[i];
        if c == '\\' {
            let Some(e) = ch(i + 1) else {
                return Err(err(at, "trailing backslash at end of expression".into()));
            };
            if e == 'Q' && !in_class {
                let mut j = i + 2;
                let mut lit = String::new();
                while j < n && !(chars[j].1 == '\\' && ch(j + 1) == Some('E')) {
                    lit.push(chars[j].1);
                    j += 1;
                }
                push(&regex::escape(&lit), at);
                i = if j < n { j + 2 } else { j };
                after_repeat = false;
                continue;
            }
            let octal = |k: usize| ch(k).is_some_and(|c| ('0'..='7').contains(&c));
            if e == '0' || (('1'..='7').contains(&e) && octal(i + 2)) {
                let mut v = 0u32;
                let mut j = i + 1;
                while j < i + 4 && octal(j) {
                    v = v * 8 + ch(j).and_then(|c| c.to_digit(8)).unwrap_or(0);
                    j += 1;
                }
                push(&format!("\\x{{{v:X}}}"), at);
                i = j;
                after_repeat = false;
                continue;
            }
            push(&format!("\\{e}"), at);
            i += 2;
            after_repeat = false;
            continue;
        }
        if in_class {
            match c {
                '[' if ch(i + 1) == Some(':') => {
                    let mut j = i;
                    while j < n && !(chars[j].1 == ':' && ch(j + 1) == Some(']')) {
                        j += 1;
                    }
                    if j < n {
                        let end = chars.get(j + 2).map(|x| x.0).unwrap_or(p.len());
                        push(&p[at..end], at);
                        i = j + 2;
                        continue;
                    }
                    push("\\[", at);
                }
                '[' => push("\\[", at),
                ']' => {
                    in_class = false;
                    push("]", at);
                }
                '&' | '~' if ch(i + 1) == Some(c) => {
                    push(&format!("{c}\\{c}"), at);
                    i += 2;
                    continue;
                }
                _ => push(&c.to_string(), at),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                push("[", at);
                i += 1;
                if ch(i) == Some('^') {
                    push("^", chars[i].0);
                    i += 1;
                }
                if ch(i) == Some(']') {
                    push("\\]", chars[i].0);
                    i += 1;
                }
                after_repeat = false;
                continue;
            }
            '*' | '+' | '?' => {
                if after_repeat {
                    return Err(err(
                        at,
                        format!("invalid nested repetition operator: `{c}`"),
                    ));
                }
                push(&c.to_string(), at);
                i += 1;
                if ch(i) == Some('?') {
                    push("?", chars[i].0);
                    i += 1;
                }
                after_repeat = true;
                continue;
            }
            '{' => {
                if let Some((len, min, max)) = go_repeat(&chars[i..]) {
                    if after_repeat {
                        return Err(err(at, "invalid nested repetition operator".into()));
                    }
                    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                        return Err(err(at, "invalid repeat count".into()));
                    }
                    let end = chars.get(i + len).map(|x| x.0).unwrap_or(p.len());
                    push(&p[at..end], at);
                    i += len;
                    if ch(i) == Some('?') {
                        push("?", chars[i].0);
                        i += 1;
                    }
                    after_repeat = true;
                    continue;
                }
                push("\\{", at);
            }
            '(' if ch(i + 1) == Some('?') => {
                let mut j = i + 2;
                if !matches!(ch(j), Some('P' | '<')) {
                    while let Some(f) = ch(j).filter(|f| *f != ':' && *f != ')') {
                        if !"imsU-".contains(f) {
                            return Err(err(
                                at,
                                format!("invalid or unsupported Perl syntax: `(?{f}`"),
                            ));
                        }
                        j += 1;
                    }
                }
                push("(?", at);
                i += 2;
                after_repeat = false;
                continue;
            }
            _ => push(&c.to_string(), at),
        }
        after_repeat = false;
        i += 1;
    }
    map.push(p.len());
    Ok((out, map))
}

/// A Go repetition `{n}`, `{n,}` or `{n,m}` at the start of `chars`: (length, n, m).
fn go_repeat(chars: &[(usize, char)]) -> Option<(usize, u64, Option<u64>)> {
    let mut k = 1;
    let num = |k: &mut usize| -> Option<u64> {
        let start = *k;
        while chars.get(*k).is_some_and(|x| x.1.is_ascii_digit()) {
            *k += 1;
        }
        if *k == start {
            return None;
        }
        let s: String = chars[start..*k].iter().map(|x| x.1).collect();
        Some(s.parse().unwrap_or(u64::MAX))
    };
    let min = num(&mut k)?;
    let max = match chars.get(k)?.1 {
        '}' => Some(min),
        ',' => {
            k += 1;
            if chars.get(k)?.1 == '}' {
                None
            } else {
                num(&mut k)
            }
            .map_or(Some(None), |m| Some(Some(m)))?
        }
        _ => return None,
    };
    (chars.get(k)?.1 == '}').then_some((k + 1, min, max))
}

#[cfg(test)]
mod tests {
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
