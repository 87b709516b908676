//! PromQL validation never panics (a panic is a trap in the component), error positions are
//! inside the input, and the tools' check (which skips `promql-parser` when it surely accepts)
//! agrees with `validate` (which always asks it).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|expr: &str| {
    let verdict = proms_mcp::promql::validate(expr);
    if let Err(e) = &verdict {
        if let Some(p) = e.position {
            assert!(p <= expr.len(), "position {p} past {} bytes", expr.len());
        }
    }
    assert_eq!(proms_mcp::promql::check(expr), verdict.map(drop), "{expr:?}");
    let _ = proms_mcp::promql::validate_metric_regex(expr);
    let quoted = proms_mcp::promql::quote_label_value(expr);
    assert!(quoted.starts_with('"') && quoted.ends_with('"'));
});
