//! The datasources parser never panics, and never puts a secret into an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let env = |name: &str| (name == "SECRET").then(|| "fuzz-secret-value".to_string());
    if let Err(e) = proms_mcp::datasources::parse(text, "fuzz.yaml", &env) {
        assert!(!e.to_string().contains("fuzz-secret-value"));
    }
});
