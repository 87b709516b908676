//! A tool's answer as it travels from the tools to the client: MCP `CallToolResult` JSON text,
//! checked once where it enters the front and written into the JSON-RPC answer as it is.
//!
//! The `plugin` component hands its result over as JSON text; parsing it into rmcp's
//! `CallToolResult` and writing it out again cost about 5 % of the host's CPU per `query_instant`
//! (README, Benchmark, fourteenth pass). Only rmcp's path, which needs its own type, still parses it
//! ([`ToolResult::to_rmcp`]).
//!
//! Not here: what the tools answer ([`crate::tools`]), the JSON-RPC envelope (`direct`, rmcp).

use std::fmt;

use rmcp::model::CallToolResult;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

/// One `CallToolResult` as JSON text: a JSON object whose members are those of a
/// `CallToolResult` (`content`, an array; `structuredContent`; `isError`, a boolean; `_meta`, an
/// object), with at least one of the first three, and no `resultType` (the front adds what a
/// protocol version needs).
pub struct ToolResult {
    json: Box<RawValue>,
    is_error: bool,
}

/// The members [`ToolResult`] allows, read without keeping their values (serde_json still checks
/// every byte of them).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Shape {
    content: Option<Vec<IgnoredAny>>,
    structured_content: Option<IgnoredAny>,
    is_error: Option<bool>,
    #[serde(rename = "_meta")]
    _meta: Option<std::collections::BTreeMap<String, IgnoredAny>>,
}

impl ToolResult {
    /// Checks `json` (see [`ToolResult`]); the error says what is wrong with it.
    pub fn from_json(json: String) -> Result<ToolResult, String> {
        let json = RawValue::from_string(json).map_err(|e| format!("not JSON: {e}"))?;
        // serde would also read a struct from an array of its members' values.
        if !json.get().starts_with('{') {
            return Err("not a CallToolResult: not a JSON object".into());
        }
        let shape: Shape =
            serde_json::from_str(json.get()).map_err(|e| format!("not a CallToolResult: {e}"))?;
        if shape.content.is_none() && shape.structured_content.is_none() && shape.is_error.is_none()
        {
            return Err(
                "not a CallToolResult: none of content, structuredContent and isError".into(),
            );
        }
        Ok(ToolResult {
            json,
            is_error: shape.is_error == Some(true),
        })
    }

    /// The same from a JSON value (tests' providers).
    #[cfg(test)]
    pub(crate) fn from_value(value: &Value) -> Result<ToolResult, String> {
        ToolResult::from_json(value.to_string())
    }

    /// A result with `message` as its text and `isError` set: what the model reads when a call
    /// could not be made or did not finish.
    pub fn error(message: &str) -> ToolResult {
        ToolResult {
            json: serde_json::value::to_raw_value(&crate::tools::error_result(message))
                .expect("a JSON value serialises"),
            is_error: true,
        }
    }

    /// Whether the result says the call failed (`isError: true`).
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// The result's JSON text, as the client receives it.
    pub fn json(&self) -> &RawValue {
        &self.json
    }

    /// `structuredContent`, when the result has one.
    pub fn structured_content(&self) -> Option<Value> {
        #[derive(Deserialize)]
        struct Structured {
            #[serde(rename = "structuredContent")]
            structured_content: Option<Value>,
        }
        serde_json::from_str::<Structured>(self.json.get())
            .ok()
            .and_then(|s| s.structured_content)
    }

    /// rmcp's type, for the requests rmcp answers.
    pub fn to_rmcp(&self) -> Result<CallToolResult, serde_json::Error> {
        serde_json::from_str(self.json.get())
    }
}

impl fmt::Debug for ToolResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_tool_result_is_kept_as_written() {
        let text = r#"{"content":[{"type":"text","text":"{\"a\":1}"}],"structuredContent":{"a":1},"isError":false}"#;
        let result = ToolResult::from_json(text.into()).unwrap();
        assert_eq!(result.json().get(), text);
        assert!(!result.is_error());
        assert_eq!(
            result.structured_content(),
            Some(serde_json::json!({"a": 1}))
        );
        let rmcp = result.to_rmcp().unwrap();
        assert_eq!(rmcp.structured_content, Some(serde_json::json!({"a": 1})));
        assert_eq!(rmcp.result_type, None);
        let failed = ToolResult::from_json(r#"{"content":[],"isError":true}"#.into()).unwrap();
        assert!(failed.is_error());
        assert_eq!(failed.structured_content(), None);
        assert!(ToolResult::from_json(r#"{"isError":true,"_meta":{"k":1}}"#.into()).is_ok());
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (text, reason) in [
            ("", "not JSON: EOF while parsing a value"),
            (r#"{"content":[]} {}"#, "not JSON: trailing characters"),
            ("[1]", "not a CallToolResult: not a JSON object"),
            (
                "[[], null, true]",
                "not a CallToolResult: not a JSON object",
            ),
            (
                r#"{"content":{}}"#,
                "not a CallToolResult: invalid type: map, expected a sequence",
            ),
            (
                r#"{"isError":"yes"}"#,
                "not a CallToolResult: invalid type: string",
            ),
            (
                r#"{"content":[],"resultType":"complete"}"#,
                "not a CallToolResult: unknown field `resultType`",
            ),
            (
                r#"{"content":[],"extra":1}"#,
                "not a CallToolResult: unknown field `extra`",
            ),
            (r#"{"_meta":{}}"#, "not a CallToolResult: none of content"),
            (r#"{}"#, "not a CallToolResult: none of content"),
        ] {
            let error = ToolResult::from_json(text.into()).unwrap_err();
            assert!(error.starts_with(reason), "{text}: {error}");
        }
    }

    #[test]
    fn an_error_result_carries_its_message() {
        let result = ToolResult::error("the tool did not \"finish\"");
        assert!(result.is_error());
        let rmcp = result.to_rmcp().unwrap();
        assert_eq!(rmcp.is_error, Some(true));
        assert_eq!(
            serde_json::to_value(&rmcp.content).unwrap(),
            serde_json::json!([{"type": "text", "text": "the tool did not \"finish\""}])
        );
    }
}
