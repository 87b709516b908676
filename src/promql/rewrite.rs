//! The `promql-parser` side: the edits that turn the checked text into text the crate (=0.11.1)
//! reads (the workaround table in the module doc), the calls into the crate, and locating a
//! complaint of the crate by re-parsing sub-expressions.
//!
//! Edits are found where their construct is recognised: token rewrites here (`token_edits`),
//! others by the parser (`parse`) and the checker (`check`). Which edits are applied and what
//! the crate's verdict means is decided by [`validate`](super::validate).

use super::error::Span;
use super::literal::unquote;
use super::quote_label_value;
use super::token::{T, Tok};

/// Sub-expressions re-parsed at most to locate a complaint of `promql-parser`.
const LOCATE_MAX_TRIES: usize = 300;

/// A replacement of `src[start..end]` in the text given to `promql-parser`.
#[derive(Debug, Clone)]
pub(super) struct Edit {
    start: usize,
    end: usize,
    text: String,
}

impl Edit {
    pub(super) fn new(span: Span, text: impl Into<String>) -> Self {
        Edit {
            start: span.0,
            end: span.1,
            text: text.into(),
        }
    }
}

/// A regex label matcher, for replacing its value: always for [`check`](super::check), and for
/// [`validate`](super::validate) when the crate refuses the regex.
pub(super) struct RegexUse {
    pub(super) value_span: Span,
    pub(super) positive: bool,
    pub(super) matches_empty: bool,
}

/// Each label regex as a trivial one with the same verdict on the empty string, the crate's only
/// use of it once our own check has read it as Go does: `""` or `"x"`, which the crate compiles
/// much faster than `".*"` (a Unicode `.` is a large automaton).
pub(super) fn benign_regexes(regexes: &[RegexUse]) -> impl Iterator<Item = Edit> + '_ {
    regexes.iter().map(|r| {
        let accepts_empty = r.positive == r.matches_empty;
        Edit::new(r.value_span, if accepts_empty { "\"\"" } else { "\"x\"" })
    })
}

/// Token rewrites for `promql-parser`: raw strings with backslashes, numbers with underscores.
pub(super) fn token_edits(src: &str, toks: &[Tok]) -> Vec<Edit> {
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
pub(super) fn apply_edits(src: &str, edits: &[Edit], from: usize, to: usize) -> String {
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

/// `promql-parser`'s verdict on `text`: its tree (whose `Display` is the single-line rendering), or
/// its complaint.
pub(super) fn crate_parse(text: &str) -> Result<promql_parser::parser::Expr, String> {
    promql_parser::parser::parse(text)
}

/// Whether `promql-parser`'s lexer refuses `text` (its complaint is then about syntax).
pub(super) fn crate_lex_fails(text: &str) -> bool {
    promql_parser::parser::lex::lexer(text).is_err()
}

/// Where to report `msg`, a complaint of `promql-parser` about `src` rewritten by `edits`: the
/// innermost sub-expression of `spans` (children before parents) the crate refuses the same way,
/// from its focus (a binary expression's operator, else its start) to its end.
pub(super) fn locate_complaint(
    src: &str,
    edits: &[Edit],
    spans: &[(Span, usize)],
    msg: &str,
) -> Option<Span> {
    spans
        .iter()
        .take(LOCATE_MAX_TRIES)
        .find(|((s, e), _)| {
            crate_parse(&apply_edits(src, edits, *s, *e))
                .err()
                .as_deref()
                == Some(msg)
        })
        .map(|((_, end), focus)| (*focus, *end))
}
