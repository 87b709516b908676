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
/// groups, names) are dropped from the end of its largest lists, the largest first and down to the
/// size of the next (so that lists share the cut), so the answer stays
/// valid JSON and what is kept is exact. The lists cut are the innermost lists of records anywhere
/// in the answer (a fan-out's series per datasource, a formula's groups per query), never a list
/// of numbers (a series' values) and never a list whose items hold such lists themselves, so a cut
/// drops the finest whole items. `shown` and a `points` count beside a cut list follow what is kept,
/// and `truncated` says what was left out (from which item on) and which of `params` narrow the
/// request so that the rest fits.
///
/// This is the one place the policy lives: every tool's answer passes through it in
/// [`super::call`].
pub fn fit(out: &mut Value, params: &[&str]) {
    let size = |v: &Value| v.to_string().len();
    let mut total_size = size(out);
    if total_size <= ANSWER_BUDGET || !out.is_object() {
        return;
    }
    // Per list cut: (path, items before, items kept, the first item left out).
    let mut cuts: Vec<(Vec<Step>, usize, usize, String)> = Vec::new();
    // Whether the answer's own `shown` counts a cut list.
    let mut counted_at_root = false;
    let mut target = ANSWER_BUDGET - NOTE_RESERVE;
    loop {
        // The lists and their sizes, kept up to date as they are cut: cutting one leaves the
        // others' paths and sizes as they were, so the answer is measured once per pass.
        let mut lists = Vec::new();
        leaf_lists(out, &mut Vec::new(), &mut lists);
        while total_size > target {
            lists.sort_by_key(|(_, s)| std::cmp::Reverse(*s));
            let second = lists.get(1).map_or(0, |(_, s)| *s);
            let Some((path, list_size)) = lists.first().cloned() else {
                break;
            };
            let (parent_key, parent_path) = path.split_last().expect("a list is never the root");
            let Some(Value::Array(items)) = at(out, &path) else {
                break;
            };
            let before = items.len();
            // Down to the next largest list at most, so that several lists share the cut.
            let excess = (total_size - target).min((list_size - second).max(1));
            let (mut removed, mut keep) = (0, before);
            // Drop from the end until the excess is gone (each item costs its text and a comma).
            while keep > 0 && removed < excess {
                keep -= 1;
                removed += size(&items[keep]) + 1;
            }
            let dropped: Vec<Value> = items.drain(keep..).collect();
            let new_size = if keep == 0 { 2 } else { list_size - removed };
            total_size -= list_size - new_size;
            if keep == 0 {
                lists.remove(0);
            } else {
                lists[0].1 = new_size;
            }
            let first = describe(&dropped[0]);
            match cuts.iter_mut().find(|c| c.0 == path) {
                Some(cut) => (cut.2, cut.3) = (keep, first),
                None => cuts.push((path.clone(), before, keep, first)),
            }
            // `shown` beside the list counts it: it follows what is kept.
            if let Some(Value::Object(parent)) = at(out, parent_path)
                && matches!(parent_key, Step::Key(_))
                && parent.get("shown").and_then(Value::as_u64) == Some(before as u64)
            {
                counted_at_root |= parent_path.is_empty();
                parent.insert("shown".into(), json!(keep));
                if let Some(points) = parent.get("points").and_then(Value::as_u64) {
                    let gone: u64 = dropped.iter().map(points_in).sum();
                    parent.insert("points".into(), json!(points.saturating_sub(gone)));
                }
            }
        }
        let listed: Vec<String> = cuts
            .iter()
            .map(|(path, before, keep, first)| {
                format!(
                    "`{}`: {keep} of {before} kept, {} left out from {first} on",
                    display(path),
                    before - keep
                )
            })
            .collect();
        let mut note = format!(
            "answer cut to fit {ANSWER_BUDGET} bytes: {}. To see the rest, {}",
            listed.join("; "),
            narrowing(params)
        );
        // A list that the answer's `shown` counts: say it first, as an uncut answer would.
        if let (true, Some(shown), Some(total)) =
            (counted_at_root, out.get("shown"), out.get("total"))
        {
            note = format!("{shown} of {total} shown; {note}");
        }
        out["truncated"] = json!(note);
        // The note itself may not fit the reserve (long item names, several lists cut): cut on.
        let with_note = size(out);
        let mut lists = Vec::new();
        leaf_lists(out, &mut Vec::new(), &mut lists);
        if with_note <= ANSWER_BUDGET || lists.is_empty() || target == 0 {
            return;
        }
        target = target.saturating_sub(with_note - ANSWER_BUDGET);
        if let Value::Object(map) = out {
            map.remove("truncated");
        }
        total_size = size(out);
    }
}

/// One step from an answer's root towards a list.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// How deep [`leaf_lists`] looks: answers nest their lists at most three levels down.
const MAX_DEPTH: usize = 6;

/// The non-empty lists of records (objects or strings) in `v` that hold no such list themselves,
/// with their paths and sizes; a list that holds one is searched instead.
fn leaf_lists(v: &Value, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, usize)>) -> bool {
    if path.len() > MAX_DEPTH {
        return false;
    }
    match v {
        Value::Object(map) => {
            let mut found = false;
            for (k, child) in map {
                path.push(Step::Key(k.clone()));
                found |= leaf_lists(child, path, out);
                path.pop();
            }
            found
        }
        Value::Array(items) => {
            let records = !items.is_empty()
                && items
                    .iter()
                    .all(|i| matches!(i, Value::Object(_) | Value::String(_)));
            let mut inner = false;
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                inner |= leaf_lists(child, path, out);
                path.pop();
            }
            if records && !inner {
                out.push((path.clone(), v.to_string().len()));
                return true;
            }
            inner
        }
        _ => false,
    }
}

/// The value at `path`.
fn at<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// `results[1].result`, `results.A.groups`, `metrics`.
fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
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

    #[test]
    fn nested_lists_are_cut_inside_not_whole() {
        // A fan-out: each datasource's series are cut, not whole datasources.
        let answer = |ds: &str| {
            let all: Vec<Value> = (0..30).map(|i| series(i, 400)).collect();
            json!({"datasource": ds, "result": all, "points": 30 * 400, "shown": 30, "total": 30})
        };
        let mut out = json!({"datasources": ["a", "b"], "results": [answer("a"), answer("b")], "failures": []});
        fit(&mut out, &["promql", "step"]);
        assert!(out.to_string().len() <= ANSWER_BUDGET);
        for r in out["results"].as_array().unwrap() {
            let kept = r["result"].as_array().unwrap().len();
            assert!(kept > 0 && kept < 30, "{kept}");
            assert_eq!(r["shown"], kept);
            assert_eq!(r["points"], kept * 400);
        }
        let note = out["truncated"].as_str().unwrap();
        assert!(
            note.contains("`results[0].result`:") && note.contains("`results[1].result`:"),
            "{note}"
        );
        // The datasources list (strings, small) is left alone.
        assert_eq!(out["datasources"], json!(["a", "b"]));

        // A formula answer: groups per label inside an object.
        let groups: Vec<Value> = (0..200)
            .map(|i| json!({"group": {"pod": format!("p{i:03}")}, "values": vec![0.5; 60]}))
            .collect();
        let mut out = json!({"results": {"A": {"groups": groups.clone(), "shown": 200, "total": 200}, "F": {"groups": groups, "shown": 200, "total": 200}}});
        fit(&mut out, &["limit"]);
        assert!(out.to_string().len() <= ANSWER_BUDGET);
        let kept = out["results"]["F"]["groups"].as_array().unwrap().len();
        assert_eq!(out["results"]["F"]["shown"], kept);
        assert!(
            out["truncated"]
                .as_str()
                .unwrap()
                .contains("`results.F.groups`")
        );
        // Values of a kept group stay whole.
        assert_eq!(
            out["results"]["A"]["groups"][0]["values"]
                .as_array()
                .unwrap()
                .len(),
            60
        );
    }
}
