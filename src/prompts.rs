//! MCP prompts: short troubleshooting workflows (KubeSense ships them as "skills") that name this
//! server's tools and their arguments, so a model follows a known-good path instead of guessing.
//! One table ([`PROMPTS`]) from which `prompts/list` and `prompts/get` both come; the MCP front turns
//! them into rmcp's types. Every tool a prompt names must exist (a test checks), and a prompt that
//! names a tool the deployment does not offer (`TOOLS_ENABLED` / `TOOLS_DISABLED`) is not offered
//! either: a recipe with a step the model cannot take would send it astray.

use crate::tools::Toolset;

/// One argument a prompt takes.
#[derive(Debug, Clone, Copy)]
pub struct PromptArg {
    /// Argument name.
    pub name: &'static str,
    /// What to put there.
    pub description: &'static str,
    /// Whether `prompts/get` needs it.
    pub required: bool,
    /// Where `completion/complete` finds values for it.
    pub completion: Completion,
}

/// Where `completion/complete` finds the values of a prompt argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// These values, in this order.
    Fixed(&'static [&'static str]),
    /// The values seen in the backends: of a logs and traces `field` (the recipes write the value
    /// into filters on it), and of metric `labels` that usually carry the same names.
    Observed {
        /// The logs/traces field, e.g. `service`.
        field: &'static str,
        /// Metric labels, e.g. `service` and `job`.
        labels: &'static [&'static str],
    },
}

/// A namespace: the logs and traces field, and the label Kubernetes metrics carry.
const NAMESPACE_VALUES: Completion = Completion::Observed {
    field: "namespace",
    labels: &["namespace"],
};

/// A service: the logs and traces field (OpenTelemetry's `service.name`), and the metric labels
/// that name one (`job` is Prometheus' own name for what it scrapes).
const SERVICE_VALUES: Completion = Completion::Observed {
    field: "service",
    labels: &["service", "job"],
};

/// A workload (deployment) name: the logs and traces field only (no metric label is as reliable).
const WORKLOAD_VALUES: Completion = Completion::Observed {
    field: "workload",
    labels: &[],
};

/// An argument's value by name (trimmed, non-empty), as a prompt's text is made from it.
pub type ArgValue<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One prompt: its listing and how its text is made from the arguments.
pub struct PromptDef {
    /// Prompt name.
    pub name: &'static str,
    /// Human-readable title.
    pub title: &'static str,
    /// What the workflow is for.
    pub description: &'static str,
    /// The arguments it takes.
    pub arguments: &'static [PromptArg],
    /// The workflow text; `arg` gives an argument's value, or its default.
    pub render: fn(ArgValue) -> String,
}

const WINDOW: PromptArg = PromptArg {
    name: "window",
    description: "How far back to look, e.g. '1h' (default) or '15m'.",
    required: false,
    completion: Completion::Fixed(&["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h"]),
};

/// Every prompt, in the order `prompts/list` shows them.
pub const PROMPTS: &[PromptDef] = &[
    PromptDef {
        name: "investigate_errors",
        title: "Investigate errors",
        description: "Find what is failing in a namespace or service: error logs, failing spans, one failing trace, and the error rate.",
        arguments: &[
            PromptArg {
                name: "namespace",
                description: "Kubernetes namespace, e.g. 'payments'.",
                required: false,
                completion: NAMESPACE_VALUES,
            },
            PromptArg {
                name: "service",
                description: "Service name, e.g. 'checkout'.",
                required: false,
                completion: SERVICE_VALUES,
            },
            WINDOW,
        ],
        render: |arg| {
            let scope = scope(arg);
            let window = window(arg);
            let label = if scope.is_empty() {
                String::new()
            } else {
                format!(" where {}", scope.join(" and "))
            };
            format!(
                "Investigate errors{label} over the last {window}.\n\
1. analyze_logs with aggregation {{\"function\": \"count\"}}, groupBy [\"service\", \"level\"], filters '{filter}level = ERROR', from_time 'now-{window}': which services log errors, and how many.\n\
2. search_logs with filters '{filter}level = ERROR' and limit 10: read the newest error messages; look for timeouts, refused connections, panics.\n\
3. search_traces with filters '{filter}status = error': failing spans, their operations and return codes.\n\
4. get_trace on one trace_id from step 3: the critical path shows where the failure started.\n\
5. If the service exports metrics, find_metrics_by_pattern 'error|fail|5xx' and analyze_metrics on the rate over the same window.\n\
Report: what fails, since when, the first failing component, and the evidence (messages, trace ids).",
                filter = filter_prefix(&scope)
            )
        },
    },
    PromptDef {
        name: "latency_breakdown",
        title: "Latency breakdown of a service",
        description: "Where a service spends its time: percentiles per operation, the slowest spans, and a slow trace's critical path.",
        arguments: &[
            PromptArg {
                name: "service",
                description: "Service name, e.g. 'checkout'.",
                required: true,
                completion: SERVICE_VALUES,
            },
            WINDOW,
        ],
        render: |arg| {
            let service = arg("service").unwrap_or_default();
            let window = window(arg);
            format!(
                "Break down the latency of service '{service}' over the last {window}.\n\
1. analyze_traces with aggregation {{\"function\": \"p95\", \"field\": \"duration\"}}, groupBy [\"operation_name\"], filters 'service = \"{service}\" AND role = server', from_time 'now-{window}'; repeat with p50 and p99.\n\
2. analyze_traces with queryType 'range' and the same p95: is it steady, or did it change at some time?\n\
3. search_traces with filters 'service = \"{service}\" AND duration > <the p95 in ms>': the slowest spans.\n\
4. get_trace on the slowest trace_id: the critical path names the downstream call that takes the time.\n\
Report the p50/p95/p99 per operation (milliseconds), when it changed, and the slowest dependency."
            )
        },
    },
    PromptDef {
        name: "compare_canary_stable",
        title: "Compare canary and stable",
        description: "Compare error rate and latency between two workloads (canary and stable) of one service.",
        arguments: &[
            PromptArg {
                name: "canary",
                description: "Workload (deployment) name of the canary, e.g. 'checkout-canary'.",
                required: true,
                completion: WORKLOAD_VALUES,
            },
            PromptArg {
                name: "stable",
                description: "Workload (deployment) name of the stable version, e.g. 'checkout'.",
                required: true,
                completion: WORKLOAD_VALUES,
            },
            WINDOW,
        ],
        render: |arg| {
            let canary = arg("canary").unwrap_or_default();
            let stable = arg("stable").unwrap_or_default();
            let window = window(arg);
            format!(
                "Compare canary '{canary}' with stable '{stable}' over the last {window}.\n\
1. analyze_traces with aggregation {{\"function\": \"count\"}}, groupBy [\"workload\", \"status\"], filters 'workload IN (\"{canary}\", \"{stable}\") AND role = server', from_time 'now-{window}': requests and errors per version.\n\
2. analyze_traces with aggregation {{\"function\": \"p95\", \"field\": \"duration\"}}, groupBy [\"workload\"], same filters: latency per version.\n\
3. analyze_logs with aggregation {{\"function\": \"count\"}}, groupBy [\"workload\"], filters 'workload IN (\"{canary}\", \"{stable}\") AND level = ERROR'.\n\
Compute each version's error ratio (errors / requests x 100) and compare. Recommend promote or roll back, with the numbers."
            )
        },
    },
    PromptDef {
        name: "error_ratio",
        title: "Error ratio as a percentage",
        description: "The share of a service's requests that fail, in percent, overall and over time.",
        arguments: &[
            PromptArg {
                name: "service",
                description: "Service name, e.g. 'frontend'.",
                required: true,
                completion: SERVICE_VALUES,
            },
            WINDOW,
        ],
        render: |arg| {
            let service = arg("service").unwrap_or_default();
            let window = window(arg);
            format!(
                "Compute the error ratio of service '{service}' over the last {window}.\n\
1. analyze_telemetry with from_time 'now-{window}' and queries {{\"A\": {{\"datasource\": \"traces\", \"filters\": \"service = \\\"{service}\\\" AND role = server AND status = error\", \"aggregation\": {{\"function\": \"count\"}}}}, \"B\": {{\"datasource\": \"traces\", \"filters\": \"service = \\\"{service}\\\" AND role = server\", \"aggregation\": {{\"function\": \"count\"}}}}, \"R\": {{\"datasource\": \"formula\", \"expression\": \"round(A / B * 100, 2)\"}}}}: R is the share of failed requests in percent (A failed, B all).\n\
2. The same with queryType 'range': R per time bucket shows when it rose (null where there were no requests).\n\
3. If the service exports request metrics, add them to the same call, e.g. \"E\": {{\"datasource\": \"metrics\", \"promql\": \"sum(increase(<errors>[$__range]))\"}}, \"T\": {{\"datasource\": \"metrics\", \"promql\": \"sum(increase(<requests>[$__range]))\"}}, \"M\": {{\"datasource\": \"formula\", \"expression\": \"E / T * 100\"}}, and compare M with R."
            )
        },
    },
];

impl PromptDef {
    /// Whether `toolset` offers every tool this prompt's recipe names.
    pub fn offered_by(&self, toolset: &Toolset) -> bool {
        let placeholder = |name: &str| Some(format!("my-{name}"));
        toolset.covers(&(self.render)(&placeholder))
    }
}

/// The prompts `toolset` can serve, in [`PROMPTS`] order.
pub fn offered(toolset: &Toolset) -> impl Iterator<Item = &'static PromptDef> + '_ {
    PROMPTS.iter().filter(|p| p.offered_by(toolset))
}

/// The `window` argument, `1h` when not given.
fn window(arg: ArgValue) -> String {
    arg(WINDOW.name).unwrap_or_else(|| "1h".into())
}

/// The namespace/service scope the caller gave, as filter conditions.
fn scope(arg: ArgValue) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ns) = arg("namespace") {
        out.push(format!("namespace = \"{ns}\""));
    }
    if let Some(service) = arg("service") {
        out.push(format!("service = \"{service}\""));
    }
    out
}

/// `namespace = "x" AND ` (the scope as a filter prefix), or nothing.
fn filter_prefix(scope: &[String]) -> String {
    scope.iter().map(|c| format!("{c} AND ")).collect()
}

/// Why `prompts/get` could not render a prompt: the front maps it to JSON-RPC `-32602`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptError(pub String);

/// Prompt `name` among those `toolset` can serve; an error listing them when there is none.
pub fn find(name: &str, toolset: &Toolset) -> Result<&'static PromptDef, PromptError> {
    offered(toolset).find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = offered(toolset).map(|p| p.name).collect();
        PromptError(format!(
            "unknown prompt '{name}'; prompts: {}",
            names.join(", ")
        ))
    })
}

/// The text of prompt `name` with `arguments` (string values); an unknown prompt (or one that
/// names a tool `toolset` does not offer), a missing required argument or an unknown argument is
/// an error that says what to fix. Values are quoted into filter strings, so a `"` or `\` in one
/// is refused.
pub fn render(
    name: &str,
    arguments: &serde_json::Map<String, serde_json::Value>,
    toolset: &Toolset,
) -> Result<(String, String), PromptError> {
    let def = find(name, toolset)?;
    for key in arguments.keys() {
        if !def.arguments.iter().any(|a| a.name == key) {
            let names: Vec<&str> = def.arguments.iter().map(|a| a.name).collect();
            return Err(PromptError(format!(
                "unknown argument '{key}' for prompt '{name}'; it takes: {}",
                names.join(", ")
            )));
        }
    }
    let value = |key: &str| -> Option<String> {
        arguments
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    for a in def.arguments {
        let v = value(a.name);
        if a.required && v.is_none() {
            return Err(PromptError(format!(
                "prompt '{name}' needs argument '{}': {}",
                a.name, a.description
            )));
        }
        if v.as_deref()
            .is_some_and(|v| v.contains(['"', '\\']) || v.len() > 200)
        {
            return Err(PromptError(format!(
                "argument '{}' must be a plain name (no quotes or backslashes, at most 200 bytes)",
                a.name
            )));
        }
    }
    Ok((def.description.to_string(), (def.render)(&value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prompts_name_only_tools_that_exist_and_render_their_arguments() {
        for p in PROMPTS {
            let args: serde_json::Map<String, serde_json::Value> = p
                .arguments
                .iter()
                .map(|a| (a.name.to_string(), json!(format!("my-{}", a.name))))
                .collect();
            let (_, text) = render(p.name, &args, &Toolset::all()).unwrap();
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if ["analyze_", "search_", "get_", "query_", "find_", "list_"]
                    .iter()
                    .any(|v| word.starts_with(v))
                {
                    assert!(
                        crate::tools::TOOLS.iter().any(|t| t.name == word),
                        "{}: '{word}' is not a tool",
                        p.name
                    );
                }
            }
            for a in p.arguments.iter().filter(|a| a.name != "window") {
                assert!(
                    text.contains(&format!("my-{}", a.name)),
                    "{}: {text}",
                    p.name
                );
            }
            // Every analyze_telemetry call the text suggests is JSON whose filters and formulas parse.
            for after in text.split("queries ").skip(1) {
                let mut stream =
                    serde_json::Deserializer::from_str(after).into_iter::<serde_json::Value>();
                let queries = stream.next().unwrap().unwrap();
                for q in queries.as_object().unwrap().values() {
                    if let Some(f) = q["filters"].as_str() {
                        crate::filter::parse(f).unwrap_or_else(|e| panic!("{}: {f}: {e}", p.name));
                    }
                    if let Some(x) = q["expression"].as_str() {
                        crate::formula::parse(x).unwrap_or_else(|e| panic!("{}: {x}: {e}", p.name));
                    }
                }
            }
            // Every filter the text suggests parses.
            for quoted in text.split("filters '").skip(1) {
                let filter = quoted.split('\'').next().unwrap();
                if !filter.contains('<') {
                    crate::filter::parse(filter)
                        .unwrap_or_else(|e| panic!("{}: {filter}: {e}", p.name));
                }
            }
        }
    }

    #[test]
    fn bad_arguments_say_what_to_fix() {
        let none = serde_json::Map::new();
        assert!(
            render("nope", &none, &Toolset::all())
                .unwrap_err()
                .0
                .contains("investigate_errors")
        );
        assert!(
            render("latency_breakdown", &none, &Toolset::all())
                .unwrap_err()
                .0
                .contains("needs argument 'service'")
        );
        let args = json!({"service": "a\" OR 1=1"})
            .as_object()
            .unwrap()
            .clone();
        assert!(
            render("latency_breakdown", &args, &Toolset::all())
                .unwrap_err()
                .0
                .contains("plain name")
        );
        let args = json!({"colour": "x"}).as_object().unwrap().clone();
        assert!(
            render("investigate_errors", &args, &Toolset::all())
                .unwrap_err()
                .0
                .contains("unknown argument 'colour'")
        );
        let (_, text) = render("investigate_errors", &none, &Toolset::all()).unwrap();
        assert!(text.contains("filters 'level = ERROR'"), "{text}");
    }

    #[test]
    fn a_prompt_naming_a_disabled_tool_is_not_offered() {
        assert_eq!(offered(&Toolset::all()).count(), PROMPTS.len());
        // get_trace is step 4 of investigate_errors and latency_breakdown only.
        let toolset = Toolset::from_lists(None, Some("get_trace")).unwrap();
        let names: Vec<&str> = offered(&toolset).map(|p| p.name).collect();
        assert_eq!(names, ["compare_canary_stable", "error_ratio"]);
        let args = json!({"service": "checkout"}).as_object().unwrap().clone();
        let e = render("latency_breakdown", &args, &toolset).unwrap_err().0;
        assert_eq!(
            e,
            "unknown prompt 'latency_breakdown'; prompts: compare_canary_stable, error_ratio"
        );
        let metrics_only = Toolset::from_lists(Some("list_datasources,query_range"), None).unwrap();
        assert_eq!(offered(&metrics_only).count(), 0);
    }

    #[test]
    fn completion_sources_are_fields_that_exist_and_windows_that_parse() {
        use crate::backends::clickhouse::schema::{Signal, Table, known_fields};
        let fields: Vec<&str> = known_fields(&Table::otel(Signal::Traces))
            .iter()
            .map(|f| f.name)
            .collect();
        for a in PROMPTS.iter().flat_map(|p| p.arguments) {
            match a.completion {
                Completion::Observed { field, .. } => {
                    assert!(fields.contains(&field), "{}: {field}", a.name)
                }
                Completion::Fixed(values) => {
                    for v in values {
                        crate::timespec::parse_duration(v).unwrap();
                    }
                }
            }
        }
    }
}
