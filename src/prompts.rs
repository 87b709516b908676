//! MCP prompts: short troubleshooting workflows (KubeSense ships them as "skills") that name this
//! server's tools and their arguments, so a model follows a known-good path instead of guessing.
//! One table ([`PROMPTS`]) from which `prompts/list` and `prompts/get` both come; the MCP front turns
//! them into rmcp's types. Every tool a prompt names must exist (a test checks).

/// One argument a prompt takes.
#[derive(Debug, Clone, Copy)]
pub struct PromptArg {
    /// Argument name.
    pub name: &'static str,
    /// What to put there.
    pub description: &'static str,
    /// Whether `prompts/get` needs it.
    pub required: bool,
}

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
            },
            PromptArg {
                name: "service",
                description: "Service name, e.g. 'checkout'.",
                required: false,
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
            },
            PromptArg {
                name: "stable",
                description: "Workload (deployment) name of the stable version, e.g. 'checkout'.",
                required: true,
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
            },
            WINDOW,
        ],
        render: |arg| {
            let service = arg("service").unwrap_or_default();
            let window = window(arg);
            format!(
                "Compute the error ratio of service '{service}' over the last {window}.\n\
1. analyze_traces with aggregation {{\"function\": \"count\"}}, filters 'service = \"{service}\" AND role = server', from_time 'now-{window}': all requests (B).\n\
2. The same with filters 'service = \"{service}\" AND role = server AND status = error': failed requests (A).\n\
3. The ratio is (A / B) x 100 percent; with queryType 'range' and the same step both give series: divide bucket by bucket to see when it rose.\n\
4. If the service exports request metrics, cross-check with analyze_metrics on sum(rate(<errors>[5m])) / sum(rate(<requests>[5m])) * 100."
            )
        },
    },
];

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

/// The text of prompt `name` with `arguments` (string values); an unknown prompt, a missing
/// required argument or an unknown argument is an error that says what to fix. Values are quoted
/// into filter strings, so a `"` or `\` in one is refused.
pub fn render(
    name: &str,
    arguments: &serde_json::Map<String, serde_json::Value>,
) -> Result<(String, String), PromptError> {
    let def = PROMPTS.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PROMPTS.iter().map(|p| p.name).collect();
        PromptError(format!(
            "unknown prompt '{name}'; prompts: {}",
            names.join(", ")
        ))
    })?;
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
            let (_, text) = render(p.name, &args).unwrap();
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
            render("nope", &none)
                .unwrap_err()
                .0
                .contains("investigate_errors")
        );
        assert!(
            render("latency_breakdown", &none)
                .unwrap_err()
                .0
                .contains("needs argument 'service'")
        );
        let args = json!({"service": "a\" OR 1=1"})
            .as_object()
            .unwrap()
            .clone();
        assert!(
            render("latency_breakdown", &args)
                .unwrap_err()
                .0
                .contains("plain name")
        );
        let args = json!({"colour": "x"}).as_object().unwrap().clone();
        assert!(
            render("investigate_errors", &args)
                .unwrap_err()
                .0
                .contains("unknown argument 'colour'")
        );
        let (_, text) = render("investigate_errors", &none).unwrap();
        assert!(text.contains("filters 'level = ERROR'"), "{text}");
    }
}
