//! Which tools a deployment offers: `TOOLS_ENABLED` and `TOOLS_DISABLED`, comma-separated tool
//! names. The MCP front applies the [`Toolset`] everywhere a tool shows: `tools/list`, `tools/call`
//! (a disabled tool is an unknown tool), the instructions, the prompts that name a tool, and the
//! completions that would consult one.
//!
//! Not here: reading the variables (`crate::settings`) and the front's use of the set.

use super::{TOOLS, ToolDef};

/// The tools a deployment offers. Kept as the tools it does not offer, so that a name outside
/// [`TOOLS`] (a test provider's) is not hidden by a rule that cannot have named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolset {
    disabled: Vec<&'static str>,
}

impl Default for Toolset {
    fn default() -> Self {
        Toolset::all()
    }
}

impl Toolset {
    /// Every tool.
    pub fn all() -> Toolset {
        Toolset {
            disabled: Vec::new(),
        }
    }

    /// The set from `TOOLS_ENABLED` (`enabled`: only these) and `TOOLS_DISABLED` (`disabled`: all but
    /// these); with both, the enabled ones minus the disabled ones. Unset or blank means no rule.
    /// An unknown name, or a rule that leaves no tool, is an error naming the variable and listing
    /// the tools.
    pub fn from_lists(enabled: Option<&str>, disabled: Option<&str>) -> Result<Toolset, String> {
        let enabled = names(enabled, crate::settings::TOOLS_ENABLED_ENV)?;
        let disabled = names(disabled, crate::settings::TOOLS_DISABLED_ENV)?.unwrap_or_default();
        let set = Toolset {
            disabled: TOOLS
                .iter()
                .map(|t| t.name)
                .filter(|n| {
                    enabled.as_ref().is_some_and(|e| !e.contains(n)) || disabled.contains(n)
                })
                .collect(),
        };
        if set.tools().next().is_none() {
            return Err(format!(
                "TOOLS_ENABLED and TOOLS_DISABLED leave no tool enabled; tools: {}",
                all_names()
            ));
        }
        Ok(set)
    }

    /// Whether tool `name` is offered (not turned off by the rule).
    pub fn contains(&self, name: &str) -> bool {
        !self.disabled.contains(&name)
    }

    /// Whether every tool `text` names (as a whole word) is offered: a prompt or a line of the
    /// instructions that sends a model to a disabled tool is not shown.
    pub fn covers(&self, text: &str) -> bool {
        TOOLS
            .iter()
            .filter(|t| names_tool(text, t.name))
            .all(|t| self.contains(t.name))
    }

    /// The offered tools, in [`TOOLS`] order.
    pub fn tools(&self) -> impl Iterator<Item = &'static ToolDef> + '_ {
        TOOLS.iter().filter(|t| self.contains(t.name))
    }

    /// The offered tools' names, comma-separated (for error messages).
    pub fn names(&self) -> String {
        self.tools().map(|t| t.name).collect::<Vec<_>>().join(", ")
    }
}

/// Whether `text` contains `name` as a whole word (`get_trace` is not in `get_trace_or_log_fields`).
fn names_tool(text: &str, name: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word == name)
}

fn all_names() -> String {
    TOOLS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// The names in a comma-separated `value` of `variable`, each checked to be a tool; `None` when
/// unset or blank.
fn names(value: Option<&str>, variable: &str) -> Result<Option<Vec<&'static str>>, String> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match TOOLS.iter().find(|t| t.name == name) {
            Some(t) => out.push(t.name),
            None => {
                return Err(format!(
                    "{variable}: unknown tool '{name}'; tools: {}",
                    all_names()
                ));
            }
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_blank_offers_every_tool() {
        assert_eq!(Toolset::from_lists(None, None).unwrap(), Toolset::all());
        assert_eq!(
            Toolset::from_lists(Some(" "), Some("")).unwrap(),
            Toolset::all()
        );
        assert_eq!(Toolset::all().tools().count(), TOOLS.len());
    }

    #[test]
    fn enabled_keeps_only_those_in_table_order_and_disabled_removes() {
        let only = Toolset::from_lists(Some("query_range, list_datasources,"), None).unwrap();
        assert_eq!(only.names(), "list_datasources, query_range");
        assert!(only.contains("query_range") && !only.contains("search_logs"));
        let without = Toolset::from_lists(None, Some("search_logs,search_traces")).unwrap();
        assert_eq!(without.tools().count(), TOOLS.len() - 2);
        assert!(!without.contains("search_logs") && without.contains("analyze_logs"));
        // Both: the enabled ones minus the disabled ones.
        let both =
            Toolset::from_lists(Some("query_range,query_instant"), Some("query_instant")).unwrap();
        assert_eq!(both.names(), "query_range");
    }

    #[test]
    fn unknown_names_and_empty_sets_are_errors_listing_the_tools() {
        let e = Toolset::from_lists(Some("query_range,drop_tables"), None).unwrap_err();
        assert!(
            e.starts_with("TOOLS_ENABLED: unknown tool 'drop_tables'"),
            "{e}"
        );
        assert!(e.contains("list_datasources, list_metrics"), "{e}");
        let e = Toolset::from_lists(None, Some("Query_Range")).unwrap_err();
        assert!(
            e.starts_with("TOOLS_DISABLED: unknown tool 'Query_Range'"),
            "{e}"
        );
        let e = Toolset::from_lists(Some("query_range"), Some("query_range")).unwrap_err();
        assert!(e.contains("leave no tool enabled"), "{e}");
    }

    #[test]
    fn text_is_covered_only_when_every_tool_it_names_is_offered() {
        let set = Toolset::from_lists(None, Some("get_trace")).unwrap();
        assert!(set.covers("call get_trace_or_log_fields first"));
        assert!(!set.covers("then get_trace on one trace_id"));
        assert!(set.covers("no tool here"));
    }
}
