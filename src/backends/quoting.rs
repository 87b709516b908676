//! Literals for the Grafana query languages: LogQL and TraceQL both read double-quoted strings with
//! Go's escapes and RE2 regular expressions, so their compilers share the quoting and the LIKE →
//! regex translation here. Every value a caller writes reaches a query only through these.

use crate::filter::{LikePattern, LikePiece};

/// `s` as a double-quoted Go string literal: `\` and `"` escaped, control characters as `\n`, `\t`,
/// `\r` or `\u00XX`, everything else (any Unicode) as it is.
pub fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
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

/// `s` matched literally by an RE2 regular expression (Go's `regexp.QuoteMeta`).
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The body of a regex matching what `pattern` matches, unanchored: literals quoted, `%` as `.*`,
/// `_` as `.`. Callers anchor it and set `(?s)` so that `%` spans line breaks as in SQL.
pub fn like_body(pattern: &LikePattern) -> String {
    pattern
        .pieces()
        .iter()
        .map(|piece| match piece {
            LikePiece::Literal(text) => quote_meta(text),
            LikePiece::AnyRun => ".*".to_string(),
            LikePiece::AnyOne => ".".to_string(),
        })
        .collect()
}

/// A whole-value regex: `(?s)^(?:body)$`, with `(?i)` when case does not matter. Loki and Tempo
/// anchor label and attribute regexes themselves, but qryn and older servers do not, so the anchors
/// are always written.
pub fn anchored(body: &str, ignore_case: bool) -> String {
    let flags = if ignore_case { "(?is)" } else { "(?s)" };
    format!("{flags}^(?:{body})$")
}

/// The alternation of `values`, each matched literally: `a|b\.c`.
pub fn alternation<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values
        .into_iter()
        .map(quote_meta)
        .collect::<Vec<_>>()
        .join("|")
}

/// Whether `pattern` can match the empty string (it has only `%` wildcards, or nothing).
pub fn like_matches_empty(pattern: &LikePattern) -> bool {
    pattern.pieces().iter().all(|p| *p == LikePiece::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters_only() {
        assert_eq!(go_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(go_string("tab\there\nnl\u{1}"), r#""tab\there\nnl\u0001""#);
        assert_eq!(go_string("Zürich ✓ 日本語 🚀"), "\"Zürich ✓ 日本語 🚀\"");
    }

    #[test]
    fn regex_metacharacters_are_quoted() {
        assert_eq!(
            quote_meta("a.b*c(d)|e[f]{g}^$+?\\"),
            r"a\.b\*c\(d\)\|e\[f\]\{g\}\^\$\+\?\\"
        );
        assert_eq!(alternation(["a.b", "c|d"]), r"a\.b|c\|d");
        assert_eq!(anchored("x", false), "(?s)^(?:x)$");
        assert_eq!(anchored("x", true), "(?is)^(?:x)$");
    }

    #[test]
    fn like_patterns_become_regex_bodies() {
        let p = |s: &str| LikePattern(s.to_string());
        assert_eq!(like_body(&p("%time_out%")), ".*time.out.*");
        assert_eq!(like_body(&p(r"100\%.x")), r"100%\.x");
        assert!(like_matches_empty(&p("%")));
        assert!(like_matches_empty(&p("")));
        assert!(!like_matches_empty(&p("%a%")));
        assert!(!like_matches_empty(&p("_")));
    }
}
