//! The MCP front: rmcp's [`ServerHandler`] over a [`ToolProvider`], and the MCP port around it,
//! written once for every placement (the native host over the `plugin` component, the `server`
//! component, the fuzz target).
//!
//! What lives here: the handler (`initialize`, `ping`, `tools/list`, `tools/call`, version
//! negotiation through rmcp), the Streamable HTTP settings ([`HttpPolicy`]), and in submodules
//! - `endpoint`: which path goes where on the MCP port, authentication before MCP, the caller
//!   handed to the tools ([`serve`] over a [`Placement`]);
//! - `admission`: `tools/call` requests held before rmcp while the tools are busy ([`CallGate`]);
//! - `direct`: a plain `tools/call` answered without rmcp's per-request tasks, as rmcp would answer
//!   it (every other request goes to rmcp);
//! - `parse_error`: an MCP request through the [`McpService`], with a body that is not JSON
//!   answered as a JSON-RPC parse error ([`handle_mcp`]);
//! - `in_process`: the tools called in-process over any [`crate::http::HttpClient`] ([`InProcess`]);
//! - `tool_result`: a tool's answer as checked JSON text ([`ToolResult`]).
//!
//! What does not: sockets and connections (hyper in the host, `wasi:http` in the `server`
//! component), wasmtime, the HTTP client that reaches backends or the API server, logs and metrics,
//! and the authentication decision itself ([`crate::auth`]).

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use http_body_util::Full;
#[expect(
    deprecated,
    reason = "logging is deprecated (SEP-2577) but clients before 2026-07-28 use it"
)]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    CompletionInfo, ContentBlock, CustomRequest, CustomResult, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult, ListToolsResult,
    PaginatedRequestParams, Prompt, PromptArgument, PromptMessage, ReadResourceRequestParams,
    ReadResourceResponse, Reference, ResultType, Role, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::tools::Toolset;

mod admission;
mod complete;
mod direct;
mod endpoint;
mod in_process;
mod parse_error;
mod tool_result;

pub use crate::auth::Caller;
pub use admission::{CallGate, GateExpired};
pub use endpoint::{Body, Placement, Route, serve};
pub use in_process::InProcess;
pub use parse_error::{handle_mcp, json_syntax_error};
pub use tool_result::ToolResult;

/// Why the provider could not produce a tool result.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderError {
    /// Occurs when no tool has the name; becomes JSON-RPC `-32602`.
    UnknownTool(String),
    /// Occurs when the arguments cannot be used at all; becomes an `isError` result the model can act on.
    InvalidArguments(String),
    /// Occurs when the tools cannot run (configuration unreadable, sandbox trap or deadline); becomes an
    /// `isError` result that says what happened.
    Unavailable(String),
}

/// Where tools come from: MCP `Tool` objects as JSON values, and each call's `CallToolResult` as
/// JSON text ([`ToolResult`]).
pub trait ToolProvider: Send + Sync + 'static {
    /// All tools as MCP `Tool` JSON objects, in a stable order.
    fn list_tools(&self) -> impl Future<Output = Result<Vec<Value>, ProviderError>> + Send;

    /// Runs `name` for `caller` with `arguments_json` (the JSON text of the arguments object, or
    /// `null` when the request has none: the tools parse it, the front does not).
    fn call_tool(
        &self,
        name: String,
        arguments_json: String,
        caller: Option<Caller>,
    ) -> impl Future<Output = Result<ToolResult, ProviderError>> + Send;
}

/// Largest MCP request body accepted; a larger one gets 413 with the limit in the message.
pub const MAX_REQUEST_BODY_BYTES: usize = 1 << 20;

/// Every variable [`HttpPolicy::from_env`] reads.
pub const HTTP_POLICY_ENV: &[&str] = &["ALLOWED_HOSTS", "ALLOWED_ORIGINS"];

/// Which `Host` and `Origin` values the endpoint accepts (DNS-rebinding and browser protection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    /// `ALLOWED_HOSTS`, comma-separated; empty means any. Default: loopback names when bound to
    /// loopback, else any.
    pub allowed_hosts: Vec<String>,
    /// `ALLOWED_ORIGINS`, comma-separated (`https://app.example:443`, `http://localhost:*`); `None`
    /// (`ALLOWED_ORIGINS=*`) turns the check off. Default: loopback pages when bound to loopback,
    /// else none. A request without `Origin` (any non-browser client) is never refused for it.
    pub allowed_origins: Option<Vec<String>>,
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl HttpPolicy {
    /// Reads the policy through `env`; `loopback` says whether the server is bound to loopback only.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>, loopback: bool) -> HttpPolicy {
        let allowed_hosts = match env("ALLOWED_HOSTS") {
            Some(list) => comma_list(&list),
            None if loopback => vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            None => Vec::new(),
        };
        let allowed_origins = match env("ALLOWED_ORIGINS") {
            Some(list) if list.trim() == "*" => None,
            Some(list) => Some(comma_list(&list)),
            None if loopback => Some(vec![
                "http://localhost:*".into(),
                "http://127.0.0.1:*".into(),
                "http://[::1]:*".into(),
            ]),
            None => Some(Vec::new()),
        };
        HttpPolicy {
            allowed_hosts,
            allowed_origins,
        }
    }

    /// rmcp's Streamable HTTP settings for this policy: stateless, JSON responses, the body limit.
    pub fn server_config(&self) -> StreamableHttpServerConfig {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None)
            .with_max_request_body_bytes(MAX_REQUEST_BODY_BYTES);
        let config = match &self.allowed_origins {
            None => config.disable_allowed_origins(),
            Some(origins) => config
                .with_allowed_origins(origins.clone())
                .enforce_origin_validation(),
        };
        if self.allowed_hosts.is_empty() {
            config.disable_allowed_hosts()
        } else {
            config.with_allowed_hosts(self.allowed_hosts.clone())
        }
    }
}

/// The MCP server handler over `P`, offering the tools of its [`Toolset`].
pub struct McpFront<P> {
    provider: Arc<P>,
    // Tool definitions never change while the plugin is loaded: fetch them once.
    tools: Arc<OnceCell<Vec<Tool>>>,
    // The deployment's choice of tools, applied here rather than in the provider so that one
    // rule covers every placement and everything that names a tool: the list, calls, the
    // instructions, prompts and completions.
    toolset: Arc<Toolset>,
    // What `initialize` and discovery answer, built once per toolset: rmcp asks for it on every
    // request, and writing the instructions (which check every line against every tool) cost about
    // a tenth of a `list_datasources` call's host CPU.
    info: Arc<ServerConfig>,
}

impl<P> Clone for McpFront<P> {
    fn clone(&self) -> Self {
        McpFront {
            provider: self.provider.clone(),
            tools: self.tools.clone(),
            toolset: self.toolset.clone(),
            info: self.info.clone(),
        }
    }
}

/// The Streamable HTTP endpoint of a front: stateless (no sessions), with `config` from
/// [`HttpPolicy::server_config`] (plus whatever the placement adds, such as a cancellation token).
/// A plain `tools/call` is answered by the front directly ([`direct`]); every other request by
/// rmcp's Streamable HTTP service over the same front. The native host, the `server` component and
/// the fuzz target all serve MCP through this.
pub struct McpService<P> {
    front: McpFront<P>,
    rmcp: StreamableHttpService<McpFront<P>, NeverSessionManager>,
}

impl<P> Clone for McpService<P> {
    fn clone(&self) -> Self {
        McpService {
            front: self.front.clone(),
            rmcp: self.rmcp.clone(),
        }
    }
}

impl<P: ToolProvider> McpService<P> {
    /// Answers one MCP request whose body has been read whole.
    pub async fn handle(&self, request: http::Request<Bytes>) -> http::Response<Body> {
        let (parts, body) = request.into_parts();
        match direct::plain_call(&parts, &body, &self.rmcp.config) {
            Some(call) => direct::answer(&self.front, call, &parts.extensions).await,
            None => {
                self.rmcp
                    .handle(http::Request::from_parts(parts, Full::new(body)))
                    .await
            }
        }
    }

    /// The same request through rmcp alone, whatever it is (tests compare the two paths).
    #[cfg(test)]
    async fn handle_by_rmcp(&self, request: http::Request<Bytes>) -> http::Response<Body> {
        self.rmcp.handle(request.map(Full::new)).await
    }
}

impl<P: ToolProvider> McpFront<P> {
    /// The Streamable HTTP endpoint serving this front (see [`McpService`]).
    pub fn into_service(self, config: StreamableHttpServerConfig) -> McpService<P> {
        let front = self.clone();
        McpService {
            rmcp: StreamableHttpService::new(
                move || Ok(front.clone()),
                Arc::new(NeverSessionManager::default()),
                config,
            ),
            front: self,
        }
    }

    /// A front over `provider`, offering every tool.
    pub fn new(provider: Arc<P>) -> Self {
        let toolset = Toolset::all();
        McpFront {
            provider,
            tools: Arc::new(OnceCell::new()),
            info: Arc::new(server_info(&toolset)),
            toolset: Arc::new(toolset),
        }
    }

    /// The same front offering only the tools of `toolset` (`TOOLS_ENABLED` / `TOOLS_DISABLED`).
    pub fn with_toolset(self, toolset: Toolset) -> Self {
        McpFront {
            info: Arc::new(server_info(&toolset)),
            toolset: Arc::new(toolset),
            ..self
        }
    }

    async fn tools(&self) -> Result<&Vec<Tool>, ErrorData> {
        self.tools
            .get_or_try_init(|| async {
                let raw = self.provider.list_tools().await.map_err(|e| {
                    ErrorData::internal_error(format!("listing tools: {e:?}"), None)
                })?;
                raw.into_iter()
                    .filter(|v| v["name"].as_str().is_some_and(|n| self.toolset.contains(n)))
                    .map(|v| {
                        serde_json::from_value::<Tool>(v).map_err(|e| {
                            ErrorData::internal_error(format!("bad tool definition: {e}"), None)
                        })
                    })
                    .collect()
            })
            .await
    }
}

/// The MCP methods that take params and that we serve in every version: a request for one of them
/// that rmcp could not read is a params problem. Others are left to rmcp's "method not found"
/// (2026-07-28 wants -32601 and HTTP 404 for `initialize`, `logging/setLevel` and the like).
const METHODS_WITH_PARAMS: &[&str] = &["tools/call", "resources/read", "prompts/get"];

fn caller_of(context: &RequestContext<RoleServer>) -> Option<Caller> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    parts.extensions.get::<Caller>().cloned()
}

/// `call`'s output, or `None` once `cancelled` completes first; `call` is then dropped, which stops
/// it. rmcp cancels a request's token when its client hangs up, so an abandoned call frees its
/// sandbox and its backend request instead of running to the end for nobody.
async fn unless_cancelled<T>(
    call: impl Future<Output = T>,
    cancelled: impl Future<Output = ()>,
) -> Option<T> {
    let mut call = std::pin::pin!(call);
    let mut cancelled = std::pin::pin!(cancelled);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = call.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        cancelled.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Whether the request waited at the [`CallGate`] past its limit.
fn gate_expired(context: &RequestContext<RoleServer>) -> Option<GateExpired> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    parts.extensions.get::<GateExpired>().cloned()
}

/// What `initialize` answers for `toolset`: capabilities, server info and instructions.
fn server_info(toolset: &Toolset) -> ServerConfig {
    // Prompts and resources are declared (and listed, empty) so that what discovery says matches
    // what the methods do; logging is accepted for clients before 2026-07-28 (we send no log
    // notifications, so every level is honoured trivially).
    #[expect(
        deprecated,
        reason = "logging is deprecated (SEP-2577) but clients before 2026-07-28 use it"
    )]
    let capabilities = ServerCapabilities::builder()
        .enable_logging()
        .enable_completions()
        .enable_prompts()
        .enable_resources()
        .enable_tools()
        .build();
    let mut info = ServerConfig::new(capabilities);
    let mut implementation = Implementation::new("proms-mcp", env!("CARGO_PKG_VERSION"));
    implementation.title = Some("proms-mcp: Prometheus for AI agents".into());
    info.server_info = implementation;
    // From the tool table, so they name exactly the tools offered.
    info.instructions = Some(crate::tools::instructions(toolset));
    info
}

impl<P: ToolProvider> ServerHandler for McpFront<P> {
    fn get_info(&self) -> ServerConfig {
        (*self.info).clone()
    }

    #[expect(
        deprecated,
        reason = "logging/setLevel is deprecated (SEP-2577) but clients before 2026-07-28 send it"
    )]
    async fn set_level(
        &self,
        _request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    /// The troubleshooting workflows of [`crate::prompts::PROMPTS`] whose tools are all offered.
    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompts = crate::prompts::offered(&self.toolset)
            .map(|p| {
                let arguments = p
                    .arguments
                    .iter()
                    .map(|a| {
                        let mut arg = PromptArgument::new(a.name);
                        arg.description = Some(a.description.into());
                        arg.required = Some(a.required);
                        arg
                    })
                    .collect();
                let mut prompt = Prompt::new(p.name, Some(p.description), Some(arguments));
                prompt.title = Some(p.title.into());
                prompt
            })
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    /// One workflow rendered with its arguments; a bad name or argument is -32602 saying what to fix.
    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let (description, text) = crate::prompts::render(&request.name, &arguments, &self.toolset)
            .map_err(|e| ErrorData::invalid_params(e.0, None))?;
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(description)
                .into(),
        )
    }

    /// Values for a prompt argument (see [`complete`]); an unknown prompt or argument, or a
    /// resource reference (there are none), is -32602 saying what exists.
    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let Reference::Prompt(prompt) = &request.r#ref else {
            return Err(ErrorData::invalid_params(
                "no resources to complete: only prompt arguments complete",
                None,
            ));
        };
        let def = crate::prompts::find(&prompt.name, &self.toolset)
            .map_err(|e| ErrorData::invalid_params(e.0, None))?;
        let argument = &request.argument;
        let arg = def
            .arguments
            .iter()
            .find(|a| a.name == argument.name)
            .ok_or_else(|| {
                let names: Vec<&str> = def.arguments.iter().map(|a| a.name).collect();
                ErrorData::invalid_params(
                    format!(
                        "prompt '{}' has no argument '{}'; it takes: {}",
                        def.name,
                        argument.name,
                        names.join(", ")
                    ),
                    None,
                )
            })?;
        // The other arguments already filled in narrow the search by their own fields.
        let context = request
            .context
            .and_then(|c| c.arguments)
            .unwrap_or_default();
        let given: Vec<(&'static str, String)> = def
            .arguments
            .iter()
            .filter(|a| a.name != arg.name)
            .filter_map(|a| match a.completion {
                crate::prompts::Completion::Observed { field, .. } => {
                    Some((field, context.get(a.name)?.trim().to_string()))
                }
                crate::prompts::Completion::Fixed(_) => None,
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let completed = complete::complete(
            self.provider.as_ref(),
            &self.toolset,
            arg.completion,
            argument.value.trim(),
            &given,
        )
        .await;
        let has_more = completed.has_more();
        let mut info = CompletionInfo::new(completed.values)
            .map_err(|e| ErrorData::internal_error(e, None))?;
        info.total = Some(u32::try_from(completed.total).unwrap_or(u32::MAX));
        info.has_more = Some(has_more);
        Ok(CompleteResult::new(info))
    }

    /// There are no resources yet: every URI is unknown (-32602 with the URI, as SEP-2164 asks).
    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        Err(ErrorData::invalid_params(
            format!("resource not found: {}", request.uri),
            Some(serde_json::json!({"uri": request.uri})),
        ))
    }

    /// rmcp hands over a request for an MCP method whose params it could not read (`tools/call`
    /// without params) as a custom request: that is -32602 with what to fix, not "method not found".
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        if METHODS_WITH_PARAMS.contains(&request.method.as_str()) {
            return Err(ErrorData::invalid_params(
                format!(
                    "invalid params for {}: missing or not the shape the method takes",
                    request.method
                ),
                None,
            ));
        }
        Err(ErrorData::new(
            rmcp::model::ErrorCode::METHOD_NOT_FOUND,
            request.method,
            None,
        ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools().await?.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments_json = match &request.arguments {
            Some(arguments) => serde_json::to_string(arguments).expect("a JSON object serialises"),
            None => "null".into(),
        };
        let answer = self
            .answer_call(
                request.name.to_string(),
                arguments_json,
                caller_of(&context),
                gate_expired(&context),
                context.ct.cancelled_owned(),
            )
            .await?;
        // rmcp answers with its own type: the one path that reads the result back.
        let mut result = answer.to_rmcp().unwrap_or_else(|e| {
            CallToolResult::error(vec![ContentBlock::text(format!(
                "the tool's result could not be read: {e}"
            ))])
        });
        // 2026-07-28 requires resultType; rmcp drops it again for older peers.
        result.result_type = Some(ResultType::COMPLETE);
        Ok(result.into())
    }
}

impl<P: ToolProvider> McpFront<P> {
    /// What `tools/call` answers, on rmcp's path and on the [`direct`] one: the tool's result; an
    /// `isError` result when the arguments cannot be used, the tools cannot run, the call waited
    /// past its limit at the gate (`busy`) or `cancelled` completed first; -32602 for a tool the
    /// deployment does not offer.
    async fn answer_call(
        &self,
        name: String,
        arguments_json: String,
        caller: Option<Caller>,
        busy: Option<GateExpired>,
        cancelled: impl Future<Output = ()>,
    ) -> Result<ToolResult, ErrorData> {
        // A tool the deployment does not offer is an unknown tool, named with those it offers.
        if !self.toolset.contains(&name) {
            let names: Vec<&str> = self
                .tools()
                .await?
                .iter()
                .map(|t| t.name.as_ref())
                .collect();
            return Err(ErrorData::invalid_params(
                format!("unknown tool '{name}'; tools: {}", names.join(", ")),
                None,
            ));
        }
        let outcome = match busy {
            Some(busy) => Err(ProviderError::Unavailable(busy.to_string())),
            None => {
                let call = self.provider.call_tool(name, arguments_json, caller);
                // Nobody reads the answer to a cancelled call; it is an ordinary result, not a
                // JSON-RPC error, so that rmcp does not log it as one.
                unless_cancelled(call, cancelled).await.unwrap_or_else(|| {
                    Err(ProviderError::Unavailable("the call was cancelled".into()))
                })
            }
        };
        match outcome {
            Ok(result) => Ok(result),
            Err(ProviderError::UnknownTool(message)) => {
                Err(ErrorData::invalid_params(message, None))
            }
            Err(ProviderError::InvalidArguments(message) | ProviderError::Unavailable(message)) => {
                Ok(ToolResult::error(&message))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unless_cancelled;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Sets its flag when dropped.
    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_finished_call_wins_over_a_cancellation() {
        let out = unless_cancelled(async { 7 }, async {}).await;
        assert_eq!(out, Some(7));
        let out = unless_cancelled(async { 7 }, std::future::pending::<()>()).await;
        assert_eq!(out, Some(7));
    }

    #[tokio::test]
    async fn a_cancelled_call_is_dropped_unfinished() {
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(dropped.clone());
        let call = async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let cancelled = async move {
            let _ = rx.await;
        };
        let waiting = tokio::spawn(unless_cancelled(call, cancelled));
        tokio::task::yield_now().await;
        assert!(!dropped.load(Ordering::SeqCst));
        tx.send(()).unwrap();
        assert_eq!(waiting.await.unwrap(), None);
        assert!(dropped.load(Ordering::SeqCst));
    }
}
