//! Tool arguments in two stages: [`Param`] declares what a tool takes (the input schema comes from it),
//! [`Args`] checks a call's JSON object against that declaration and hands out typed values.
//! Resolving defaults that need context (times against `now`, the default datasource) happens in the
//! tools, not here.

use serde_json::{Map, Value, json};

use super::ToolFailure;

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy)]
pub enum ParamKind {
    /// A JSON string.
    String,
    /// A JSON integer between the bounds (inclusive).
    Integer {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A list of at most `max` strings; a single comma-separated string is accepted too, as
    /// KubeSense's clients send `"groupBy": "namespace,pod_name"`.
    Strings {
        /// Most items.
        max: u64,
    },
    /// A JSON object; its JSON Schema comes from the function, its contents are the tool's to check.
    Object(fn() -> Value),
}

/// One declared tool parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Argument name as the client sends it.
    pub name: &'static str,
    /// Accepted JSON type and range.
    pub kind: ParamKind,
    /// Whether the call must carry it.
    pub required: bool,
    /// What the model should put there, with an example; empty when the name and the schema say it
    /// all (it is then left out of the schema).
    pub description: &'static str,
}

/// The JSON Schema (draft 2020-12 subset) for a parameter list: always has `properties`.
pub fn input_schema(params: &[Param]) -> Value {
    let mut properties = Map::new();
    for p in params {
        let mut schema = match p.kind {
            ParamKind::String => json!({"type": "string"}),
            ParamKind::Integer { min, max } => {
                json!({"type": "integer", "minimum": min, "maximum": max})
            }
            ParamKind::Enum(values) => json!({"type": "string", "enum": values}),
            ParamKind::Strings { max } => {
                json!({"type": "array", "items": {"type": "string"}, "maxItems": max})
            }
            ParamKind::Object(schema) => schema(),
        };
        // A name and a schema that say it all need no words (they would be paid at every session).
        if !p.description.is_empty() {
            schema["description"] = json!(p.description);
        }
        properties.insert(p.name.to_string(), schema);
    }
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    // No `additionalProperties: false`: `properties` already names every argument, and
    // [`Args::check`] refuses others with the list of the right ones.
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// A call's arguments, checked against the tool's parameters.
#[derive(Debug)]
pub struct Args {
    values: Map<String, Value>,
}

impl Args {
    /// Checks `value` (the call's `arguments`; `null` means none) against `params`: it must be an object,
    /// carry every required parameter, only declared ones, each of the declared type and range.
    pub fn check(value: Value, params: &[Param]) -> Result<Args, ToolFailure> {
        let values = match value {
            Value::Null => Map::new(),
            Value::Object(map) => map,
            other => {
                return Err(ToolFailure::new(format!(
                    "arguments must be a JSON object, got {}",
                    type_name(&other)
                )));
            }
        };
        let allowed = || params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
        for key in values.keys() {
            if !params.iter().any(|p| p.name == key) {
                return Err(ToolFailure::new(format!(
                    "unknown argument '{key}'; this tool takes: {}",
                    allowed()
                )));
            }
        }
        for p in params {
            match values.get(p.name) {
                None | Some(Value::Null) if p.required => {
                    let mut message = format!("missing required argument '{}'", p.name);
                    if !p.description.is_empty() {
                        message = format!("{message}: {}", p.description);
                    }
                    return Err(ToolFailure::new(message));
                }
                None | Some(Value::Null) => {}
                Some(v) => check_kind(p, v)?,
            }
        }
        Ok(Args { values })
    }

    /// A string argument; `None` when absent, null, or empty after trimming.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A required string argument (present and non-empty).
    pub fn required_str(&self, name: &str) -> Result<&str, ToolFailure> {
        self.str(name)
            .ok_or_else(|| ToolFailure::new(format!("argument '{name}' must not be empty")))
    }

    /// A string-list argument (already checked): the array's items, or a comma-separated string
    /// split; empty items dropped. Empty when absent.
    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.values.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// An object argument (already checked to be an object).
    pub fn object(&self, name: &str) -> Option<&Map<String, Value>> {
        self.values.get(name).and_then(Value::as_object)
    }

    /// An integer argument (already range-checked), or `default`.
    pub fn u64_or(&self, name: &str, default: u64) -> u64 {
        self.values
            .get(name)
            .and_then(Value::as_u64)
            .unwrap_or(default)
    }
}

fn check_kind(p: &Param, v: &Value) -> Result<(), ToolFailure> {
    match p.kind {
        ParamKind::String if v.is_string() => Ok(()),
        ParamKind::String => Err(ToolFailure::new(format!(
            "argument '{}' must be a string, got {}",
            p.name,
            type_name(v)
        ))),
        ParamKind::Integer { min, max } => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => Err(ToolFailure::new(format!(
                "argument '{}' must be an integer from {min} to {max}, got {v}",
                p.name
            ))),
        },
        ParamKind::Enum(values) => match v.as_str() {
            Some(s) if values.contains(&s.trim()) => Ok(()),
            _ => Err(ToolFailure::new(format!(
                "argument '{}' must be one of {}, got {v}",
                p.name,
                values.join(", ")
            ))),
        },
        ParamKind::Strings { max } => {
            let count = match v {
                Value::String(s) => s.split(',').count(),
                Value::Array(items) if items.iter().all(Value::is_string) => items.len(),
                _ => {
                    return Err(ToolFailure::new(format!(
                        "argument '{}' must be a list of strings (or one comma-separated string), got {}",
                        p.name,
                        type_name(v)
                    )));
                }
            };
            if count as u64 > max {
                return Err(ToolFailure::new(format!(
                    "argument '{}' takes at most {max} items, got {count}",
                    p.name
                )));
            }
            Ok(())
        }
        ParamKind::Object(_) if v.is_object() => Ok(()),
        ParamKind::Object(_) => Err(ToolFailure::new(format!(
            "argument '{}' must be an object, got {}",
            p.name,
            type_name(v)
        ))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[Param] = &[
        Param {
            name: "promql",
            kind: ParamKind::String,
            required: true,
            description: "a PromQL expression, e.g. up",
        },
        Param {
            name: "limit",
            kind: ParamKind::Integer { min: 1, max: 10 },
            required: false,
            description: "how many",
        },
    ];

    #[test]
    fn schema_always_has_properties_and_required() {
        let s = input_schema(PARAMS);
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["promql"]));
        assert_eq!(s["properties"]["limit"]["maximum"], 10);
        assert_eq!(input_schema(&[])["properties"], json!({}));
    }

    #[test]
    fn checks_type_range_presence_and_unknown_names() {
        assert!(Args::check(json!({"promql": "up"}), PARAMS).is_ok());
        let msg = |v| Args::check(v, PARAMS).unwrap_err().message;
        assert!(msg(json!({})).contains("missing required argument 'promql'"));
        assert!(msg(json!({"promql": 1})).contains("must be a string, got a number"));
        assert!(msg(json!({"promql": "up", "limit": 11})).contains("from 1 to 10"));
        assert!(msg(json!({"promql": "up", "limit": "5"})).contains("integer"));
        assert!(msg(json!({"promql": "up", "lmit": 5})).contains("unknown argument 'lmit'"));
        assert!(msg(json!([1])).contains("must be a JSON object"));
    }

    #[test]
    fn empty_strings_count_as_absent() {
        let a = Args::check(json!({"promql": "  "}), PARAMS).unwrap();
        assert_eq!(a.str("promql"), None);
        assert!(a.required_str("promql").is_err());
        assert_eq!(a.u64_or("limit", 7), 7);
    }
}
