//! Formula parsing never panics and never recurses past its bound; error positions are inside the
//! input (or at its end); evaluation of a parsed formula never panics and never yields NaN or an
//! infinity, whatever the operands' values (including zero, huge and tiny ones).
#![no_main]
use libfuzzer_sys::fuzz_target;
use proms_mcp::formula::{MAX_LEN, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(expr) => {
            let values = [0.0, 1.0, -2.5, 1e300, 1e-300, 7.0];
            for i in 0..values.len() {
                // Each label gets its own value, so formulas mix them.
                let lookup = |label: &str| Some(values[(label.len() + i) % values.len()]);
                if let Ok(result) = expr.eval(&lookup) {
                    assert!(result.is_finite(), "{text}: {result}");
                }
            }
            let missing = |_: &str| None;
            let _ = expr.eval(&missing);
        }
        Err(e) => assert!(e.position <= text.len().max(MAX_LEN), "{e:?}"),
    }
});
