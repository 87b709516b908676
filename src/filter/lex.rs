//! Tokens and the lexer: bare words and numbers, quoted strings and their escapes, `@` attribute
//! keys, operators, keywords and punctuation. Positions are character offsets.
//!
//! Not here: the grammar (`parse`).

use super::ast::{CompareOp, is_attribute_char};
use super::error::{ErrorKind, FilterError};

/// A keyword; recognised case-insensitively when a bare word is exactly the keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kw {
    And,
    Or,
    Not,
    In,
    Like,
}

impl Kw {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kw::And => "AND",
            Kw::Or => "OR",
            Kw::Not => "NOT",
            Kw::In => "IN",
            Kw::Like => "LIKE",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A bare word that is neither a number nor a keyword: a field name or a value.
    Word(String),
    /// A bare word that is a number: its text and (finite) value.
    Number(String, f64),
    /// A quoted string, unescaped.
    Str(String),
    /// `@key` or `@"key"`: the key.
    Attr(String),
    Kw(Kw),
    Op(CompareOp),
    LParen,
    RParen,
    Comma,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Character offset of the token's first character.
    pub(super) pos: usize,
}

impl Token {
    /// The token for an error message: `'level'`, `the string "x"`, `keyword AND`, `')'`.
    pub(super) fn describe(&self) -> String {
        fn short(s: &str) -> String {
            match s.char_indices().nth(20) {
                Some((i, _)) => format!("{}…", &s[..i]),
                None => s.to_string(),
            }
        }
        match &self.tok {
            Tok::Word(w) => format!("'{}'", short(w)),
            Tok::Number(text, _) => format!("the number {}", short(text)),
            Tok::Str(s) => format!("the string {}", super::ast::quote(&short(s))),
            Tok::Attr(a) => format!("the attribute @{}", short(a)),
            Tok::Kw(k) => format!("keyword {}", k.as_str()),
            Tok::Op(op) => format!("'{op}'"),
            Tok::LParen => "'('".to_string(),
            Tok::RParen => "')'".to_string(),
            Tok::Comma => "','".to_string(),
            Tok::Eof => "the end of the filter".to_string(),
        }
    }
}

/// Whether `c` may appear in a bare word (field name, value, number).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | '+')
}

/// Whether `s` is a number: `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`.
pub(super) fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut mantissa = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

pub(super) struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    byte: usize,
    /// Character offset of the next character.
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            byte: 0,
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.byte..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.byte += c.len_utf8();
        self.pos += 1;
        Some(c)
    }

    fn err(&self, pos: usize, message: impl Into<String>) -> FilterError {
        FilterError::new(self.src, ErrorKind::Syntax, pos, message)
    }

    pub(super) fn next_token(&mut self) -> Result<Token, FilterError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let pos = self.pos;
        let Some(c) = self.bump() else {
            return Ok(Token { tok: Tok::Eof, pos });
        };
        let next = self.peek();
        let mut two = |tok| {
            self.bump();
            Ok(tok)
        };
        let tok = match (c, next) {
            ('(', _) => Ok(Tok::LParen),
            (')', _) => Ok(Tok::RParen),
            (',', _) => Ok(Tok::Comma),
            ('!', Some('=')) => two(Tok::Op(CompareOp::Ne)),
            ('<', Some('>')) => two(Tok::Op(CompareOp::Ne)),
            ('<', Some('=')) => two(Tok::Op(CompareOp::Le)),
            ('>', Some('=')) => two(Tok::Op(CompareOp::Ge)),
            ('<', _) => Ok(Tok::Op(CompareOp::Lt)),
            ('>', _) => Ok(Tok::Op(CompareOp::Gt)),
            ('=', Some('=')) => Err("'==' is not an operator here: compare with a single '='"),
            ('=' | '!', Some('~')) => Err(
                "regex matching (=~, !~) is not supported: use LIKE or NOT LIKE with the \
                 wildcards % (any run of characters) and _ (one character)",
            ),
            ('=', _) => Ok(Tok::Op(CompareOp::Eq)),
            ('!', _) => {
                Err("'!' must be followed by '=' (write != for not equal, NOT IN, NOT LIKE)")
            }
            ('&', _) => Err("'&' is not an operator here: combine conditions with AND"),
            ('|', _) => Err("'|' is not an operator here: combine conditions with OR"),
            ('"' | '\'', _) => {
                return self.string(c, pos).map(|s| Token {
                    tok: Tok::Str(s),
                    pos,
                });
            }
            ('@', _) => return self.attribute(pos),
            (c, _) if is_word_char(c) => return self.word(c, pos),
            (c, _) => {
                return Err(self.err(
                    pos,
                    format!(
                        "unexpected character '{c}': quote values that contain it (\"a{c}b\"), \
                         and write attribute keys with it as @\"key\"",
                        c = c.escape_debug()
                    ),
                ));
            }
        };
        tok.map(|tok| Token { tok, pos })
            .map_err(|msg| self.err(pos, msg))
    }

    /// The rest of a bare word that started with `first`: a number, a keyword or a word.
    fn word(&mut self, first: char, pos: usize) -> Result<Token, FilterError> {
        let start = self.byte - first.len_utf8();
        while self.peek().is_some_and(is_word_char) {
            self.bump();
        }
        let text = &self.src[start..self.byte];
        let tok = if is_number(text) {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Tok::Number(text.to_string(), v),
                _ => {
                    return Err(self.err(
                        pos,
                        format!(
                            "number {text} is out of range; quote it (\"{text}\") to compare it \
                             as text"
                        ),
                    ));
                }
            }
        } else {
            let kw = [Kw::And, Kw::Or, Kw::Not, Kw::In, Kw::Like]
                .into_iter()
                .find(|k| text.eq_ignore_ascii_case(k.as_str()));
            match kw {
                Some(k) => Tok::Kw(k),
                None => Tok::Word(text.to_string()),
            }
        };
        Ok(Token { tok, pos })
    }

    /// `@key` or `@"key"`, the `@` at `pos` already read.
    fn attribute(&mut self, pos: usize) -> Result<Token, FilterError> {
        let key = match self.peek() {
            Some(q @ ('"' | '\'')) => {
                let start = self.pos;
                self.bump();
                let key = self.string(q, start)?;
                if key.is_empty() {
                    return Err(self.err(start, "the attribute key in @\"\" is empty"));
                }
                key
            }
            _ => {
                let start = self.byte;
                while self.peek().is_some_and(is_attribute_char) {
                    self.bump();
                }
                if self.byte == start {
                    return Err(self.err(
                        pos,
                        "expected an attribute key after '@', e.g. @http.status_code or \
                         @\"key with spaces\"",
                    ));
                }
                self.src[start..self.byte].to_string()
            }
        };
        Ok(Token {
            tok: Tok::Attr(key),
            pos,
        })
    }

    /// The rest of a string opened by `quote` at `start`, unescaped.
    ///
    /// Escapes: `\\`, `\"`, `\'`, `\n`, `\t`, `\r`; `\%` and `\_` are kept with their backslash
    /// (for LIKE patterns); any other escape is an error.
    fn string(&mut self, quote: char, start: usize) -> Result<String, FilterError> {
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => {
                    return Err(self.err(
                        start,
                        format!(
                            "unterminated string starting at position {start}: close it with \
                             {quote}"
                        ),
                    ));
                }
                Some(c) if c == quote => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('\'') => out.push('\''),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(c @ ('%' | '_')) => {
                        out.push('\\');
                        out.push(c);
                    }
                    Some(c) => {
                        return Err(self.err(
                            at,
                            format!(
                                "unknown escape '\\{}' in a string: inside quotes write \\\\ for a \
                                 backslash, \\\" or \\' for a quote, \\n \\t \\r, and \\% \\_ for \
                                 a literal % or _ in a LIKE pattern",
                                c.escape_debug()
                            ),
                        ));
                    }
                    None => {
                        return Err(self.err(
                            start,
                            format!(
                                "unterminated string starting at position {start}: it ends in a \
                                 backslash; close it with {quote}"
                            ),
                        ));
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Result<Vec<(Tok, usize)>, FilterError> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token()?;
            if t.tok == Tok::Eof {
                return Ok(out);
            }
            out.push((t.tok, t.pos));
        }
    }

    fn one(src: &str) -> Tok {
        let mut t = toks(src).unwrap();
        assert_eq!(t.len(), 1, "{src}: {t:?}");
        t.remove(0).0
    }

    fn word(s: &str) -> Tok {
        Tok::Word(s.to_string())
    }

    #[test]
    fn numbers_are_exactly_the_number_grammar() {
        for (s, v) in [
            ("1000", 1000.0),
            ("-5", -5.0),
            ("+5", 5.0),
            ("2.5", 2.5),
            ("1.", 1.0),
            (".5", 0.5),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            ("-1.5e+2", -150.0),
        ] {
            assert_eq!(one(s), Tok::Number(s.to_string(), v), "{s}");
        }
        for s in [
            "10.0.0.1", "2xx", "1e", "1e+", "0x1F", "inf", "NaN", "-", ".", "1-2", "v1.2", "1_000",
        ] {
            assert_eq!(one(s), word(s), "{s}");
        }
    }

    #[test]
    fn out_of_range_number_is_refused() {
        let e = toks("x = 1e999").unwrap_err();
        assert_eq!(e.position, 4);
        assert!(e.message.contains("out of range"), "{e}");
    }

    #[test]
    fn keywords_are_case_insensitive_whole_words() {
        assert_eq!(one("and"), Tok::Kw(Kw::And));
        assert_eq!(one("In"), Tok::Kw(Kw::In));
        assert_eq!(one("lIkE"), Tok::Kw(Kw::Like));
        assert_eq!(one("NOT"), Tok::Kw(Kw::Not));
        assert_eq!(one("android"), word("android"));
        assert_eq!(one("in.x"), word("in.x"));
    }

    #[test]
    fn operators_and_punctuation_without_spaces() {
        let t = toks("a<>b,c<=1)(d>=e!=f<g>h=i").unwrap();
        let kinds: Vec<Tok> = t.into_iter().map(|(t, _)| t).collect();
        use CompareOp::*;
        assert_eq!(
            kinds,
            vec![
                word("a"),
                Tok::Op(Ne),
                word("b"),
                Tok::Comma,
                word("c"),
                Tok::Op(Le),
                Tok::Number("1".into(), 1.0),
                Tok::RParen,
                Tok::LParen,
                word("d"),
                Tok::Op(Ge),
                word("e"),
                Tok::Op(Ne),
                word("f"),
                Tok::Op(Lt),
                word("g"),
                Tok::Op(Gt),
                word("h"),
                Tok::Op(Eq),
                word("i"),
            ]
        );
    }

    #[test]
    fn strings_unescape_and_keep_like_escapes() {
        assert_eq!(one(r#""a\"b""#), Tok::Str("a\"b".into()));
        assert_eq!(one(r"'it\'s'"), Tok::Str("it's".into()));
        assert_eq!(one(r#"'say "hi"'"#), Tok::Str("say \"hi\"".into()));
        assert_eq!(one(r#""c:\\tmp""#), Tok::Str(r"c:\tmp".into()));
        assert_eq!(one(r#""a\n\t\r""#), Tok::Str("a\n\t\r".into()));
        assert_eq!(one(r#""100\%\_""#), Tok::Str(r"100\%\_".into()));
        assert_eq!(one("\"日本 語\""), Tok::Str("日本 語".into()));
        assert_eq!(one("''"), Tok::Str(String::new()));
    }

    #[test]
    fn unknown_escape_is_refused_at_the_backslash() {
        let e = toks(r#"msg = "a\d""#).unwrap_err();
        assert_eq!(e.position, 8);
        assert!(e.message.contains("unknown escape '\\d'"), "{e}");
    }

    #[test]
    fn unterminated_string_points_at_its_start() {
        let e = toks("a = 'é日 x").unwrap_err();
        assert_eq!(e.position, 4);
        assert!(
            e.message
                .starts_with("unterminated string starting at position 4"),
            "{e}"
        );
        let e = toks(r#"a = "x\"#).unwrap_err();
        assert_eq!(e.position, 4);
        assert!(e.message.contains("backslash"), "{e}");
    }

    #[test]
    fn attributes_bare_and_quoted() {
        assert_eq!(
            one("@app.kubernetes.io/name"),
            Tok::Attr("app.kubernetes.io/name".into())
        );
        assert_eq!(
            one("@http.status_code"),
            Tok::Attr("http.status_code".into())
        );
        assert_eq!(one("@\"any key\""), Tok::Attr("any key".into()));
        assert_eq!(one("@'x\\'y'"), Tok::Attr("x'y".into()));
        let e = toks("@ = 1").unwrap_err();
        assert_eq!(e.position, 0);
        assert!(e.message.contains("expected an attribute key"), "{e}");
        let e = toks("x AND @''").unwrap_err();
        assert_eq!(e.position, 7);
        assert!(e.message.contains("empty"), "{e}");
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let t = toks("\"日本\" @\"é\" = x").unwrap();
        let pos: Vec<usize> = t.iter().map(|(_, p)| *p).collect();
        assert_eq!(pos, vec![0, 5, 10, 12]);
    }

    #[test]
    fn operators_from_other_languages_get_a_hint() {
        for (src, pos, hint) in [
            ("a == 1", 2, "single '='"),
            ("a =~ 'x'", 2, "LIKE"),
            ("a !~ 'x'", 2, "LIKE"),
            ("a ! b", 2, "!="),
            ("a=1 && b=2", 4, "AND"),
            ("a=1 || b=2", 4, "OR"),
            ("a = x#y", 5, "unexpected character '#'"),
            ("a = 日", 4, "unexpected character '日'"),
        ] {
            let e = toks(src).unwrap_err();
            assert_eq!(e.position, pos, "{src}: {e}");
            assert!(e.message.contains(hint), "{src}: {e}");
        }
    }
}
