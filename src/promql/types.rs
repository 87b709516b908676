//! Whether `promql-parser` (=0.11.1) will accept a tree our parser built, decided without calling
//! it: value types, the crate's function table, and the checks its `check_ast` and grammar actions
//! make on them.
//!
//! [`crate_accepts`] says yes only when it is sure. Anything it does not model (binary modifiers
//! other than `bool`, `on` and `ignoring`; `@`; literals in forms the crate reads another way;
//! functions it does not list) and every type error is left to the crate, which then gives the
//! verdict and its own words for the error. So this module never produces an error, and the tools'
//! [`check`](super::check) keeps agreeing with [`validate`](super::validate), which always asks
//! the crate (the corpus test compares the two on every expression). It exists because the
//! crate's LR parse is the dearest step of a tool's check.
//!
//! Not here: our own syntax and structure checks (`parse`, `check`), rewriting text for the crate
//! (`rewrite`).

use super::token::{AGGREGATORS, T, Tok};
use super::tree::{Dur, Kind, Node, NodeId, Sel};

/// A PromQL value type, as the crate names them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Scalar,
    Vector,
    Matrix,
    Str,
}

/// One entry of the crate's function table (`parser/function.rs`): argument types, how many
/// more arguments it takes (0 exact, > 0 that many optional, < 0 any number), the result type.
struct Func {
    name: &'static str,
    args: &'static [Ty],
    variadic: i32,
    ret: Ty,
}

/// Shorthands for the table.
const S: Ty = Ty::Scalar;
const V: Ty = Ty::Vector;
const M: Ty = Ty::Matrix;
const STR: Ty = Ty::Str;

const fn f(name: &'static str, args: &'static [Ty], variadic: i32, ret: Ty) -> Func {
    Func {
        name,
        args,
        variadic,
        ret,
    }
}

/// The crate's functions, sorted by name (a unit test checks each entry against the crate).
const FUNCTIONS: &[Func] = &[
    f("abs", &[V], 0, V),
    f("absent", &[V], 0, V),
    f("absent_over_time", &[M], 0, V),
    f("acos", &[V], 0, V),
    f("acosh", &[V], 0, V),
    f("asin", &[V], 0, V),
    f("asinh", &[V], 0, V),
    f("atan", &[V], 0, V),
    f("atanh", &[V], 0, V),
    f("avg_over_time", &[M], 0, V),
    f("ceil", &[V], 0, V),
    f("changes", &[M], 0, V),
    f("clamp", &[V, S, S], 0, V),
    f("clamp_max", &[V, S], 0, V),
    f("clamp_min", &[V, S], 0, V),
    f("cos", &[V], 0, V),
    f("cosh", &[V], 0, V),
    f("count_over_time", &[M], 0, V),
    f("day_of_month", &[V], 1, V),
    f("day_of_week", &[V], 1, V),
    f("day_of_year", &[V], 1, V),
    f("days_in_month", &[V], 1, V),
    f("deg", &[V], 0, V),
    f("delta", &[M], 0, V),
    f("deriv", &[M], 0, V),
    f("double_exponential_smoothing", &[M, S, S], 0, V),
    f("end", &[], 0, S),
    f("exp", &[V], 0, V),
    f("first_over_time", &[M], 0, V),
    f("floor", &[V], 0, V),
    f("histogram_avg", &[V], 0, V),
    f("histogram_count", &[V], 0, V),
    f("histogram_fraction", &[S, S, V], 0, V),
    f("histogram_quantile", &[S, V], 0, V),
    f("histogram_quantiles", &[V, STR, S, S], 9, V),
    f("histogram_stddev", &[V], 0, V),
    f("histogram_stdvar", &[V], 0, V),
    f("histogram_sum", &[V], 0, V),
    f("hour", &[V], 1, V),
    f("idelta", &[M], 0, V),
    f("increase", &[M], 0, V),
    f("info", &[V, V], 1, V),
    f("integral", &[M, S], 1, V),
    f("irate", &[M], 0, V),
    f("label_join", &[V, STR, STR, STR], -1, V),
    f("label_replace", &[V, STR, STR, STR, STR], 0, V),
    f("last_over_time", &[M], 0, V),
    f("ln", &[V], 0, V),
    f("log10", &[V], 0, V),
    f("log2", &[V], 0, V),
    f("mad_over_time", &[M], 0, V),
    f("max_of", &[S, S], 0, S),
    f("max_over_time", &[M], 0, V),
    f("min_of", &[S, S], 0, S),
    f("min_over_time", &[M], 0, V),
    f("minute", &[V], 1, V),
    f("month", &[V], 1, V),
    f("pi", &[], 0, S),
    f("predict_linear", &[M, S], 0, V),
    f("present_over_time", &[M], 0, V),
    f("quantile_over_time", &[S, M], 0, V),
    f("rad", &[V], 0, V),
    f("range", &[], 0, S),
    f("rate", &[M], 0, V),
    f("resets", &[M], 0, V),
    f("round", &[V, S], 1, V),
    f("scalar", &[V], 0, S),
    f("sgn", &[V], 0, V),
    f("sin", &[V], 0, V),
    f("sinh", &[V], 0, V),
    f("sort", &[V], 0, V),
    f("sort_by_label", &[V, STR], -1, V),
    f("sort_by_label_desc", &[V, STR], -1, V),
    f("sort_desc", &[V], 0, V),
    f("sqrt", &[V], 0, V),
    f("start", &[], 0, S),
    f("start_timestamp", &[V], 0, V),
    f("stddev_over_time", &[M], 0, V),
    f("stdvar_over_time", &[M], 0, V),
    f("step", &[], 0, S),
    f("sum_over_time", &[M], 0, V),
    f("tan", &[V], 0, V),
    f("tanh", &[V], 0, V),
    f("time", &[], 0, S),
    f("timestamp", &[V], 0, V),
    f("ts_of_first_over_time", &[M], 0, V),
    f("ts_of_last_over_time", &[M], 0, V),
    f("ts_of_max_over_time", &[M], 0, V),
    f("ts_of_min_over_time", &[M], 0, V),
    f("vector", &[S], 0, V),
    f("year", &[V], 1, V),
];

/// Whether `promql-parser` accepts the tree rooted at `root`, parsed from `src` into `toks` and
/// `ast`, when handed `src` with only comments removed and label regexes made trivial. `false`
/// means "ask the crate", not "invalid".
pub(super) fn crate_accepts(src: &str, toks: &[Tok], ast: &[Node], root: NodeId) -> bool {
    Typer { src, toks, ast }.ty(root).is_some()
}

struct Typer<'a> {
    src: &'a str,
    toks: &'a [Tok],
    ast: &'a [Node],
}

impl Typer<'_> {
    /// The node's type when the crate surely accepts it and everything below it.
    fn ty(&self, id: NodeId) -> Option<Ty> {
        let node = &self.ast[id];
        match &node.kind {
            Kind::Num => plain_number(self.text(node.span)).then_some(S),
            Kind::Str => plain_string(self.text(node.span)).then_some(STR),
            Kind::Sel(sel) => self.selector(sel, node).then_some(V),
            Kind::Paren(inner) => self.ty(*inner),
            Kind::Unary(inner) => self
                .ty(*inner)
                .filter(|t| matches!(t, Ty::Scalar | Ty::Vector)),
            Kind::Range { inner, range, .. } => {
                let bare = matches!(self.ast[*inner].kind, Kind::Sel(_));
                (bare && self.duration(range) && self.ty(*inner)? == V).then_some(M)
            }
            Kind::Subquery {
                inner,
                range,
                step,
                legacy_colon,
            } => {
                let durations =
                    self.duration(range) && step.as_ref().is_none_or(|s| self.duration(s));
                (legacy_colon.is_none() && durations && self.ty(*inner)? == V).then_some(M)
            }
            Kind::Offset { inner, dur } => {
                // The crate sets an offset on a selector, range or subquery that has none yet.
                let target = matches!(
                    self.ast[*inner].kind,
                    Kind::Sel(_) | Kind::Range { .. } | Kind::Subquery { .. }
                );
                (target && self.duration(dur))
                    .then(|| self.ty(*inner))
                    .flatten()
            }
            Kind::At { .. } | Kind::Modifier { .. } => None,
            Kind::Call { name, args, .. } => self.call(name, args),
            Kind::Agg { args, .. } => self.aggregation(node, args),
            Kind::Binary {
                op,
                op_span,
                fill,
                lhs,
                rhs,
                ..
            } => {
                if *fill {
                    return None;
                }
                let mods = self.binary_modifiers(op_span.1, self.ast[*rhs].span.0)?;
                binary(*op, mods, self.ty(*lhs)?, self.ty(*rhs)?)
            }
        }
    }

    fn text(&self, (start, end): (usize, usize)) -> &str {
        &self.src[start..end]
    }

    /// The tokens that start in `[from, to)`.
    fn toks_in(&self, from: usize, to: usize) -> &[Tok] {
        let first = self.toks.partition_point(|t| t.start < from);
        let last = self.toks.partition_point(|t| t.start < to);
        &self.toks[first..last]
    }

    /// `check_ast_for_call` and the arity check before it, for a function the table lists.
    fn call(&self, name: &str, args: &[NodeId]) -> Option<Ty> {
        let func = &FUNCTIONS[FUNCTIONS.binary_search_by(|f| f.name.cmp(name)).ok()?];
        let fixed = func.args.len();
        let arity = match func.variadic {
            0 => args.len() == fixed,
            more => {
                let least = fixed.saturating_sub(1);
                args.len() >= least && (more < 0 || args.len() <= least + more as usize)
            }
        };
        if !arity {
            return None;
        }
        for (i, arg) in args.iter().enumerate() {
            let want = func.args[i.min(fixed.checked_sub(1)?)];
            if self.ty(*arg)? != want {
                return None;
            }
        }
        Some(func.ret)
    }

    /// `new_aggregate_expr` and `check_ast_for_aggregate_expr`, with plain grouping labels.
    fn aggregation(&self, node: &Node, args: &[NodeId]) -> Option<Ty> {
        let op = match self.toks_in(node.span.0, node.span.0 + 1).first()?.t {
            T::Kw(op) => op,
            _ => return None,
        };
        let param = match op {
            "sum" | "avg" | "count" | "min" | "max" | "group" | "stddev" | "stdvar" => None,
            "topk" | "bottomk" | "quantile" => Some(S),
            "count_values" => Some(STR),
            _ => return None,
        };
        let (vector, rest) = args.split_last()?;
        match (param, rest) {
            (None, []) => {}
            (Some(want), [p]) if self.ty(*p)? == want => {}
            _ => return None,
        }
        if self.ty(*vector)? != V {
            return None;
        }
        // Outside the arguments, only the keyword and a `by`/`without` list of plain labels.
        let mut from = node.span.0;
        for span in args
            .iter()
            .map(|a| self.ast[*a].span)
            .chain([(node.span.1, node.span.1)])
        {
            if !self
                .toks_in(from, span.0)
                .iter()
                .all(|t| self.grouping_tok(t))
            {
                return None;
            }
            from = span.1;
        }
        Some(V)
    }

    /// A token a grouping clause may hold and the crate reads as we do.
    fn grouping_tok(&self, t: &Tok) -> bool {
        match t.t {
            T::LParen | T::RParen | T::Comma => true,
            T::Kw(k) => matches!(k, "by" | "without") || AGGREGATORS.contains(&k),
            T::Ident => plain_label(&self.src[t.start..t.end]),
            _ => false,
        }
    }

    /// The modifiers between a binary operator and its right operand, when the crate reads them
    /// as we do: `bool`, then `on`/`ignoring` and `group_left`/`group_right` with plain labels.
    fn binary_modifiers(&self, from: usize, to: usize) -> Option<Modifiers<'_>> {
        let mut mods = Modifiers::default();
        // The list a `(` opens: the matching labels (false) or the group's (true).
        let (mut target, mut open) = (None, false);
        for t in self.toks_in(from, to) {
            let text = &self.src[t.start..t.end];
            match (t.t, open) {
                (T::LParen, false) if target.is_some() => open = true,
                (T::RParen, true) => (open, target) = (false, None),
                (T::Comma, true) => {}
                (T::Ident, true) if plain_label(text) => match target? {
                    false => mods.matching.as_mut()?.1.push(text),
                    true => mods.group.as_mut()?.push(text),
                },
                (T::Kw("bool"), false) if !mods.return_bool && mods.matching.is_none() => {
                    mods.return_bool = true
                }
                (T::Kw(k @ ("on" | "ignoring")), false) if mods.matching.is_none() => {
                    mods.matching = Some((k == "on", Vec::new()));
                    target = Some(false);
                }
                (T::Kw("group_left" | "group_right"), false)
                    if mods.matching.is_some() && mods.group.is_none() =>
                {
                    mods.group = Some(Vec::new());
                    target = Some(true);
                }
                _ => return None,
            }
        }
        (!open).then_some(mods)
    }

    /// A selector whose name and matchers the crate reads as we do, and which it does not refuse.
    fn selector(&self, sel: &Sel, node: &Node) -> bool {
        // A plain metric name (no keyword, no quotes) ...
        let name_plain = !sel.named
            || self
                .toks_in(node.span.0, node.span.0 + 1)
                .first()
                .is_some_and(|t| matches!(t.t, T::Ident | T::MetricIdent));
        // ... and only `label op "value"` matchers, comma-separated: no quoted label names, no
        // metric name in the braces, no `or`.
        let plain_matchers = sel.braces.is_none_or(|(open, close)| {
            let toks = self.toks_in(open, close);
            let in_order = toks.iter().enumerate().all(|(i, t)| match (i % 4, t.t) {
                (0, T::LBrace | T::Comma | T::RBrace) => true,
                (1, T::Ident) => plain_label(&self.src[t.start..t.end]),
                (2, T::Eql | T::Neq | T::EqlRegex | T::NeqRegex) => true,
                (3, T::Str) => true,
                _ => false,
            });
            in_order && toks.last().is_some_and(|t| t.t == T::RBrace)
        });
        let matchers = sel.matchers.iter().all(|m| {
            let regex = matches!(m.op, T::EqlRegex | T::NeqRegex);
            (regex || !self.text(m.value_span).contains('\\'))
                && !(sel.named && m.name == "__name__")
        });
        // Without a name, one matcher that cannot match the empty string.
        let selective = sel.named
            || sel.matchers.iter().any(|m| match m.op {
                T::Eql => !m.value.is_empty(),
                T::Neq => m.value.is_empty(),
                _ => false,
            });
        name_plain && plain_matchers && matchers && selective
    }

    /// A literal duration the crate parses to the same non-zero value.
    fn duration(&self, dur: &Dur) -> bool {
        dur.simple && dur.lit.is_some() && plain_duration(self.text(dur.span))
    }
}

/// Binary-expression modifiers, as `check_ast_for_binary_expr` reads them.
#[derive(Default)]
struct Modifiers<'a> {
    return_bool: bool,
    /// `on` (true) or `ignoring` (false), with its labels.
    matching: Option<(bool, Vec<&'a str>)>,
    /// `group_left` or `group_right`, with its labels.
    group: Option<Vec<&'a str>>,
}

/// `check_ast_for_binary_expr`: the result type when the crate accepts the operands and modifiers.
fn binary(op: T, mods: Modifiers, lhs: Ty, rhs: Ty) -> Option<Ty> {
    let comparison = matches!(op, T::EqlC | T::Neq | T::Lte | T::Lss | T::Gte | T::Gtr);
    let set = matches!(op, T::Kw("and" | "or" | "unless"));
    let arithmetic = matches!(
        op,
        T::Add | T::Sub | T::Mul | T::Div | T::Mod | T::Pow | T::Kw("atan2")
    );
    let both_scalar = lhs == S && rhs == S;
    let both_vector = lhs == V && rhs == V;
    let operands = matches!(lhs, Ty::Scalar | Ty::Vector) && matches!(rhs, Ty::Scalar | Ty::Vector);
    let ok = (comparison || set || arithmetic)
        && operands
        && (!mods.return_bool || comparison)
        && (!comparison || !both_scalar || mods.return_bool)
        && (!set || both_vector)
        && (!set || mods.group.is_none())
        && (mods.matching.is_none() && mods.group.is_none() || both_vector)
        && match (&mods.matching, &mods.group) {
            (Some((true, on)), Some(group)) => !group.iter().any(|g| on.contains(g)),
            (None, Some(_)) => false,
            _ => true,
        };
    ok.then_some(if both_scalar { S } else { V })
}

/// `[A-Za-z_][A-Za-z0-9_]*`: a label the crate's grouping rule and lexer take as we do.
fn plain_label(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A decimal number, possibly signed, that Go and the crate read alike: `1`, `0.5`, `1e3`. The
/// crate reads a number that starts with `0` and has no `.` as an octal integer (`0e3` fails), so
/// such a number must be `0` itself.
fn plain_number(s: &str) -> bool {
    let s = s.trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_whitespace());
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.len() <= 3 && digits(e)
    });
    let octal = int.starts_with('0') && !mantissa.contains('.') && s != "0";
    !int.is_empty() && digits(int) && digits(frac) && exponent_ok && !octal
}

/// A quoted string with no escapes, which every unquoting reads alike.
fn plain_string(s: &str) -> bool {
    s.len() >= 2 && !s.contains('\\')
}

/// `1h30m`: units in the order y, w, d, h, m, s, ms, each at most once with at most 9 digits, not
/// all zero: the crate's `parse_duration` reads it, and to the value Go's does.
fn plain_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let s = s.trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_whitespace());
    let (mut rest, mut next_unit, mut nonzero) = (s, 0, false);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return false;
        }
        nonzero |= rest[..digits].bytes().any(|b| b != b'0');
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let Some(unit) = UNITS[next_unit..]
            .iter()
            .position(|u| *u == &rest[..letters])
        else {
            return false;
        };
        next_unit += unit + 1;
        rest = &rest[letters..];
    }
    nonzero
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::check::Checker;
    use crate::promql::lex::lex;
    use crate::promql::parse::Parser;
    use crate::promql::rewrite::{Edit, apply_edits, benign_regexes, token_edits};
    use promql_parser::parser::value::ValueType;

    fn crate_ty(t: Ty) -> ValueType {
        match t {
            Ty::Scalar => ValueType::Scalar,
            Ty::Vector => ValueType::Vector,
            Ty::Matrix => ValueType::Matrix,
            Ty::Str => ValueType::String,
        }
    }

    /// Each table entry is the crate's: a call built from it parses, and the crate's function
    /// has the same argument types, variadic count and result.
    #[test]
    fn the_function_table_is_the_crates() {
        assert!(
            FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name),
            "sorted"
        );
        for func in FUNCTIONS {
            let args: Vec<&str> = func
                .args
                .iter()
                .map(|t| match t {
                    Ty::Scalar => "1",
                    Ty::Vector => "x",
                    Ty::Matrix => "x[5m]",
                    Ty::Str => "\"a\"",
                })
                .collect();
            let text = format!("{}({})", func.name, args.join(", "));
            match promql_parser::parser::parse(&text) {
                Ok(promql_parser::parser::Expr::Call(call)) => {
                    let want: Vec<ValueType> = func.args.iter().map(|t| crate_ty(*t)).collect();
                    assert_eq!(call.func.arg_types, want, "{text}");
                    assert_eq!(call.func.variadic, func.variadic, "{text}");
                    assert_eq!(call.func.return_type, crate_ty(func.ret), "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    /// The tools' pipeline up to the crate: whether the fast path decides `expr`, and the text
    /// the crate would have been handed.
    fn decide(expr: &str) -> Option<(bool, String)> {
        let (mut toks, lex_err) = lex(expr);
        let comments: Vec<Edit> = toks
            .iter()
            .filter(|t| t.t == T::Comment)
            .map(|t| Edit::new((t.start, t.end), ""))
            .collect();
        toks.retain(|t| t.t != T::Comment);
        let mut parser = Parser::new(expr, toks, lex_err);
        let root = parser.parse_top().ok()?;
        let mut checker = Checker::new(&parser.ast);
        checker.check_root(root).ok()?;
        let written = checker.edits.is_empty()
            && parser.edits.is_empty()
            && token_edits(expr, &parser.toks).is_empty();
        let fast = written && crate_accepts(expr, &parser.toks, &parser.ast, root);
        let mut edits = comments;
        edits.extend(benign_regexes(&checker.regexes));
        Some((fast, apply_edits(expr, &edits, 0, expr.len())))
    }

    /// What an agent typically asks is decided here; what this module does not model, and every
    /// type error, goes to the crate.
    #[test]
    fn common_queries_skip_the_crate_the_rest_do_not() {
        for expr in [
            "up",
            "up{job=\"api\", instance=~\"10\\\\.0.*\"}",
            "sum by (instance) (rate(http_requests_total{code!~\"5..\"}[5m]))",
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            "sum(rate(a[5m])) / sum(rate(b[5m])) * 100",
            "rate(x[5m] offset 1h) > bool 0",
            "topk(5, count by (job) (up))",
            "count_values(\"version\", build_info)",
            "a * on (instance) group_left (nodename) node_uname_info",
            "a / ignoring (code) b",
            "max_over_time(rate(x[1m])[1h:5m])",
            "label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")",
            "-sum(x) # a comment",
            "1 + 2 * 3",
            "time() - process_start_time_seconds",
            "absent(up{job=\"api\"}) == 1",
            "sum without (pod) (kube_pod_info)",
            "job:http_requests:rate5m > 0.5",
            "x[5m]",
        ] {
            assert_eq!(decide(expr).map(|d| d.0), Some(true), "{expr}");
        }
        for expr in [
            "rate(x)",
            "sum(x[5m])",
            "1 > 2",
            "x and 1",
            "x + on (a) 1",
            "x or on (a) group_left y",
            "a * on (b) group_left (b) c",
            "foo_bar(x)",
            "topk(x, y)",
            "limitk(2, x)",
            "x @ 100",
            "x offset 0s",
            "x + fill(0) y",
            "a{__name__=\"b\"}",
            "{\"a.b\"}",
            "{job=~\".+\"}",
            "-\"a\"",
            "exp(NaN)",
            "0x10",
            "x[5m+1m]",
            "rate(x[5m] anchored)",
        ] {
            // `None`: our own checks refused it first.
            assert_ne!(decide(expr).map(|d| d.0), Some(true), "{expr}");
        }
    }

    /// Soundness over Prometheus' own test expressions: whenever the fast path decides, the crate
    /// accepts the text it would have been handed. (The corpus test then checks that `check` and
    /// `validate` agree word for word.)
    #[test]
    fn over_the_corpus_the_crate_accepts_all_the_fast_path_decides() {
        let corpus = include_str!("../../tests/data/promql/corpus.jsonl");
        let mut decided = 0;
        for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let expr = v["expr"].as_str().unwrap();
            if let Some((true, text)) = decide(expr) {
                decided += 1;
                assert!(
                    promql_parser::parser::parse(&text).is_ok(),
                    "decided {expr:?}, which the crate refuses"
                );
            }
        }
        assert!(decided >= 1000, "the fast path decided only {decided}");
        println!("fast path decided {decided} corpus expressions");
    }

    #[test]
    fn durations_numbers_and_labels() {
        for d in ["5m", "1h30m", "1y2w3d4h5m6s7ms", "100ms", "-5m", "+ 1h"] {
            assert!(plain_duration(d), "{d}");
        }
        for d in [
            "0s",
            "0m0s",
            "5",
            "30s5m",
            "1m1m",
            "5mm",
            "1.5h",
            "1234567890s",
            "5x",
            "",
        ] {
            assert!(!plain_duration(d), "{d}");
        }
        for n in ["1", "0", "0.5", "0.5e3", "5.", "1e3", "2.5E-3", "- 1", "+1"] {
            assert!(plain_number(n), "{n}");
        }
        for n in [
            ".5", "0x1f", "Inf", "NaN", "1_000", "1e", "1e1234", "5m", "0e3", "010", "-0e1", "09",
        ] {
            assert!(!plain_number(n), "{n}");
        }
        assert!(plain_label("le") && plain_label("_x1") && plain_label("on"));
        assert!(!plain_label("1a") && !plain_label("ä") && !plain_label("a.b") && !plain_label(""));
    }
}
