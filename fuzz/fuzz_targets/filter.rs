//! Filter parsing never panics, error positions are inside the input, and a parsed filter's
//! canonical form (`Display`) parses back to the same filter and prints the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proms_mcp::filter::{MAX_FILTER_BYTES, parse};

fuzz_target!(|text: &str| {
    match parse(text) {
        Ok(Some(filter)) => {
            let canonical = filter.to_string();
            // The canonical form can be longer than the input (quotes, spaces, `!=` for `NOT =`).
            if canonical.len() > MAX_FILTER_BYTES {
                return;
            }
            let again = match parse(&canonical) {
                Ok(Some(again)) => again,
                other => panic!("{text:?}: canonical form {canonical:?} gave {other:?}"),
            };
            assert!(
                again.eq_ignoring_positions(&filter),
                "{text:?}: {canonical:?} parsed to {again:?}, not {filter:?}"
            );
            assert_eq!(again.to_string(), canonical);
        }
        Ok(None) => assert!(text.trim().is_empty(), "{text:?} taken for no filter"),
        Err(e) => {
            let chars = text.chars().count();
            assert!(
                e.position <= chars,
                "position {} past {chars} characters",
                e.position
            );
            let _ = e.to_string();
        }
    }
});
