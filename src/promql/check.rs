//! The structural checks Prometheus makes while parsing, run over the finished tree: where
//! `offset`, `@`, ranges and `anchored`/`smoothed` may go, a metric name given twice, selectors
//! that match everything, `info()`'s second argument, `fill()` modifiers, label-matcher regexes,
//! the number of arguments of aggregations.
//!
//! On the way the checker collects what the `promql-parser` step needs: the rewrites of nodes
//! from the module table, the span of every node (to locate the crate's complaints) and the regex
//! matchers (for the crate's "illegal regex").
//!
//! Not here: syntax and literal values (`parse`), regex syntax (`go_regex`), applying the
//! rewrites and calling the crate (`rewrite`).

use super::error::{PErr, Span};
use super::go_regex::check_go_regex;
use super::rewrite::{Edit, RegexUse};
use super::token::T;
use super::tree::{Dur, Kind, Node, NodeId, Sel};

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

pub(super) struct Checker<'a> {
    ast: &'a [Node],
    pub(super) edits: Vec<Edit>,
    /// Spans of the nodes, children before parents, with the position to report for each
    /// (a binary expression's operator, else the start).
    pub(super) spans: Vec<(Span, usize)>,
    pub(super) regexes: Vec<RegexUse>,
}

const MODIFIER_TARGET: &str =
    "must be preceded by an instant vector selector or range vector selector or a subquery";

impl<'a> Checker<'a> {
    /// A checker over the tree built by the parser.
    pub(super) fn new(ast: &'a [Node]) -> Self {
        Checker {
            ast,
            edits: Vec::new(),
            spans: Vec::new(),
            regexes: Vec::new(),
        }
    }
}

impl Checker<'_> {
    /// Checks the tree below `root`, the whole expression.
    pub(super) fn check_root(&mut self, root: NodeId) -> Result<(), PErr> {
        self.check(root, false).map(|_| ())
    }

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
            let matches_empty = match m.op {
                T::Eql => m.value.is_empty(),
                T::Neq => !m.value.is_empty(),
                T::EqlRegex | T::NeqRegex => {
                    // Read once here (parsed, see `go_regex`); under `check` the crate gets a
                    // trivial regex with the same verdict on "" instead of compiling this one.
                    let accepts_empty = check_go_regex(&m.value).map_err(|e| {
                        let at = e
                            .pos
                            .map(|p| format!(" at char {}", m.value[..p].chars().count()))
                            .unwrap_or_default();
                        PErr::new(
                            m.span,
                            format!(
                                "invalid regular expression {:?} in label matcher{at}: {}",
                                m.value, e.msg
                            ),
                        )
                    })?;
                    let positive = m.op == T::EqlRegex;
                    self.regexes.push(RegexUse {
                        value_span: m.value_span,
                        positive,
                        matches_empty: accepts_empty == positive,
                    });
                    accepts_empty == positive
                }
                _ => false,
            };
            all_empty &= matches_empty;
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
