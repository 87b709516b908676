//! `completion/complete` for the prompts' arguments: fixed choices (`window`), or the names the
//! backends hold (namespaces, services, workloads), asked through the same tools a model calls, so
//! every placement, datasource default and egress rule applies unchanged and nothing new crosses
//! the component boundary.
//!
//! Values come from `analyze_traces` and `analyze_logs` (count per the argument's field over the
//! last hour, the largest 200 groups, narrowed by the other arguments already given; once more
//! with `LIKE` on what was typed, which finds a rarer name beyond those 200 but, being
//! case-sensitive, cannot replace the first query) and from `get_label_values` (metric labels over the last
//! hour). A tool the deployment does not offer is not asked, and a source that fails (no logs
//! datasource, a backend down) adds nothing: completion is a convenience and never an error. The
//! answer is filtered by what was typed (names starting with it first, then names containing it,
//! ignoring case), at most 100 values, with `total` and `hasMore`.
//!
//! Not here: which argument completes from where ([`crate::prompts::Completion`]).

use serde_json::{Value, json};

use super::ToolProvider;
use crate::prompts::Completion;
use crate::tools::Toolset;

/// Most values one answer carries (the MCP specification's limit).
pub const MAX_VALUES: usize = 100;

/// Groups asked of a logs or traces aggregation, largest first (the tools' own maximum).
const GROUPS: u64 = 200;

/// Label values asked of a metrics datasource.
const LABEL_VALUES: u64 = 10_000;

/// Values for one argument: at most [`MAX_VALUES`], and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The values to offer, best first.
    pub values: Vec<String>,
    /// How many values matched.
    pub total: usize,
}

impl Completed {
    /// Whether values were left out.
    pub fn has_more(&self) -> bool {
        self.total > self.values.len()
    }
}

/// The values of an argument completing from `source` that match `typed`; `given` are the
/// prompt's other arguments already filled in, as (field, value) of their own sources.
pub async fn complete<P: ToolProvider>(
    provider: &P,
    toolset: &Toolset,
    source: Completion,
    typed: &str,
    given: &[(&'static str, String)],
) -> Completed {
    let candidates: Vec<String> = match source {
        Completion::Fixed(values) => values.iter().map(|v| v.to_string()).collect(),
        Completion::Observed { field, labels } => {
            let mut found = Vec::new();
            let queries = filters(field, typed, given);
            for tool in ["analyze_traces", "analyze_logs"] {
                if !toolset.contains(tool) {
                    continue;
                }
                for filters in &queries {
                    let mut args = json!({
                        "aggregation": {"function": "count"},
                        "groupBy": [field],
                        "limit": GROUPS,
                    });
                    if !filters.is_empty() {
                        args["filters"] = json!(filters);
                    }
                    let out = structured(provider, tool, args).await;
                    found.extend(
                        out["groups"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|g| g["group"][field].as_str())
                            .map(str::to_string),
                    );
                }
            }
            if toolset.contains("get_label_values") {
                for label in labels {
                    let args = json!({"label_name": label, "limit": LABEL_VALUES});
                    let out = structured(provider, "get_label_values", args).await;
                    found.extend(
                        out["values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_string),
                    );
                }
            }
            found.sort();
            found.dedup();
            found
        }
    };
    matching(candidates, typed)
}

/// `structuredContent` of a successful call, `null` otherwise.
async fn structured<P: ToolProvider>(provider: &P, tool: &str, args: Value) -> Value {
    match provider
        .call_tool(tool.to_string(), args.to_string(), None)
        .await
    {
        Ok(result) if !result.is_error() => result.structured_content().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Whether `value` can be written into a filter string as it is (no quote or backslash to escape).
fn plain(value: &str) -> bool {
    !value.is_empty() && !value.contains(['"', '\\']) && value.len() <= 200
}

/// The filters of the queries for `field` (empty: none): each other given field's value, and a
/// second query adding `LIKE "%typed%"` when something was typed.
fn filters(field: &str, typed: &str, given: &[(&'static str, String)]) -> Vec<String> {
    let mut conditions: Vec<String> = given
        .iter()
        .filter(|(other, value)| *other != field && plain(value))
        .map(|(other, value)| format!("{other} = \"{value}\""))
        .collect();
    let mut queries = vec![conditions.join(" AND ")];
    if plain(typed) && !typed.contains('%') {
        conditions.push(format!("{field} LIKE \"%{typed}%\""));
        queries.push(conditions.join(" AND "));
    }
    queries
}

/// `candidates` that match `typed` ignoring case: those starting with it first, then those
/// containing it, each group in its given order; at most [`MAX_VALUES`].
fn matching(candidates: Vec<String>, typed: &str) -> Completed {
    let typed = typed.to_lowercase();
    let (mut starting, mut containing) = (Vec::new(), Vec::new());
    for value in candidates {
        let lower = value.to_lowercase();
        if lower.starts_with(&typed) {
            starting.push(value);
        } else if lower.contains(&typed) {
            containing.push(value);
        }
    }
    starting.append(&mut containing);
    let total = starting.len();
    starting.truncate(MAX_VALUES);
    Completed {
        values: starting,
        total,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::front::{Caller, ProviderError, ToolResult};

    /// Answers like the real tools over a small estate; remembers every call.
    struct Estate {
        calls: Mutex<Vec<(String, Value)>>,
    }

    impl ToolProvider for Estate {
        async fn list_tools(&self) -> Result<Vec<Value>, ProviderError> {
            Ok(Vec::new())
        }

        async fn call_tool(
            &self,
            name: String,
            arguments_json: String,
            _caller: Option<Caller>,
        ) -> Result<ToolResult, ProviderError> {
            let arguments = serde_json::from_str(&arguments_json).unwrap();
            self.calls.lock().unwrap().push((name.clone(), arguments));
            let structured = match name.as_str() {
                "analyze_traces" => json!({"groups": [
                    {"group": {"service": "checkout"}, "value": 9},
                    {"group": {"service": "cart"}, "value": 4},
                ]}),
                // As when no logs datasource is configured.
                "analyze_logs" => {
                    let failed = crate::tools::error_result("no logs datasource");
                    return Ok(ToolResult::from_value(&failed).unwrap());
                }
                "get_label_values" => json!({"values": ["checkout", "node-exporter", "demo"]}),
                _ => return Err(ProviderError::UnknownTool(name)),
            };
            Ok(ToolResult::from_value(&crate::tools::success(structured)).unwrap())
        }
    }

    fn estate() -> Estate {
        Estate {
            calls: Mutex::new(Vec::new()),
        }
    }

    const SERVICE: Completion = Completion::Observed {
        field: "service",
        labels: &["job"],
    };

    #[tokio::test]
    async fn observed_values_merge_the_backends_and_match_what_was_typed() {
        let provider = estate();
        let all = complete(&provider, &Toolset::all(), SERVICE, "", &[]).await;
        assert_eq!(all.values, ["cart", "checkout", "demo", "node-exporter"]);
        assert_eq!((all.total, all.has_more()), (4, false));
        // Starting with it first, then containing it; case ignored.
        let c = complete(&provider, &Toolset::all(), SERVICE, "DE", &[]).await;
        assert_eq!(c.values, ["demo", "node-exporter"]);
        let c = complete(&provider, &Toolset::all(), SERVICE, "c", &[]).await;
        assert_eq!(c.values, ["cart", "checkout"]);
        let calls = provider.calls.lock().unwrap();
        let traces: Vec<&Value> = calls
            .iter()
            .filter(|(n, _)| n == "analyze_traces")
            .map(|(_, args)| args)
            .collect();
        // Without the typed text (the backend compares case), then with it (rarer names).
        let last_two = &traces[traces.len() - 2..];
        assert_eq!(last_two[0]["groupBy"], json!(["service"]));
        assert!(last_two[0].get("filters").is_none(), "{}", last_two[0]);
        assert_eq!(last_two[1]["filters"], "service LIKE \"%c%\"");
        let (_, labels) = calls
            .iter()
            .rfind(|(n, _)| n == "get_label_values")
            .unwrap();
        assert_eq!(labels["label_name"], "job");
    }

    #[tokio::test]
    async fn given_arguments_narrow_and_disabled_tools_are_not_asked() {
        let provider = estate();
        let given = [
            ("namespace", "shop".to_string()),
            ("service", "x".to_string()),
        ];
        let only_metrics = Toolset::from_lists(None, Some("analyze_traces,analyze_logs")).unwrap();
        let c = complete(&provider, &only_metrics, SERVICE, "", &given).await;
        assert_eq!(c.values, ["checkout", "demo", "node-exporter"]);
        assert!(
            provider
                .calls
                .lock()
                .unwrap()
                .iter()
                .all(|(n, _)| n == "get_label_values")
        );
        complete(&provider, &Toolset::all(), SERVICE, "a\"b", &given).await;
        let calls = provider.calls.lock().unwrap();
        let (_, traces) = calls.iter().rfind(|(n, _)| n == "analyze_traces").unwrap();
        // The namespace narrows; the argument's own earlier value and a typed quote do not.
        assert_eq!(traces["filters"], "namespace = \"shop\"");
    }

    #[test]
    fn values_starting_with_the_text_come_first_and_at_most_a_hundred() {
        let c = matching(vec!["xab".into(), "abc".into(), "b".into()], "ab");
        assert_eq!((c.values, c.total), (vec!["abc".into(), "xab".into()], 2));
        let many: Vec<String> = (0..250).map(|i| format!("v{i:03}")).collect();
        let c = matching(many, "v");
        assert_eq!(c.values.len(), MAX_VALUES);
        assert_eq!(
            (c.values[0].as_str(), c.values[99].as_str()),
            ("v000", "v099")
        );
        assert_eq!((c.total, c.has_more()), (250, true));
    }
}
