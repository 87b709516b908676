//! The Grafana datasource provisioning file → the [`Datasource`]s this server queries.
//!
//! proms-mcp reads the same file Grafana provisions its datasources from (YAML, or JSON, which the
//! YAML parser also reads). A datasource is what every kind has in common (name, uid, url, default,
//! headers, basic auth, TLS, timeout) plus its [`Kind`], which says which [`Family`] it serves —
//! metrics, logs or traces — and carries the settings only that kind has. Everything about an entry
//! that matters for querying is checked here, once, at start-up, so a bad file fails with a message
//! that names the file, the entry and what to fix, rather than with an odd HTTP error at query time.
//!
//! - `envelope`: the document, Grafana's `$VAR` interpolation, typed field access.
//! - `common`: the fields every kind shares; `headers` and `url` the two that need real parsing.
//! - `metrics`: Prometheus and its flavours; `clickhouse`: ClickHouse with the OpenTelemetry
//!   exporter's tables (logs and traces); `loki` and `tempo`: Grafana Loki (logs) and Tempo (traces).
//!   Entries of other types are [`Skipped`] and the host logs them.
//! - `checked`: a parsed set written for the `plugin` component ([`to_checked`]), which each call
//!   reads back ([`from_checked`]) instead of parsing the file again.
//!
//! Secret material (header values, passwords) is held in [`Secret`], which never prints, and no error,
//! warning or summary ever contains it. What does not live here: HTTP requests and TLS handshakes
//! (see [`crate::backends`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value as Json};
use serde_yaml_ng::Value;

mod checked;
pub mod clickhouse;
mod common;
mod envelope;
mod headers;
pub mod loki;
pub mod metrics;
mod tempo;
mod url;

pub use checked::{CHECKED_ENV, from_checked, to_checked};
pub use clickhouse::ClickHouseSettings;
use common::{Parsed, parse_entry};
pub use envelope::as_json;
use envelope::{
    entry_label, entry_name, expand, interpolate_value, parse_document, with_unset_note,
};
pub use loki::{LineParser, LokiSettings};
pub use metrics::{Flavour, HttpMethod, MetricsSettings};
pub use url::Origin;

/// Where [`load`] looks for the provisioning file when [`PATH_ENV`] is not set.
pub const DEFAULT_PATH: &str = "/etc/grafana/provisioning/datasources/datasources.yaml";

/// The environment variable that overrides [`DEFAULT_PATH`].
pub const PATH_ENV: &str = "GRAFANA_DATASOURCES_PATH";

/// A secret string: a header value or a password.
///
/// `Debug` and `Display` print `<redacted>`, and there is deliberately no `Serialize`: the only way to
/// the value is [`Secret::expose`], which the HTTP layer calls when building a request.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret value itself; use it only to build the outgoing request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What a datasource holds, as tools see it: each tool serves one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Time series queried with PromQL.
    Metrics,
    /// Log records.
    Logs,
    /// Spans and traces.
    Traces,
}

impl Family {
    /// Every family, in the order tools and summaries list them.
    pub const ALL: [Family; 3] = [Family::Metrics, Family::Logs, Family::Traces];

    /// `metrics`, `logs` or `traces`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Family::Metrics => "metrics",
            Family::Logs => "logs",
            Family::Traces => "traces",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which backend a datasource is, with the settings only that kind has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Kind {
    /// A Prometheus-compatible server.
    Metrics(MetricsSettings),
    /// ClickHouse holding the OpenTelemetry exporter's logs and traces tables (boxed: two tables'
    /// worth of names, kept out of every metrics datasource's size).
    ClickHouse(Box<ClickHouseSettings>),
    /// Grafana Loki (or a server answering its query API), holding logs.
    Loki(LokiSettings),
    /// Grafana Tempo (or a server answering its query API), holding traces.
    Tempo,
}

impl Kind {
    /// The families this kind serves.
    pub fn families(&self) -> &'static [Family] {
        match self {
            Kind::Metrics(_) => &[Family::Metrics],
            Kind::ClickHouse(_) => &[Family::Logs, Family::Traces],
            Kind::Loki(_) => &[Family::Logs],
            Kind::Tempo => &[Family::Traces],
        }
    }

    /// The type shown to tools (`prometheus`, `victoriametrics`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Metrics(m) => m.flavour.grafana_plugin(),
            Kind::ClickHouse(_) => "clickhouse",
            Kind::Loki(_) => "loki",
            Kind::Tempo => "tempo",
        }
    }
}
/// HTTP basic authentication (`basicAuth: true`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuth {
    /// `basicAuthUser`.
    pub user: String,
    /// `secureJsonData.basicAuthPassword` (empty when not given).
    pub password: Secret,
}

/// One datasource from the provisioning file, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datasource {
    /// `name`: the datasource id tools use.
    pub name: String,
    /// `uid`, also accepted as an id by [`DatasourceSet::get`].
    pub uid: Option<String>,
    /// The backend and its own settings.
    pub kind: Kind,
    /// The base URL: lowercase scheme and host, no trailing `/`, possibly with a path prefix
    /// (e.g. `http://thanos:9090/prometheus`). Never contains credentials, a query or a fragment.
    pub url: String,
    /// The origin of [`Datasource::url`].
    pub origin: Origin,
    /// `isDefault`.
    pub is_default: bool,
    /// `jsonData.timeout`: this datasource's own bound on one request, when shorter than the server's.
    pub timeout: Option<Duration>,
    /// Custom headers: `jsonData.httpHeaderNameN` with `secureJsonData.httpHeaderValueN`, in N order.
    pub headers: Vec<(String, Secret)>,
    /// Basic authentication, when `basicAuth: true`.
    pub basic_auth: Option<BasicAuth>,
    /// `jsonData.tlsSkipVerify`.
    pub tls_skip_verify: bool,
    /// `secureJsonData.tlsCACert` (PEM), when `jsonData.tlsAuthWithCACert` is true.
    pub tls_ca_cert: Option<String>,
}

impl Datasource {
    /// Whether this datasource serves `family`.
    pub fn serves(&self, family: Family) -> bool {
        self.kind.families().contains(&family)
    }

    /// The metrics settings, when this is a metrics datasource.
    pub fn metrics(&self) -> Option<&MetricsSettings> {
        match &self.kind {
            Kind::Metrics(m) => Some(m),
            _ => None,
        }
    }

    /// The ClickHouse settings, when this is a ClickHouse datasource.
    pub fn clickhouse(&self) -> Option<&ClickHouseSettings> {
        match &self.kind {
            Kind::ClickHouse(c) => Some(c),
            _ => None,
        }
    }

    /// The Loki settings, when this is a Loki datasource.
    pub fn loki(&self) -> Option<&LokiSettings> {
        match &self.kind {
            Kind::Loki(l) => Some(l),
            _ => None,
        }
    }

    /// What the `list_datasources` tool shows for this datasource. Describes authentication by kind
    /// and header *names* only; never contains a secret value. Absent optionals are omitted.
    pub fn summary_json(&self) -> Json {
        let mut o = JsonMap::new();
        o.insert("id".into(), Json::from(self.name.as_str()));
        if let Some(uid) = &self.uid {
            o.insert("uid".into(), Json::from(uid.as_str()));
        }
        o.insert("type".into(), Json::from(self.kind.type_name()));
        let families: Vec<&str> = self.kind.families().iter().map(Family::as_str).collect();
        o.insert("families".into(), Json::from(families));
        o.insert("url".into(), Json::from(self.url.as_str()));
        o.insert("is_default".into(), Json::from(self.is_default));
        match &self.kind {
            Kind::Metrics(m) => {
                if m.flavour.as_str() != self.kind.type_name() {
                    o.insert("flavour".into(), Json::from(m.flavour.as_str()));
                }
                o.insert("http_method".into(), Json::from(m.http_method.as_str()));
                if let Some(interval) = &m.scrape_interval {
                    o.insert("scrape_interval".into(), Json::from(interval.as_str()));
                }
            }
            Kind::ClickHouse(c) => {
                o.insert(
                    "logs_table".into(),
                    Json::from(c.logs.qualified().replace('`', "")),
                );
                o.insert(
                    "traces_table".into(),
                    Json::from(c.traces.qualified().replace('`', "")),
                );
            }
            Kind::Loki(l) => {
                o.insert("parser".into(), Json::from(l.parser.as_str()));
            }
            Kind::Tempo => {}
        }
        if let Some(timeout) = self.timeout {
            o.insert("timeout_seconds".into(), Json::from(timeout.as_secs_f64()));
        }
        let mut auth = Vec::new();
        if self.basic_auth.is_some() {
            auth.push(Json::from("basic"));
        }
        if !self.headers.is_empty() {
            let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
            auth.push(Json::from(format!("headers:{}", names.join(","))));
        }
        o.insert("auth".into(), Json::Array(auth));
        o.insert(
            "tls".into(),
            serde_json::json!({
                "ca_cert": self.tls_ca_cert.is_some(),
                "skip_verify": self.tls_skip_verify,
            }),
        );
        Json::Object(o)
    }
}

/// An entry of a type this version does not serve (or not yet); the host logs it at start-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The entry's `name`.
    pub name: String,
    /// The entry's `type`, as written.
    pub kind: String,
    /// Why it is skipped, for the log line.
    pub reason: String,
}

/// The datasources of one provisioning file that this server queries, in file order.
#[derive(Clone, Debug)]
pub struct DatasourceSet {
    slots: Vec<Slot>,
    /// Entries of types not served, in file order.
    pub skipped: Vec<Skipped>,
    /// Non-fatal findings (unset environment variables, ignored settings); never contain secrets.
    pub warnings: Vec<String>,
}

/// One datasource of a set: what finding it takes (name, uid, families, default) at hand, and the
/// [`Datasource`] itself, which a set read back from the checked form reads only when a tool first
/// asks for it, so that a call costs the same with fifty datasources as with one.
#[derive(Clone)]
struct Slot {
    name: String,
    uid: Option<String>,
    families: FamilySet,
    is_default: bool,
    datasource: OnceLock<Datasource>,
    /// Where the entry's checked form is, while it is unread; `None` in a set parsed from the file.
    checked: Option<checked::Unread>,
}

impl Slot {
    fn parsed(datasource: Datasource) -> Slot {
        Slot {
            name: datasource.name.clone(),
            uid: datasource.uid.clone(),
            families: FamilySet::of(datasource.kind.families()),
            is_default: datasource.is_default,
            datasource: OnceLock::from(datasource),
            checked: None,
        }
    }

    fn datasource(&self) -> &Datasource {
        self.datasource.get_or_init(|| checked::read_entry(self))
    }
}

// By hand: the checked form holds secret values, and a set's debug output must not.
impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.datasource.get() {
            Some(datasource) => datasource.fmt(f),
            None => write!(f, "Datasource {{ name: {:?}, .. (unread) }}", self.name),
        }
    }
}

/// The families a datasource serves, as bits (its [`Kind`] without the settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct FamilySet(u8);

impl FamilySet {
    fn of(families: &[Family]) -> FamilySet {
        FamilySet(families.iter().fold(0, |bits, f| bits | 1 << *f as u8))
    }

    fn contains(self, family: Family) -> bool {
        self.0 & 1 << family as u8 != 0
    }
}

impl DatasourceSet {
    /// All datasources, in file order.
    pub fn all(&self) -> Vec<&Datasource> {
        self.slots.iter().map(Slot::datasource).collect()
    }

    /// The datasource with this exact name or, failing that, this uid.
    pub fn get(&self, name: &str) -> Option<&Datasource> {
        self.slots
            .iter()
            .find(|s| s.name == name)
            .or_else(|| self.slots.iter().find(|s| s.uid.as_deref() == Some(name)))
            .map(Slot::datasource)
    }

    /// The datasources serving `family`, in file order.
    pub fn of_family(&self, family: Family) -> impl Iterator<Item = &Datasource> {
        self.serving(family).map(Slot::datasource)
    }

    /// The default of `family`: the `isDefault` entry when it serves the family, otherwise the
    /// family's first entry; `None` when no datasource serves it.
    pub fn default_for(&self, family: Family) -> Option<&Datasource> {
        self.serving(family)
            .find(|s| s.is_default)
            .or_else(|| self.serving(family).next())
            .map(Slot::datasource)
    }

    /// The datasource names, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.slots.iter().map(|s| s.name.as_str()).collect()
    }

    /// Each datasource with its origin, in file order (origins may repeat).
    pub fn origins(&self) -> Vec<(&Origin, &Datasource)> {
        self.all().into_iter().map(|d| (&d.origin, d)).collect()
    }

    fn serving(&self, family: Family) -> impl Iterator<Item = &Slot> {
        self.slots
            .iter()
            .filter(move |s| s.families.contains(family))
    }
}

/// Displays as `datasources file '<file>': entry 3 ('prom-main'): missing 'url'`, without the entry
/// part when the problem concerns the whole file. Never contains a secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasourceError {
    /// The file path (or label) given to [`parse`] / [`load`].
    pub file: String,
    /// The entry: its 1-based index in `datasources`, with its name when known, e.g. `3 ('prom-main')`.
    pub entry: Option<String>,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl fmt::Display for DatasourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "datasources file '{}': ", self.file)?;
        if let Some(entry) = &self.entry {
            write!(f, "entry {entry}: ")?;
        }
        f.write_str(&self.problem)
    }
}

impl std::error::Error for DatasourceError {}

/// Reads and parses the provisioning file at `path`; `env` resolves `$VAR` references.
pub fn load(
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DatasourceSet, DatasourceError> {
    let text = std::fs::read_to_string(path).map_err(|e| DatasourceError {
        file: path.to_string(),
        entry: None,
        problem: format!("cannot read the file: {e} (set {PATH_ENV} to use another file)"),
    })?;
    parse(&text, path, env)
}

/// Parses the provisioning file `text` (YAML or JSON); `file` names it in errors and `env` resolves
/// `$VAR` / `${VAR}` references.
pub fn parse(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DatasourceSet, DatasourceError> {
    let file_error = |problem: String| DatasourceError {
        file: file.to_string(),
        entry: None,
        problem,
    };
    let no_datasources = |why: &str| file_error(format!("no datasources to serve: {why}"));

    let mut root = parse_document(text).map_err(file_error)?;
    let list = match &mut root {
        Value::Null => {
            return Err(no_datasources(
                "the file is empty; expected a 'datasources' list",
            ));
        }
        Value::Mapping(m) => match m.get_mut("datasources") {
            None | Some(Value::Null) => {
                return Err(no_datasources("the file has no 'datasources' list"));
            }
            Some(Value::Sequence(list)) => list,
            Some(_) => {
                return Err(file_error(
                    "'datasources' must be a list of datasources".into(),
                ));
            }
        },
        _ => {
            return Err(file_error(
                "expected a mapping with a 'datasources' list at the top level".into(),
            ));
        }
    };

    let mut set = DatasourceSet {
        slots: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
    };
    let mut unset_all = BTreeSet::new();
    // name / uid → (1-based index, entry label) of the first entry using it.
    let mut names: HashMap<String, (usize, String)> = HashMap::new();
    let mut uids: HashMap<String, (usize, String)> = HashMap::new();
    let mut default: Option<String> = None;

    for (i, entry) in list.iter_mut().enumerate() {
        let mut unset = BTreeSet::new();
        interpolate_value(entry, env, &mut unset);
        let entry = &*entry;
        let label = entry_label(i + 1, entry_name(entry).as_deref());
        let entry_error = |problem: String| DatasourceError {
            file: file.to_string(),
            entry: Some(label.clone()),
            problem: with_unset_note(problem, &unset),
        };

        match parse_entry(entry, &label, &mut set.warnings).map_err(entry_error)? {
            Parsed::Skipped(skipped) => set.skipped.push(skipped),
            Parsed::Served(ds) => {
                if let Some((_, first)) = names.get(&ds.name) {
                    return Err(entry_error(format!(
                        "duplicate name '{}': entry {first} already uses it; datasource names must be unique",
                        ds.name
                    )));
                }
                if let Some(uid) = &ds.uid {
                    if let Some((_, first)) = uids.get(uid) {
                        return Err(entry_error(format!(
                            "duplicate uid '{uid}': entry {first} already uses it; uids must be unique"
                        )));
                    }
                    uids.insert(uid.clone(), (i + 1, label.clone()));
                }
                if ds.is_default {
                    if let Some(first) = &default {
                        return Err(entry_error(format!(
                            "isDefault is true but entry {first} is already the default; only one datasource can be the default"
                        )));
                    }
                    default = Some(label.clone());
                }
                names.insert(ds.name.clone(), (i + 1, label.clone()));
                set.slots.push(Slot::parsed(*ds));
            }
        }
        unset_all.extend(unset);
    }

    if set.slots.is_empty() {
        let why = if set.skipped.is_empty() {
            "the 'datasources' list is empty".to_string()
        } else {
            let others: Vec<String> = set
                .skipped
                .iter()
                .map(|s| format!("{} ('{}')", s.kind, s.name))
                .collect();
            format!(
                "the file has only other datasource types: {}; supported types are {}",
                others.join(", "),
                common::supported_types()
            )
        };
        return Err(no_datasources(&why));
    }

    // A uid equal to another datasource's name is ambiguous as an id; `get` prefers names.
    for ds in &set.slots {
        if let Some(uid) = &ds.uid
            && let Some((_, other)) = names.get(uid)
            && *uid != ds.name
        {
            set.warnings.push(format!(
                "uid '{uid}' of datasource '{}' is also the name of entry {other}; '{uid}' refers to entry {other}",
                ds.name
            ));
        }
    }

    for name in unset_all {
        set.warnings.push(format!(
            "environment variable '{name}' is not set; it was replaced by an empty string"
        ));
    }
    Ok(set)
}

/// The names of the environment variables `text` references as `$VAR` or `${VAR}` (`$$` is an
/// escape, not a reference), sorted and deduplicated. The host passes only these into the sandbox.
pub fn referenced_env_vars(text: &str) -> Vec<String> {
    let mut names = BTreeSet::new();
    expand(text, |name| {
        names.insert(name.to_string());
        String::new()
    });
    names.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------------
// Document and interpolation

#[cfg(test)]
mod tests;
