//! The Grafana provisioning envelope every datasource kind shares: the document (YAML or JSON), Grafana's
//! `$VAR` / `${VAR}` / `$$` interpolation of string values, entry labels for messages, and typed access
//! to fields whose messages name the field, never its value (it may be secret).
//!
//! What a field means for a given kind is not here (see `common` and the per-kind modules).

use std::collections::BTreeSet;
use std::fmt;

use serde_yaml_ng::{Mapping, Value};

/// Parses YAML (which also reads JSON). Text that looks like JSON is read by serde_json first, about
/// five times faster than the YAML parser (the host hands the component its datasources as JSON, see
/// [`as_json`], and the component reads them on every call); when both reject it, serde_json's
/// message is reported, as it is clearer about JSON syntax.
///
/// Neither parser quotes document content in its messages, so these errors cannot leak secrets.
pub(super) fn parse_document(text: &str) -> Result<Value, String> {
    let looks_like_json = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{');
    if looks_like_json && let Ok(mut value) = serde_json::from_str::<Value>(text) {
        value
            .apply_merge()
            .map_err(|e| format!("invalid YAML: {e}"))?;
        return Ok(value);
    }
    match serde_yaml_ng::from_str::<Value>(text) {
        Ok(mut value) => {
            // Merge keys (`<<: *defaults`) as Grafana's YAML library supports them.
            value
                .apply_merge()
                .map_err(|e| format!("invalid YAML: {e}"))?;
            Ok(value)
        }
        Err(_) if looks_like_json => {
            serde_json::from_str::<Value>(text).map_err(|e| format!("invalid JSON: {e}"))
        }
        Err(e) => Err(format!("invalid YAML: {e}")),
    }
}

/// The document `text` (YAML or JSON) as JSON text with the same meaning (merge keys applied,
/// `$VAR` left for the reader to interpolate), or `None` when JSON cannot say it (a key that is not
/// a string, a non-finite number, a YAML tag) or the text does not parse.
pub fn as_json(text: &str) -> Option<String> {
    // serde_json would write a number key as a string, and a tag as a map: both change meaning.
    fn json_can_say(v: &Value) -> bool {
        match v {
            Value::Tagged(_) => false,
            Value::Sequence(items) => items.iter().all(json_can_say),
            Value::Mapping(m) => m.iter().all(|(k, v)| k.is_string() && json_can_say(v)),
            _ => true,
        }
    }
    let value = parse_document(text).ok()?;
    if !json_can_say(&value) {
        return None;
    }
    serde_json::to_string(&value).ok()
}

/// Interpolates every string value (not keys) of `value` in place; unresolved names are added to
/// `unset`. YAML tags are dropped, keeping the tagged value. In place, because the file is parsed
/// on every call and a copy of each entry was a tenth of that parse.
pub(super) fn interpolate_value(
    value: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut BTreeSet<String>,
) {
    match value {
        Value::String(s) if s.contains('$') => {
            *s = expand(s, |name| {
                env(name).unwrap_or_else(|| {
                    unset.insert(name.to_string());
                    String::new()
                })
            });
        }
        Value::Sequence(items) => items
            .iter_mut()
            .for_each(|v| interpolate_value(v, env, unset)),
        Value::Mapping(m) => m
            .values_mut()
            .for_each(|v| interpolate_value(v, env, unset)),
        Value::Tagged(tagged) => {
            let mut inner = std::mem::take(&mut tagged.value);
            interpolate_value(&mut inner, env, unset);
            *value = inner;
        }
        _ => {}
    }
}

/// Grafana's interpolation: `$VAR` and `${VAR}` (VAR = `[A-Za-z_][A-Za-z0-9_]*`) are replaced by
/// `lookup(VAR)`, `$$` by `$`; any other `$` stays as it is.
pub(super) fn expand(s: &str, mut lookup: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        if let Some(inner) = after.strip_prefix('{') {
            let len = var_name_len(inner);
            if len > 0 && inner[len..].starts_with('}') {
                out.push_str(&lookup(&inner[..len]));
                rest = &inner[len + 1..];
                continue;
            }
        } else {
            let len = var_name_len(after);
            if len > 0 {
                out.push_str(&lookup(&after[..len]));
                rest = &after[len..];
                continue;
            }
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The length of the variable name at the start of `s` (0 when there is none). All ASCII, so the
/// result is a char boundary.
fn var_name_len(s: &str) -> usize {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            1 + b[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count()
        }
        _ => 0,
    }
}

/// Appends the unset variables an entry referenced, which often explain an empty or missing value.
pub(super) fn with_unset_note(problem: String, unset: &BTreeSet<String>) -> String {
    if unset.is_empty() {
        return problem;
    }
    let names: Vec<&str> = unset.iter().map(String::as_str).collect();
    format!(
        "{problem} (note: this entry references unset environment variables: {})",
        names.join(", ")
    )
}

/// `3 ('prom-main')`, or `3` when the entry has no usable name.
pub(super) fn entry_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{index} ('{name}')"),
        None => index.to_string(),
    }
}

/// The entry's name, for labelling it in errors, when there is a usable one.
pub(super) fn entry_name(entry: &Value) -> Option<String> {
    let Value::Mapping(m) = entry else {
        return None;
    };
    scalar_string(m.get("name")?).filter(|n| !n.trim().is_empty())
}

// ---------------------------------------------------------------------------------------------------
// Field access. Messages name the field, never its value (it may be secret).

/// A scalar as a string: YAML reads unquoted `12345` or `true` as numbers/booleans, but a password or
/// a tenant id may well look like that.
pub(super) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A secret string field; `None` when absent or null. Only real strings: YAML would turn an unquoted
/// `1.50` into `1.5` or `0x1F` into `31`, and the backend would answer 401 for no visible reason.
pub(super) fn secret_field(
    map: &Mapping,
    key: &str,
    label: impl fmt::Display,
) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!(
            "'{label}' must be a quoted string, not {}: put it in quotes so YAML keeps it exactly",
            kind_of(v)
        )),
    }
}

/// A string field; `None` when absent or null.
pub(super) fn string_field(
    map: &Mapping,
    key: &str,
    label: impl fmt::Display,
) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => scalar_string(v)
            .map(Some)
            .ok_or_else(|| format!("'{label}' must be a string, not {}", kind_of(v))),
    }
}

/// A boolean field; also accepts the strings "true"/"false" (any case), as interpolation yields
/// strings, and treats an empty string (an unset variable) as absent.
pub(super) fn bool_field(
    map: &Mapping,
    key: &str,
    label: impl fmt::Display,
) -> Result<Option<bool>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.trim() {
            "" => Ok(None),
            t if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
            t if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
            t => Err(format!("'{label}' must be true or false, not '{t}'")),
        },
        Some(v) => Err(format!(
            "'{label}' must be true or false, not {}",
            kind_of(v)
        )),
    }
}

/// A mapping field such as `jsonData`; `None` when absent or null.
pub(super) fn mapping_field<'a>(
    map: &'a Mapping,
    key: &str,
) -> Result<Option<&'a Mapping>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => Ok(Some(m)),
        Some(v) => Err(format!("'{key}' must be a mapping, not {}", kind_of(v))),
    }
}

// ---------------------------------------------------------------------------------------------------
// Values
