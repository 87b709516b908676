//! Errors at a position of the checked string, and how they are shown to the caller.
//!
//! `PErr` is what the lexer, the parser and the checks return; `PErr::into_error` turns it into
//! the public [`PromqlError`]: the position as a character count (and line and column for
//! multi-line input), the text near it, and a hint on how to fix the problem, chosen by the
//! wording of the message (`hint_for`).
//!
//! Not here: deciding what is an error (`lex`, `parse`, `check`, `rewrite`, `go_regex`).

use super::PromqlError;
use super::chars::is_space;

pub(super) type Span = (usize, usize);

/// An error at a span of the checked string.
#[derive(Debug)]
pub(super) struct PErr {
    pub(super) span: Span,
    msg: String,
}

impl PErr {
    pub(super) fn new(span: Span, msg: impl Into<String>) -> Self {
        PErr {
            span,
            msg: msg.into(),
        }
    }

    pub(super) fn into_error(self, src: &str) -> PromqlError {
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
            "class range: `\\",
            "Name a Unicode class Go knows: a general category (\\pL, \\p{Lu}, \\p{Nd}), a script (\\p{Greek}, \\p{Han}) or Any; Go has no script codes such as Latn and no binary properties such as Alphabetic.",
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
