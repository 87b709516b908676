//! The tree the parser builds: nodes in one vector, children by index, each with its span and
//! the depths the checks and the crate's recursion limit need.
//!
//! Not here: building it (`parse`), the checks on it (`check`).

use super::error::Span;
use super::token::T;

pub(super) type NodeId = usize;

#[derive(Debug)]
pub(super) struct Node {
    pub(super) span: Span,
    pub(super) kind: Kind,
    /// Height of the tree below and including this node.
    pub(super) depth: u32,
    /// Recursion our checker needs (operator chains are walked iteratively).
    pub(super) nest: u32,
}

#[derive(Debug)]
pub(super) enum Kind {
    Num,
    Str,
    Sel(Sel),
    Paren(NodeId),
    Unary(NodeId),
    Binary {
        op: T,
        op_span: Span,
        /// A `fill`, `fill_left` or `fill_right` modifier was given.
        fill: bool,
        /// `group_left` / `group_right` without a label list ends the modifiers.
        bare_group: bool,
        lhs: NodeId,
        rhs: NodeId,
    },
    Call {
        name: String,
        name_span: Span,
        args: Vec<NodeId>,
    },
    Agg {
        param: bool,
        args: Vec<NodeId>,
    },
    Range {
        inner: NodeId,
        brackets: Span,
        range: Dur,
    },
    Subquery {
        inner: NodeId,
        range: Dur,
        step: Option<Dur>,
        legacy_colon: Option<Span>,
    },
    Offset {
        inner: NodeId,
        dur: Dur,
    },
    At {
        inner: NodeId,
        /// `None` for `start()` / `end()`.
        ts: Option<f64>,
        modifier: Span,
    },
    Modifier {
        inner: NodeId,
        smoothed: bool,
        kw: Span,
    },
}

impl Kind {
    pub(super) fn children(&self) -> Vec<NodeId> {
        match self {
            Kind::Num | Kind::Str | Kind::Sel(_) => Vec::new(),
            Kind::Paren(i) | Kind::Unary(i) => vec![*i],
            Kind::Binary { lhs, rhs, .. } => vec![*lhs, *rhs],
            Kind::Call { args, .. } | Kind::Agg { args, .. } => args.clone(),
            Kind::Range { inner, .. }
            | Kind::Subquery { inner, .. }
            | Kind::Offset { inner, .. }
            | Kind::At { inner, .. }
            | Kind::Modifier { inner, .. } => vec![*inner],
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Sel {
    /// The metric name was given before the braces.
    pub(super) named: bool,
    pub(super) name: String,
    pub(super) braces: Option<Span>,
    pub(super) matchers: Vec<Matcher>,
}

#[derive(Debug)]
pub(super) struct Matcher {
    pub(super) name: String,
    pub(super) op: T,
    pub(super) value: String,
    pub(super) span: Span,
    pub(super) value_span: Span,
}

/// A duration in a range, subquery step or offset.
#[derive(Debug, Clone)]
pub(super) struct Dur {
    pub(super) span: Span,
    /// The value when the duration is a literal, possibly signed (not parenthesised).
    pub(super) lit: Option<f64>,
    /// A single literal token (optionally signed, for offsets): `promql-parser` reads it.
    pub(super) simple: bool,
}
