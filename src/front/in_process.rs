//! The tools called in-process: a [`ToolProvider`] over [`crate::tools`], generic over the
//! [`HttpClient`] that reaches the datasources. The `server` component uses it with WASI HTTP, the
//! fuzz target with a fake backend.
//!
//! Not here: reading the datasources file or the settings (the placement does, from its own
//! variables), and the `plugin` component's exports, which call [`crate::tools`] through WIT.

use std::time::Duration;

use serde_json::Value;

use super::{Caller, ProviderError, ToolProvider, ToolResult};
use crate::datasources::DatasourceSet;
use crate::http::HttpClient;

/// The tools over `datasources`, reached through `H`.
pub struct InProcess<H> {
    datasources: DatasourceSet,
    http: H,
    timeout: Duration,
    clock: fn() -> f64,
}

impl<H: HttpClient + Send + Sync + 'static> InProcess<H> {
    /// The tools over `datasources` through `http`, each backend request within `timeout`.
    pub fn new(datasources: DatasourceSet, http: H, timeout: Duration) -> Self {
        InProcess {
            datasources,
            http,
            timeout,
            clock: crate::timespec::now_unix,
        }
    }

    /// The same, with relative times resolved against `clock` (Unix seconds) instead of the
    /// system clock: reproducible runs.
    pub fn with_clock(self, clock: fn() -> f64) -> Self {
        InProcess { clock, ..self }
    }
}

impl<H: HttpClient + Send + Sync + 'static> ToolProvider for InProcess<H> {
    async fn list_tools(&self) -> Result<Vec<Value>, ProviderError> {
        Ok(crate::tools::list()
            .into_iter()
            .map(|(_, def)| def)
            .collect())
    }

    async fn call_tool(
        &self,
        name: String,
        arguments_json: String,
        _caller: Option<Caller>,
    ) -> Result<ToolResult, ProviderError> {
        let arguments: Value = serde_json::from_str(&arguments_json)
            .map_err(|e| ProviderError::InvalidArguments(format!("arguments are not JSON: {e}")))?;
        let ctx = crate::tools::Context {
            datasources: &self.datasources,
            http: &self.http,
            now: (self.clock)(),
            timeout: self.timeout,
        };
        // The answer as JSON text, as the `plugin` component returns it: written once, not built
        // as a value and written again to be checked.
        let result = crate::tools::call_json(&ctx, &name, arguments)
            .map_err(|e| ProviderError::UnknownTool(e.to_string()))?;
        ToolResult::from_json(result)
            .map_err(|e| ProviderError::Unavailable(format!("the tool returned a bad result: {e}")))
    }
}
