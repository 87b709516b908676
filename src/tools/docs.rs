//! What the tool table says about itself to readers other than `tools/list`: the server instructions
//! a model gets at `initialize`, and the README's tool table. Both come from [`TOOLS`], or are checked
//! against it by the tests here, so they cannot drift from the tools that exist.

use std::fmt::Write as _;

use super::{Handler, TOOLS, ToolDef};
use crate::datasources::Family;

/// The workflow part of the instructions: how a model should go about a question. Every tool name in
/// it must be a tool (checked by a test), and every tool is listed below it by family.
const WORKFLOW: &str = "\
Read-only access to observability data: metrics (Prometheus, Thanos, Mimir, Cortex, VictoriaMetrics), \
logs and traces (ClickHouse with the OpenTelemetry schema).
1. Call list_datasources first: it shows each datasource's id, families and the default of each \
family. Every other tool takes an optional `datasource_id`; without it the family's default answers, \
and every result says which datasource answered.
2. Metrics: find names with find_metrics_by_pattern (RE2, matched anywhere; ^ and $ anchor) rather than \
list_metrics; get_metric_metadata, get_metric_labels and get_label_values describe them; query with \
query_instant or query_range (automatic step), or summarise with analyze_metrics (min/max/avg/latest/total \
per series). Aggregate (sum by (...), topk) to keep answers small.
3. Logs and traces: get_trace_or_log_fields lists the fields; search_logs / search_traces return \
records, analyze_logs / analyze_traces aggregate them (count, p95 of duration …, per groupBy), \
get_trace summarises one trace. `filters` is SQL-like: namespace = \"default\" AND level = ERROR, \
duration > 1000 (milliseconds), @key for custom attributes.
4. Across families: analyze_telemetry runs labelled queries (PromQL, logs, traces) and formulas such \
as (A/B)*100 over them, e.g. an error ratio; query_instant, query_range and analyze_metrics take \
`datasource_ids` (or \"*\") to ask several metrics datasources at once.
Times: 'now', 'now-1h', RFC 3339 or Unix seconds. Durations: 30s, 5m, 1h.
Every list is bounded (`limit`); `total` and `truncated` say when more exists. Queries are checked \
before they are sent; errors say what to fix.";

/// The server instructions: the workflow, then the tools of each family from the table.
pub fn instructions() -> String {
    let mut text = String::from(WORKFLOW);
    text.push_str("\nTools:");
    for (family, tools) in by_family() {
        let names: Vec<&str> = tools.iter().map(|t| t.name).collect();
        let _ = write!(text, " {family}: {};", names.join(", "));
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
        let text = instructions();
        for word in tool_like_words(WORKFLOW) {
            assert!(
                TOOLS.iter().any(|t| t.name == word),
                "instructions mention '{word}', which is not a tool"
            );
        }
        for tool in TOOLS {
            assert!(text.contains(tool.name), "instructions omit {}", tool.name);
        }
        // Small: it is sent at every initialize.
        assert!(text.len() < 2_000, "instructions are {} bytes", text.len());
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
