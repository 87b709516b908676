//! Time and duration parsing never panics and never yields a non-finite number.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(t) = proms_mcp::timespec::parse_time(input, 1_763_719_200.0) {
        assert!(t.is_finite());
    }
    if let Ok(d) = proms_mcp::timespec::parse_duration(input) {
        assert!(d.is_finite() && d > 0.0);
    }
});
