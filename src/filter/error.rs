//! [`FilterError`]: what is wrong with a filter, at which character, and the text around it.
//!
//! Not here: deciding what is an error (`lex`, `parse`, and the bounds in
//! [`parse`](fn@super::parse)).

use std::fmt;

/// Characters of the input shown on each side of an error's position.
const EXCERPT_RADIUS: usize = 24;

/// Why a filter was refused.
///
/// `Display` gives one line naming the position and the problem, e.g. `invalid filter at position
/// 8: expected a value after '=', found the end of the filter`, then the input near the position
/// with a caret under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// What kind of problem it is.
    pub kind: ErrorKind,
    /// 0-based character (not byte) offset into the filter text where the problem is; the length
    /// of the text in characters when the problem is at its end.
    pub position: usize,
    /// What is wrong and what was expected, without the position, e.g. `expected ')' to close the
    /// '(' at position 3, found the end of the filter`.
    pub message: String,
    /// The input near `position` (control characters as spaces), and the caret line.
    excerpt: (String, String),
}

/// The kinds of [`FilterError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Occurs when the text does not follow the grammar: a missing value or parenthesis, an
    /// unterminated string, an unknown escape, an unexpected character or keyword.
    Syntax,
    /// Occurs when the filter is longer than [`MAX_FILTER_BYTES`](super::MAX_FILTER_BYTES).
    TooLong,
    /// Occurs when parentheses and prefix `NOT`s nest deeper than
    /// [`MAX_DEPTH`](super::MAX_DEPTH).
    TooDeep,
    /// Occurs when the filter has more than [`MAX_CONDITIONS`](super::MAX_CONDITIONS) conditions.
    TooManyConditions,
    /// Occurs when an IN list has more than [`MAX_IN_VALUES`](super::MAX_IN_VALUES) values.
    TooManyValues,
}

impl FilterError {
    /// An error at character `position` of `src` (clamped to the end of `src`).
    pub(super) fn new(
        src: &str,
        kind: ErrorKind,
        position: usize,
        message: impl Into<String>,
    ) -> Self {
        // Counted, not collected: a too-long input can be large.
        let len = src.chars().count();
        let position = position.min(len);
        let from = position.saturating_sub(EXCERPT_RADIUS);
        let to = (position + EXCERPT_RADIUS).min(len);
        let mut text = String::new();
        if from > 0 {
            text.push('…');
        }
        let caret_col = text.chars().count() + (position - from);
        text.extend(
            src.chars()
                .skip(from)
                .take(to - from)
                .map(|c| if c.is_control() { ' ' } else { c }),
        );
        if to < len {
            text.push('…');
        }
        FilterError {
            kind,
            position,
            message: message.into(),
            excerpt: (text, format!("{}^", " ".repeat(caret_col))),
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter at position {}: {}\n  {}\n  {}",
            self.position,
            self.message,
            self.excerpt.0.trim_end(),
            self.excerpt.1
        )
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_position_message_and_caret() {
        let e = FilterError::new("level = ", ErrorKind::Syntax, 8, "expected a value");
        assert_eq!(
            e.to_string(),
            "invalid filter at position 8: expected a value\n  level =\n          ^"
        );
    }

    #[test]
    fn excerpt_is_cut_around_the_position_in_characters() {
        let src = format!("{}é = 日{}", "a".repeat(40), "b".repeat(40));
        let e = FilterError::new(&src, ErrorKind::Syntax, 44, "x");
        let shown = e.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines[1].starts_with("  …a"), "{shown}");
        assert!(lines[1].ends_with("b…"), "{shown}");
        let caret = lines[2].chars().count() - 1;
        assert_eq!(lines[1].chars().nth(caret), Some('日'), "{shown}");
    }

    #[test]
    fn position_past_the_end_is_clamped() {
        let e = FilterError::new("ab\ncd", ErrorKind::Syntax, 99, "x");
        assert_eq!(e.position, 5);
        assert!(e.to_string().ends_with("ab cd\n       ^"), "{e}");
    }
}
