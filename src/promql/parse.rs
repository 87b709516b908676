//! The recursive-descent parser, after Prometheus' `promql/parser/generated_parser.y`, building
//! the tree of `tree`. Syntax errors are reported here in Prometheus' words, with the checks
//! Prometheus makes on literals while parsing (number and duration values, ranges and steps
//! greater than 0, division or modulo by a literal 0 in duration expressions) and the nesting
//! limit. A few rewrites for `promql-parser` are found here too: keywords used as names,
//! durations as `fill()` values.
//!
//! Not here: tokens (`lex`), the checks on the finished tree (`check`), applying the rewrites
//! (`rewrite`).

use super::error::{PErr, Span};
use super::literal::{duration_out_of_range, parse_go_duration, parse_go_number, unquote};
use super::rewrite::Edit;
use super::token::{
    AGGREGATORS, LABEL_KEYWORDS, METRIC_KEYWORDS, PARAM_AGGREGATORS, PREPROCESSORS, T, Tok,
};
use super::tree::{Dur, Kind, Matcher, Node, NodeId, Sel};

/// Deepest nesting our recursive parser and checker follow.
const MAX_NESTING: usize = 100;

pub(super) struct Parser<'a> {
    src: &'a str,
    pub(super) toks: Vec<Tok>,
    lex_err: Option<PErr>,
    i: usize,
    depth: usize,
    pub(super) ast: Vec<Node>,
    /// Rewrites for `promql-parser` found while parsing (keywords used as names, durations as
    /// `fill()` values).
    pub(super) edits: Vec<Edit>,
}

impl<'a> Parser<'a> {
    /// A parser over the tokens `toks` of `src` (comments removed); `lex_err` is the lexer's
    /// complaint, reported when the parser reaches the `Error` token.
    pub(super) fn new(src: &'a str, toks: Vec<Tok>, lex_err: Option<PErr>) -> Self {
        Parser {
            src,
            toks,
            lex_err,
            i: 0,
            depth: 0,
            ast: Vec::new(),
            edits: Vec::new(),
        }
    }
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

    pub(super) fn parse_top(&mut self) -> Result<NodeId, PErr> {
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
