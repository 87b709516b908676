//! The lexer, after Prometheus' `promql/parser/lex.go` (expressions only, no series descriptions):
//! text into the tokens of `token`.
//!
//! The lexer also keeps two Prometheus 2.x quirks of the module table: `0xce` at the end of the
//! input is a hex integer, and one letter between a range and its step is a `:`.
//!
//! Not here: the values of literal tokens (`literal`), the grammar (`parse`), and what
//! `promql-parser` is given (`rewrite`).

use super::chars::{is_alnum, is_alpha, is_space};
use super::error::PErr;
use super::token::{T, Tok, keywords};

const DIGITS: &str = "0123456789";
const HEX_DIGITS: &str = "0123456789abcdefABCDEF";

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
pub(super) fn lex(s: &str) -> (Vec<Tok>, Option<PErr>) {
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
        } else if let Some(kw) = keywords().find(|k| *k == lower) {
            let fill = matches!(kw, "fill" | "fill_left" | "fill_right");
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
