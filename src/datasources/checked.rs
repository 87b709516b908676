//! A [`DatasourceSet`] the host has already parsed and checked, handed to the `plugin` component in
//! [`CHECKED_ENV`] so that a call does not parse the provisioning file again.
//!
//! The host parses the file once at start-up (it needs the set for its egress policy anyway); a call
//! used to parse the same text again in its fresh sandbox: the YAML document, `$VAR` interpolation,
//! every entry's fields, URLs and checks, for every datasource, whichever one the call uses. The
//! checked form is the parse's result, written with serde: reading it back builds the same values
//! with no document tree, no interpolation and no checks. [`from_checked`] of [`to_checked`] equals
//! the parse (a unit test checks it for every kind).
//!
//! The text holds secret values (header values, passwords), as the variables the file interpolates
//! did before: it goes only into the sandbox's environment, never to a log or a file. [`Secret`]
//! itself stays without `Serialize`; only this module writes its values.
//!
//! Not here: the provisioning file's format and checks (the parent module).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{BasicAuth, Datasource, DatasourceError, DatasourceSet, Kind, Origin, Secret, Skipped};

/// Environment variable through which the host hands the `plugin` component its checked
/// datasources ([`to_checked`]); set by the host, not by operators.
pub const CHECKED_ENV: &str = "PROMS_MCP_CHECKED_DATASOURCES";

/// The set as written: [`DatasourceSet`] with its secrets as plain strings.
#[derive(Serialize, Deserialize)]
struct Checked {
    datasources: Vec<Entry>,
    skipped: Vec<Skipped>,
    warnings: Vec<String>,
}

/// One [`Datasource`], field for field.
#[derive(Serialize, Deserialize)]
struct Entry {
    name: String,
    uid: Option<String>,
    kind: Kind,
    url: String,
    origin: Origin,
    is_default: bool,
    timeout: Option<Duration>,
    headers: Vec<(String, String)>,
    basic_auth: Option<(String, String)>,
    tls_skip_verify: bool,
    tls_ca_cert: Option<String>,
}

/// `set` in the checked form (JSON).
pub fn to_checked(set: &DatasourceSet) -> String {
    let checked = Checked {
        datasources: set
            .datasources
            .iter()
            .map(|d| Entry {
                name: d.name.clone(),
                uid: d.uid.clone(),
                kind: d.kind.clone(),
                url: d.url.clone(),
                origin: d.origin.clone(),
                is_default: d.is_default,
                timeout: d.timeout,
                headers: d
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), v.expose().to_string()))
                    .collect(),
                basic_auth: d
                    .basic_auth
                    .as_ref()
                    .map(|b| (b.user.clone(), b.password.expose().to_string())),
                tls_skip_verify: d.tls_skip_verify,
                tls_ca_cert: d.tls_ca_cert.clone(),
            })
            .collect(),
        skipped: set.skipped.clone(),
        warnings: set.warnings.clone(),
    };
    serde_json::to_string(&checked).expect("plain data serialises")
}

/// The set [`to_checked`] wrote. The error names [`CHECKED_ENV`] and serde's reason, which quotes
/// no value.
pub fn from_checked(text: &str) -> Result<DatasourceSet, DatasourceError> {
    let checked: Checked = serde_json::from_str(text).map_err(|e| DatasourceError {
        file: CHECKED_ENV.to_string(),
        entry: None,
        // Position and kind of error only: serde's message may quote a value, and values are secrets.
        problem: format!(
            "the host's checked datasources are unreadable at line {} column {} ({:?}); restart the server",
            e.line(),
            e.column(),
            e.classify()
        ),
    })?;
    Ok(DatasourceSet {
        datasources: checked
            .datasources
            .into_iter()
            .map(|e| Datasource {
                name: e.name,
                uid: e.uid,
                kind: e.kind,
                url: e.url,
                origin: e.origin,
                is_default: e.is_default,
                timeout: e.timeout,
                headers: e
                    .headers
                    .into_iter()
                    .map(|(n, v)| (n, Secret::new(v)))
                    .collect(),
                basic_auth: e.basic_auth.map(|(user, password)| BasicAuth {
                    user,
                    password: Secret::new(password),
                }),
                tls_skip_verify: e.tls_skip_verify,
                tls_ca_cert: e.tls_ca_cert,
            })
            .collect(),
        skipped: checked.skipped,
        warnings: checked.warnings,
    })
}
