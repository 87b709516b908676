//! The values of one labelled query of `analyze_telemetry`, in one shape whatever their source
//! ([`Frame`]), and formulas evaluated over frames: operands joined on their group labels and, for a
//! range, on the common time buckets. Fetching the frames is `super`'s business.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::formula::{Expr, Null};
use crate::tools::ToolFailure;

/// A series' labels and its values, one per bucket.
pub(super) type LabelledValues = (Map<String, Value>, Vec<Option<f64>>);

/// A group's label values and its values, one per bucket.
pub(super) type Group = (Vec<String>, Vec<Option<f64>>);

/// One query's values: per group (a tuple of label values), one value per time bucket (one bucket
/// for an instant query).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Frame {
    /// The group label names, sorted; empty for one ungrouped value.
    pub labels: Vec<String>,
    /// Each group's label values (in `labels` order) and its values.
    pub groups: Vec<Group>,
    /// Whether a group that is absent counts as zero: true for counts of records, where no group
    /// means no record; false for PromQL, where a missing series is missing.
    pub absent_is_zero: bool,
    /// Groups the source had in all; more than `groups.len()` when it listed only the largest.
    pub total: usize,
}

impl Frame {
    /// A frame from labelled series: `(labels, values)`. `__name__` is dropped, as PromQL's
    /// arithmetic drops it, unless two series would then share their labels.
    pub fn from_series(series: Vec<LabelledValues>) -> Frame {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let keyed = |keep_name: bool| -> (Vec<String>, Vec<Vec<String>>) {
            let mut names: Vec<String> = series
                .iter()
                .flat_map(|(m, _)| m.keys())
                .filter(|k| keep_name || k.as_str() != "__name__")
                .cloned()
                .collect();
            names.sort();
            names.dedup();
            let keys = series
                .iter()
                .map(|(m, _)| {
                    names
                        .iter()
                        .map(|n| m.get(n).map(text).unwrap_or_default())
                        .collect()
                })
                .collect();
            (names, keys)
        };
        let (mut labels, mut keys) = keyed(false);
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        if unique.len() < keys.len() {
            (labels, keys) = keyed(true);
        }
        let total = series.len();
        Frame {
            labels,
            groups: keys
                .into_iter()
                .zip(series.into_iter().map(|(_, v)| v))
                .collect(),
            absent_is_zero: false,
            total,
        }
    }

    /// One group with no labels, or none yet it has a value to offer (for zero-filled counts).
    fn is_scalar(&self) -> bool {
        self.labels.is_empty()
    }

    /// The value of the group `key` at `bucket`; `None` when there is none.
    fn value(&self, key: &[String], bucket: usize) -> Option<f64> {
        let group = if self.is_scalar() {
            self.groups.first()
        } else {
            self.groups.iter().find(|(k, _)| k.as_slice() == key)
        };
        match group {
            Some((_, values)) => values.get(bucket).copied().flatten(),
            None if self.absent_is_zero => Some(0.0),
            None => None,
        }
    }
}

/// How many values of a formula are null, by reason.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Nulls {
    /// Count per reason, e.g. "division by zero".
    pub reasons: BTreeMap<String, usize>,
    /// Values computed in all.
    pub values: usize,
}

impl Nulls {
    /// `"3 of 120 values are null: division by zero (2), B has no value (1)"`, or `None`.
    pub fn note(&self) -> Option<String> {
        let nulls: usize = self.reasons.values().sum();
        if nulls == 0 {
            return None;
        }
        let reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|(r, n)| format!("{r} ({n})"))
            .collect();
        Some(format!(
            "{nulls} of {} values are null: {}",
            self.values,
            reasons.join(", ")
        ))
    }
}

/// Evaluates `expr` (the formula labelled `label`) over `operands`, `buckets` values per group.
/// Operands with labels must all group by the same labels; an ungrouped operand applies to every
/// group.
pub(super) fn evaluate(
    label: &str,
    text: &str,
    expr: &Expr,
    operands: &BTreeMap<String, Frame>,
    buckets: usize,
) -> Result<(Frame, Nulls), ToolFailure> {
    let used: Vec<(&str, &Frame)> = expr
        .labels()
        .into_iter()
        .filter_map(|l| operands.get(l).map(|f| (l, f)))
        .collect();
    let grouped: Vec<&(&str, &Frame)> = used.iter().filter(|(_, f)| !f.is_scalar()).collect();
    if let Some((first, frame)) = grouped.first()
        && let Some((other, mismatch)) = grouped.iter().find(|(_, f)| f.labels != frame.labels)
    {
        return Err(ToolFailure::new(format!(
            "formula {label} = {text}: {first} is grouped by ({}) and {other} by ({}); a formula joins \
its operands on their group labels, so they must be the same. Align them: the same groupBy on logs and \
traces queries, `sum by ({}) (…)` in PromQL (label_replace renames a label), or an ungrouped value that \
applies to every group",
            frame.labels.join(", "),
            mismatch.labels.join(", "),
            frame.labels.join(", ")
        )));
    }
    let labels = grouped
        .first()
        .map(|(_, f)| f.labels.clone())
        .unwrap_or_default();
    let mut keys: Vec<Vec<String>> = Vec::new();
    for (_, frame) in &grouped {
        for (key, _) in &frame.groups {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    if grouped.is_empty() {
        keys.push(Vec::new());
    }
    let mut nulls = Nulls::default();
    let groups = keys
        .into_iter()
        .map(|key| {
            let values = (0..buckets)
                .map(|b| {
                    nulls.values += 1;
                    let lookup = |l: &str| operands.get(l).and_then(|frame| frame.value(&key, b));
                    match expr.eval(&lookup) {
                        Ok(v) => Some(v),
                        Err(null) => {
                            let reason = match null {
                                Null::Missing(l) if !labels.is_empty() => {
                                    format!("{l} has no value for the group")
                                }
                                other => other.to_string(),
                            };
                            *nulls.reasons.entry(reason).or_default() += 1;
                            None
                        }
                    }
                })
                .collect();
            (key, values)
        })
        .collect::<Vec<_>>();
    let total = groups.len();
    Ok((
        Frame {
            labels,
            groups,
            absent_is_zero: false,
            total,
        },
        nulls,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::parse;
    use serde_json::json;

    fn frame(labels: &[&str], groups: &[(&[&str], &[Option<f64>])]) -> Frame {
        Frame {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            groups: groups
                .iter()
                .map(|(k, v)| (k.iter().map(|s| s.to_string()).collect(), v.to_vec()))
                .collect(),
            absent_is_zero: false,
            total: groups.len(),
        }
    }

    fn run(
        text: &str,
        operands: Vec<(&str, Frame)>,
        buckets: usize,
    ) -> Result<(Frame, Nulls), ToolFailure> {
        let operands = operands
            .into_iter()
            .map(|(l, f)| (l.to_string(), f))
            .collect();
        evaluate("F", text, &parse(text).unwrap(), &operands, buckets)
    }

    #[test]
    fn groups_join_on_their_labels_and_buckets_in_order() {
        let a = frame(
            &["service"],
            &[
                (&["api"], &[Some(1.0), Some(2.0)]),
                (&["db"], &[Some(3.0), None]),
            ],
        );
        let b = frame(
            &["service"],
            &[
                (&["db"], &[Some(6.0), Some(6.0)]),
                (&["api"], &[Some(4.0), Some(0.0)]),
            ],
        );
        let (f, nulls) = run("(A / B) * 100", vec![("A", a), ("B", b)], 2).unwrap();
        assert_eq!(f.labels, ["service"]);
        assert_eq!(
            f.groups[0],
            (vec!["api".to_string()], vec![Some(25.0), None])
        );
        assert_eq!(
            f.groups[1],
            (vec!["db".to_string()], vec![Some(50.0), None])
        );
        assert_eq!(
            nulls.note().unwrap(),
            "2 of 4 values are null: A has no value for the group (1), division by zero (1)"
        );
    }

    #[test]
    fn an_ungrouped_operand_applies_to_every_group() {
        let a = frame(
            &["service"],
            &[(&["api"], &[Some(5.0)]), (&["db"], &[Some(15.0)])],
        );
        let total = frame(&[], &[(&[], &[Some(20.0)])]);
        let (f, nulls) = run("A / T", vec![("A", a), ("T", total)], 1).unwrap();
        assert_eq!(f.groups[0].1, [Some(0.25)]);
        assert_eq!(f.groups[1].1, [Some(0.75)]);
        assert_eq!(nulls.note(), None);
    }

    #[test]
    fn absent_counts_are_zero_and_absent_series_are_missing() {
        let mut errors = frame(&["service"], &[(&["api"], &[Some(2.0)])]);
        errors.absent_is_zero = true;
        let requests = frame(
            &["service"],
            &[(&["api"], &[Some(8.0)]), (&["db"], &[Some(4.0)])],
        );
        let (f, _) = run(
            "E / R",
            vec![("E", errors.clone()), ("R", requests.clone())],
            1,
        )
        .unwrap();
        assert_eq!(f.groups[1], (vec!["db".to_string()], vec![Some(0.0)]));
        errors.absent_is_zero = false;
        let (f, nulls) = run("E / R", vec![("E", errors), ("R", requests)], 1).unwrap();
        assert_eq!(f.groups[1].1, [None]);
        assert_eq!(
            nulls.note().unwrap(),
            "1 of 2 values are null: E has no value for the group (1)"
        );
    }

    #[test]
    fn different_groupings_are_refused_with_how_to_align_them() {
        let a = frame(&["service"], &[(&["api"], &[Some(1.0)])]);
        let b = frame(&["namespace", "service"], &[(&["x", "api"], &[Some(1.0)])]);
        let e = run("A / B", vec![("A", a), ("B", b)], 1)
            .unwrap_err()
            .message;
        assert!(
            e.contains("A is grouped by (service) and B by (namespace, service)"),
            "{e}"
        );
        assert!(e.contains("sum by (service)"), "{e}");
    }

    #[test]
    fn series_labels_drop_the_metric_name_unless_it_tells_series_apart() {
        let m = |v: Value| v.as_object().unwrap().clone();
        let f = Frame::from_series(vec![
            (m(json!({"__name__": "up", "job": "a"})), vec![Some(1.0)]),
            (m(json!({"job": "b", "instance": "i"})), vec![Some(0.0)]),
        ]);
        assert_eq!(f.labels, ["instance", "job"]);
        assert_eq!(f.groups[0].0, ["", "a"]);
        let f = Frame::from_series(vec![
            (m(json!({"__name__": "a", "job": "x"})), vec![Some(1.0)]),
            (m(json!({"__name__": "b", "job": "x"})), vec![Some(2.0)]),
        ]);
        assert_eq!(f.labels, ["__name__", "job"]);
    }
}
