//! Runs `proms_mcp::promql::validate` (and `check`, which must agree with it) over PromQL
//! expressions collected from Prometheus' own test suites (v2.42 and head): nothing Prometheus
//! accepts may be rejected, and most of what it rejects should be caught before a query is sent.
//!
//! An expression is acceptable when `expect_head` or `prom242_valid` is true, invalid otherwise.

use proms_mcp::promql::{check, validate};

/// Share of the invalid expressions that must be caught, in percent (measured 96.0%, 143 of 149;
/// the 6 missed are accepted by Prometheus 3.x: `foo[1]`, `x[5m] OFFSET 1` and four
/// `{"foo", "bar"}`-style selectors that only the codemirror linter rejects).
const MIN_CAUGHT_PERCENT: f64 = 95.0;

/// Expressions labelled acceptable that Prometheus itself rejects. They come from
/// `web/ui/module/codemirror-promql/src/parser/parser.test.ts`, whose editor parser recovers from
/// syntax errors without reporting them (and whose JS string literals dropped the backslashes
/// of `\"`). `validate` rejects them, as Prometheus does; they are listed, not counted.
const DISPUTED: &[(&str, &str)] = &[
    (
        "sum (rate(foo[5m])) @ 456",
        "Prometheus 2.42 refused it (prom242_error) and head still does: @ needs a selector or subquery (parse.go getAtModifierVars)",
    ),
    (
        "{a=\"b\",\"foo\",c~=\"d\"}",
        "'~' is not a character lex.go accepts inside braces",
    ),
    (
        "{\"this is \"foo\" metric\"}",
        "the string ends before foo; an identifier cannot follow a matcher",
    ),
    (
        "{\"foo\",\"this is \"bar\" label\"=\"val\"}",
        "the string ends before bar; an identifier cannot follow a matcher",
    ),
    (
        "{'foo`metric':'bar'}",
        "':' is not a character lex.go accepts inside braces",
    ),
];

#[test]
fn corpus_has_no_false_rejects() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/promql/corpus.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("read the corpus");
    let (mut total, mut acceptable, mut invalid, mut caught) = (0usize, 0usize, 0usize, 0usize);
    let mut false_rejects = Vec::new();
    let mut disputed = Vec::new();
    let mut missed = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("corpus line {}: {e}", n + 1));
        let expr = v["expr"].as_str().expect("expr is a string");
        let is_acceptable =
            v["expect_head"].as_bool() == Some(true) || v["prom242_valid"].as_bool() == Some(true);
        total += 1;
        let result = validate(expr);
        // The tools' check (no canonical rendering) must give the same verdict and error.
        assert_eq!(
            check(expr),
            result.as_ref().map(drop).map_err(Clone::clone),
            "check and validate disagree on {expr:?}"
        );
        if is_acceptable {
            acceptable += 1;
            if let Err(e) = result {
                match DISPUTED.iter().find(|(d, _)| *d == expr) {
                    Some((_, why)) => disputed.push((expr.to_string(), why, e.to_string())),
                    None => false_rejects.push((expr.to_string(), e.to_string())),
                }
            }
        } else {
            invalid += 1;
            match result {
                Err(_) => caught += 1,
                Ok(_) => missed.push(expr.to_string()),
            }
        }
    }
    let share = if invalid == 0 {
        100.0
    } else {
        100.0 * caught as f64 / invalid as f64
    };
    println!(
        "promql corpus: {total} expressions, {acceptable} acceptable, {} false rejects, \
         {invalid} invalid, {caught} caught ({share:.1}%); {} disputed labels (listed below)",
        false_rejects.len(),
        disputed.len()
    );
    for (expr, err) in &false_rejects {
        println!("FALSE REJECT: {expr:?}\n    -> {err}");
    }
    for (expr, why, err) in &disputed {
        println!("disputed (rejected, as Prometheus does): {expr:?}\n    why: {why}\n    -> {err}");
    }
    for expr in &missed {
        let shown: String = expr.chars().take(200).collect();
        println!("missed invalid: {shown:?}");
    }
    assert_eq!(
        false_rejects.len(),
        0,
        "validate rejected expressions Prometheus accepts"
    );
    assert!(
        share >= MIN_CAUGHT_PERCENT,
        "only {share:.1}% of invalid expressions caught (floor {MIN_CAUGHT_PERCENT}%)"
    );
}
