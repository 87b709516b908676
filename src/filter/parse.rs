//! The recursive-descent parser: OR over AND over prefix NOT over parentheses and conditions, the
//! nesting, condition and IN-list bounds, and the tree it builds (normalised as [`Filter`] says).
//!
//! Not here: tokens (`lex`), the input-length bound and the empty filter
//! ([`parse`](fn@super::parse)).

use super::ast::{Condition, Field, Filter, LikePattern, Predicate, Value};
use super::error::{ErrorKind, FilterError};
use super::lex::{Kw, Lexer, Tok, Token};
use super::{MAX_CONDITIONS, MAX_DEPTH, MAX_IN_VALUES};

pub(super) struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    /// The next token, read but not consumed.
    ahead: Option<Token>,
    /// Open parentheses and prefix NOTs around the current point.
    depth: usize,
    conditions: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Parser {
            src,
            lexer: Lexer::new(src),
            ahead: None,
            depth: 0,
            conditions: 0,
        }
    }

    fn err(&self, kind: ErrorKind, pos: usize, message: impl Into<String>) -> FilterError {
        FilterError::new(self.src, kind, pos, message)
    }

    fn peek(&mut self) -> Result<&Token, FilterError> {
        if self.ahead.is_none() {
            self.ahead = Some(self.lexer.next_token()?);
        }
        Ok(self.ahead.get_or_insert(Token {
            tok: Tok::Eof,
            pos: 0,
        }))
    }

    fn next(&mut self) -> Result<Token, FilterError> {
        match self.ahead.take() {
            Some(t) => Ok(t),
            None => self.lexer.next_token(),
        }
    }

    /// Consumes the next token when it is `kw`.
    fn eat_kw(&mut self, kw: Kw) -> Result<bool, FilterError> {
        let found = self.peek()?.tok == Tok::Kw(kw);
        if found {
            self.next()?;
        }
        Ok(found)
    }

    /// The whole filter (the caller has checked that it is not empty).
    pub(super) fn parse_filter(&mut self) -> Result<Filter, FilterError> {
        let f = self.or_expr()?;
        let t = self.next()?;
        match t.tok {
            Tok::Eof => Ok(f),
            Tok::RParen => Err(self.err(
                ErrorKind::Syntax,
                t.pos,
                "unexpected ')' with no matching '('",
            )),
            _ => Err(self.err(
                ErrorKind::Syntax,
                t.pos,
                format!(
                    "expected AND, OR or the end of the filter, found {}; join conditions with \
                     AND or OR, and quote values that contain spaces",
                    t.describe()
                ),
            )),
        }
    }

    fn or_expr(&mut self) -> Result<Filter, FilterError> {
        let mut items = vec![self.and_expr()?];
        while self.eat_kw(Kw::Or)? {
            items.push(self.and_expr()?);
        }
        Ok(Filter::any(items))
    }

    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut items = vec![self.unary()?];
        while self.eat_kw(Kw::And)? {
            items.push(self.unary()?);
        }
        Ok(Filter::all(items))
    }

    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(
                ErrorKind::TooDeep,
                pos,
                format!(
                    "the filter nests parentheses and NOTs more than {MAX_DEPTH} deep; simplify it"
                ),
            ));
        }
        Ok(())
    }

    /// A prefix `NOT`, a parenthesised filter or a condition.
    fn unary(&mut self) -> Result<Filter, FilterError> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Kw(Kw::Not) => {
                self.next()?;
                self.enter(t.pos)?;
                let f = self.unary()?;
                self.depth -= 1;
                Ok(f.negated())
            }
            Tok::LParen => {
                self.next()?;
                self.enter(t.pos)?;
                let f = self.or_expr()?;
                let close = self.next()?;
                if close.tok != Tok::RParen {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        close.pos,
                        format!(
                            "expected ')' to close the '(' at position {}, found {}",
                            t.pos,
                            close.describe()
                        ),
                    ));
                }
                self.depth -= 1;
                Ok(f)
            }
            _ => self.condition(),
        }
    }

    /// `field OP value`, `field [NOT] IN (...)`, `field [NOT] LIKE pattern`.
    fn condition(&mut self) -> Result<Filter, FilterError> {
        let t = self.next()?;
        let pos = t.pos;
        let field = match t.tok {
            Tok::Word(w) if is_field_name(&w) => Field::Named(w),
            Tok::Word(w) => {
                return Err(self.err(
                    ErrorKind::Syntax,
                    pos,
                    format!(
                        "'{w}' is not a field name: field names are letters, digits, '_' and '.', \
                         starting with a letter or '_'; write other attribute keys as @key or \
                         @\"key\""
                    ),
                ));
            }
            Tok::Attr(a) => Field::Attribute(a),
            Tok::Str(_) => {
                return Err(self.err(
                    ErrorKind::Syntax,
                    pos,
                    format!(
                        "expected a field name, found {}: write field names without quotes \
                         (level = ERROR), and attribute keys as @key or @\"key\"",
                        t.describe()
                    ),
                ));
            }
            _ => {
                return Err(self.err(
                    ErrorKind::Syntax,
                    pos,
                    format!(
                        "expected a condition such as level = ERROR, found {}",
                        t.describe()
                    ),
                ));
            }
        };
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(self.err(
                ErrorKind::TooManyConditions,
                pos,
                format!(
                    "the filter has more than {MAX_CONDITIONS} conditions; use IN lists or fewer \
                     conditions"
                ),
            ));
        }
        let t = self.next()?;
        let predicate = match t.tok {
            Tok::Op(op) => Predicate::Compare {
                op,
                value: self.value(&format!("after '{op}'"))?,
            },
            Tok::Kw(Kw::In) => self.in_list(false, t.pos)?,
            Tok::Kw(Kw::Like) => self.like(false)?,
            Tok::Kw(Kw::Not) => {
                let t2 = self.next()?;
                match t2.tok {
                    Tok::Kw(Kw::In) => self.in_list(true, t2.pos)?,
                    Tok::Kw(Kw::Like) => self.like(true)?,
                    _ => {
                        return Err(self.err(
                            ErrorKind::Syntax,
                            t2.pos,
                            format!(
                                "expected IN or LIKE after NOT, found {}; for not equal write \
                                 {field} != value",
                                t2.describe()
                            ),
                        ));
                    }
                }
            }
            _ => {
                return Err(self.err(
                    ErrorKind::Syntax,
                    t.pos,
                    format!(
                        "expected an operator after {field} (=, !=, >, >=, <, <=, IN, NOT IN, \
                         LIKE, NOT LIKE), found {}",
                        t.describe()
                    ),
                ));
            }
        };
        Ok(Filter::Condition(Condition {
            field,
            predicate,
            position: pos,
        }))
    }

    /// A string, number or bare word; `context` completes "expected a value ...".
    fn value(&mut self, context: &str) -> Result<Value, FilterError> {
        let t = self.next()?;
        match t.tok {
            Tok::Str(s) | Tok::Word(s) => Ok(Value::String(s)),
            Tok::Number(text, value) => Ok(Value::Number { text, value }),
            Tok::Kw(k) => Err(self.err(
                ErrorKind::Syntax,
                t.pos,
                format!(
                    "expected a value {context}, found keyword {k}; if it is the value, quote it: \
                     \"{k}\"",
                    k = k.as_str()
                ),
            )),
            _ => Err(self.err(
                ErrorKind::Syntax,
                t.pos,
                format!("expected a value {context}, found {}", t.describe()),
            )),
        }
    }

    /// `( v1, v2, ... )` after `[NOT] IN` (the IN at `in_pos`).
    fn in_list(&mut self, negated: bool, in_pos: usize) -> Result<Predicate, FilterError> {
        let open = self.next()?;
        if open.tok != Tok::LParen {
            return Err(self.err(
                ErrorKind::Syntax,
                open.pos,
                format!(
                    "IN needs a parenthesised list, e.g. pod_name IN (\"a\", \"b\"); found {}",
                    open.describe()
                ),
            ));
        }
        if self.peek()?.tok == Tok::RParen {
            let pos = self.peek()?.pos;
            return Err(self.err(
                ErrorKind::Syntax,
                pos,
                "IN needs at least one value in its list",
            ));
        }
        let mut values = vec![self.value("in the IN list")?];
        loop {
            let t = self.next()?;
            match t.tok {
                Tok::RParen => break,
                Tok::Comma => {
                    let at = self.peek()?.pos;
                    values.push(self.value("after ','")?);
                    if values.len() > MAX_IN_VALUES {
                        return Err(self.err(
                            ErrorKind::TooManyValues,
                            at,
                            format!(
                                "the IN list at position {in_pos} has more than {MAX_IN_VALUES} \
                                 values; split it into several conditions joined with OR"
                            ),
                        ));
                    }
                }
                _ => {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        t.pos,
                        format!(
                            "expected ',' or ')' in the IN list opened at position {}, found {}",
                            open.pos,
                            t.describe()
                        ),
                    ));
                }
            }
        }
        Ok(Predicate::In { negated, values })
    }

    /// The pattern after `[NOT] LIKE`: any value, as text.
    fn like(&mut self, negated: bool) -> Result<Predicate, FilterError> {
        let value = self.value("(a pattern such as \"%timeout%\") after LIKE")?;
        let text = match value {
            Value::String(s) => s,
            Value::Number { text, .. } => text,
        };
        Ok(Predicate::Like {
            negated,
            pattern: LikePattern(text),
        })
    }
}

/// Whether a bare word is a field name: `[A-Za-z_][A-Za-z0-9_.]*`.
fn is_field_name(w: &str) -> bool {
    let mut chars = w.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}
