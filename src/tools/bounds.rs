//! Bounds every tool applies to what it returns, whatever the family: list sizes, and the `total`,
//! `shown` and `truncated` fields that say when an answer was cut and how to see the rest.

use serde_json::{Value, json};

/// Default number of names a list tool returns.
pub const LIST_DEFAULT: u64 = 200;
/// Largest `limit` a list tool accepts.
pub const LIST_MAX: u64 = 10_000;
/// Sorts and de-duplicates `items`, keeps the first `limit`, and returns them with the total count.
pub fn bounded_list(mut items: Vec<String>, limit: u64) -> (Vec<String>, usize) {
    items.sort();
    items.dedup();
    let total = items.len();
    items.truncate(limit as usize);
    (items, total)
}

/// Adds `total`, `shown` and, when something was cut, a `truncated` note telling how to see the rest.
pub fn count_fields(out: &mut Value, shown: usize, total: usize, how_to_see_more: &str) {
    out["total"] = json!(total);
    out["shown"] = json!(shown);
    if shown < total {
        out["truncated"] = json!(format!("{shown} of {total} shown; {how_to_see_more}"));
    }
}
