//! Why an answer may be empty: which metric, label or label value of the request has no series in
//! the window, with the closest names that do exist (edit distance, or one name inside the other).
//!
//! Only called when an answer is empty, and bounded: at most [`SELECTORS_CHECKED`] selectors and
//! [`MATCHERS_CHECKED`] label matchers each, so at most seven look-ups. A look-up that fails only
//! leaves its part of the explanation out; the answer itself never fails because of it.

use crate::backends::prometheus::Client;
use crate::promql::{Selector, selectors};

use super::metric_labels::metric_matcher;

/// Closest names offered.
const SUGGESTIONS: usize = 5;
/// Names compared at most (a server may hold millions of series but rarely this many names).
const CANDIDATES_MAX: usize = 50_000;
/// Selectors of an expression checked.
const SELECTORS_CHECKED: usize = 2;
/// Equality matchers of one selector checked.
const MATCHERS_CHECKED: usize = 2;

/// Levenshtein distance over characters, ASCII case ignored; names are cut to 200 characters so a
/// pathological name costs little.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a
        .chars()
        .take(200)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let b: Vec<char> = b
        .chars()
        .take(200)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The names among `candidates` closest to `wanted`, best first: those within a third of its length
/// in edit distance (at least 2), or containing it or contained in it.
pub(super) fn closest<'a>(wanted: &str, candidates: &'a [String]) -> Vec<&'a str> {
    let lower = wanted.to_ascii_lowercase();
    let near = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .take(CANDIDATES_MAX)
        .filter(|c| c.as_str() != wanted)
        .filter_map(|c| {
            let d = edit_distance(wanted, c);
            let other = c.to_ascii_lowercase();
            let inside = other.contains(&lower) || (lower.contains(&other) && other.len() > 2);
            // A name that contains the wanted one ranks with close typos, not behind every one.
            let score = if inside { d.min(near) } else { d };
            (inside || d <= near).then_some((score, c.as_str()))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, c)| c)
        .collect()
}

/// `; closest: 'a', 'b'` or `; nothing similar exists`.
fn offer(wanted: &str, candidates: &[String]) -> String {
    let near = closest(wanted, candidates);
    if near.is_empty() {
        "; nothing similar exists".into()
    } else {
        format!(
            "; closest: {}",
            near.iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// A label-values (or names) look-up as a list; `None` when it fails.
fn strings(
    result: Result<crate::backends::prometheus::ApiResult, impl Sized>,
) -> Option<Vec<String>> {
    let mut result = result.ok()?;
    super::string_list(&mut result, "names").ok()
}

/// Metric names with samples in `[start, end]`.
fn metric_names(client: &Client, start: f64, end: f64) -> Option<Vec<String>> {
    strings(client.label_values("__name__", &[], start, end))
}

/// `no metric 'x' has samples in the window; closest: …` when `metric` has no samples in
/// `[start, end]`; `None` when it has, or when the names cannot be listed.
pub(super) fn unknown_metric(
    client: &Client,
    metric: &str,
    start: f64,
    end: f64,
) -> Option<String> {
    let names = metric_names(client, start, end)?;
    (!names.iter().any(|n| n == metric)).then(|| missing_metric(metric, &names))
}

/// Like [`unknown_metric`], but a family name whose series carry a suffix (`x` of `x_bucket`,
/// `x_total`) counts as existing, as metadata is kept under the family name.
pub(super) fn unknown_metric_or_family(
    client: &Client,
    metric: &str,
    start: f64,
    end: f64,
) -> Option<String> {
    let names = metric_names(client, start, end)?;
    let family = format!("{metric}_");
    (!names.iter().any(|n| n == metric || n.starts_with(&family)))
        .then(|| missing_metric(metric, &names))
}

fn missing_metric(metric: &str, names: &[String]) -> String {
    format!(
        "no metric '{metric}' has samples in the window{}",
        offer(metric, names)
    )
}

/// `label 'x' does not exist [on 'metric'] in the window; closest: …` when no series (of `metric`,
/// if given) has `label` in `[start, end]`; `None` when one has, or the names cannot be listed.
pub(super) fn unknown_label(
    client: &Client,
    label: &str,
    metric: Option<&str>,
    start: f64,
    end: f64,
) -> Option<String> {
    let matchers: Vec<String> = metric.map(metric_matcher).into_iter().collect();
    let labels = strings(client.labels(&matchers, start, end))?;
    if labels.iter().any(|l| l == label) {
        return None;
    }
    let on = metric.map(|m| format!(" on '{m}'")).unwrap_or_default();
    Some(format!(
        "label '{label}' does not exist{on} in the window{}",
        offer(label, &labels)
    ))
}

/// What in `expr` has no series in `[start, end]`: metric names without samples, and for metrics
/// that have some, label names they lack and `label="value"` matchers no series of theirs has.
/// `None` when nothing could be found wrong (or nothing could be checked).
pub(super) fn why_empty(client: &Client, expr: &str, start: f64, end: f64) -> Option<String> {
    let mut notes = Vec::new();
    let mut names: Option<Option<Vec<String>>> = None;
    let named = selectors(expr).into_iter().filter(|s| s.metric.is_some());
    for Selector { metric, matchers } in named.take(SELECTORS_CHECKED) {
        let metric = metric.unwrap_or_default();
        let names = names.get_or_insert_with(|| metric_names(client, start, end));
        let Some(names) = names else {
            break;
        };
        if !names.contains(&metric) {
            notes.push(missing_metric(&metric, names));
            continue;
        }
        let equalities = matchers
            .iter()
            .filter(|(_, op, value)| *op == "=" && !value.is_empty());
        let of_metric = [metric_matcher(&metric)];
        let mut labels: Option<Option<Vec<String>>> = None;
        for (label, _, value) in equalities.take(MATCHERS_CHECKED) {
            let labels =
                labels.get_or_insert_with(|| strings(client.labels(&of_metric, start, end)));
            let Some(labels) = labels else {
                break;
            };
            if !labels.contains(label) {
                notes.push(format!(
                    "'{metric}' has no label '{label}' in the window{}",
                    offer(label, labels)
                ));
                continue;
            }
            let Some(values) = strings(client.label_values(label, &of_metric, start, end)) else {
                continue;
            };
            if !values.contains(value) {
                notes.push(format!(
                    "no series of '{metric}' has {label}=\"{value}\" in the window{}",
                    offer(value, &values)
                ));
            }
        }
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// `hint` for an empty answer: what [`why_empty`] found, then the general advice.
pub(super) fn empty_hint(found: Option<String>, general: &str) -> String {
    match found {
        Some(found) => format!("{found}. {general}"),
        None => general.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn typos_and_fragments_find_the_closest_names() {
        let all = names(&[
            "demo_http_requests_total",
            "demo_queue_depth",
            "demo_request_duration_seconds_bucket",
            "node_cpu_seconds_total",
            "up",
        ]);
        assert_eq!(
            closest("demo_http_request_total", &all),
            ["demo_http_requests_total"]
        );
        assert_eq!(closest("http_requests", &all), ["demo_http_requests_total"]);
        assert_eq!(closest("queue", &all), ["demo_queue_depth"]);
        assert!(closest("zzzzzzzz", &all).is_empty());
        assert_eq!(closest("UP", &all), ["up"]);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("Job", "job"), 0);
    }
}
