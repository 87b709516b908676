//! Implementation of the `plugin` world's exports, `proms:mcp/tools` and `proms:mcp/promql`.
//! Each call is independent: the host may instantiate the component per call.

use super::generated;
use super::wasi_http::WasiHttp;
use generated::exports::proms::mcp::{promql, tools};

use crate::settings::Settings;

struct Component;

generated::export!(Component with_types_in generated);

impl tools::Guest for Component {
    fn list_tools() -> Vec<tools::Tool> {
        crate::tools::list()
            .into_iter()
            .map(|(name, definition)| tools::Tool {
                name: name.to_string(),
                definition_json: definition.to_string(),
            })
            .collect()
    }

    fn call_tool(
        name: String,
        arguments_json: String,
        _caller: Option<tools::Caller>,
    ) -> Result<tools::CallToolResult, tools::ToolError> {
        let arguments: serde_json::Value = serde_json::from_str(&arguments_json).map_err(|e| {
            tools::ToolError::InvalidArguments(format!("arguments are not valid JSON: {e}"))
        })?;
        let env = |k: &str| std::env::var(k).ok();
        let settings = Settings::from_env(env).map_err(tools::ToolError::Unavailable)?;
        // The host's checked set when it gave one (no parse per call), else the file or its text.
        let datasources = match env(crate::datasources::CHECKED_ENV) {
            Some(checked) => crate::datasources::from_checked(&checked),
            None => settings.datasources(&env),
        }
        .map_err(|e| tools::ToolError::Unavailable(e.to_string()))?;
        let ctx = crate::tools::Context {
            datasources: &datasources,
            http: &WasiHttp,
            now: crate::timespec::now_unix(),
            timeout: settings.query_timeout,
        };
        crate::tools::call_json(&ctx, &name, arguments)
            .map(|result_json| tools::CallToolResult { result_json })
            .map_err(|e| tools::ToolError::UnknownTool(e.to_string()))
    }
}

impl promql::Guest for Component {
    fn validate(expr: String) -> Result<String, promql::PromqlError> {
        crate::promql::validate(&expr).map_err(|e| promql::PromqlError {
            message: e.message,
            position: e.position.map(|p| p as u32),
        })
    }
}
