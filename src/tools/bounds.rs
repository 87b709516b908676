//! Bounds every tool applies to what it returns, whatever the family: list sizes, the `total`,
//! `shown` and `truncated` fields that say when an answer was cut and how to see the rest, and the
//! byte budget of every answer ([`fit`]).

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

/// Most bytes of JSON text a tool's answer may take (the text block; `structuredContent` carries the
/// same JSON again). 40,000 bytes is about 10k–16k tokens: well under the ~25k tokens per answer
/// where clients start to refuse or truncate, with room for a few answers in one context.
pub const ANSWER_BUDGET: usize = 40_000;

/// Bytes kept free under [`ANSWER_BUDGET`] for the note a cut adds.
const NOTE_RESERVE: usize = 600;

/// Cuts `out` to [`ANSWER_BUDGET`] bytes of JSON text when it is larger: whole items (series, rows,
/// groups, names) are dropped from the end of its largest top-level lists, largest first, so the
/// answer stays valid JSON and what is kept is exact. `shown` and a `points` count follow what is
/// kept, and `truncated` says what was left out (from which item on) and which of `params` narrow
/// the request so that the rest fits.
///
/// This is the one place the policy lives: every tool's answer passes through it in
/// [`super::call`].
pub fn fit(out: &mut Value, params: &[&str]) {
    let size = |v: &Value| v.to_string().len();
    let mut total_size = size(out);
    if total_size <= ANSWER_BUDGET {
        return;
    }
    let Value::Object(map) = out else {
        return;
    };
    // Per list cut: (field, items before, items kept, the first item left out).
    let mut cuts: Vec<(String, usize, usize, String)> = Vec::new();
    let mut counted_cut = None;
    let mut target = ANSWER_BUDGET - NOTE_RESERVE;
    loop {
        while total_size > target {
            // The largest list that still has items.
            let Some((field, list_size)) = map
                .iter()
                .filter(|(_, v)| v.as_array().is_some_and(|a| !a.is_empty()))
                .map(|(k, v)| (k.clone(), size(v)))
                .max_by_key(|(_, s)| *s)
            else {
                break;
            };
            let Some(Value::Array(items)) = map.get_mut(&field) else {
                break;
            };
            let before = items.len();
            let excess = total_size - target;
            let (mut removed, mut keep) = (0, before);
            // Drop from the end until the excess is gone (each item costs its text and a comma).
            while keep > 0 && removed < excess {
                keep -= 1;
                removed += size(&items[keep]) + 1;
            }
            let dropped: Vec<Value> = items.drain(keep..).collect();
            total_size = total_size - list_size + size(&Value::Array(items.clone()));
            let first = describe(&dropped[0]);
            match cuts.iter_mut().find(|c| c.0 == field) {
                Some(cut) => (cut.2, cut.3) = (keep, first),
                None => cuts.push((field.clone(), before, keep, first)),
            }
            // `shown` counts this list: it follows what is kept.
            if map.get("shown").and_then(Value::as_u64) == Some(before as u64)
                || counted_cut.as_ref() == Some(&field)
            {
                map.insert("shown".into(), json!(keep));
                counted_cut = Some(field.clone());
                if let Some(points) = map.get("points").and_then(Value::as_u64) {
                    let gone: u64 = dropped.iter().map(points_in).sum();
                    map.insert("points".into(), json!(points.saturating_sub(gone)));
                }
            }
        }
        let listed: Vec<String> = cuts
            .iter()
            .map(|(field, before, keep, first)| {
                format!(
                    "`{field}`: {keep} of {before} kept, {} left out from {first} on",
                    before - keep
                )
            })
            .collect();
        let mut note = format!(
            "answer cut to fit {ANSWER_BUDGET} bytes: {}. To see the rest, {}",
            listed.join("; "),
            narrowing(params)
        );
        if let (Some(_), Some(shown), Some(total)) =
            (&counted_cut, map.get("shown"), map.get("total"))
        {
            note = format!("{shown} of {total} shown; {note}");
        }
        map.insert("truncated".into(), json!(note));
        // The note itself may not fit the reserve (long item names, several lists cut): cut on.
        let with_note = size(&Value::Object(map.clone()));
        let cuttable = map
            .values()
            .any(|v| v.as_array().is_some_and(|a| !a.is_empty()));
        if with_note <= ANSWER_BUDGET || !cuttable || target == 0 {
            return;
        }
        target = target.saturating_sub(with_note - ANSWER_BUDGET);
        map.remove("truncated");
        total_size = size(&Value::Object(map.clone()));
    }
}

/// How many samples a series item holds, for the `points` count.
fn points_in(item: &Value) -> u64 {
    let non_null = |key: &str| {
        item.get(key)
            .and_then(Value::as_array)
            .map_or(0, |a| a.iter().filter(|v| !v.is_null()).count() as u64)
    };
    non_null("values")
        + non_null("histograms")
        + non_null("samples")
        + non_null("histogram_samples")
}

/// A dropped item as the note names it: a name, a series' labels, a group, or a record's time.
fn describe(item: &Value) -> String {
    let short = |v: &Value| {
        let text = v.to_string();
        match text.char_indices().nth(120) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text,
        }
    };
    match item {
        Value::String(_) => short(item),
        Value::Object(o) => ["metric", "group", "name", "time", "span_id"]
            .iter()
            .find_map(|k| o.get(*k).map(|v| format!("{k} {}", short(v))))
            .unwrap_or_else(|| "the first left-out item".into()),
        _ => short(item),
    }
}

/// The arguments of a tool (by name) that make its answer smaller, as advice.
fn narrowing(params: &[&str]) -> String {
    const ADVICE: &[(&str, &str)] = &[
        (
            "promql",
            "select fewer series or aggregate in `promql` (a label matcher, sum by (...), topk(...))",
        ),
        ("step", "raise `step`"),
        ("filters", "narrow `filters`"),
        ("pattern", "use a narrower `pattern`"),
        ("metric_name", "pass or change `metric_name`"),
        ("fields", "ask for fewer `fields`"),
        ("service", "pass `service`"),
        ("max_spans", "lower `max_spans`"),
        ("start", "shorten the window (`start`, `end`)"),
        ("from_time", "shorten the window (`from_time`, `to_time`)"),
        ("limit", "lower `limit` so that what is shown fits whole"),
    ];
    let advice: Vec<&str> = ADVICE
        .iter()
        .filter(|(p, _)| params.contains(p))
        .map(|(_, a)| *a)
        .collect();
    match advice.split_last() {
        None => "ask for less".into(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(i: usize, points: usize) -> Value {
        json!({"metric": {"i": format!("{i:03}")}, "start": 0, "step": 15, "values": vec![1.5; points]})
    }

    #[test]
    fn a_small_answer_is_untouched() {
        let mut out = json!({"result": [series(0, 10)], "shown": 1, "total": 1});
        let before = out.clone();
        fit(&mut out, &["promql", "step"]);
        assert_eq!(out, before);
    }

    #[test]
    fn a_large_answer_loses_whole_items_from_the_end_and_says_so() {
        let all: Vec<Value> = (0..50).map(|i| series(i, 400)).collect();
        let mut out =
            json!({"query": "x", "result": all, "points": 50 * 400, "shown": 50, "total": 60});
        fit(&mut out, &["promql", "start", "end", "step", "limit"]);
        let text = out.to_string();
        assert!(text.len() <= ANSWER_BUDGET, "{}", text.len());
        let kept = out["result"].as_array().unwrap().len();
        assert!(kept > 10 && kept < 50, "{kept}");
        // The kept items are the first ones, whole.
        assert_eq!(out["result"][kept - 1], series(kept - 1, 400));
        assert_eq!(out["shown"], kept);
        assert_eq!(out["total"], 60);
        assert_eq!(out["points"], kept * 400);
        let note = out["truncated"].as_str().unwrap();
        assert!(
            note.starts_with(&format!(
                "{kept} of 60 shown; answer cut to fit 40000 bytes"
            )),
            "{note}"
        );
        assert!(
            note.contains(&format!(r#"left out from metric {{"i":"{kept:03}"}} on"#)),
            "{note}"
        );
        assert!(
            note.ends_with("raise `step`, shorten the window (`start`, `end`) or lower `limit` so that what is shown fits whole"),
            "{note}"
        );
    }

    #[test]
    fn one_item_over_the_budget_leaves_an_empty_list_and_a_note() {
        let mut out = json!({"metrics": [], "result": [series(0, 20_000)], "shown": 1, "total": 1});
        fit(&mut out, &["step"]);
        assert_eq!(out["result"], json!([]));
        assert_eq!(out["shown"], 0);
        assert!(out["truncated"].as_str().unwrap().contains("0 of 1 kept"));
    }

    #[test]
    fn several_lists_with_long_items_still_fit_with_their_note() {
        let long = |i: usize| json!({"name": format!("{i:05}{}", "x".repeat(400))});
        let a: Vec<Value> = (0..100).map(long).collect();
        let b: Vec<Value> = (0..100).map(long).collect();
        let c: Vec<Value> = (0..100).map(long).collect();
        let mut out = json!({"a": a, "b": b, "c": c});
        fit(
            &mut out,
            &[
                "promql", "step", "start", "filters", "pattern", "fields", "limit",
            ],
        );
        assert!(
            out.to_string().len() <= ANSWER_BUDGET,
            "{}",
            out.to_string().len()
        );
        let note = out["truncated"].as_str().unwrap();
        assert!(
            note.contains("`a`:") && note.contains("`b`:") && note.contains("`c`:"),
            "{note}"
        );
        // The note is longer than the reserve, so the lists were cut further for it.
        assert!(note.len() > NOTE_RESERVE, "{}", note.len());
        // Each list is named once, with what is kept now.
        assert_eq!(note.matches("`a`:").count(), 1, "{note}");
        let kept_a = out["a"].as_array().unwrap().len();
        assert!(
            note.contains(&format!("`a`: {kept_a} of 100 kept")),
            "{note}"
        );
    }

    #[test]
    fn names_are_named_when_cut() {
        let names: Vec<String> = (0..5000).map(|i| format!("metric_name_{i:05}")).collect();
        let mut out = json!({"metrics": names, "shown": 5000, "total": 5000});
        fit(&mut out, &["limit"]);
        assert!(out.to_string().len() <= ANSWER_BUDGET);
        let kept = out["shown"].as_u64().unwrap() as usize;
        assert_eq!(out["metrics"].as_array().unwrap().len(), kept);
        let note = out["truncated"].as_str().unwrap();
        assert!(
            note.contains(&format!("from \"metric_name_{kept:05}\" on")),
            "{note}"
        );
    }
}
