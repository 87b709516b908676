//! Custom HTTP headers of a datasource: `jsonData.httpHeaderNameN` paired with
//! `secureJsonData.httpHeaderValueN`, as every Grafana datasource kind provisions them.

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use super::Secret;
use super::envelope::{kind_of, scalar_string};

/// Pairs `jsonData.httpHeaderNameN` with `secureJsonData.httpHeaderValueN`, in N order.
pub(super) fn parse_headers(
    json_data: &Mapping,
    secure: &Mapping,
) -> Result<Vec<(String, Secret)>, String> {
    let names = numbered_fields(json_data, "httpHeaderName", "jsonData")?;
    let mut values = numbered_fields(secure, "httpHeaderValue", "secureJsonData")?;
    let mut headers: Vec<(String, Secret)> = Vec::with_capacity(names.len());
    for (n, name) in names {
        let Some(value) = values.remove(&n) else {
            // A common slip: the value put in jsonData, where Grafana does not look for it.
            let hint = if json_data
                .get(format!("httpHeaderValue{n}").as_str())
                .is_some()
            {
                " (it is in jsonData; move it to secureJsonData)"
            } else {
                ""
            };
            return Err(format!(
                "jsonData.httpHeaderName{n} ('{name}') has no matching secureJsonData.httpHeaderValue{n}{hint}"
            ));
        };
        push_header(
            &mut headers,
            &name,
            value,
            &format!("jsonData.httpHeaderName{n}"),
            &format!("secureJsonData.httpHeaderValue{n}"),
        )?;
    }
    if let Some(n) = values.keys().next() {
        return Err(format!(
            "secureJsonData.httpHeaderValue{n} has no matching jsonData.httpHeaderName{n}; add the header name or remove the value"
        ));
    }
    Ok(headers)
}

/// Checks one configured header and adds it to `headers`; `name_label` and `value_label` say where
/// the name and the value were written, for messages (which never quote the value).
pub(super) fn push_header(
    headers: &mut Vec<(String, Secret)>,
    name: &str,
    value: String,
    name_label: &str,
    value_label: &str,
) -> Result<(), String> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(format!(
            "{name_label} is empty; give a header name such as Authorization"
        ));
    }
    if !name.bytes().all(is_header_name_byte) {
        return Err(format!(
            "{name_label} ('{name}') is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        ));
    }
    if RESERVED_HEADERS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(&name))
    {
        return Err(format!(
            "{name_label}: header '{name}' is set by the HTTP layer or by proms-mcp and cannot be configured"
        ));
    }
    if headers
        .iter()
        .any(|(other, _)| other.eq_ignore_ascii_case(&name))
    {
        return Err(format!(
            "{name_label}: header '{name}' is given more than once"
        ));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!(
            "{value_label} (header '{name}') contains a line break or NUL character"
        ));
    }
    headers.push((name, Secret::new(value)));
    Ok(())
}

/// The `<prefix>N` fields of `map` by N. Keys with a non-numeric suffix are someone else's and are
/// ignored; a numeric suffix Grafana would never read (`0`, `01`, none) is an error.
fn numbered_fields(
    map: &Mapping,
    prefix: &str,
    section: &str,
) -> Result<BTreeMap<u32, String>, String> {
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let Some(suffix) = key.as_str().and_then(|k| k.strip_prefix(prefix)) else {
            continue;
        };
        if !suffix.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let n = match suffix.parse::<u32>() {
            Ok(n) if n >= 1 && !suffix.starts_with('0') => n,
            _ => {
                return Err(format!(
                    "unexpected key '{section}.{prefix}{suffix}'; headers are numbered {prefix}1, {prefix}2, ..."
                ));
            }
        };
        let label = format!("{section}.{prefix}{n}");
        let text = match value {
            Value::Null => String::new(),
            // Header values are secrets: only real strings (see `secret_field`).
            Value::String(v) => v.clone(),
            v if section == "secureJsonData" => {
                return Err(format!(
                    "'{label}' must be a quoted string, not {}: put it in quotes so YAML keeps it exactly",
                    kind_of(v)
                ));
            }
            v => scalar_string(v).ok_or_else(|| format!("'{label}' must be a string"))?,
        };
        out.insert(n, text);
    }
    Ok(out)
}

/// Headers a datasource may not set: hop-by-hop and framing headers (the WASI HTTP host refuses
/// them) and the ones every request already carries.
const RESERVED_HEADERS: &[&str] = &[
    "Host",
    "Connection",
    "Keep-Alive",
    "Proxy-Authorization",
    "Proxy-Connection",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Content-Length",
    "Content-Type",
    "Accept",
];

/// RFC 9110 `tchar`.
fn is_header_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

// ---------------------------------------------------------------------------------------------------
// Field access. Messages name the field, never its value (it may be secret).

#[cfg(test)]
mod tests {
    //! Header checks through the public parse entry point, so the errors carry the file and entry.

    use super::super::tests::{assert_entry_error, one, parse_err, parse_ok};

    #[test]
    fn header_name_without_value_is_an_error() {
        let err = parse_err(&one(
            "    url: http://p:9090\n    jsonData:\n      httpHeaderName1: Authorization\n",
        ));
        assert_entry_error(
            &err,
            "1 ('prom')",
            "jsonData.httpHeaderName1 ('Authorization') has no matching secureJsonData.httpHeaderValue1",
        );
        // The value put in jsonData by mistake gets a hint.
        let err = parse_err(&one(
            "    url: http://p:9090\n    jsonData:\n      httpHeaderName1: A\n      httpHeaderValue1: v\n",
        ));
        assert_entry_error(&err, "1 ('prom')", "move it to secureJsonData");
    }

    #[test]
    fn header_value_without_name_is_an_error() {
        let err = parse_err(&one(concat!(
            "    url: http://p:9090\n",
            "    jsonData: {httpHeaderName1: A}\n",
            "    secureJsonData: {httpHeaderValue1: x, httpHeaderValue2: y}\n",
        )));
        assert_entry_error(
            &err,
            "1 ('prom')",
            "secureJsonData.httpHeaderValue2 has no matching jsonData.httpHeaderName2",
        );
    }

    #[test]
    fn bad_header_names_are_errors() {
        let cases = [
            ("httpHeaderName1: ''", "httpHeaderName1 is empty"),
            (
                "httpHeaderName1: 'Bad Name'",
                "not a valid HTTP header name",
            ),
            ("httpHeaderName01: A", "headers are numbered"),
        ];
        for (name_line, needle) in cases {
            let text = one(&format!(
                "    url: http://p:9090\n    jsonData: {{{name_line}}}\n    secureJsonData: {{httpHeaderValue1: v}}\n"
            ));
            assert_entry_error(&parse_err(&text), "1 ('prom')", needle);
        }
        let text = one(concat!(
            "    url: http://p:9090\n",
            "    jsonData: {httpHeaderName1: X-A, httpHeaderName2: x-a}\n",
            "    secureJsonData: {httpHeaderValue1: v, httpHeaderValue2: w}\n",
        ));
        assert_entry_error(&parse_err(&text), "1 ('prom')", "more than once");
    }

    #[test]
    fn headers_are_ordered_by_number() {
        let text = one(concat!(
            "    url: http://p:9090\n",
            "    jsonData: {httpHeaderName10: Ten, httpHeaderName2: Two, httpHeaderName1: One}\n",
            "    secureJsonData: {httpHeaderValue2: b, httpHeaderValue10: c, httpHeaderValue1: a}\n",
        ));
        let set = parse_ok(&text);
        let names: Vec<&str> = set.all()[0]
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["One", "Two", "Ten"]);
    }

    #[test]
    fn reserved_headers_are_refused_and_a_configured_authorization_header_wins() {
        for name in [
            "Host",
            "connection",
            "Transfer-Encoding",
            "Content-Type",
            "Accept",
        ] {
            let err = parse_err(&one(&format!(
                "    url: http://p:9090\n    jsonData:\n      httpHeaderName1: {name}\n    secureJsonData:\n      httpHeaderValue1: x\n"
            )));
            assert_entry_error(&err, "1 ('prom')", "cannot be configured");
        }
        let set = parse_ok(&one(
            "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n    jsonData:\n      httpHeaderName1: Authorization\n    secureJsonData:\n      basicAuthPassword: pw\n      httpHeaderValue1: Bearer t\n",
        ));
        assert!(
            set.all()[0].basic_auth.is_none(),
            "the Authorization header wins, as in Grafana"
        );
        assert!(
            set.warnings[0].contains("basicAuth is ignored"),
            "{:?}",
            set.warnings
        );
    }
}
