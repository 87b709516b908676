//! The tokens of PromQL and the keyword tables the lexer and the grammar share, after Prometheus'
//! `promql/parser/lex.go` and `generated_parser.y`.
//!
//! Not here: how text becomes tokens (`lex`), what the grammar does with them (`parse`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum T {
    Eof,
    Error,
    /// `# ...` up to the end of the line; dropped before parsing.
    Comment,
    Ident,
    MetricIdent,
    Number,
    Duration,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Eql,
    EqlC,
    Neq,
    EqlRegex,
    NeqRegex,
    Lss,
    Lte,
    Gtr,
    Gte,
    TrimUpper,
    TrimLower,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    At,
    Kw(&'static str),
}

#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub(super) t: T,
    pub(super) start: usize,
    pub(super) end: usize,
    /// A letter that Prometheus 2.x lexed as `:` inside brackets.
    pub(super) legacy_colon: bool,
}

/// The keywords other than [`AGGREGATORS`].
const OTHER_KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "atan2",
    "offset",
    "smoothed",
    "anchored",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "fill",
    "fill_left",
    "fill_right",
    "bool",
    "start",
    "end",
    "step",
    "range",
    "max_of",
    "min_of",
];

/// Every keyword: the aggregators and the rest.
pub(super) fn keywords() -> impl Iterator<Item = &'static str> {
    AGGREGATORS.iter().chain(OTHER_KEYWORDS).copied()
}

pub(super) const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

pub(super) const PARAM_AGGREGATORS: &[&str] = &[
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Keywords that may be called like functions: `start()`, `step()`, `min_of(a, b)`, ...
pub(super) const PREPROCESSORS: &[&str] = &["start", "end", "step", "range", "max_of", "min_of"];

/// Keywords the grammar accepts as a metric name (`metric_identifier`).
pub(super) const METRIC_KEYWORDS: &[&str] = &[
    "avg",
    "bottomk",
    "by",
    "count",
    "count_values",
    "fill",
    "fill_left",
    "fill_right",
    "group",
    "and",
    "or",
    "unless",
    "max",
    "min",
    "offset",
    "quantile",
    "stddev",
    "stdvar",
    "sum",
    "topk",
    "without",
    "start",
    "end",
    "limitk",
    "limit_ratio",
    "step",
    "range",
    "anchored",
    "smoothed",
    "max_of",
    "min_of",
];

/// Keywords the grammar accepts as a label name in grouping clauses (`maybe_label`).
pub(super) const LABEL_KEYWORDS: &[&str] = &[
    "avg",
    "bool",
    "bottomk",
    "by",
    "count",
    "count_values",
    "group",
    "group_left",
    "group_right",
    "fill",
    "fill_left",
    "fill_right",
    "ignoring",
    "and",
    "or",
    "unless",
    "max",
    "min",
    "offset",
    "on",
    "quantile",
    "stddev",
    "stdvar",
    "sum",
    "topk",
    "start",
    "end",
    "atan2",
    "limitk",
    "limit_ratio",
    "step",
    "range",
    "anchored",
    "smoothed",
    "max_of",
    "min_of",
];
