//! Randomised tests, deterministic and without proptest: a small LCG drives
//! - well-formed filters generated from the grammar, each with the exact tree (positions included)
//!   it must parse to;
//! - those filters mutated (characters deleted, inserted, replaced, slices repeated);
//! - random byte strings (read as lossy UTF-8), biased towards the language's tokens.
//!
//! Every input must parse or fail without panicking, errors must point inside the input, and
//! whatever parses must survive the round trip through the canonical form (`Display`).

use super::ast::{CompareOp, Condition, Field, Filter, LikePattern, Predicate, Value};
use super::{MAX_FILTER_BYTES, parse};

const ITERATIONS: usize = 10_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Parses any text; asserts the invariants; returns whether it parsed to a filter.
fn check_any(text: &str) -> bool {
    match parse(text) {
        Ok(Some(f)) => {
            let canonical = f.to_string();
            // The canonical form can be longer than the input (quotes, spaces, `!=` for `NOT =`).
            if canonical.len() <= MAX_FILTER_BYTES {
                let again = match parse(&canonical) {
                    Ok(Some(g)) => g,
                    other => panic!("{text:?} → {canonical:?} → {other:?}"),
                };
                assert!(
                    again.eq_ignoring_positions(&f),
                    "{text:?} → {canonical:?}: {again:?} != {f:?}"
                );
                assert_eq!(again.to_string(), canonical, "{text:?}");
            }
            true
        }
        Ok(None) => {
            assert!(text.trim().is_empty(), "{text:?}");
            false
        }
        Err(e) => {
            assert!(e.position <= text.chars().count(), "{text:?}: {e:?}");
            assert!(!e.message.is_empty());
            let _ = e.to_string();
            false
        }
    }
}

/// Generates filter text from the grammar, token by token, with the tree it must parse to.
struct Gen {
    rng: Rng,
    /// Tokens so far, and whether each may touch its neighbours without a space.
    toks: Vec<(String, bool)>,
    /// Conditions still allowed, to keep filters short.
    budget: usize,
}

const NAMES: &[&str] = &[
    "level",
    "namespace",
    "k8s.namespace.name",
    "_x",
    "pod_name",
    "a1",
    "in_x",
    "notes",
    "LIKE_",
    "android",
    "orders",
];
const KEYS: &[&str] = &[
    "http.status_code",
    "app.kubernetes.io/name",
    "custom_field",
    "a-b",
    "9lives",
    "-",
];
const WORDS: &[&str] = &[
    "ERROR",
    "service-a",
    "10.0.0.1",
    "GET",
    "true",
    "/api/v1",
    "12:30",
    "2xx",
    "v1.2.3",
    "a+b",
    "x_y",
    "1e",
    "-",
    "0x1F",
    "NaN",
];
const CHARS: &[char] = &[
    'a', 'Z', '0', ' ', '"', '\'', '\\', '%', '_', 'é', '日', '\n', '\t', '\r', '🙂', '(', ',',
];
const OPS: &[(&str, CompareOp)] = &[
    ("=", CompareOp::Eq),
    ("!=", CompareOp::Ne),
    ("<>", CompareOp::Ne),
    (">", CompareOp::Gt),
    (">=", CompareOp::Ge),
    ("<", CompareOp::Lt),
    ("<=", CompareOp::Le),
];

impl Gen {
    fn push(&mut self, text: impl Into<String>, glue: bool) {
        self.toks.push((text.into(), glue));
    }

    fn keyword(&mut self, kw: &str) {
        let text: String = kw
            .chars()
            .map(|c| {
                if self.rng.chance(50) {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect();
        self.push(text, false);
    }

    /// A quoted string literal of random characters, and its value.
    fn string(&mut self) -> (String, String) {
        let q = if self.rng.chance(50) { '"' } else { '\'' };
        let mut lit = q.to_string();
        let mut value = String::new();
        for _ in 0..self.rng.below(7) {
            let c = *self.rng.pick(CHARS);
            match c {
                '\\' if self.rng.chance(30) => {
                    let w = if self.rng.chance(50) { '%' } else { '_' };
                    lit.push('\\');
                    lit.push(w);
                    value.push('\\');
                    value.push(w);
                }
                '\\' => {
                    lit.push_str("\\\\");
                    value.push('\\');
                }
                c if c == q => {
                    lit.push('\\');
                    lit.push(c);
                    value.push(c);
                }
                '"' | '\'' | '\n' | '\t' | '\r' if self.rng.chance(50) => {
                    lit.push('\\');
                    lit.push(match c {
                        '\n' => 'n',
                        '\t' => 't',
                        '\r' => 'r',
                        c => c,
                    });
                    value.push(c);
                }
                c => {
                    lit.push(c);
                    value.push(c);
                }
            }
        }
        lit.push(q);
        (lit, value)
    }

    fn number(&mut self) -> Value {
        let mut text = String::new();
        if self.rng.chance(30) {
            text.push(if self.rng.chance(80) { '-' } else { '+' });
        }
        match self.rng.below(4) {
            0 => text.push_str(&self.rng.below(100_000).to_string()),
            1 => text.push_str(&format!("{}.{}", self.rng.below(1000), self.rng.below(100))),
            2 => text.push_str(&format!(".{}", self.rng.below(1000))),
            _ => text.push_str(&format!(
                "{}{}{}",
                self.rng.below(10),
                self.rng.pick(&["e", "E", "e+", "e-"]),
                self.rng.below(300)
            )),
        }
        let value = text.parse().expect("generated numbers are valid");
        Value::Number { text, value }
    }

    fn value(&mut self) -> Value {
        match self.rng.below(3) {
            0 => {
                let (lit, value) = self.string();
                self.push(lit, true);
                Value::String(value)
            }
            1 => {
                let v = self.number();
                self.push(v.text(), false);
                v
            }
            _ => {
                let w = *self.rng.pick(WORDS);
                self.push(w, false);
                Value::String(w.to_string())
            }
        }
    }

    fn condition(&mut self) -> Filter {
        self.budget = self.budget.saturating_sub(1);
        let position = self.toks.len();
        let field = match self.rng.below(3) {
            0 | 1 => {
                let n = *self.rng.pick(NAMES);
                self.push(n, false);
                Field::Named(n.to_string())
            }
            _ if self.rng.chance(50) => {
                let k = *self.rng.pick(KEYS);
                self.push(format!("@{k}"), false);
                Field::Attribute(k.to_string())
            }
            _ => {
                let (lit, key) = self.string();
                if key.is_empty() {
                    self.push("@\"k\"", true);
                    Field::Attribute("k".to_string())
                } else {
                    self.push(format!("@{lit}"), true);
                    Field::Attribute(key)
                }
            }
        };
        let predicate = match self.rng.below(5) {
            0..=2 => {
                let (text, op) = *self.rng.pick(OPS);
                self.push(text, true);
                let value = self.value();
                Predicate::Compare { op, value }
            }
            3 => {
                let negated = self.rng.chance(50);
                if negated {
                    self.keyword("NOT");
                }
                self.keyword("IN");
                self.push("(", true);
                let mut values = vec![self.value()];
                for _ in 0..self.rng.below(4) {
                    self.push(",", true);
                    values.push(self.value());
                }
                self.push(")", true);
                Predicate::In { negated, values }
            }
            _ => {
                let negated = self.rng.chance(50);
                if negated {
                    self.keyword("NOT");
                }
                self.keyword("LIKE");
                let pattern = LikePattern(self.value().text().to_string());
                Predicate::Like { negated, pattern }
            }
        };
        Filter::Condition(Condition {
            field,
            predicate,
            position,
        })
    }

    fn items(&mut self) -> usize {
        if self.budget < 4 {
            1
        } else {
            1 + self.rng.below(3)
        }
    }

    fn or(&mut self, depth: usize) -> Filter {
        let mut items = vec![self.and(depth)];
        for _ in 1..self.items() {
            self.keyword("OR");
            items.push(self.and(depth));
        }
        Filter::any(items)
    }

    fn and(&mut self, depth: usize) -> Filter {
        let mut items = vec![self.unary(depth)];
        for _ in 1..self.items() {
            self.keyword("AND");
            items.push(self.unary(depth));
        }
        Filter::all(items)
    }

    fn unary(&mut self, depth: usize) -> Filter {
        if depth > 0 && self.rng.chance(15) {
            self.keyword("NOT");
            self.unary(depth - 1).negated()
        } else if depth > 0 && self.budget >= 4 && self.rng.chance(25) {
            self.push("(", true);
            let f = self.or(depth - 1);
            self.push(")", true);
            f
        } else {
            self.condition()
        }
    }

    /// The tokens joined with random whitespace, and each token's character offset.
    fn join(&mut self) -> (String, Vec<usize>) {
        let mut text = String::new();
        let mut offsets = Vec::new();
        let mut chars = 0;
        for i in 0..self.toks.len() {
            if i > 0 {
                let glued = self.toks[i - 1].1 || self.toks[i].1;
                let space = if glued && self.rng.chance(40) {
                    ""
                } else {
                    *self.rng.pick(&[" ", " ", "  ", "\t", "\n", " \u{a0}"])
                };
                text.push_str(space);
                chars += space.chars().count();
            }
            offsets.push(chars);
            text.push_str(&self.toks[i].0);
            chars += self.toks[i].0.chars().count();
        }
        (text, offsets)
    }
}

/// Replaces token indices in `f`'s positions by character offsets.
fn place(f: &mut Filter, offsets: &[usize]) {
    match f {
        Filter::And(items) | Filter::Or(items) => items.iter_mut().for_each(|i| place(i, offsets)),
        Filter::Condition(c) => c.position = offsets[c.position],
    }
}

/// A well-formed filter and the exact tree it parses to.
fn generate(rng: Rng) -> (String, Filter, Rng) {
    let mut g = Gen {
        rng,
        toks: Vec::new(),
        budget: 24,
    };
    let mut want = g.or(6);
    let (text, offsets) = g.join();
    place(&mut want, &offsets);
    (text, want, g.rng)
}

#[test]
fn generated_filters_parse_to_their_tree_and_round_trip() {
    let mut rng = Rng(0x5eed_f117_e500_0001);
    let (mut conditions, mut longest) = (0, 0);
    for _ in 0..ITERATIONS {
        let (text, want, r) = generate(rng);
        rng = r;
        assert!(text.len() <= MAX_FILTER_BYTES, "{text}");
        let got = parse(&text);
        assert_eq!(got, Ok(Some(want.clone())), "{text:?}");
        assert!(check_any(&text));
        conditions += want.conditions().len();
        longest = longest.max(text.len());
    }
    println!(
        "grammar: {ITERATIONS} filters, all parsed to the expected tree; {conditions} conditions, \
         longest {longest} bytes"
    );
}

#[test]
fn mutated_filters_never_panic() {
    let mut rng = Rng(0x0bad_c0de_0000_0002);
    let noise = "()=!<>,'\"\\@%_ aZ9.-é日\u{0}";
    let noise: Vec<char> = noise.chars().collect();
    let mut parsed = 0;
    for _ in 0..ITERATIONS {
        let (text, _, r) = generate(rng);
        rng = r;
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() + 1);
            match rng.below(4) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 => chars.insert(at, *rng.pick(&noise)),
                2 if at < chars.len() => chars[at] = *rng.pick(&noise),
                _ => {
                    let to = (at + rng.below(8)).min(chars.len());
                    let slice: Vec<char> = chars[at..to].to_vec();
                    for (i, c) in slice.into_iter().enumerate() {
                        chars.insert(at + i, c);
                    }
                }
            }
        }
        let text: String = chars.into_iter().collect();
        parsed += usize::from(check_any(&text));
    }
    println!("mutations: {ITERATIONS} inputs, {parsed} parsed");
    assert!(parsed > ITERATIONS / 10, "{parsed}");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xfeed_0000_0000_0003);
    const ALPHABET: &[u8] = b"abcXYZ019 _.-/:@\"'\\()=!<>,%\t\n+";
    const CHUNKS: &[&str] = &[
        "level",
        "level = 'x'",
        "a IN (1, 2)",
        "@k LIKE '%'",
        " = ",
        "=",
        " AND ",
        " or ",
        " NOT ",
        " in ",
        " LIKE ",
        "(",
        ")",
        "'x'",
        "\"y\"",
        "1.5",
        "-2",
        "@a.b",
        "@'k'",
        ",",
        "日",
        "é",
        "<>",
        ">=",
    ];
    let mut parsed = 0;
    for _ in 0..ITERATIONS {
        let mut bytes = Vec::new();
        for _ in 0..rng.below(24) {
            match rng.below(100) {
                0..=24 => bytes.push(*rng.pick(ALPHABET)),
                25..=84 => bytes.extend_from_slice(rng.pick(CHUNKS).as_bytes()),
                85..=89 => bytes.push(rng.below(256) as u8),
                _ => bytes.push(b' '),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        parsed += usize::from(check_any(&text));
    }
    println!("random bytes: {ITERATIONS} inputs, {parsed} parsed");
    assert!(parsed > 0);
}

#[test]
fn fuzz_seeds_are_valid_filters() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/filter");
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).expect("fuzz/seeds/filter") {
        let path = entry.expect("seed").path();
        let text = std::fs::read_to_string(&path).expect("seed text");
        assert!(check_any(&text), "{}: {:?}", path.display(), parse(&text));
        seeds += 1;
    }
    assert!(seeds > 0);
}
