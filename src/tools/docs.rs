//! What the tool table says about itself to readers other than `tools/list`: the server instructions
//! a model gets at `initialize`, and the README's tool table. Both come from [`TOOLS`], or are checked
//! against it by the tests here, so they cannot drift from the tools that exist.

use std::fmt::Write as _;

use super::{Handler, TOOLS, ToolDef, Toolset};
use crate::datasources::Family;

/// The workflow part of the instructions: how a model should go about a question, one line at a
/// time. A line that names a tool the deployment does not offer is left out (see
/// [`Toolset::covers`]), so lines name few tools each. Every tool name in it must be a tool (checked
/// by a test), and the offered tools are listed below it by family.
const WORKFLOW: &[&str] = &[
    "Read-only metrics (Prometheus, Thanos, Mimir, Cortex, VictoriaMetrics), logs and traces \
(ClickHouse, OpenTelemetry schema).",
    "Call list_datasources first: ids, families, each family's default.",
    "`datasource_id` is optional: the family's default answers, and results name the datasource.",
    "Metrics: find names with find_metrics_by_pattern (RE2, matched anywhere; ^ and $ anchor).",
    "get_metric_metadata gives a metric's type; get_metric_labels and get_label_values its labels.",
    "query_instant and query_range evaluate PromQL; aggregate (sum by, topk) to keep answers small.",
    "analyze_metrics summarises PromQL per series instead of returning points.",
    "Logs and traces: get_trace_or_log_fields lists the fields.",
    "search_logs and search_traces return records, newest first.",
    "analyze_logs and analyze_traces aggregate them (count, p95 of duration…, per groupBy).",
    "get_trace summarises one trace.",
    "analyze_telemetry combines labelled PromQL, logs and traces queries with formulas such as \
(A/B)*100.",
    "query_instant, query_range and analyze_metrics take `datasource_ids` (or \"*\") to ask several \
datasources.",
    "`filters` is SQL-like: = != > >= < <= IN (...) NOT IN (...) LIKE (% any, _ one), AND, OR, NOT, \
parentheses; strings quoted or bare words; @key for a custom attribute; e.g. namespace = \"shop\" \
AND level = ERROR, duration > 1000 (milliseconds).",
    "Times: 'now', 'now-1h', RFC 3339 or Unix seconds; a window defaults to the last hour. \
Durations: 30s, 5m, 1h.",
    "Lists are bounded (`limit`); `total` and `truncated` say when more exists. Errors say what to fix.",
];

/// The server instructions for the tools `toolset` offers: the workflow lines that name only
/// offered tools, then the offered tools of each family.
pub fn instructions(toolset: &Toolset) -> String {
    let mut text = String::new();
    for line in WORKFLOW.iter().filter(|line| toolset.covers(line)) {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("Tools:");
    for (family, tools) in by_family() {
        let names: Vec<&str> = tools
            .iter()
            .map(|t| t.name)
            .filter(|n| toolset.contains(n))
            .collect();
        if !names.is_empty() {
            let _ = write!(text, " {family}: {};", names.join(", "));
        }
    }
    text.pop();
    text.push('.');
    text
}

/// The README's tool table (Markdown): one row per tool with its family, its arguments (optional ones
/// marked `?`) and the first sentence of its description.
pub fn readme_table() -> String {
    let mut out = String::from("| tool | family | arguments | what it does |\n|---|---|---|---|\n");
    for (family, tools) in by_family() {
        for tool in tools {
            let params = tool.params();
            let arguments: Vec<String> = params
                .iter()
                .map(|p| format!("`{}{}`", p.name, if p.required { "" } else { "?" }))
                .collect();
            let arguments = if arguments.is_empty() {
                "—".to_string()
            } else {
                arguments.join(", ")
            };
            let _ = writeln!(
                out,
                "| `{}` | {family} | {arguments} | {} |",
                tool.name,
                first_sentence(tool.description)
            );
        }
    }
    out
}

/// The README's field-map table (Markdown): each logs and traces field, its type and where it comes
/// from in the OpenTelemetry exporter's schema.
pub fn field_table() -> String {
    use crate::backends::clickhouse::schema::{FieldType, Signal, Table, known_fields};
    let mut out = String::from("| field | logs | traces | type | from |\n|---|---|---|---|---|\n");
    let logs = known_fields(&Table::otel(Signal::Logs));
    let traces = known_fields(&Table::otel(Signal::Traces));
    let mut seen = Vec::new();
    for f in logs.iter().chain(&traces) {
        if seen.contains(&f.name) {
            continue;
        }
        seen.push(f.name);
        let in_logs = logs.iter().any(|l| l.name == f.name);
        let in_traces = traces.iter().any(|t| t.name == f.name);
        let kind = match f.field_type {
            FieldType::Number => "number",
            FieldType::Text => "string",
            FieldType::TextIgnoreCase => "string, any case",
        };
        let mark = |b: bool| if b { "✓" } else { "" };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {kind} | {} |",
            f.name,
            mark(in_logs),
            mark(in_traces),
            f.source
        );
    }
    out
}

/// The tools grouped by family in table order, configuration tools (`config`) first.
fn by_family() -> Vec<(&'static str, Vec<&'static ToolDef>)> {
    let mut groups: Vec<(&'static str, Vec<&'static ToolDef>)> = Vec::new();
    let config = |t: &&ToolDef| matches!(t.run, Handler::Config(_));
    let combined = |t: &&ToolDef| matches!(t.run, Handler::Combined(_));
    groups.push(("config", TOOLS.iter().filter(config).collect()));
    for family in Family::ALL {
        let tools = TOOLS
            .iter()
            .filter(|t| t.family() == Some(family))
            .collect();
        groups.push((family.as_str(), tools));
    }
    groups.push(("all", TOOLS.iter().filter(combined).collect()));
    groups.retain(|(_, tools)| !tools.is_empty());
    groups
}

/// The text up to the end of its first sentence (a '.' before a space and a capital, so "e.g. 'job'"
/// does not end it), on one line.
fn first_sentence(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let end = words
        .windows(2)
        .position(|w| w[0].ends_with('.') && w[1].starts_with(|c: char| c.is_ascii_uppercase()))
        .map_or(words.len(), |i| i + 1);
    words[..end].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of `text` that look like tool names (snake_case with a verb-like first part).
    fn tool_like_words(text: &str) -> Vec<&str> {
        const VERBS: &[&str] = &["list_", "get_", "find_", "query_", "search_", "analyze_"];
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| VERBS.iter().any(|v| w.starts_with(v)))
            .collect()
    }

    #[test]
    fn instructions_name_every_tool_and_only_tools() {
        let text = instructions(&Toolset::all());
        for word in WORKFLOW.iter().flat_map(|line| tool_like_words(line)) {
            assert!(
                TOOLS.iter().any(|t| t.name == word),
                "instructions mention '{word}', which is not a tool"
            );
        }
        assert!(WORKFLOW.iter().all(|line| text.contains(line)));
        for tool in TOOLS {
            assert!(text.contains(tool.name), "instructions omit {}", tool.name);
        }
        // Small: it is sent at every initialize.
        assert!(text.len() < 2_000, "instructions are {} bytes", text.len());
    }

    #[test]
    fn instructions_name_no_disabled_tool() {
        let toolset = Toolset::from_lists(None, Some("get_trace,query_range,search_logs")).unwrap();
        let text = instructions(&toolset);
        let named: Vec<&str> = tool_like_words(&text);
        for disabled in ["get_trace", "query_range", "search_logs"] {
            assert!(!named.contains(&disabled), "{disabled} in {text}");
        }
        // What does not depend on them stays.
        assert!(text.contains("Call list_datasources first"), "{text}");
        assert!(text.contains("metrics: list_metrics"), "{text}");
        let metrics_only =
            Toolset::from_lists(Some("query_instant,list_datasources"), None).unwrap();
        let text = instructions(&metrics_only);
        assert!(
            !text.contains("logs:") && !text.contains("traces:"),
            "{text}"
        );
        assert!(
            text.ends_with("Tools: config: list_datasources; metrics: query_instant."),
            "{text}"
        );
    }

    #[test]
    fn readme_tool_table_is_the_generated_one() {
        let readme = include_str!("../../README.md");
        let table = readme_table();
        assert!(
            readme.contains(&table),
            "README.md's tool table is out of date; replace it with:\n{table}"
        );
    }

    #[test]
    fn readme_field_table_is_the_generated_one() {
        let readme = include_str!("../../README.md");
        let table = field_table();
        assert!(
            readme.contains(&table),
            "README.md's field table is out of date; replace it with:\n{table}"
        );
    }

    #[test]
    fn descriptions_mention_only_tools_that_exist() {
        for tool in TOOLS {
            for word in tool_like_words(tool.description) {
                assert!(
                    TOOLS.iter().any(|t| t.name == word),
                    "{}'s description mentions '{word}', which is not a tool",
                    tool.name
                );
            }
        }
    }
}
