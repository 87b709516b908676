//! Result shaping: Prometheus' JSON made compact for a model, with explicit bounds.
//!
//! Sample values become JSON numbers (`NaN`/`±Inf` stay strings, which JSON cannot hold), timestamps
//! become Unix seconds, each series keeps only `metric` and its samples, and every cut says how much
//! was left out. A range series is `start`, `step` and a `values` array on that grid (`null` for a
//! gap) rather than `[t, v]` pairs, its values rounded to
//! [`DEFAULT_DIGITS`](super::digits::DEFAULT_DIGITS) significant digits unless the caller asks for
//! full precision; its stats come from the exact values.
//!
//! Not here: how a number is rounded and written (`digits`).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::digits::{Precision, round};

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

/// Series text up to this size in all is parsed in full, then sorted: one pass over each series.
/// A larger answer is sorted by labels alone first, so that only the series shown are parsed and
/// memory follows what is shown, not what the datasource sent.
const PARSE_ALL_BYTES: usize = 1 << 20;

/// The series to show, parsed by `parse` (a series it refuses is left out): sorted by labels
/// (unless the expression orders them), the first `limit`.
fn shown<'a, T>(
    series: &'a [Box<RawValue>],
    limit: u64,
    keep_order: bool,
    parse: impl Fn(&'a str) -> Option<T>,
    metric: impl Fn(&T) -> Option<&Map<String, Value>>,
) -> Vec<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if keep_order {
        return series
            .iter()
            .take(limit)
            .filter_map(|raw| parse(raw.get()))
            .collect();
    }
    if series.iter().map(|raw| raw.get().len()).sum::<usize>() <= PARSE_ALL_BYTES {
        let mut parsed: Vec<T> = series.iter().filter_map(|raw| parse(raw.get())).collect();
        parsed.sort_by_cached_key(|s| sort_key(metric(s).into_iter().flatten()));
        parsed.truncate(limit);
        return parsed;
    }
    let mut texts: Vec<&'a str> = series.iter().map(|raw| raw.get()).collect();
    texts.sort_by_cached_key(|text| {
        let labels = serde_json::from_str::<Labels>(text).map(|l| l.metric);
        sort_key(labels.iter().flatten())
    });
    texts.truncate(limit);
    texts.into_iter().filter_map(parse).collect()
}

/// The order of series: by their labels, name by name (a series without labels first).
fn sort_key<'v>(labels: impl Iterator<Item = (&'v String, &'v Value)>) -> Vec<(String, String)> {
    let mut key: Vec<(String, String)> = labels
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    key.sort();
    key
}

/// The labels of a parsed instant-vector series.
fn labels(series: &Value) -> Option<&Map<String, Value>> {
    series.get("metric").and_then(Value::as_object)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
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
    let total = series.len();
    let series: Vec<Value> = shown(&series, limit, keep_order, |t| Some(parse(t)), labels)
        .into_iter()
        .map(|mut s| {
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

/// Shapes a range matrix into compact series, at most `limit`: each `{metric, start, step, values,
/// stats}`, where value `i` is at `start + i * step` (`null` where the series has no sample), or
/// `[t, v]` pairs under `samples` when the timestamps are not on one grid (a range vector's raw
/// samples). The stats let a model answer "how high did it get" without reading every point.
///
/// `step` is the query's step in seconds; `None` for raw samples, which always come as pairs.
pub fn matrix(
    series: Vec<Box<RawValue>>,
    limit: u64,
    keep_order: bool,
    step: Option<f64>,
    precision: Precision,
) -> Shaped {
    let total = series.len();
    let parse = |text| serde_json::from_str::<RangeSeries>(text).ok();
    let kept = shown(&series, limit, keep_order, parse, RangeSeries::labels);
    let mut points = 0;
    let mut points_capped = false;
    let mut shaped = Vec::with_capacity(kept.len());
    for mut s in kept {
        let n = s.values.len() + s.histograms.len();
        if points + n > POINTS_MAX {
            points_capped = true;
            if points > 0 {
                break;
            }
            // One series over the whole budget (a range vector such as `x[1y]`): its latest points.
            let cut = n - POINTS_MAX;
            let from_values = cut.min(s.values.len());
            s.values.drain(..from_values);
            s.histograms
                .drain(..(cut - from_values).min(s.histograms.len()));
        }
        let (one, n) = range_series(s, step, precision);
        points += n;
        shaped.push(one);
        if points_capped {
            break;
        }
    }
    Shaped {
        series: shaped,
        total,
        points,
        points_capped,
    }
}

/// One series of a matrix as Prometheus writes it, read straight into typed samples: a sample is a
/// `[seconds, "value"]` pair, so no JSON tree is built per point.
#[derive(Deserialize)]
struct RangeSeries<'a> {
    #[serde(default)]
    metric: Option<Map<String, Value>>,
    #[serde(default, borrow)]
    values: Vec<(f64, Sample<'a>)>,
    #[serde(default)]
    histograms: Vec<(f64, Value)>,
}

impl RangeSeries<'_> {
    /// The series' labels, when it has any.
    fn labels(&self) -> Option<&Map<String, Value>> {
        self.metric.as_ref()
    }
}

/// A sample value: a finite number, or the text of one that JSON cannot hold (`NaN`, `+Inf`, or
/// anything else a server wrote). Prometheus writes values as strings; a number is taken as well.
enum Sample<'a> {
    Number(f64),
    Text(std::borrow::Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Sample<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Sample<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sample value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Sample::of(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Sample::of(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Sample::Number(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Sample::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Sample::Number(v as f64))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl<'a> Sample<'a> {
    fn of(text: std::borrow::Cow<'a, str>) -> Self {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Sample::Number(f),
            _ => Sample::Text(text),
        }
    }

    fn finite(&self) -> Option<f64> {
        match self {
            Sample::Number(f) => Some(*f),
            Sample::Text(_) => None,
        }
    }
}

/// The output schema of the stats of a range series.
pub fn stats_schema() -> Value {
    let n = json!({"type": ["number", "string"]});
    json!({"type": "object", "properties": {"min": n, "max": n, "avg": n, "last": n}})
}

/// The output schema of one compact range series (see [`matrix`]). Only `values` is described:
/// the encoding a model must know, in as few bytes as `tools/list` can spare.
pub fn range_series_schema() -> Value {
    let pairs = json!({"type": "array", "items": {"type": "array", "items": {}}});
    json!({"type": "object", "properties": {
        "metric": {"type": "object"},
        "start": {"type": "number"},
        "step": {"type": "number"},
        "values": {"type": "array", "items": {"type": ["number", "string", "null"]},
            "description": "value i at start + i*step (Unix s); null: no sample. 4 significant digits unless precision 'full'; stats exact. Off-grid series: [t, v] pairs in samples."},
        "histograms": {"type": "array", "items": {"type": ["object", "null"]}},
        "samples": pairs.clone(),
        "histogram_samples": pairs,
        "stats": stats_schema()
    }})
}

/// One series of a matrix, compact, with its stats; and how many samples it kept.
fn range_series(series: RangeSeries, step: Option<f64>, precision: Precision) -> (Value, usize) {
    let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0u64);
    let mut last = Value::Null;
    let numbers = &series.values;
    for (_, v) in numbers {
        if let Some(f) = v.finite() {
            min = min.min(f);
            max = max.max(f);
            sum += f;
            n += 1;
        }
    }
    if let Some((_, v)) = numbers.last() {
        last = match v {
            Sample::Number(f) => json!(f),
            Sample::Text(s) => json!(s),
        };
    }
    let written = |v: &Sample| match v {
        Sample::Number(f) => precision.float(*f),
        Sample::Text(s) => json!(s),
    };
    let hists: Vec<(f64, Value)> = series
        .histograms
        .iter()
        .map(|(t, h)| (*t, histogram(h, precision)))
        .collect();
    let kept = numbers.len() + hists.len();
    let metric = Value::Object(series.metric.unwrap_or_default());
    let mut out = json!({"metric": metric});
    let times = numbers
        .iter()
        .map(|(t, _)| *t)
        .chain(hists.iter().map(|(t, _)| *t));
    match step.and_then(|step| grid(times, step)) {
        Some((start, step, len)) => {
            out["start"] = timestamp(&json!(start));
            out["step"] = timestamp(&json!(step));
            let index = |t: f64| ((t - start) / step).round() as usize;
            if !numbers.is_empty() {
                let mut values = vec![Value::Null; len];
                for (t, v) in numbers {
                    values[index(*t)] = written(v);
                }
                out["values"] = Value::Array(values);
            }
            if !hists.is_empty() {
                let mut values = vec![Value::Null; len];
                for (t, h) in hists {
                    values[index(t)] = h;
                }
                out["histograms"] = Value::Array(values);
            }
        }
        None => {
            let pair = |t: f64, v: Value| json!([timestamp(&json!(t)), v]);
            if !numbers.is_empty() {
                out["samples"] = numbers.iter().map(|(t, v)| pair(*t, written(v))).collect();
            }
            if !hists.is_empty() {
                out["histogram_samples"] = hists.into_iter().map(|(t, h)| pair(t, h)).collect();
            }
        }
    }
    if n > 0 {
        out["stats"] = json!({"min": min, "max": max, "avg": round(sum / n as f64), "last": last});
    }
    (out, kept)
}

/// The grid `(start, step, length)` every timestamp of a range series sits on: `start` the first
/// timestamp, each at a whole number of steps after it (within a millisecond, Prometheus' time
/// resolution). `None` when one is off the grid or the series would be mostly gaps, so the
/// caller writes pairs instead of a misleading or bloated array.
fn grid(times: impl Iterator<Item = f64> + Clone, step: f64) -> Option<(f64, f64, usize)> {
    let start = times.clone().fold(f64::INFINITY, f64::min);
    let end = times.clone().fold(f64::NEG_INFINITY, f64::max);
    if !start.is_finite() || step <= 0.0 {
        return None;
    }
    let on_grid = times.clone().all(|t| {
        let i = (t - start) / step;
        ((i - i.round()) * step).abs() < 0.001
    });
    let len = ((end - start) / step).round() as usize + 1;
    // More than 3 gaps per sample: pairs are smaller than nulls.
    let sparse = len > 4 * times.count();
    (on_grid && !sparse).then_some((start, step, len))
}

/// A native histogram (`{count, sum, buckets: [[boundaries, lower, upper, count]…]}`) with its
/// numbers as JSON numbers: count, sum and bucket counts at `precision`, bucket bounds exact (a
/// rounded bound could merge neighbouring buckets).
pub fn histogram(h: &Value, precision: Precision) -> Value {
    let num = |v: &Value| precision.number(&sample_value(v));
    let mut out = Map::new();
    for key in ["count", "sum"] {
        if let Some(v) = h.get(key) {
            out.insert(key.into(), num(v));
        }
    }
    if let Some(buckets) = h.get("buckets").and_then(Value::as_array) {
        let buckets = buckets
            .iter()
            .map(|b| match b.as_array().map(Vec::as_slice) {
                Some([rule, lower, upper, count]) => {
                    json!([rule, sample_value(lower), sample_value(upper), num(count)])
                }
                _ => b.clone(),
            })
            .collect();
        out.insert("buckets".into(), Value::Array(buckets));
    }
    Value::Object(out)
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
            json!([{"metric": {"x": "1"}, "values": [[10, "1"], [40, "3"], [55, "2"]]}]),
        );
        let s = matrix(raw, 10, false, Some(15.0), Precision::Digits(4));
        assert_eq!(s.points, 3);
        assert_eq!(
            s.series[0],
            json!({"metric": {"x": "1"}, "start": 10, "step": 15, "values": [1, null, 3, 2],
                   "stats": {"min": 1.0, "max": 3.0, "avg": 2.0, "last": 2.0}})
        );
        // Without a step (raw samples), or off the grid: pairs.
        let raw = raw_series(json!([{"metric": {}, "values": [[10, "1"], [17, "2"]]}]));
        let pairs = matrix(raw.clone(), 10, false, None, Precision::Full);
        assert_eq!(pairs.series[0]["samples"], json!([[10, 1], [17, 2]]));
        let off_grid = matrix(raw, 10, false, Some(5.0), Precision::Full);
        assert_eq!(off_grid.series[0]["samples"], json!([[10, 1], [17, 2]]));
    }

    #[test]
    fn values_are_rounded_but_stats_stay_exact() {
        let raw = raw_series(json!([{"metric": {}, "values": [
            [0, "28.333333333"], [15, "1234567.89"], [30, "0.000123456"], [45, "NaN"]
        ]}]));
        let s = matrix(raw.clone(), 10, false, Some(15.0), Precision::Digits(4));
        assert_eq!(
            s.series[0]["values"],
            json!([28.33, 1235000, 0.0001235, "NaN"])
        );
        assert_eq!(s.series[0]["stats"]["max"], json!(1234567.89));
        assert_eq!(s.series[0]["stats"]["last"], json!("NaN"));
        let full = matrix(raw, 10, false, Some(15.0), Precision::Full);
        assert_eq!(
            full.series[0]["values"],
            json!([28.333333333, 1234567.89, 0.000123456, "NaN"])
        );
        // Values written as numbers, or as escaped strings, are read too; a series without labels
        // gets `metric: {}`.
        let raw = raw_series(json!([{"values": [[0, 2.5], [15, 3], [30, "+Inf"]]}]));
        let odd = matrix(raw, 10, false, Some(15.0), Precision::Full);
        assert_eq!(
            odd.series[0],
            json!({"metric": {}, "start": 0, "step": 15, "values": [2.5, 3, "+Inf"],
                   "stats": {"min": 2.5, "max": 3.0, "avg": 2.75, "last": "+Inf"}})
        );
        let escaped =
            vec![RawValue::from_string(r#"{"metric":{},"values":[[0,"1"]]}"#.into()).unwrap()];
        assert_eq!(
            matrix(escaped, 10, false, Some(15.0), Precision::Full).series[0]["values"],
            json!([1])
        );
    }

    #[test]
    fn sparse_series_come_as_pairs() {
        let raw = raw_series(json!([{"metric": {}, "values": [[0, "1"], [1500, "2"]]}]));
        let s = matrix(raw, 10, false, Some(15.0), Precision::Digits(4));
        assert_eq!(s.series[0]["samples"], json!([[0, 1], [1500, 2]]));
        assert!(s.series[0].get("values").is_none());
    }

    #[test]
    fn native_histograms_are_aligned_with_numbers_and_exact_bounds() {
        let h = |count: &str| json!({"count": count, "sum": "12.34567", "buckets": [[0, "0.8408964152537145", "1", count]]});
        let raw = raw_series(json!([{"metric": {"__name__": "h"}, "histograms": [
            [100, h("2")], [130, h("5.123456")]
        ]}]));
        let s = matrix(raw, 10, false, Some(15.0), Precision::Digits(4));
        let series = &s.series[0];
        assert_eq!(
            (series["start"].clone(), series["step"].clone()),
            (json!(100), json!(15))
        );
        assert_eq!(
            series["histograms"],
            json!([
                {"count": 2, "sum": 12.35, "buckets": [[0, 0.8408964152537145, 1.0, 2]]},
                null,
                {"count": 5.123, "sum": 12.35, "buckets": [[0, 0.8408964152537145, 1.0, 5.123]]}
            ])
        );
        assert!(series.get("values").is_none() && series.get("stats").is_none());
        assert_eq!(s.points, 2);
    }

    #[test]
    fn small_and_large_answers_are_sorted_alike() {
        let answer = |padding: usize| {
            let long: Vec<Value> = (0..padding).map(|t| json!([t, "1"])).collect();
            raw_series(json!([
                {"metric": {"i": "b", "j": "x"}, "values": long},
                {"metric": {"j": "y", "i": "a"}, "values": [[0, "1"]]},
                {"metric": {}, "values": [[0, "2"]]},
                {"metric": {"i": "c"}, "values": [[0, "3"]]},
            ]))
        };
        // Parsed in full, then sorted; and (over 1 MiB of text) sorted by labels, then parsed.
        for padding in [1, 150_000] {
            let raw = answer(padding);
            let size: usize = raw.iter().map(|r| r.get().len()).sum();
            assert_eq!(size > PARSE_ALL_BYTES, padding > 1);
            let parse = |t| serde_json::from_str::<RangeSeries>(t).ok();
            let kept = shown(&raw, 3, false, parse, RangeSeries::labels);
            let labels: Vec<Value> = kept.iter().map(|s| json!(s.metric)).collect();
            assert_eq!(
                labels,
                [
                    json!({}),
                    json!({"i": "a", "j": "y"}),
                    json!({"i": "b", "j": "x"})
                ]
            );
            let kept = shown(&raw, 2, true, parse, RangeSeries::labels);
            assert_eq!(json!(kept[1].metric), json!({"i": "a", "j": "y"}));
        }
    }

    #[test]
    fn matrix_points_are_capped_whatever_the_limit() {
        let series: Vec<Value> = (0..10)
            .map(|i| {
                let values: Vec<Value> = (0..11_000).map(|t| json!([t, "1"])).collect();
                json!({"metric": {"i": format!("{i:02}")}, "values": values})
            })
            .collect();
        let s = matrix(
            raw_series(json!(series)),
            1_000,
            false,
            Some(1.0),
            Precision::Full,
        );
        assert_eq!((s.series.len(), s.points, s.total), (4, 44_000, 10));
        assert!(s.points_capped);
        assert_eq!(s.series[3]["metric"]["i"], "03");
        let s = matrix(
            raw_series(json!(series)),
            2,
            false,
            Some(1.0),
            Precision::Full,
        );
        assert!(!s.points_capped && s.series.len() == 2);
        // One series over the budget keeps its latest points.
        let long: Vec<Value> = (0..60_000).map(|t| json!([t, "1"])).collect();
        let s = matrix(
            raw_series(json!([{"metric": {}, "values": long}])),
            10,
            false,
            Some(1.0),
            Precision::Full,
        );
        assert!(s.points_capped);
        assert_eq!((s.series.len(), s.points), (1, POINTS_MAX));
        assert_eq!(s.series[0]["start"], 10_000);
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
