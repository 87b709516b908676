//! Character classes of Prometheus' `promql/parser/lex.go` (`isSpace`, `isAlpha`,
//! `isAlphaNumeric`): what counts as whitespace and as a letter or digit of an identifier.
//!
//! They live apart from the lexer because error rendering (`error`) and trimming in
//! [`validate`](super::validate) need the same idea of whitespace, and `error` must not depend on
//! the lexer, which returns its errors.
//!
//! Not here: tokens and how they are read (`lex`).

/// Whitespace between tokens: only these four, as in `lex.go`; other Unicode spaces are errors.
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A character that may start an identifier or keyword (ASCII letters and `_`).
pub(super) fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

/// A character that may continue an identifier or keyword.
pub(super) fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}
