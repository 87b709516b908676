//! PromQL validation never panics (a panic is a trap in the component), and error positions are
//! inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|expr: &str| {
    if let Err(e) = proms_mcp::promql::validate(expr) {
        if let Some(p) = e.position {
            assert!(p <= expr.len(), "position {p} past {} bytes", expr.len());
        }
    }
    let _ = proms_mcp::promql::validate_metric_regex(expr);
    let quoted = proms_mcp::promql::quote_label_value(expr);
    assert!(quoted.starts_with('"') && quoted.ends_with('"'));
});
