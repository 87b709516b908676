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
//! A call reads only what it uses. The form is one line of JSON (the index: each entry's name, uid,
//! families, default flag and the length of the rest of it, plus the skipped entries and warnings),
//! followed by the rest of each entry as JSON, back to back. [`from_checked`] parses the index only
//! and [`read_entry`] reads an entry's text the first time a tool asks for that datasource, so the
//! entries a call does not use are neither parsed nor scanned: with fifty datasources, a call that
//! uses one no longer reads fifty (each cost about 3.6 µs of host CPU per call).
//!
//! The text holds secret values (header values, passwords), as the variables the file interpolates
//! did before: it goes only into the sandbox's environment, never to a log or a file. [`Secret`]
//! itself stays without `Serialize`; only this module writes its values.
//!
//! Not here: the provisioning file's format and checks (the parent module).

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    BasicAuth, Datasource, DatasourceError, DatasourceSet, FamilySet, Kind, Origin, Secret,
    Skipped, Slot,
};

/// Environment variable through which the host hands the `plugin` component its checked
/// datasources ([`to_checked`]); set by the host, not by operators.
pub const CHECKED_ENV: &str = "PROMS_MCP_CHECKED_DATASOURCES";

/// The version of the form below: a component refuses a form it does not know instead of misreading
/// it (the host and the component ship together, but an image could pair them wrongly).
const FORMAT: u32 = 2;

/// The first line of the form: the set without its entries' bodies.
#[derive(Serialize, Deserialize)]
struct Index {
    format: u32,
    datasources: Vec<Indexed>,
    skipped: Vec<Skipped>,
    warnings: Vec<String>,
}

/// What finding a datasource takes, read with the set; the rest of it (an [`Entry`], `entry_bytes`
/// long, after the index and the entries before it) is read when first used.
#[derive(Serialize, Deserialize)]
struct Indexed {
    name: String,
    uid: Option<String>,
    families: FamilySet,
    is_default: bool,
    entry_bytes: usize,
}

/// An unread entry: its place in the form, which the set's entries share.
#[derive(Clone)]
pub(super) struct Unread {
    form: Arc<str>,
    at: Range<usize>,
}

/// The rest of one [`Datasource`], field for field.
#[derive(Serialize, Deserialize)]
struct Entry {
    kind: Kind,
    url: String,
    origin: Origin,
    timeout: Option<Duration>,
    headers: Vec<(String, String)>,
    basic_auth: Option<(String, String)>,
    tls_skip_verify: bool,
    tls_ca_cert: Option<String>,
}

/// `set` in the checked form (see the module doc).
pub fn to_checked(set: &DatasourceSet) -> String {
    let datasources = set.all();
    let entries: Vec<String> = datasources
        .iter()
        .map(|d| {
            serde_json::to_string(&Entry {
                kind: d.kind.clone(),
                url: d.url.clone(),
                origin: d.origin.clone(),
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
            .expect("plain data serialises")
        })
        .collect();
    let index = Index {
        format: FORMAT,
        datasources: datasources
            .iter()
            .zip(&entries)
            .map(|(d, entry)| Indexed {
                name: d.name.clone(),
                uid: d.uid.clone(),
                families: FamilySet::of(d.kind.families()),
                is_default: d.is_default,
                entry_bytes: entry.len(),
            })
            .collect(),
        skipped: set.skipped.clone(),
        warnings: set.warnings.clone(),
    };
    // serde_json writes no raw line break: the index is exactly the first line.
    let mut form = serde_json::to_string(&index).expect("plain data serialises");
    form.push('\n');
    form.extend(entries);
    form
}

/// Position and kind of a serde error only: serde's message may quote a value, and values are secrets.
fn unreadable(e: &serde_json::Error) -> String {
    format!(
        "the host's checked datasources are unreadable at line {} column {} ({:?}); restart the server",
        e.line(),
        e.column(),
        e.classify()
    )
}

/// The set [`to_checked`] wrote, its entries unread (see the module doc). The error names
/// [`CHECKED_ENV`] and serde's reason, which quotes no value.
pub fn from_checked(form: &str) -> Result<DatasourceSet, DatasourceError> {
    let error = |problem: String| DatasourceError {
        file: CHECKED_ENV.to_string(),
        entry: None,
        problem,
    };
    let Some((first_line, _)) = form.split_once('\n') else {
        return Err(error(
            "the host's checked datasources have no index line; restart the server".into(),
        ));
    };
    let index: Index = serde_json::from_str(first_line).map_err(|e| error(unreadable(&e)))?;
    if index.format != FORMAT {
        return Err(error(format!(
            "the host's checked datasources are in form {}, this component reads form {FORMAT}; run the host and the component of one release",
            index.format
        )));
    }
    let form: Arc<str> = Arc::from(form);
    let mut at = first_line.len() + 1;
    let mut slots = Vec::with_capacity(index.datasources.len());
    for i in index.datasources {
        let end = at
            .checked_add(i.entry_bytes)
            .filter(|end| form.is_char_boundary(*end) && *end <= form.len())
            .ok_or_else(|| {
                error(format!(
                    "the host's checked datasources end inside datasource '{}'; restart the server",
                    i.name
                ))
            })?;
        slots.push(Slot {
            name: i.name,
            uid: i.uid,
            families: i.families,
            is_default: i.is_default,
            datasource: OnceLock::new(),
            checked: Some(Unread {
                form: form.clone(),
                at: at..end,
            }),
        });
        at = end;
    }
    Ok(DatasourceSet {
        slots,
        skipped: index.skipped,
        warnings: index.warnings,
    })
}

/// The datasource of `slot`, read from its checked form.
///
/// # Panics
///
/// When the entry does not read back, which only a host and a component of different releases with
/// one [`FORMAT`] could cause: the call's sandbox traps and the call ends with an error result, and
/// the message quotes no value.
pub(super) fn read_entry(slot: &Slot) -> Datasource {
    let unread = slot
        .checked
        .as_ref()
        .expect("a slot without its datasource keeps its checked form");
    let e: Entry = serde_json::from_str(&unread.form[unread.at.clone()]).unwrap_or_else(|e| {
        panic!("datasource '{}': {}", slot.name, unreadable(&e));
    });
    Datasource {
        name: slot.name.clone(),
        uid: slot.uid.clone(),
        kind: e.kind,
        url: e.url,
        origin: e.origin,
        is_default: slot.is_default,
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
    }
}
