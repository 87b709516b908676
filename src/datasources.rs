//! The Grafana datasource provisioning file: parsing, validation and environment interpolation.
//!
//! proms-mcp reads the same file Grafana provisions its datasources from (YAML, or JSON, which the
//! YAML parser also reads) and keeps the Prometheus-compatible entries: `prometheus` and the
//! VictoriaMetrics plugins. Everything about an entry that matters for querying is checked here,
//! once, at start-up, so a bad file fails with a message that names the file, the entry and what to
//! fix, rather than with an odd HTTP error at query time:
//!
//! - Grafana's `$VAR` / `${VAR}` / `$$` interpolation, applied to string *values* after YAML parsing
//!   (so secrets containing YAML special characters need no quoting); unset variables become `""`
//!   and produce a warning naming the variable.
//! - URLs are parsed by hand into a normalised base URL and an [`Origin`] (for the host's egress
//!   allow-list); credentials inside URLs are refused.
//! - Custom headers, basic auth and the CA certificate are paired and checked.
//!
//! Secret material (header values, passwords) is held in [`Secret`], which never prints, and no error,
//! warning or summary ever contains it.
//!
//! What does not live here: HTTP requests, TLS handshakes and certificate parsing beyond the PEM
//! marker (see [`crate::http`] and [`crate::prometheus`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::Ipv6Addr;

use serde_json::{Map as JsonMap, Value as Json};
use serde_yaml_ng::{Mapping, Value};

/// Where [`load`] looks for the provisioning file when [`PATH_ENV`] is not set.
pub const DEFAULT_PATH: &str = "/etc/grafana/provisioning/datasources/datasources.yaml";

/// The environment variable that overrides [`DEFAULT_PATH`].
pub const PATH_ENV: &str = "GRAFANA_DATASOURCES_PATH";

/// The `type` values this crate serves, for error messages.
const SUPPORTED_TYPES: &str =
    "prometheus, victoriametrics-metrics-datasource or victoriametrics-datasource";

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

/// Which Prometheus-compatible backend a datasource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatasourceKind {
    /// Grafana type `prometheus` (also Thanos, Mimir, Cortex, ... behind it).
    Prometheus,
    /// Grafana types `victoriametrics-metrics-datasource` and `victoriametrics-datasource`.
    VictoriaMetrics,
}

impl DatasourceKind {
    /// The name shown to tools: `"prometheus"` or `"victoriametrics"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DatasourceKind::Prometheus => "prometheus",
            DatasourceKind::VictoriaMetrics => "victoriametrics",
        }
    }

    /// Maps a Grafana plugin `type` to a supported kind; `None` for every other type.
    fn from_grafana_type(t: &str) -> Option<Self> {
        match t.trim().to_ascii_lowercase().as_str() {
            "prometheus" => Some(DatasourceKind::Prometheus),
            "victoriametrics-metrics-datasource" | "victoriametrics-datasource" => {
                Some(DatasourceKind::VictoriaMetrics)
            }
            _ => None,
        }
    }
}

impl fmt::Display for DatasourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HTTP method used for query endpoints (`jsonData.httpMethod`); Grafana's default is POST.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// Parameters in the query string.
    Get,
    /// Parameters as a form body (allows long queries).
    #[default]
    Post,
}

impl HttpMethod {
    /// `"GET"` or `"POST"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// The origin of a datasource URL: scheme, lowercase host (IPv6 without brackets) and port (explicit,
/// or the scheme's default 80/443). The host uses these for its egress allow-list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `"http"` or `"https"`.
    pub scheme: String,
    /// Lowercase host name or IP address; IPv6 in canonical form without brackets.
    pub host: String,
    /// The port, explicit or defaulted from the scheme.
    pub port: u16,
}

impl fmt::Display for Origin {
    /// `scheme://host:port`, with an IPv6 host in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}",
            self.scheme,
            bracket_host(&self.host),
            self.port
        )
    }
}

/// One Prometheus-compatible datasource from the provisioning file, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datasource {
    /// `name`: the datasource id tools use.
    pub name: String,
    /// `uid`, also accepted as an id by [`DatasourceSet::get`].
    pub uid: Option<String>,
    /// Which backend this is.
    pub kind: DatasourceKind,
    /// The base URL: lowercase scheme and host, no trailing `/`, possibly with a path prefix
    /// (e.g. `http://thanos:9090/prometheus`). Never contains credentials, a query or a fragment.
    pub url: String,
    /// The origin of [`Datasource::url`].
    pub origin: Origin,
    /// `isDefault`.
    pub is_default: bool,
    /// `jsonData.httpMethod`; POST when not given.
    pub http_method: HttpMethod,
    /// `jsonData.timeInterval`, the scrape interval, a valid Prometheus duration such as `15s`.
    pub time_interval: Option<String>,
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
    /// What the `list_datasources` tool shows for this datasource. Describes authentication by kind
    /// and header *names* only; never contains a secret value. Absent optionals are omitted.
    pub fn summary_json(&self) -> Json {
        let mut o = JsonMap::new();
        o.insert("id".into(), Json::from(self.name.as_str()));
        if let Some(uid) = &self.uid {
            o.insert("uid".into(), Json::from(uid.as_str()));
        }
        o.insert("type".into(), Json::from(self.kind.as_str()));
        o.insert("url".into(), Json::from(self.url.as_str()));
        o.insert("is_default".into(), Json::from(self.is_default));
        o.insert("http_method".into(), Json::from(self.http_method.as_str()));
        if let Some(interval) = &self.time_interval {
            o.insert("scrape_interval".into(), Json::from(interval.as_str()));
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

/// An entry of another type (loki, tempo, ...) that was skipped; the caller may log it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's `name`.
    pub name: String,
    /// The entry's `type`, as written.
    pub kind: String,
}

/// The Prometheus-compatible datasources of one provisioning file, in file order.
#[derive(Clone, Debug)]
pub struct DatasourceSet {
    datasources: Vec<Datasource>,
    /// Entries of unsupported types, in file order.
    pub skipped: Vec<Skipped>,
    /// Non-fatal findings (unset environment variables, ignored settings); never contain secrets.
    pub warnings: Vec<String>,
}

impl DatasourceSet {
    /// All datasources, in file order.
    pub fn all(&self) -> &[Datasource] {
        &self.datasources
    }

    /// The datasource with this exact name or, failing that, this uid.
    pub fn get(&self, name: &str) -> Option<&Datasource> {
        self.datasources
            .iter()
            .find(|d| d.name == name)
            .or_else(|| {
                self.datasources
                    .iter()
                    .find(|d| d.uid.as_deref() == Some(name))
            })
    }

    /// The `isDefault` datasource; else the only one when there is exactly one; else `None`.
    pub fn default_datasource(&self) -> Option<&Datasource> {
        match self.datasources.iter().find(|d| d.is_default) {
            Some(d) => Some(d),
            None if self.datasources.len() == 1 => self.datasources.first(),
            None => None,
        }
    }

    /// The datasource names, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.datasources.iter().map(|d| d.name.as_str()).collect()
    }

    /// Each datasource with its origin, in file order (origins may repeat).
    pub fn origins(&self) -> Vec<(&Origin, &Datasource)> {
        self.datasources.iter().map(|d| (&d.origin, d)).collect()
    }
}

/// Why the provisioning file was rejected.
///
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
    let no_datasources = |why: &str| file_error(format!("no Prometheus datasources: {why}"));

    let root = parse_document(text).map_err(file_error)?;
    let list = match &root {
        Value::Null => {
            return Err(no_datasources(
                "the file is empty; expected a 'datasources' list",
            ));
        }
        Value::Mapping(m) => match m.get("datasources") {
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
        datasources: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
    };
    let mut unset_all = BTreeSet::new();
    // name / uid → (1-based index, entry label) of the first entry using it.
    let mut names: HashMap<String, (usize, String)> = HashMap::new();
    let mut uids: HashMap<String, (usize, String)> = HashMap::new();
    let mut default: Option<String> = None;

    for (i, raw) in list.iter().enumerate() {
        let mut unset = BTreeSet::new();
        let entry = interpolate_value(raw, env, &mut unset);
        let label = entry_label(i + 1, entry_name(&entry).as_deref());
        let entry_error = |problem: String| DatasourceError {
            file: file.to_string(),
            entry: Some(label.clone()),
            problem: with_unset_note(problem, &unset),
        };

        match parse_entry(&entry, &label, &mut set.warnings).map_err(entry_error)? {
            Parsed::Skipped(skipped) => set.skipped.push(skipped),
            Parsed::Supported(ds) => {
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
                set.datasources.push(*ds);
            }
        }
        unset_all.extend(unset);
    }

    if set.datasources.is_empty() {
        let why = if set.skipped.is_empty() {
            "the 'datasources' list is empty".to_string()
        } else {
            let others: Vec<String> = set
                .skipped
                .iter()
                .map(|s| format!("{} ('{}')", s.kind, s.name))
                .collect();
            format!(
                "the file has only other datasource types: {}; supported types are {SUPPORTED_TYPES}",
                others.join(", ")
            )
        };
        return Err(no_datasources(&why));
    }

    // A uid equal to another datasource's name is ambiguous as an id; `get` prefers names.
    for ds in &set.datasources {
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

/// Parses YAML (which also reads JSON). When the text looks like JSON and the YAML parser rejects it,
/// serde_json's message is reported instead, as it is clearer about JSON syntax.
///
/// Neither parser quotes document content in its messages, so these errors cannot leak secrets.
fn parse_document(text: &str) -> Result<Value, String> {
    let looks_like_json = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{');
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

/// Interpolates every string value (not keys) of `value`; unresolved names are added to `unset`.
/// YAML tags are dropped, keeping the tagged value.
fn interpolate_value(
    value: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut BTreeSet<String>,
) -> Value {
    match value {
        Value::String(s) => Value::String(expand(s, |name| {
            env(name).unwrap_or_else(|| {
                unset.insert(name.to_string());
                String::new()
            })
        })),
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|v| interpolate_value(v, env, unset))
                .collect(),
        ),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| (k.clone(), interpolate_value(v, env, unset)))
                .collect(),
        ),
        Value::Tagged(tagged) => interpolate_value(&tagged.value, env, unset),
        other => other.clone(),
    }
}

/// Grafana's interpolation: `$VAR` and `${VAR}` (VAR = `[A-Za-z_][A-Za-z0-9_]*`) are replaced by
/// `lookup(VAR)`, `$$` by `$`; any other `$` stays as it is.
fn expand(s: &str, mut lookup: impl FnMut(&str) -> String) -> String {
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
fn with_unset_note(problem: String, unset: &BTreeSet<String>) -> String {
    if unset.is_empty() {
        return problem;
    }
    let names: Vec<&str> = unset.iter().map(String::as_str).collect();
    format!(
        "{problem} (note: this entry references unset environment variables: {})",
        names.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------------
// Entries

enum Parsed {
    Supported(Box<Datasource>),
    Skipped(Skipped),
}

/// `3 ('prom-main')`, or `3` when the entry has no usable name.
fn entry_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{index} ('{name}')"),
        None => index.to_string(),
    }
}

/// The entry's name, for labelling it in errors, when there is a usable one.
fn entry_name(entry: &Value) -> Option<String> {
    let Value::Mapping(m) = entry else {
        return None;
    };
    scalar_string(m.get("name")?).filter(|n| !n.trim().is_empty())
}

/// Validates one (already interpolated) entry. The error is the problem only; the caller adds the
/// file and entry. Warnings are prefixed with `entry <label>`.
fn parse_entry(entry: &Value, label: &str, warnings: &mut Vec<String>) -> Result<Parsed, String> {
    let Value::Mapping(map) = entry else {
        return Err("each datasource must be a mapping with 'name', 'type' and 'url'".into());
    };
    let mut warn = |w: String| warnings.push(format!("entry {label}: {w}"));

    let name = match string_field(map, "name", "name")? {
        None => {
            return Err(
                "missing 'name'; every datasource needs a unique name, which tools use as its id"
                    .into(),
            );
        }
        Some(n) if n.trim().is_empty() => {
            return Err(
                "'name' is empty; every datasource needs a unique name, which tools use as its id"
                    .into(),
            );
        }
        Some(n) => n,
    };
    let grafana_type = match string_field(map, "type", "type")? {
        Some(t) if !t.trim().is_empty() => t,
        _ => {
            return Err(format!(
                "missing 'type'; use {SUPPORTED_TYPES} (other types are skipped)"
            ));
        }
    };
    let Some(kind) = DatasourceKind::from_grafana_type(&grafana_type) else {
        return Ok(Parsed::Skipped(Skipped {
            name,
            kind: grafana_type,
        }));
    };

    let uid = string_field(map, "uid", "uid")?.filter(|u| !u.trim().is_empty());
    let raw_url = string_field(map, "url", "url")?.ok_or(
        "missing 'url'; give the base URL of the Prometheus API, e.g. http://prometheus:9090",
    )?;
    let (url, origin) = parse_url(&raw_url).map_err(|p| format!("invalid 'url': {p}"))?;
    let is_default = bool_field(map, "isDefault", "isDefault")?.unwrap_or(false);

    let empty = Mapping::new();
    let json_data = mapping_field(map, "jsonData")?.unwrap_or(&empty);
    let secure = mapping_field(map, "secureJsonData")?.unwrap_or(&empty);

    let http_method = match string_field(json_data, "httpMethod", "jsonData.httpMethod")? {
        None => HttpMethod::Post,
        Some(m) => match m.trim() {
            "" => HttpMethod::Post,
            m if m.eq_ignore_ascii_case("post") => HttpMethod::Post,
            m if m.eq_ignore_ascii_case("get") => HttpMethod::Get,
            m => {
                return Err(format!(
                    "jsonData.httpMethod must be GET or POST, not '{m}'"
                ));
            }
        },
    };

    let time_interval = match string_field(json_data, "timeInterval", "jsonData.timeInterval")? {
        Some(t) if !t.trim().is_empty() => {
            let t = t.trim();
            if !is_prometheus_duration(t) {
                return Err(format!(
                    "jsonData.timeInterval '{t}' is not a valid duration; use a Prometheus duration such as 15s, 1m or 1h30m"
                ));
            }
            Some(t.to_string())
        }
        _ => None,
    };

    let headers = parse_headers(json_data, secure)?;

    let basic_auth = if bool_field(map, "basicAuth", "basicAuth")?.unwrap_or(false) {
        let user = string_field(map, "basicAuthUser", "basicAuthUser")?
            .filter(|u| !u.is_empty())
            .ok_or(
                "basicAuth is true but 'basicAuthUser' is missing; set basicAuthUser (and \
                 secureJsonData.basicAuthPassword), or set basicAuth: false",
            )?;
        if user.contains(':') {
            return Err(
                "basicAuthUser must not contain ':' (HTTP basic auth cannot encode it)".into(),
            );
        }
        let password = match secret_field(
            secure,
            "basicAuthPassword",
            "secureJsonData.basicAuthPassword",
        )? {
            Some(p) => p,
            // Older provisioning files had the password at the top level.
            None => match secret_field(map, "basicAuthPassword", "basicAuthPassword")? {
                Some(p) => {
                    warn("'basicAuthPassword' at the top level is deprecated; move it to secureJsonData.basicAuthPassword".into());
                    p
                }
                None => {
                    warn("basicAuth is true but secureJsonData.basicAuthPassword is missing; using an empty password".into());
                    String::new()
                }
            },
        };
        if password.contains(['\r', '\n', '\0']) {
            return Err(
                "secureJsonData.basicAuthPassword contains a line break or NUL character".into(),
            );
        }
        Some(BasicAuth {
            user,
            password: Secret::new(password),
        })
    } else {
        None
    };
    // Both would set Authorization; as in Grafana, the configured header wins.
    let basic_auth = if basic_auth.is_some()
        && headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Authorization"))
    {
        warn("basicAuth is ignored because an Authorization header is configured too (as Grafana does); remove one of them".into());
        None
    } else {
        basic_auth
    };

    let tls_skip_verify =
        bool_field(json_data, "tlsSkipVerify", "jsonData.tlsSkipVerify")?.unwrap_or(false);
    let ca = string_field(secure, "tlsCACert", "secureJsonData.tlsCACert")?
        .filter(|c| !c.trim().is_empty());
    let tls_ca_cert = if bool_field(json_data, "tlsAuthWithCACert", "jsonData.tlsAuthWithCACert")?
        .unwrap_or(false)
    {
        let Some(ca) = ca else {
            return Err(
                "jsonData.tlsAuthWithCACert is true but secureJsonData.tlsCACert is missing; paste the CA \
                 certificate (PEM) there, or set tlsAuthWithCACert: false"
                    .into(),
            );
        };
        if !ca.contains("-----BEGIN CERTIFICATE-----") {
            return Err(
                "secureJsonData.tlsCACert is not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line); \
                 paste the CA certificate in PEM form"
                    .into(),
            );
        }
        Some(ca)
    } else {
        if ca.is_some() {
            warn("secureJsonData.tlsCACert is ignored because jsonData.tlsAuthWithCACert is not true".into());
        }
        None
    };
    if bool_field(json_data, "tlsAuth", "jsonData.tlsAuth")?.unwrap_or(false) {
        warn("TLS client authentication (jsonData.tlsAuth) is not supported and is ignored".into());
    }
    if origin.scheme == "http" && (tls_skip_verify || tls_ca_cert.is_some()) {
        warn("TLS settings have no effect on an http:// url".into());
    }

    Ok(Parsed::Supported(Box::new(Datasource {
        name,
        uid,
        kind,
        url,
        origin,
        is_default,
        http_method,
        time_interval,
        headers,
        basic_auth,
        tls_skip_verify,
        tls_ca_cert,
    })))
}

/// Pairs `jsonData.httpHeaderNameN` with `secureJsonData.httpHeaderValueN`, in N order.
fn parse_headers(json_data: &Mapping, secure: &Mapping) -> Result<Vec<(String, Secret)>, String> {
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
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(format!(
                "jsonData.httpHeaderName{n} is empty; give a header name such as Authorization"
            ));
        }
        if !name.bytes().all(is_header_name_byte) {
            return Err(format!(
                "jsonData.httpHeaderName{n} ('{name}') is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
            ));
        }
        if RESERVED_HEADERS
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(&name))
        {
            return Err(format!(
                "jsonData.httpHeaderName{n}: header '{name}' is set by the HTTP layer or by proms-mcp and cannot be configured"
            ));
        }
        if headers
            .iter()
            .any(|(other, _)| other.eq_ignore_ascii_case(&name))
        {
            return Err(format!(
                "jsonData.httpHeaderName{n}: header '{name}' is given more than once"
            ));
        }
        if value.contains(['\r', '\n', '\0']) {
            return Err(format!(
                "secureJsonData.httpHeaderValue{n} (header '{name}') contains a line break or NUL character"
            ));
        }
        headers.push((name, Secret::new(value)));
    }
    if let Some(n) = values.keys().next() {
        return Err(format!(
            "secureJsonData.httpHeaderValue{n} has no matching jsonData.httpHeaderName{n}; add the header name or remove the value"
        ));
    }
    Ok(headers)
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

/// A scalar as a string: YAML reads unquoted `12345` or `true` as numbers/booleans, but a password or
/// a tenant id may well look like that.
fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind_of(value: &Value) -> &'static str {
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
fn secret_field(map: &Mapping, key: &str, label: &str) -> Result<Option<String>, String> {
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
fn string_field(map: &Mapping, key: &str, label: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => scalar_string(v)
            .map(Some)
            .ok_or_else(|| format!("'{label}' must be a string, not {}", kind_of(v))),
    }
}

/// A boolean field; also accepts the strings "true"/"false" (any case), as interpolation yields
/// strings, and treats an empty string (an unset variable) as absent.
fn bool_field(map: &Mapping, key: &str, label: &str) -> Result<Option<bool>, String> {
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
fn mapping_field<'a>(map: &'a Mapping, key: &str) -> Result<Option<&'a Mapping>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => Ok(Some(m)),
        Some(v) => Err(format!("'{key}' must be a mapping, not {}", kind_of(v))),
    }
}

// ---------------------------------------------------------------------------------------------------
// Values

/// A Prometheus duration: one or more `<digits><unit>` with units in decreasing order among
/// y, w, d, h, m, s, ms (`15s`, `1h30m`), and not zero (it is a scrape interval).
fn is_prometheus_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut last_unit: Option<usize> = None;
    let mut nonzero = false;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, tail) = rest.split_at(digits);
        let Ok(value) = number.parse::<u64>() else {
            return false;
        };
        let unit_len = match tail.as_bytes() {
            [b'm', b's', ..] => 2,
            [b'y' | b'w' | b'd' | b'h' | b'm' | b's', ..] => 1,
            _ => return false,
        };
        let Some(unit) = UNITS.iter().position(|u| *u == &tail[..unit_len]) else {
            return false;
        };
        if last_unit.is_some_and(|last| unit <= last) {
            return false;
        }
        last_unit = Some(unit);
        nonzero |= value > 0;
        rest = &tail[unit_len..];
    }
    nonzero
}

/// `[host]` for IPv6 hosts, `host` otherwise.
fn bracket_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Parses `scheme://host[:port][/path]` into the normalised base URL (lowercase scheme and host, no
/// trailing `/`) and its origin. Errors never quote the URL: it may hold credentials.
fn parse_url(raw: &str) -> Result<(String, Origin), String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("the url is empty; give the base URL of the Prometheus API, e.g. http://prometheus:9090".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the url contains spaces or control characters".into());
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err("expected an absolute http(s) URL such as http://prometheus:9090".into());
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err("the scheme must be http or https".into()),
    };
    // Refuse '@' anywhere, not just in the authority: a token with '/' in it (base64) would otherwise
    // split into a bogus host and path and surface in results and logs.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if rest.contains('@') {
        return Err("credentials in the url (user:password@host) are not allowed; use basicAuth: true with \
                    basicAuthUser and secureJsonData.basicAuthPassword instead"
            .into());
    }
    if path.contains(['?', '#']) {
        return Err("the url must not have a query string or fragment; give the base URL of the Prometheus \
                    API, e.g. http://thanos:9090/prometheus"
            .into());
    }

    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return Err("unterminated IPv6 address (missing ']')".into());
        };
        let Ok(address) = address.parse::<Ipv6Addr>() else {
            return Err("the url's host is not a valid IPv6 address".into());
        };
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("unexpected characters after the IPv6 address")?,
            ),
        };
        (address.to_string(), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if port.is_some_and(|p| p.contains(':')) {
            return Err("IPv6 addresses must be in brackets, e.g. http://[::1]:9090".into());
        }
        if host.is_empty() {
            return Err("the url has no host".into());
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(
                "the url's host is not a valid host name (letters, digits, '-', '.', '_')".into(),
            );
        }
        (host.to_ascii_lowercase(), port)
    };
    let port_number = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err("the url's port is invalid; expected a number from 1 to 65535".into());
            }
        },
    };

    let host_text = bracket_host(&host);
    let path = path.trim_end_matches('/');
    let url = match port {
        Some(_) => format!("{scheme}://{host_text}:{port_number}{path}"),
        None => format!("{scheme}://{host_text}{path}"),
    };
    Ok((
        url,
        Origin {
            scheme,
            host,
            port: port_number,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/etc/test/datasources.yaml";

    const CA: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n";

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse_ok(text: &str) -> DatasourceSet {
        match parse(text, FILE, &no_env) {
            Ok(set) => set,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn parse_err(text: &str) -> DatasourceError {
        match parse(text, FILE, &no_env) {
            Ok(set) => panic!("expected an error, got {set:?}"),
            Err(e) => e,
        }
    }

    /// Asserts the error names the file and the given entry label, and mentions `needle`.
    fn assert_entry_error(err: &DatasourceError, entry: &str, needle: &str) {
        let shown = err.to_string();
        assert_eq!(err.entry.as_deref(), Some(entry), "{shown}");
        assert!(
            shown.starts_with(&format!("datasources file '{FILE}': entry {entry}: ")),
            "{shown}"
        );
        assert!(shown.contains(needle), "'{needle}' not in: {shown}");
    }

    /// One Prometheus entry with extra lines appended (indented for the entry mapping).
    fn one(extra: &str) -> String {
        format!("datasources:\n  - name: prom\n    type: prometheus\n{extra}")
    }

    fn full_example() -> String {
        let ca = CA
            .lines()
            .map(|l| format!("        {l}\n"))
            .collect::<String>();
        format!(
            r#"apiVersion: 1
deleteDatasources:
  - name: Old
    orgId: 1
datasources:
  - name: prom-main
    uid: P1809F7CD0C75ACF3
    type: prometheus
    access: proxy
    url: https://Thanos.Example.com:9091/prometheus/
    isDefault: true
    basicAuth: true
    basicAuthUser: grafana
    editable: false
    jsonData:
      httpMethod: get
      timeInterval: 30s
      httpHeaderName1: X-Api-Key
      httpHeaderName2: X-Scope-OrgID
      tlsAuthWithCACert: true
      tlsSkipVerify: false
      someUnknownSetting: 3
    secureJsonData:
      httpHeaderValue1: Bearer abc.def
      httpHeaderValue2: "12345"
      basicAuthPassword: hunter2
      tlsCACert: |
{ca}  - name: vm
    type: victoriametrics-metrics-datasource
    url: http://victoria:8428
"#
        )
    }

    #[test]
    fn full_example_with_two_datasources() {
        let set = parse_ok(&full_example());
        assert_eq!(set.names(), ["prom-main", "vm"]);
        assert!(set.skipped.is_empty());
        assert!(set.warnings.is_empty(), "{:?}", set.warnings);

        let p = &set.all()[0];
        assert_eq!(p.uid.as_deref(), Some("P1809F7CD0C75ACF3"));
        assert_eq!(p.kind, DatasourceKind::Prometheus);
        assert_eq!(p.url, "https://thanos.example.com:9091/prometheus");
        assert_eq!(
            p.origin,
            Origin {
                scheme: "https".into(),
                host: "thanos.example.com".into(),
                port: 9091
            }
        );
        assert!(p.is_default);
        assert_eq!(p.http_method, HttpMethod::Get);
        assert_eq!(p.time_interval.as_deref(), Some("30s"));
        let headers: Vec<(&str, &str)> = p
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose()))
            .collect();
        assert_eq!(
            headers,
            [("X-Api-Key", "Bearer abc.def"), ("X-Scope-OrgID", "12345")]
        );
        let basic = p.basic_auth.as_ref().unwrap();
        assert_eq!(basic.user, "grafana");
        assert_eq!(basic.password.expose(), "hunter2");
        assert!(!p.tls_skip_verify);
        assert_eq!(p.tls_ca_cert.as_deref(), Some(CA));

        let v = &set.all()[1];
        assert_eq!(v.kind, DatasourceKind::VictoriaMetrics);
        assert_eq!(v.kind.as_str(), "victoriametrics");
        assert_eq!(v.url, "http://victoria:8428");
        assert_eq!(v.origin.port, 8428);
        assert_eq!(v.http_method, HttpMethod::Post);
        assert_eq!(v.uid, None);
        assert!(v.headers.is_empty() && v.basic_auth.is_none() && v.tls_ca_cert.is_none());
        assert_eq!(
            set.default_datasource().map(|d| d.name.as_str()),
            Some("prom-main")
        );
    }

    #[test]
    fn summary_json_describes_auth_without_secrets() {
        let set = parse_ok(&full_example());
        assert_eq!(
            set.all()[0].summary_json(),
            serde_json::json!({
                "id": "prom-main",
                "uid": "P1809F7CD0C75ACF3",
                "type": "prometheus",
                "url": "https://thanos.example.com:9091/prometheus",
                "is_default": true,
                "http_method": "GET",
                "scrape_interval": "30s",
                "auth": ["basic", "headers:X-Api-Key,X-Scope-OrgID"],
                "tls": {"ca_cert": true, "skip_verify": false},
            })
        );
        assert_eq!(
            set.all()[1].summary_json(),
            serde_json::json!({
                "id": "vm",
                "type": "victoriametrics",
                "url": "http://victoria:8428",
                "is_default": false,
                "http_method": "POST",
                "auth": [],
                "tls": {"ca_cert": false, "skip_verify": false},
            })
        );
    }

    #[test]
    fn json_form_parses_like_yaml() {
        let text = r#"{
  "apiVersion": 1,
  "datasources": [
    {"name": "prom", "type": "prometheus", "url": "http://prom:9090", "isDefault": true,
     "jsonData": {"httpHeaderName1": "X-Scope-OrgID", "timeInterval": "1m"},
     "secureJsonData": {"httpHeaderValue1": "tenant-a"}},
    {"name": "vm", "type": "victoriametrics-datasource", "url": "http://vm:8428/"}
  ]
}"#;
        let set = parse_ok(text);
        assert_eq!(set.names(), ["prom", "vm"]);
        assert_eq!(set.all()[0].headers[0].1.expose(), "tenant-a");
        assert_eq!(set.all()[0].time_interval.as_deref(), Some("1m"));
        assert_eq!(set.all()[1].url, "http://vm:8428");
    }

    #[test]
    fn invalid_json_reports_a_json_error_naming_the_file() {
        let err = parse_err(r#"{"datasources": [ {"name": "prom",, } ]}"#);
        assert_eq!(err.entry, None);
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("datasources file '{FILE}': invalid JSON: ")),
            "{shown}"
        );
        assert!(shown.contains("line 1"), "{shown}");
    }

    #[test]
    fn invalid_yaml_reports_a_yaml_error_with_position() {
        let err = parse_err("datasources:\n  - name: prom\n   type: [unclosed\n");
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("datasources file '{FILE}': invalid YAML: ")),
            "{shown}"
        );
        assert!(shown.contains("line"), "{shown}");
    }

    #[test]
    fn interpolates_dollar_var_braced_var_and_escapes() {
        let text = one(concat!(
            "    url: ${PROM_URL}\n",
            "    isDefault: \"${IS_DEFAULT}\"\n",
            "    jsonData:\n",
            "      httpHeaderName1: Authorization\n",
            "      httpHeaderName2: X-Price\n",
            "    secureJsonData:\n",
            "      httpHeaderValue1: Bearer $TOKEN\n",
            "      httpHeaderValue2: \"$$5 for ${TOKEN}x, $ alone, ${bad-name}, $1\"\n",
        ));
        let env = env_of(&[
            ("PROM_URL", "http://prom:9090"),
            ("IS_DEFAULT", "true"),
            ("TOKEN", "t0k:#{}&*!"),
        ]);
        let set = parse(&text, FILE, &env).unwrap();
        let ds = &set.all()[0];
        assert_eq!(ds.url, "http://prom:9090");
        assert!(ds.is_default);
        assert_eq!(ds.headers[0].1.expose(), "Bearer t0k:#{}&*!");
        assert_eq!(
            ds.headers[1].1.expose(),
            "$5 for t0k:#{}&*!x, $ alone, ${bad-name}, $1"
        );
        assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    }

    #[test]
    fn unset_variable_becomes_empty_with_a_warning() {
        let text = one(concat!(
            "    url: http://prom:9090\n",
            "    isDefault: ${MISSING_DEFAULT}\n",
            "    jsonData:\n",
            "      httpHeaderName1: X-Scope-OrgID\n",
            "    secureJsonData:\n",
            "      httpHeaderValue1: tenant-${TENANT_SUFFIX}\n",
        ));
        let set = parse_ok(&text);
        let ds = &set.all()[0];
        assert!(!ds.is_default);
        assert_eq!(ds.headers[0].1.expose(), "tenant-");
        assert_eq!(set.warnings.len(), 2, "{:?}", set.warnings);
        assert!(
            set.warnings[0].contains("'MISSING_DEFAULT' is not set"),
            "{:?}",
            set.warnings
        );
        assert!(
            set.warnings[1].contains("'TENANT_SUFFIX' is not set"),
            "{:?}",
            set.warnings
        );
    }

    #[test]
    fn error_caused_by_unset_variable_mentions_it() {
        let err = parse_err(&one("    url: ${PROM_URL}\n"));
        assert_entry_error(&err, "1 ('prom')", "invalid 'url': the url is empty");
        assert!(
            err.problem
                .contains("unset environment variables: PROM_URL"),
            "{err}"
        );
    }

    #[test]
    fn referenced_env_vars_lists_sorted_unique_names() {
        let text = "a: $B_VAR\nb: ${A_VAR} ${B_VAR}$$NOT_A_VAR $ $1 ${bad-x}\n# $COMMENTED\n";
        assert_eq!(referenced_env_vars(text), ["A_VAR", "B_VAR", "COMMENTED"]);
        assert!(referenced_env_vars("no variables, $$ only").is_empty());
    }

    #[test]
    fn other_types_are_skipped() {
        let text = "datasources:
  - name: logs
    type: loki
    url: http://loki:3100
  - name: prom
    type: prometheus
    url: http://prom:9090
  - name: traces
    type: tempo
";
        let set = parse_ok(text);
        assert_eq!(set.names(), ["prom"]);
        assert_eq!(
            set.skipped,
            [
                Skipped {
                    name: "logs".into(),
                    kind: "loki".into()
                },
                Skipped {
                    name: "traces".into(),
                    kind: "tempo".into()
                },
            ]
        );
    }

    #[test]
    fn only_other_types_is_an_error() {
        let err =
            parse_err("datasources:\n  - name: logs\n    type: loki\n    url: http://loki:3100\n");
        assert_eq!(err.entry, None);
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!(
                "datasources file '{FILE}': no Prometheus datasources"
            )),
            "{shown}"
        );
        assert!(shown.contains("loki ('logs')"), "{shown}");
    }

    #[test]
    fn empty_list_or_file_is_an_error() {
        for text in [
            "datasources: []\n",
            "apiVersion: 1\n",
            "",
            "apiVersion: 1\ndatasources:\n",
        ] {
            let err = parse_err(text);
            assert_eq!(err.entry, None);
            assert!(
                err.to_string().starts_with(&format!(
                    "datasources file '{FILE}': no Prometheus datasources"
                )),
                "{err}"
            );
        }
        let err = parse_err("- just\n- a list\n");
        assert!(
            err.problem.contains("'datasources' list at the top level"),
            "{err}"
        );
    }

    #[test]
    fn lookup_by_name_or_uid() {
        let set = parse_ok(&full_example());
        assert_eq!(set.get("prom-main").unwrap().name, "prom-main");
        assert_eq!(set.get("P1809F7CD0C75ACF3").unwrap().name, "prom-main");
        assert_eq!(set.get("vm").unwrap().name, "vm");
        assert!(set.get("PROM-MAIN").is_none());
        assert!(set.get("nope").is_none());
    }

    #[test]
    fn name_wins_over_another_entrys_uid_with_a_warning() {
        let text = "datasources:
  - name: a
    uid: b
    type: prometheus
    url: http://a:9090
  - name: b
    type: prometheus
    url: http://b:9090
";
        let set = parse_ok(text);
        assert_eq!(set.get("b").unwrap().name, "b");
        assert_eq!(set.warnings.len(), 1);
        assert!(set.warnings[0].contains("uid 'b'"), "{:?}", set.warnings);
    }

    #[test]
    fn default_selection() {
        // Exactly one datasource: it is the default even without isDefault.
        let set = parse_ok(&one("    url: http://prom:9090\n"));
        assert_eq!(set.default_datasource().unwrap().name, "prom");

        // Several, none marked: no default.
        let two = "datasources:
  - {name: a, type: prometheus, url: 'http://a:9090'}
  - {name: b, type: prometheus, url: 'http://b:9090'}
";
        assert!(parse_ok(two).default_datasource().is_none());

        // Several, one marked (as a string, as interpolation produces).
        let marked = two.replace(
            "url: 'http://b:9090'",
            "url: 'http://b:9090', isDefault: 'True'",
        );
        assert_eq!(parse_ok(&marked).default_datasource().unwrap().name, "b");
    }

    #[test]
    fn origins_use_default_ports_and_bare_ipv6() {
        let text = "datasources:
  - {name: a, type: prometheus, url: 'HTTP://Prom.Local'}
  - {name: b, type: prometheus, url: 'https://secure.example/api/prom'}
  - {name: c, type: prometheus, url: 'http://[::1]:9090/'}
  - {name: d, type: prometheus, url: 'https://[2001:DB8:0:0:0:0:0:1]'}
  - {name: e, type: prometheus, url: 'http://10.0.0.5:9090'}
";
        let set = parse_ok(text);
        let origins: Vec<String> = set.origins().iter().map(|(o, _)| o.to_string()).collect();
        assert_eq!(
            origins,
            [
                "http://prom.local:80",
                "https://secure.example:443",
                "http://[::1]:9090",
                "https://[2001:db8::1]:443",
                "http://10.0.0.5:9090",
            ]
        );
        let c = set.get("c").unwrap();
        assert_eq!(c.origin.host, "::1");
        assert_eq!(c.url, "http://[::1]:9090");
        assert_eq!(set.get("a").unwrap().url, "http://prom.local");
        assert_eq!(set.origins()[1].1.name, "b");
    }

    #[test]
    fn missing_or_empty_name_is_an_error() {
        let err = parse_err("datasources:\n  - type: prometheus\n    url: http://p:9090\n");
        assert_entry_error(&err, "1", "missing 'name'");
        let err =
            parse_err("datasources:\n  - name: ''\n    type: prometheus\n    url: http://p:9090\n");
        assert_entry_error(&err, "1", "'name' is empty");
    }

    #[test]
    fn missing_type_is_an_error() {
        let err = parse_err("datasources:\n  - name: prom\n    url: http://p:9090\n");
        assert_entry_error(&err, "1 ('prom')", "missing 'type'");
    }

    #[test]
    fn missing_url_is_an_error() {
        let err = parse_err(&one(""));
        assert_entry_error(&err, "1 ('prom')", "missing 'url'");
    }

    #[test]
    fn bad_urls_are_errors() {
        let cases = [
            ("ftp://prom:9090", "scheme must be http or https"),
            ("prom:9090", "absolute http(s) URL"),
            ("http://", "no host"),
            ("http:///api", "no host"),
            ("http://:9090", "no host"),
            ("http://prom:99999", "port is invalid"),
            ("http://prom:abc", "port is invalid"),
            ("http://prom:0", "port is invalid"),
            ("http://prom:", "port is invalid"),
            ("http://[::1", "unterminated IPv6"),
            ("http://[not-ipv6]:80", "not a valid IPv6 address"),
            ("http://::1:9090", "must be in brackets"),
            ("http://prom:9090/api?x=1", "query string"),
            ("http://prom:9090#top", "fragment"),
            ("http://pr om:9090", "spaces"),
            ("http://prom%41:9090", "not a valid host name"),
            ("http://admin:pw@prom:9090", "use basicAuth"),
        ];
        for (url, needle) in cases {
            let err = parse_err(&one(&format!("    url: '{url}'\n")));
            assert_entry_error(&err, "1 ('prom')", needle);
        }
    }

    #[test]
    fn duplicate_names_and_uids_are_errors() {
        let text = "datasources:
  - {name: a, uid: u1, type: prometheus, url: 'http://a:9090'}
  - {name: logs, type: loki, url: 'http://l:3100'}
  - {name: a, type: prometheus, url: 'http://b:9090'}
";
        let err = parse_err(text);
        assert_entry_error(
            &err,
            "3 ('a')",
            "duplicate name 'a': entry 1 ('a') already uses it",
        );

        let text = "datasources:
  - {name: a, uid: u1, type: prometheus, url: 'http://a:9090'}
  - {name: b, uid: u1, type: prometheus, url: 'http://b:9090'}
";
        let err = parse_err(text);
        assert_entry_error(
            &err,
            "2 ('b')",
            "duplicate uid 'u1': entry 1 ('a') already uses it",
        );
    }

    #[test]
    fn more_than_one_default_is_an_error() {
        let text = "datasources:
  - {name: a, type: prometheus, url: 'http://a:9090', isDefault: true}
  - {name: b, type: prometheus, url: 'http://b:9090', isDefault: true}
";
        let err = parse_err(text);
        assert_entry_error(&err, "2 ('b')", "entry 1 ('a') is already the default");
    }

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
    fn basic_auth_without_user_is_an_error() {
        let err = parse_err(&one("    url: http://p:9090\n    basicAuth: true\n"));
        assert_entry_error(
            &err,
            "1 ('prom')",
            "basicAuth is true but 'basicAuthUser' is missing",
        );
        // Without basicAuth, the user is ignored.
        let set = parse_ok(&one("    url: http://p:9090\n    basicAuthUser: u\n"));
        assert!(set.all()[0].basic_auth.is_none());
    }

    #[test]
    fn basic_auth_without_password_warns() {
        let set = parse_ok(&one(
            "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n",
        ));
        assert_eq!(
            set.all()[0].basic_auth.as_ref().unwrap().password.expose(),
            ""
        );
        assert!(
            set.warnings[0].starts_with("entry 1 ('prom'): "),
            "{:?}",
            set.warnings
        );
        assert!(
            set.warnings[0].contains("empty password"),
            "{:?}",
            set.warnings
        );
    }

    #[test]
    fn legacy_top_level_basic_auth_password_is_used_with_a_warning() {
        let set = parse_ok(&one(
            "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n    basicAuthPassword: \"123456\"\n",
        ));
        assert_eq!(
            set.all()[0].basic_auth.as_ref().unwrap().password.expose(),
            "123456"
        );
        assert!(set.warnings[0].contains("deprecated"), "{:?}", set.warnings);
    }

    #[test]
    fn ca_cert_problems_are_errors() {
        let err = parse_err(&one(
            "    url: https://p:9090\n    jsonData:\n      tlsAuthWithCACert: true\n",
        ));
        assert_entry_error(&err, "1 ('prom')", "secureJsonData.tlsCACert is missing");
        let err = parse_err(&one(concat!(
            "    url: https://p:9090\n",
            "    jsonData: {tlsAuthWithCACert: true}\n",
            "    secureJsonData: {tlsCACert: not a certificate}\n",
        )));
        assert_entry_error(&err, "1 ('prom')", "-----BEGIN CERTIFICATE-----");
    }

    #[test]
    fn ca_without_flag_is_ignored_with_a_warning() {
        let text = one(&format!(
            "    url: https://p:9090\n    jsonData: {{tlsSkipVerify: 'true'}}\n    secureJsonData: {{tlsCACert: {CA:?}}}\n"
        ));
        let set = parse_ok(&text);
        assert!(set.all()[0].tls_ca_cert.is_none());
        assert!(set.all()[0].tls_skip_verify);
        assert!(
            set.warnings
                .iter()
                .any(|w| w.contains("tlsCACert is ignored")),
            "{:?}",
            set.warnings
        );
    }

    #[test]
    fn invalid_time_interval_is_an_error() {
        for bad in ["15", "1m1h", "abc", "0s", "1.5s", "-1m"] {
            let err = parse_err(&one(&format!(
                "    url: http://p:9090\n    jsonData: {{timeInterval: '{bad}'}}\n"
            )));
            assert_entry_error(&err, "1 ('prom')", "jsonData.timeInterval");
        }
        for good in [
            "15s",
            "1m",
            "1h30m",
            "500ms",
            "1d",
            "2w",
            "1y",
            "1m30s500ms",
        ] {
            assert!(is_prometheus_duration(good), "{good}");
        }
    }

    #[test]
    fn invalid_http_method_is_an_error() {
        let err = parse_err(&one(
            "    url: http://p:9090\n    jsonData: {httpMethod: PUT}\n",
        ));
        assert_entry_error(
            &err,
            "1 ('prom')",
            "jsonData.httpMethod must be GET or POST, not 'PUT'",
        );
    }

    #[test]
    fn wrong_field_types_are_errors() {
        let err = parse_err(&one("    url: http://p:9090\n    isDefault: maybe\n"));
        assert_entry_error(&err, "1 ('prom')", "'isDefault' must be true or false");
        let err = parse_err(&one("    url: [http://p:9090]\n"));
        assert_entry_error(&err, "1 ('prom')", "'url' must be a string, not a list");
        let err = parse_err(&one("    url: http://p:9090\n    jsonData: 3\n"));
        assert_entry_error(&err, "1 ('prom')", "'jsonData' must be a mapping");
        let err = parse_err("datasources:\n  - just a string\n");
        assert_entry_error(&err, "1", "must be a mapping");
    }

    #[test]
    fn load_reports_unreadable_file() {
        let err = load("/nonexistent/proms-mcp/datasources.yaml", &|_| None).unwrap_err();
        assert_eq!(err.file, "/nonexistent/proms-mcp/datasources.yaml");
        assert_eq!(err.entry, None);
        assert!(err.problem.contains("cannot read the file"), "{err}");
        assert!(err.problem.contains(PATH_ENV), "{err}");
    }

    #[test]
    fn secrets_never_appear_in_debug_errors_summaries_or_warnings() {
        const SECRETS: [&str; 4] = [
            "HDR-SECRET-xyzzy",
            "PASS-SECRET-plugh",
            "ENV-SECRET-frobozz",
            "URL-SECRET-zork",
        ];
        let assert_clean = |what: &str, text: &str| {
            for s in SECRETS {
                assert!(!text.contains(s), "{what} leaks {s}: {text}");
            }
        };
        let env = env_of(&[("TOKEN", "ENV-SECRET-frobozz")]);

        let good = one(concat!(
            "    url: https://p:9090\n",
            "    basicAuth: true\n",
            "    basicAuthUser: u\n",
            "    jsonData: {httpHeaderName1: X-Api-Key, httpHeaderName2: X-Env}\n",
            "    secureJsonData:\n",
            "      httpHeaderValue1: Bearer HDR-SECRET-xyzzy\n",
            "      httpHeaderValue2: $TOKEN $UNSET_ONE\n",
            "      basicAuthPassword: PASS-SECRET-plugh\n",
        ));
        let set = parse(&good, FILE, &env).unwrap();
        let ds = &set.all()[0];
        assert_eq!(ds.headers[0].1.expose(), "Bearer HDR-SECRET-xyzzy");
        assert_eq!(ds.headers[1].1.expose(), "ENV-SECRET-frobozz ");
        assert_eq!(
            ds.basic_auth.as_ref().unwrap().password.expose(),
            "PASS-SECRET-plugh"
        );
        assert_clean("Debug", &format!("{set:?}"));
        assert_clean("Debug (pretty)", &format!("{set:#?}"));
        assert_clean("Display", &ds.headers[0].1.to_string());
        assert_clean("summary", &ds.summary_json().to_string());
        assert!(!set.warnings.is_empty());
        assert_clean("warnings", &set.warnings.join("\n"));

        let failing = [
            // Credentials in the URL.
            one("    url: http://admin:URL-SECRET-zork@p:9090\n"),
            one("    url: http://${TOKEN}@p:9090\n"),
            // Header value with a line break, and a value without a name.
            one(
                "    url: http://p:9090\n    jsonData: {httpHeaderName1: A}\n    secureJsonData: {httpHeaderValue1: \"HDR-SECRET-xyzzy\\nX: y\"}\n",
            ),
            one("    url: http://p:9090\n    secureJsonData: {httpHeaderValue1: HDR-SECRET-xyzzy}\n"),
            // Basic auth problems next to a password.
            one(
                "    url: http://p:9090\n    basicAuth: true\n    secureJsonData: {basicAuthPassword: PASS-SECRET-plugh}\n",
            ),
            one(
                "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n    secureJsonData: {basicAuthPassword: [PASS-SECRET-plugh]}\n",
            ),
            // A CA that is not a certificate (say, a pasted secret).
            one(
                "    url: https://p:9090\n    jsonData: {tlsAuthWithCACert: true}\n    secureJsonData: {tlsCACert: PASS-SECRET-plugh}\n",
            ),
            // Syntax errors on lines holding secrets.
            "datasources:\n  - name: p\n    secureJsonData: {basicAuthPassword: PASS-SECRET-plugh\n".to_string(),
            "datasources:\n  - password: 'PASS-SECRET-plugh\n".to_string(),
            "{\"datasources\": [{\"password\": \"PASS-SECRET-plugh\" \"x\": 1}]}".to_string(),
        ];
        for text in &failing {
            let err = parse(text, FILE, &env).unwrap_err();
            assert_clean("error Display", &err.to_string());
            assert_clean("error Debug", &format!("{err:?}"));
        }
    }

    #[test]
    fn at_signs_anywhere_in_the_url_are_refused_without_quoting_it() {
        for url in [
            "http://u:abc/def@prom:9090",
            "https://tokA1b2/rest@prom.example",
            "http://prom:9090/x@y",
        ] {
            let err = parse_err(&one(&format!("    url: {url}\n")));
            assert_entry_error(&err, "1 ('prom')", "credentials in the url");
            assert!(
                !err.to_string().contains("abc") && !err.to_string().contains("tokA1b2"),
                "{err}"
            );
        }
        let err = parse_err(&one("    url: http://prom:s3cretport\n"));
        assert!(!err.to_string().contains("s3cretport"), "{err}");
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

    #[test]
    fn unquoted_secrets_are_refused_because_yaml_would_change_them() {
        let err = parse_err(&one(
            "    url: http://p:9090\n    jsonData:\n      httpHeaderName1: X-Scope-OrgID\n    secureJsonData:\n      httpHeaderValue1: 0x1F\n",
        ));
        assert_entry_error(&err, "1 ('prom')", "must be a quoted string");
        let err = parse_err(&one(
            "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n    secureJsonData:\n      basicAuthPassword: 1.50\n",
        ));
        assert_entry_error(&err, "1 ('prom')", "must be a quoted string");
        let ok = parse_ok(&one(
            "    url: http://p:9090\n    jsonData:\n      httpHeaderName1: X-Scope-OrgID\n    secureJsonData:\n      httpHeaderValue1: \"0x1F\"\n",
        ));
        assert_eq!(ok.all()[0].headers[0].1.expose(), "0x1F");
    }
}
