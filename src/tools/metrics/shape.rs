//! Result shaping: Prometheus' JSON made compact for a model, with explicit bounds.
//!
//! Sample values become JSON numbers (`NaN`/`±Inf` stay strings, which JSON cannot hold), timestamps
//! become Unix seconds, each series keeps only `metric` and its samples, and every cut says how much
//! was left out.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

/// Largest series `limit` a query tool accepts.
pub const SERIES_MAX: u64 = 1_000;
/// Most samples a matrix answer shows, whatever the `limit`: beyond this an answer is no use to a
/// model and costs the sandbox memory for nothing.
pub const POINTS_MAX: usize = 50_000;
/// What to do when [`POINTS_MAX`] cut an answer short.
pub const POINTS_ADVICE: &str = "at most 50,000 points are shown: raise `step`, shorten the range, \
or aggregate (sum by (...), topk(...))";

/// A Prometheus sample value (`"1.5"`) as a JSON number, or the string for `NaN`/`+Inf`/`-Inf`.
pub fn sample_value(v: &Value) -> Value {
    match v.as_str() {
        Some(s) => match s.parse::<f64>() {
            Ok(f) if f.is_finite() => json!(f),
            _ => json!(s),
        },
        None => v.clone(),
    }
}

/// A Prometheus timestamp (float seconds) as an integer when whole.
pub fn timestamp(v: &Value) -> Value {
    match v.as_f64() {
        Some(t) if t.fract() == 0.0 && t.abs() < 9.0e15 => json!(t as i64),
        _ => v.clone(),
    }
}

/// Whether the expression asks for an order Prometheus must keep (`sort`, `topk`, …); otherwise
/// series are sorted by their labels so that output and truncation are deterministic.
pub fn order_matters(expr: &str) -> bool {
    const ORDERING: [&str; 7] = [
        "sort",
        "sort_desc",
        "sort_by_label",
        "sort_by_label_desc",
        "topk",
        "bottomk",
        "limitk",
    ];
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    // A call: the name as a whole identifier, followed by '(' (or a `by (...)` clause, as in
    // `topk by (job) (3, x)`), so `resort_total` or `job="sorter"` do not count.
    expr.match_indices(|c: char| c.is_ascii_alphabetic())
        .filter(|(i, _)| *i == 0 || !expr[..*i].ends_with(is_ident))
        .any(|(i, _)| {
            let rest = &expr[i..];
            let name_len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            let after = rest[name_len..].trim_start();
            ORDERING.contains(&&rest[..name_len])
                && (after.starts_with('(')
                    || after.starts_with("by")
                    || after.starts_with("without"))
        })
}

/// Only the labels of a series, read without building the rest of it.
#[derive(Deserialize)]
struct Labels {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, Value>,
}

/// The series to show, still as text: sorted by labels (unless the expression orders them), the
/// first `limit`; and how many there were. The others are never parsed beyond their labels, and the
/// kept ones only when shaped, so memory follows what is shown, not what the datasource sent.
fn kept_series(
    mut series: Vec<Box<RawValue>>,
    limit: u64,
    keep_order: bool,
) -> (Vec<Box<RawValue>>, usize) {
    let total = series.len();
    if !keep_order {
        series.sort_by_cached_key(|raw| {
            serde_json::from_str::<Labels>(raw.get())
                .map(|l| {
                    l.metric
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        });
    }
    series.truncate(limit as usize);
    (series, total)
}

fn parse(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// Shaped series plus counts.
pub struct Shaped {
    /// The series kept, compact.
    pub series: Vec<Value>,
    /// How many series Prometheus returned.
    pub total: usize,
    /// How many samples the kept series hold.
    pub points: usize,
    /// Whether [`POINTS_MAX`] (rather than the `limit`) stopped the series or points shown.
    pub points_capped: bool,
}

impl Shaped {
    /// What the `truncated` note tells the model to do to see the rest.
    pub fn advice(&self) -> &'static str {
        if self.points_capped {
            POINTS_ADVICE
        } else {
            "aggregate (sum by (...), topk(...)) or raise `limit`"
        }
    }
}

/// Shapes an instant vector: `[{metric, value}]`, at most `limit` series.
pub fn vector(series: Vec<Box<RawValue>>, limit: u64, keep_order: bool) -> Shaped {
    let (series, total) = kept_series(series, limit, keep_order);
    let series: Vec<Value> = series
        .iter()
        .map(|raw| {
            let mut s = parse(raw);
            let mut out = Map::new();
            out.insert("metric".into(), metric_of(&mut s));
            if let Some(pair) = s.get("value").and_then(Value::as_array) {
                out.insert(
                    "value".into(),
                    pair.get(1).map(sample_value).unwrap_or(Value::Null),
                );
            }
            if let Some(h) = s.get_mut("histogram").map(Value::take) {
                out.insert("histogram".into(), h.get(1).cloned().unwrap_or(h));
            }
            Value::Object(out)
        })
        .collect();
    let points = series.len();
    Shaped {
        series,
        total,
        points,
        points_capped: false,
    }
}

/// Shapes a range matrix: `[{metric, values: [[t, v]…], stats: {min, max, avg, last}}]`, at most
/// `limit` series. The stats let a model answer "how high did it get" without reading every point.
pub fn matrix(series: Vec<Box<RawValue>>, limit: u64, keep_order: bool) -> Shaped {
    let (kept, total) = kept_series(series, limit, keep_order);
    let mut points = 0;
    let mut points_capped = false;
    let mut series = Vec::with_capacity(kept.len());
    for raw in &kept {
        let mut s = parse(raw);
        let mut samples = into_array(take(&mut s, "values"));
        if points + samples.len() > POINTS_MAX {
            points_capped = true;
            if points > 0 {
                break;
            }
            // One series over the whole budget (a range vector such as `x[1y]`): its latest points.
            samples.drain(..samples.len() - POINTS_MAX);
        }
        let (shaped, n) = range_series(s, samples);
        points += n;
        series.push(shaped);
        if points_capped {
            break;
        }
    }
    Shaped {
        series,
        total,
        points,
        points_capped,
    }
}

/// One series of a matrix with its samples compact and its stats; and how many samples it kept.
fn range_series(mut s: Value, samples: Vec<Value>) -> (Value, usize) {
    let mut values = Vec::with_capacity(samples.len());
    let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0u64);
    let mut last = Value::Null;
    for pair in samples {
        let Some(pair) = pair.as_array() else {
            continue;
        };
        let (Some(t), Some(v)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let v = sample_value(v);
        if let Some(f) = v.as_f64() {
            min = min.min(f);
            max = max.max(f);
            sum += f;
            n += 1;
        }
        last = v.clone();
        values.push(json!([timestamp(t), v]));
    }
    let kept = values.len();
    let mut out = json!({"metric": metric_of(&mut s), "values": values});
    if n > 0 {
        out["stats"] = json!({"min": min, "max": max, "avg": round(sum / n as f64), "last": last});
    }
    if let Some(h) = s.get("histograms") {
        out["histograms"] = h.clone();
    }
    (out, kept)
}

/// Rounds to 12 significant digits so averages do not print float noise (0.30000000000000004).
pub(super) fn round(f: f64) -> f64 {
    if f == 0.0 || !f.is_finite() {
        return f;
    }
    let digits = 12 - (f.abs().log10().floor() as i32 + 1);
    let scale = 10f64.powi(digits.clamp(-300, 300));
    (f * scale).round() / scale
}

/// A series' labels; `{}` when the backend sent none, so `metric` is always an object.
fn metric_of(series: &mut Value) -> Value {
    match take(series, "metric") {
        Value::Object(m) => Value::Object(m),
        _ => json!({}),
    }
}

fn take(v: &mut Value, key: &str) -> Value {
    v.get_mut(key).map(Value::take).unwrap_or(Value::Null)
}

fn into_array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::bounds::{bounded_list, count_fields};

    #[test]
    fn values_become_numbers_and_specials_stay_strings() {
        assert_eq!(sample_value(&json!("1.5")), json!(1.5));
        assert_eq!(sample_value(&json!("NaN")), json!("NaN"));
        assert_eq!(sample_value(&json!("+Inf")), json!("+Inf"));
        assert_eq!(timestamp(&json!(1700000000.0)), json!(1700000000));
        assert_eq!(timestamp(&json!(1700000000.5)), json!(1700000000.5));
    }

    /// Series as a query answer carries them.
    fn raw_series(v: Value) -> Vec<Box<RawValue>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| RawValue::from_string(s.to_string()).unwrap())
            .collect()
    }

    #[test]
    fn vector_is_sorted_by_labels_and_bounded() {
        let raw = raw_series(json!([
            {"metric": {"i": "b"}, "value": [1, "2"]},
            {"metric": {"i": "a"}, "value": [1, "1"]},
            {"metric": {"i": "c"}, "value": [1, "3"]},
        ]));
        let s = vector(raw.clone(), 2, false);
        assert_eq!(s.total, 3);
        assert_eq!(
            json!(s.series),
            json!([{"metric": {"i": "a"}, "value": 1.0}, {"metric": {"i": "b"}, "value": 2.0}])
        );
        let kept = vector(raw, 1, true);
        assert_eq!(kept.series[0]["metric"]["i"], "b");
    }

    #[test]
    fn matrix_has_compact_points_and_stats() {
        let raw = raw_series(
            json!([{"metric": {"x": "1"}, "values": [[10, "1"], [25, "3"], [40, "2"]]}]),
        );
        let s = matrix(raw, 10, false);
        assert_eq!(s.points, 3);
        assert_eq!(
            s.series[0],
            json!({"metric": {"x": "1"}, "values": [[10, 1.0], [25, 3.0], [40, 2.0]],
                   "stats": {"min": 1.0, "max": 3.0, "avg": 2.0, "last": 2.0}})
        );
    }

    #[test]
    fn matrix_points_are_capped_whatever_the_limit() {
        let series: Vec<Value> = (0..10)
            .map(|i| {
                let values: Vec<Value> = (0..11_000).map(|t| json!([t, "1"])).collect();
                json!({"metric": {"i": format!("{i:02}")}, "values": values})
            })
            .collect();
        let s = matrix(raw_series(json!(series)), 1_000, false);
        assert_eq!((s.series.len(), s.points, s.total), (4, 44_000, 10));
        assert!(s.points_capped);
        assert_eq!(s.series[3]["metric"]["i"], "03");
        let s = matrix(raw_series(json!(series)), 2, false);
        assert!(!s.points_capped && s.series.len() == 2);
        // One series over the budget keeps its latest points.
        let long: Vec<Value> = (0..60_000).map(|t| json!([t, "1"])).collect();
        let s = matrix(
            raw_series(json!([{"metric": {}, "values": long}])),
            10,
            false,
        );
        assert!(s.points_capped);
        assert_eq!((s.series.len(), s.points), (1, POINTS_MAX));
        assert_eq!(s.series[0]["values"][0][0], 10_000);
    }

    #[test]
    fn lists_are_sorted_deduplicated_and_counted() {
        let (items, total) = bounded_list(vec!["b".into(), "a".into(), "b".into(), "c".into()], 2);
        assert_eq!((items, total), (vec!["a".to_string(), "b".to_string()], 3));
        let mut out = json!({});
        count_fields(&mut out, 2, 3, "raise limit");
        assert_eq!(out["truncated"], "2 of 3 shown; raise limit");
    }

    #[test]
    fn only_calls_of_ordering_functions_keep_the_order() {
        assert!(order_matters("topk(3, x)"));
        assert!(order_matters("sort_desc (sum by (job) (x))"));
        assert!(order_matters("topk by (job) (3, x)"));
        assert!(!order_matters("resort_total"));
        assert!(!order_matters(r#"up{job="sorter"}"#));
        assert!(!order_matters("mytopk(3)"));
    }

    #[test]
    fn averages_do_not_print_float_noise() {
        assert_eq!(round(0.1 + 0.2), 0.3);
        assert_eq!(round(1234.5678), 1234.5678);
    }
}
