//! The formula language of `analyze_telemetry`: arithmetic over the values of labelled queries,
//! such as `(A / B) * 100` or `A / (A + B)`.
//!
//! Grammar: numbers (`12`, `0.5`, `1e3`), query labels (`A`, `errors_5xx`), `+ - * /`, unary minus,
//! parentheses, and the functions `abs(x)`, `sqrt(x)`, `round(x)` / `round(x, digits)`,
//! `min(x, y, …)` and `max(x, y, …)`. Bounded to [`MAX_LEN`] bytes and [`MAX_DEPTH`] levels of
//! nesting, so no input can exhaust the stack. Evaluation never yields NaN or an infinity: a
//! division by zero, a missing operand or a non-finite result is a [`Null`] that says why.
//! Joining the operands' groups and time buckets is the caller's business, not this module's.

use std::fmt;

/// Longest formula accepted, in bytes.
pub const MAX_LEN: usize = 512;
/// Deepest nesting of parentheses, calls and unary minus.
pub const MAX_DEPTH: usize = 32;
/// Longest query label.
pub const MAX_LABEL: usize = 32;

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Number(f64),
    /// The value of the query with this label.
    Ref(String),
    /// `-x`.
    Neg(Box<Expr>),
    /// `x op y`.
    Binary(Op, Box<Expr>, Box<Expr>),
    /// `f(x, …)`.
    Call(Function, Vec<Expr>),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `abs(x)`
    Abs,
    /// `sqrt(x)`
    Sqrt,
    /// `round(x)` or `round(x, digits)` (digits after the point, 0–15).
    Round,
    /// `min(x, y, …)`
    Min,
    /// `max(x, y, …)`
    Max,
}

impl Function {
    /// Every function, by name: the error for an unknown one lists these.
    pub const ALL: &'static [(&'static str, Function)] = &[
        ("abs", Function::Abs),
        ("sqrt", Function::Sqrt),
        ("round", Function::Round),
        ("min", Function::Min),
        ("max", Function::Max),
    ];

    fn arity_ok(self, n: usize) -> bool {
        match self {
            Function::Abs | Function::Sqrt => n == 1,
            Function::Round => n == 1 || n == 2,
            Function::Min | Function::Max => n >= 1,
        }
    }

    fn arity(self) -> &'static str {
        match self {
            Function::Abs | Function::Sqrt => "one argument",
            Function::Round => "one or two arguments (value, digits)",
            Function::Min | Function::Max => "at least one argument",
        }
    }
}

/// Why a formula does not parse, and where (a byte offset).
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaError {
    /// What is wrong and what to write instead.
    pub message: String,
    /// Byte offset in the formula.
    pub position: usize,
}

impl fmt::Display for FormulaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.position)
    }
}

impl std::error::Error for FormulaError {}

/// Why a formula has no value at one point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Null {
    /// The query with this label has no value here.
    Missing(String),
    /// A divisor is zero.
    DivisionByZero,
    /// The result is not a finite number (e.g. `sqrt` of a negative).
    NotFinite,
}

impl fmt::Display for Null {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Null::Missing(label) => write!(f, "{label} has no value"),
            Null::DivisionByZero => f.write_str("division by zero"),
            Null::NotFinite => f.write_str("the result is not a finite number"),
        }
    }
}

/// Parses `text`.
pub fn parse(text: &str) -> Result<Expr, FormulaError> {
    if text.len() > MAX_LEN {
        return Err(FormulaError {
            message: format!(
                "the formula is {} bytes long; at most {MAX_LEN} are accepted",
                text.len()
            ),
            position: MAX_LEN,
        });
    }
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    parser.skip_space();
    if parser.at == parser.bytes.len() {
        return Err(parser.error("the formula is empty; write e.g. (A / B) * 100"));
    }
    let expr = parser.sum()?;
    parser.skip_space();
    if parser.at < parser.bytes.len() {
        return Err(parser.error(&format!(
            "unexpected '{}'; expected an operator (+ - * /) or the end",
            parser.rest_char()
        )));
    }
    Ok(expr)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> FormulaError {
        FormulaError {
            message: message.to_string(),
            position: self.at,
        }
    }

    fn rest_char(&self) -> char {
        self.text[self.at..].chars().next().unwrap_or(' ')
    }

    fn skip_space(&mut self) {
        while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, FormulaError>,
    ) -> Result<T, FormulaError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(&format!("the formula nests deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    /// sum := product (('+' | '-') product)*
    fn sum(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.product()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.at += 1;
            let right = self.product()?;
            let op = if c == b'+' { Op::Add } else { Op::Sub };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// product := unary (('*' | '/') unary)*
    fn product(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.unary()?;
        while let Some(c @ (b'*' | b'/')) = self.peek() {
            self.at += 1;
            let right = self.unary()?;
            let op = if c == b'*' { Op::Mul } else { Op::Div };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// unary := '-' unary | '+' unary | primary
    fn unary(&mut self) -> Result<Expr, FormulaError> {
        match self.peek() {
            Some(b'-') => {
                self.at += 1;
                self.nested(|p| Ok(Expr::Neg(Box::new(p.unary()?))))
            }
            Some(b'+') => {
                self.at += 1;
                self.nested(|p| p.unary())
            }
            _ => self.primary(),
        }
    }

    /// primary := number | label | function '(' args ')' | '(' sum ')'
    fn primary(&mut self) -> Result<Expr, FormulaError> {
        match self.peek() {
            None => Err(self.error("the formula ends where a value was expected")),
            Some(b'(') => {
                let open = self.at;
                self.at += 1;
                let inner = self.nested(|p| p.sum())?;
                if self.peek() != Some(b')') {
                    return Err(FormulaError {
                        message: "unclosed '('; add ')'".into(),
                        position: open,
                    });
                }
                self.at += 1;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.name(),
            Some(_) => Err(self.error(&format!(
                "unexpected '{}'; expected a number, a query label such as A, a function or '('",
                self.rest_char()
            ))),
        }
    }

    fn number(&mut self) -> Result<Expr, FormulaError> {
        let start = self.at;
        while self.at < self.bytes.len()
            && (self.bytes[self.at].is_ascii_digit() || self.bytes[self.at] == b'.')
        {
            self.at += 1;
        }
        if self.at < self.bytes.len() && matches!(self.bytes[self.at], b'e' | b'E') {
            let mark = self.at;
            self.at += 1;
            if self.at < self.bytes.len() && matches!(self.bytes[self.at], b'+' | b'-') {
                self.at += 1;
            }
            let digits = self.at;
            while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_digit() {
                self.at += 1;
            }
            if self.at == digits {
                self.at = mark;
            }
        }
        let text = &self.text[start..self.at];
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Expr::Number(v)),
            _ => Err(FormulaError {
                message: format!("'{text}' is not a number"),
                position: start,
            }),
        }
    }

    fn name(&mut self) -> Result<Expr, FormulaError> {
        let start = self.at;
        while self.at < self.bytes.len()
            && (self.bytes[self.at].is_ascii_alphanumeric() || self.bytes[self.at] == b'_')
        {
            self.at += 1;
        }
        let name = &self.text[start..self.at];
        if self.peek() != Some(b'(') {
            if name.len() > MAX_LABEL {
                return Err(FormulaError {
                    message: format!("query label '{name}' is longer than {MAX_LABEL} characters"),
                    position: start,
                });
            }
            return Ok(Expr::Ref(name.to_string()));
        }
        let Some(&(_, function)) = Function::ALL.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = Function::ALL.iter().map(|(n, _)| *n).collect();
            return Err(FormulaError {
                message: format!("unknown function '{name}'; functions: {}", names.join(", ")),
                position: start,
            });
        };
        self.at += 1;
        let mut args = Vec::new();
        if self.peek() != Some(b')') {
            loop {
                args.push(self.nested(|p| p.sum())?);
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b')') => break,
                    _ => return Err(self.error(&format!("expected ',' or ')' in {name}(…)"))),
                }
            }
        }
        self.at += 1;
        if !function.arity_ok(args.len()) {
            return Err(FormulaError {
                message: format!("{name} takes {}", function.arity()),
                position: start,
            });
        }
        Ok(Expr::Call(function, args))
    }
}

impl Expr {
    /// The query labels the formula reads, each once, in order of appearance.
    pub fn labels(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_labels(&mut out);
        out
    }

    fn collect_labels<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Ref(label) => {
                if !out.contains(&label.as_str()) {
                    out.push(label);
                }
            }
            Expr::Neg(x) => x.collect_labels(out),
            Expr::Binary(_, a, b) => {
                a.collect_labels(out);
                b.collect_labels(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect_labels(out)),
        }
    }

    /// The value of the formula when each label's value comes from `value`.
    pub fn eval(&self, value: &dyn Fn(&str) -> Option<f64>) -> Result<f64, Null> {
        let v = match self {
            Expr::Number(n) => *n,
            Expr::Ref(label) => value(label).ok_or_else(|| Null::Missing(label.clone()))?,
            Expr::Neg(x) => -x.eval(value)?,
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval(value)?, b.eval(value)?);
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div if b == 0.0 => return Err(Null::DivisionByZero),
                    Op::Div => a / b,
                }
            }
            Expr::Call(function, args) => {
                let args = args
                    .iter()
                    .map(|a| a.eval(value))
                    .collect::<Result<Vec<f64>, Null>>()?;
                match function {
                    Function::Abs => args[0].abs(),
                    Function::Sqrt => args[0].sqrt(),
                    Function::Round => {
                        let digits = args.get(1).copied().unwrap_or(0.0).clamp(0.0, 15.0) as i32;
                        let scale = 10f64.powi(digits);
                        (args[0] * scale).round() / scale
                    }
                    Function::Min => args.iter().copied().fold(f64::INFINITY, f64::min),
                    Function::Max => args.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                }
            }
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(Null::NotFinite)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, a: Option<f64>, b: Option<f64>) -> Result<f64, Null> {
        parse(text).unwrap().eval(&|l| match l {
            "A" => a,
            "B" => b,
            _ => None,
        })
    }

    #[test]
    fn arithmetic_follows_the_usual_precedence() {
        assert_eq!(eval("(A/B)*100", Some(5.0), Some(20.0)), Ok(25.0));
        assert_eq!(eval("A / (A + B)", Some(1.0), Some(3.0)), Ok(0.25));
        assert_eq!(eval("A - B * 2", Some(10.0), Some(3.0)), Ok(4.0));
        assert_eq!(eval("-A + -(-B)", Some(1.0), Some(3.0)), Ok(2.0));
        assert_eq!(eval("10 - 4 - 3", None, None), Ok(3.0));
        assert_eq!(eval("8 / 4 / 2", None, None), Ok(1.0));
        assert_eq!(eval("1.5e3 + .5", None, None), Ok(1500.5));
    }

    #[test]
    fn functions() {
        assert_eq!(eval("abs(A - B)", Some(1.0), Some(3.0)), Ok(2.0));
        assert_eq!(
            eval("round(A / B * 100, 1)", Some(1.0), Some(3.0)),
            Ok(33.3)
        );
        assert_eq!(eval("round(2.5)", None, None), Ok(3.0));
        assert_eq!(eval("min(A, B, 0.5)", Some(1.0), Some(3.0)), Ok(0.5));
        assert_eq!(eval("max(A, B)", Some(1.0), Some(3.0)), Ok(3.0));
        assert_eq!(eval("sqrt(A)", Some(16.0), None), Ok(4.0));
    }

    #[test]
    fn nulls_say_why() {
        assert_eq!(
            eval("A / B", Some(1.0), Some(0.0)),
            Err(Null::DivisionByZero)
        );
        assert_eq!(eval("0 / B", None, Some(0.0)), Err(Null::DivisionByZero));
        assert_eq!(
            eval("A + B", Some(1.0), None),
            Err(Null::Missing("B".into()))
        );
        assert_eq!(eval("sqrt(A)", Some(-1.0), None), Err(Null::NotFinite));
        assert_eq!(eval("A * A", Some(1e200), None), Err(Null::NotFinite));
    }

    #[test]
    fn labels_are_listed_once() {
        assert_eq!(
            parse("A / (A + B) + C1").unwrap().labels(),
            ["A", "B", "C1"]
        );
    }

    #[test]
    fn errors_are_positioned_and_say_what_to_write() {
        let e = |t: &str| parse(t).unwrap_err();
        assert_eq!(e("(A / B").position, 0);
        assert!(e("(A / B").message.contains("add ')'"));
        assert_eq!(e("A / ").position, 4);
        assert!(
            e("A % B").message.contains("unexpected '%'"),
            "{:?}",
            e("A % B")
        );
        assert!(
            e("pow(A, 2)")
                .message
                .contains("functions: abs, sqrt, round, min, max")
        );
        assert!(e("abs(A, B)").message.contains("abs takes one argument"));
        assert!(e("min()").message.contains("at least one"));
        assert!(e("").message.contains("empty"));
        assert!(e("A B").message.contains("expected an operator"));
        assert!(e("1e999").message.contains("not a number"));
        assert!(e(&"A+".repeat(300)).message.contains("at most 512"));
        assert!(
            e(&format!("{}A{}", "(".repeat(40), ")".repeat(40)))
                .message
                .contains("deeper than 32")
        );
        assert!(
            e(&format!("{}A", "-".repeat(40)))
                .message
                .contains("deeper")
        );
    }
}
