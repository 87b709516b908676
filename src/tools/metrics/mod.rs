//! The metrics tools: PromQL and metric discovery over Prometheus-compatible datasources, each run with
//! a [`Client`] for the chosen metrics datasource. What they share lives here: the answer helpers
//! and result shaping ([`shape`]).

use serde_json::{Value, json};

use super::ToolFailure;
use crate::backends::prometheus::ApiResult;

pub(in crate::tools) mod analyze_metrics;
pub(in crate::tools) mod digits;
pub(super) mod find_metrics;
pub(super) mod label_values;
pub(super) mod list_metrics;
pub(super) mod metric_labels;
pub(super) mod metric_metadata;
pub(super) mod query_instant;
pub(super) mod query_range;
pub(in crate::tools) mod shape;
mod suggest;

#[cfg(test)]
mod tests;

/// Takes the answer's data as a list of strings (label names or values) without copying the tree.
pub(super) fn string_list(result: &mut ApiResult, what: &str) -> Result<Vec<String>, ToolFailure> {
    serde_json::from_value(result.data.take()).map_err(|_| {
        ToolFailure::new(format!(
            "the datasource answered with something other than a list of {what}"
        ))
    })
}

/// Takes the series of a vector or matrix answer.
pub(super) fn take_series(result: &mut ApiResult) -> Vec<Box<serde_json::value::RawValue>> {
    std::mem::take(&mut result.series)
}

/// Takes the `result` member of a scalar or string answer, leaving `null` behind.
pub(super) fn take_result(result: &mut ApiResult) -> Value {
    result
        .data
        .get_mut("result")
        .map(Value::take)
        .unwrap_or(Value::Null)
}

/// Adds server `warnings`/`infos` to `out` when there are any.
pub(super) fn add_notes(out: &mut Value, result: &ApiResult) {
    if !result.warnings.is_empty() {
        out["warnings"] = json!(result.warnings);
    }
    if !result.infos.is_empty() {
        out["infos"] = json!(result.infos);
    }
}
