//! The bearer-authentication decision, written once for every placement of the MCP front.
//!
//! What lives here: who a [`Caller`] is, reading `Authorization: Bearer …`, the Kubernetes
//! `TokenReview` and OpenShift `users/~` wire formats, self-validation ([`SelfReview`]: `TokenReview`
//! first, `users/~` when that is forbidden, over any [`ApiClient`]), how each answer maps to a
//! [`Caller`] or an [`AuthFailure`] (and that to an HTTP status, `WWW-Authenticate` header and body),
//! RFC 9728 protected-resource metadata, [`ReviewCache`], which remembers reviews by a hash of the
//! token and lets concurrent requests with the same new token share one review, and [`BearerAuth`],
//! all of that for one endpoint. What does not: the HTTP client that reaches the API server (each
//! placement implements [`ApiClient`] with its own client, TLS settings and deadline) and the token
//! itself, which is never logged, stored in clear or forwarded anywhere but to that API server.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::http::{HttpRequest, HttpResponse, Method};

/// Who is calling, as authentication established it (mirrors the WIT `caller` record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User name.
    pub username: String,
    /// User uid, empty when unknown.
    pub uid: String,
    /// Groups.
    pub groups: Vec<String>,
}

impl Caller {
    /// Everyone, when authentication is off (`AUTH_MODE=none`).
    pub fn anonymous() -> Caller {
        Caller {
            username: "anonymous".into(),
            uid: String::new(),
            groups: Vec::new(),
        }
    }
}

/// Every variable [`AuthSettings::from_env`] reads.
pub const AUTH_ENV: &[&str] = &[
    "AUTH_MODE",
    "OPENSHIFT_API_URL",
    "OPENSHIFT_CA_CERT_PATH",
    "AUTH_AUDIENCES",
    "AUTH_TIMEOUT",
    "AUTH_CACHE_TTL",
    "AUTH_CACHE_FAILURE_TTL",
    "AUTH_CACHE_MAX_ENTRIES",
    "AUTH_AUTHORIZATION_SERVERS",
    "AUTH_CACHE_STORE",
    "PUBLIC_URL",
];

/// Path of the `TokenReview` API (`authentication.k8s.io/v1`).
pub const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
/// Path of OpenShift's "who am I" API, used when `TokenReview` is forbidden to the user.
pub const OPENSHIFT_USER_PATH: &str = "/apis/user.openshift.io/v1/users/~";
/// Path of the RFC 9728 metadata; `/mcp` is appended for the MCP endpoint's own document.
pub const PROTECTED_RESOURCE_PATH: &str = "/.well-known/oauth-protected-resource";

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// Occurs when there is no `Authorization` header.
    MissingToken,
    /// Occurs when the header is not `Bearer <token>`.
    Malformed,
    /// Occurs when the API server says the token is not valid (unknown, expired, wrong audience).
    Rejected(String),
    /// Occurs when the API server cannot be asked (unreachable, timed out, failing): nothing is granted.
    Unavailable(String),
}

impl AuthFailure {
    /// HTTP status: 401, or 503 when the decision could not be made.
    pub fn status(&self) -> u16 {
        match self {
            AuthFailure::Unavailable(_) => 503,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` value for a 401 (RFC 6750 with RFC 9728's `resource_metadata`).
    pub fn www_authenticate(&self, resource_metadata_url: &str) -> Option<String> {
        let error = match self {
            AuthFailure::Unavailable(_) => return None,
            AuthFailure::MissingToken => String::new(),
            AuthFailure::Malformed => r#", error="invalid_request""#.to_string(),
            AuthFailure::Rejected(_) => r#", error="invalid_token""#.to_string(),
        };
        Some(format!(
            r#"Bearer resource_metadata="{resource_metadata_url}"{error}"#
        ))
    }

    /// What the client is told: a JSON body that says what to do.
    pub fn body(&self) -> String {
        let message = match self {
            AuthFailure::MissingToken => {
                "authentication required: send 'Authorization: Bearer <token>' with a Kubernetes/OpenShift token (e.g. `oc whoami -t`)".to_string()
            }
            AuthFailure::Malformed => {
                "the Authorization header must be 'Bearer <token>'".to_string()
            }
            AuthFailure::Rejected(reason) => format!("invalid or expired token: {reason}"),
            AuthFailure::Unavailable(reason) => format!(
                "cannot validate the token right now ({reason}); nothing was granted, try again"
            ),
        };
        json!({"error": message}).to_string()
    }

    /// A short label for metrics and logs.
    pub fn outcome(&self) -> &'static str {
        match self {
            AuthFailure::MissingToken => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Rejected(_) => "rejected",
            AuthFailure::Unavailable(_) => "unavailable",
        }
    }
}

/// The token from an `Authorization` header value (`Bearer` is case-insensitive, RFC 7235).
pub fn bearer_token(header: Option<&[u8]>) -> Result<&str, AuthFailure> {
    let header = header.ok_or(AuthFailure::MissingToken)?;
    let header = std::str::from_utf8(header).map_err(|_| AuthFailure::Malformed)?;
    let (scheme, token) = header
        .trim()
        .split_once(' ')
        .ok_or(AuthFailure::Malformed)?;
    let token = token.trim();
    // RFC 6750 b64token characters only, so nothing odd reaches the API server.
    let valid = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    if !scheme.eq_ignore_ascii_case("bearer") || !valid {
        return Err(AuthFailure::Malformed);
    }
    Ok(token)
}

/// The `TokenReview` request body for `token`, with optional audiences.
pub fn token_review_request(token: &str, audiences: &[String]) -> String {
    let mut spec = json!({ "token": token });
    if !audiences.is_empty() {
        spec["audiences"] = json!(audiences);
    }
    json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": spec,
    })
    .to_string()
}

/// What one API answer says about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewAnswer {
    /// The token is valid for this user.
    Authenticated(Caller),
    /// The token is not valid; the reason is safe to show (it never contains the token).
    Rejected(String),
    /// The API refused to review (HTTP 403: e.g. `TokenReview` is not allowed to plain users on
    /// OpenShift); the caller may try OpenShift's `users/~`.
    Forbidden,
    /// The API failed (5xx, garbage, unreachable): no decision.
    Failed(String),
}

/// Reads a `TokenReview` answer; with `audiences`, `status.audiences` must contain one of them.
pub fn read_token_review(status: u16, body: &[u8], audiences: &[String]) -> ReviewAnswer {
    match status {
        200 | 201 => {}
        401 => return ReviewAnswer::Rejected("the API server did not accept the token".into()),
        403 => return ReviewAnswer::Forbidden,
        s => return ReviewAnswer::Failed(format!("TokenReview answered HTTP {s}")),
    }
    let Ok(review) = serde_json::from_slice::<Value>(body) else {
        return ReviewAnswer::Failed("TokenReview answer is not JSON".into());
    };
    let status = &review["status"];
    if status["authenticated"] != true {
        let reason = status["error"]
            .as_str()
            .filter(|e| !e.is_empty())
            .unwrap_or("the token is not valid");
        return ReviewAnswer::Rejected(reason.chars().take(200).collect());
    }
    if !audiences.is_empty() {
        let granted: Vec<&str> = status["audiences"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !audiences.iter().any(|a| granted.contains(&a.as_str())) {
            return ReviewAnswer::Rejected(format!(
                "the token is not for this audience (expected one of: {})",
                audiences.join(", ")
            ));
        }
    }
    let user = &status["user"];
    caller_from(
        user["username"].as_str(),
        user["uid"].as_str(),
        &user["groups"],
    )
}

/// Reads OpenShift's `GET users/~` answer (a `User` object).
pub fn read_openshift_user(status: u16, body: &[u8]) -> ReviewAnswer {
    match status {
        200 => {}
        401 | 403 => {
            return ReviewAnswer::Rejected("the API server did not accept the token".into());
        }
        s => return ReviewAnswer::Failed(format!("users/~ answered HTTP {s}")),
    }
    let Ok(user) = serde_json::from_slice::<Value>(body) else {
        return ReviewAnswer::Failed("users/~ answer is not JSON".into());
    };
    caller_from(
        user["metadata"]["name"].as_str(),
        user["metadata"]["uid"].as_str(),
        &user["groups"],
    )
}

fn caller_from(username: Option<&str>, uid: Option<&str>, groups: &Value) -> ReviewAnswer {
    let Some(username) = username.filter(|u| !u.is_empty()) else {
        return ReviewAnswer::Failed("the API server's answer names no user".into());
    };
    ReviewAnswer::Authenticated(Caller {
        username: username.to_string(),
        uid: uid.unwrap_or_default().to_string(),
        groups: groups
            .as_array()
            .map(|g| {
                g.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// What decides about a token: [`SelfReview`] asks the API server, [`StoredReviews`] remembers its
/// answers in a store shared between requests.
pub trait TokenReviewer: Send + Sync + 'static {
    /// Reviews `token`. A transport failure or timeout is [`ReviewAnswer::Failed`].
    fn review(&self, token: &str) -> impl Future<Output = ReviewAnswer> + Send;
}

/// The two APIs a review may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewApi {
    /// `POST` [`TOKEN_REVIEW_PATH`].
    TokenReview,
    /// `GET` [`OPENSHIFT_USER_PATH`], when `TokenReview` is forbidden to the caller.
    OpenShiftUser,
}

impl ReviewApi {
    /// The API's path on the API server.
    pub fn path(self) -> &'static str {
        match self {
            ReviewApi::TokenReview => TOKEN_REVIEW_PATH,
            ReviewApi::OpenShiftUser => OPENSHIFT_USER_PATH,
        }
    }

    /// A short label for metrics: `tokenreview`, `openshift_user`.
    pub fn label(self) -> &'static str {
        match self {
            ReviewApi::TokenReview => "tokenreview",
            ReviewApi::OpenShiftUser => "openshift_user",
        }
    }
}

/// How a placement reaches the API server: its HTTP client, TLS settings and deadline.
pub trait ApiClient: Send + Sync + 'static {
    /// Sends `request` (absolute URL, the caller's token in `Authorization`, the deadline in
    /// `timeout`) and reads the whole answer; when none came, why, in words safe to show a client.
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, String>> + Send;

    /// Sees what each API call answered (the native host counts them); does nothing by default.
    fn answered(&self, _api: ReviewApi, _answer: &ReviewAnswer) {}
}

/// Self-validation: asks the API server about a token with that same token, so no special RBAC is
/// needed. `TokenReview` first; when the API forbids it (HTTP 403: plain users on OpenShift may
/// not create `TokenReview`s), OpenShift's `users/~`, which anyone may ask about themselves.
pub struct SelfReview<C> {
    client: C,
    api_url: String,
    audiences: Vec<String>,
    timeout: Duration,
}

impl<C: ApiClient> SelfReview<C> {
    /// Reviews against the API server at `api_url` through `client`, asking for one of `audiences`
    /// (none: any), each call within `timeout`.
    pub fn new(client: C, api_url: &str, audiences: Vec<String>, timeout: Duration) -> Self {
        SelfReview {
            client,
            api_url: api_url.trim_end_matches('/').to_string(),
            audiences,
            timeout,
        }
    }

    /// The placement's client.
    pub fn client(&self) -> &C {
        &self.client
    }

    async fn ask(&self, api: ReviewApi, token: &str) -> ReviewAnswer {
        let mut headers = vec![
            ("Authorization".to_string(), format!("Bearer {token}")),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        let (method, body) = match api {
            ReviewApi::TokenReview => {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                let body = token_review_request(token, &self.audiences);
                (Method::Post, Some(body.into_bytes()))
            }
            ReviewApi::OpenShiftUser => (Method::Get, None),
        };
        let request = HttpRequest {
            method,
            url: format!("{}{}", self.api_url, api.path()),
            headers,
            body,
            timeout: self.timeout,
        };
        let answer = match self.client.send(request).await {
            Ok(response) => match api {
                ReviewApi::TokenReview => {
                    read_token_review(response.status, &response.body, &self.audiences)
                }
                ReviewApi::OpenShiftUser => read_openshift_user(response.status, &response.body),
            },
            Err(reason) => ReviewAnswer::Failed(reason),
        };
        self.client.answered(api, &answer);
        answer
    }
}

impl<C: ApiClient> TokenReviewer for SelfReview<C> {
    async fn review(&self, token: &str) -> ReviewAnswer {
        match self.ask(ReviewApi::TokenReview, token).await {
            ReviewAnswer::Forbidden => self.ask(ReviewApi::OpenShiftUser, token).await,
            answer => answer,
        }
    }
}

/// Limits of [`ReviewCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// How long a successful review is trusted.
    pub ttl: Duration,
    /// How long a rejection is remembered (short: a token may become valid, and an attacker must
    /// not be able to fill the cache for long).
    pub failure_ttl: Duration,
    /// Most tokens remembered; the oldest entries go first when full.
    pub max_entries: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            ttl: Duration::from_secs(60),
            failure_ttl: Duration::from_secs(5),
            max_entries: 10_000,
        }
    }
}

type TokenHash = [u8; 32];
type Outcome = Result<Caller, AuthFailure>;

/// Review results by token hash, bounded in time and size; one review per token at a time.
pub struct ReviewCache<R> {
    reviewer: R,
    limits: CacheLimits,
    entries: Mutex<HashMap<TokenHash, (Instant, Outcome)>>,
    in_flight: Mutex<HashMap<TokenHash, Arc<OnceCell<Outcome>>>>,
}

impl<R: TokenReviewer> ReviewCache<R> {
    /// A cache in front of `reviewer`.
    pub fn new(reviewer: R, limits: CacheLimits) -> Self {
        ReviewCache {
            reviewer,
            limits,
            entries: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Authenticates an `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&[u8]>) -> Outcome {
        let token = bearer_token(header)?;
        let key: TokenHash = Sha256::digest(token.as_bytes()).into();
        if let Some(outcome) = self.cached(&key) {
            return outcome;
        }
        let cell = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            in_flight.entry(key).or_default().clone()
        };
        let outcome = cell
            .get_or_init(|| async {
                let outcome = match self.reviewer.review(token).await {
                    ReviewAnswer::Authenticated(caller) => Ok(caller),
                    ReviewAnswer::Rejected(reason) => Err(AuthFailure::Rejected(reason)),
                    ReviewAnswer::Forbidden => Err(AuthFailure::Rejected(
                        "the API server refused to review the token".into(),
                    )),
                    ReviewAnswer::Failed(reason) => Err(AuthFailure::Unavailable(reason)),
                };
                self.remember(key, &outcome);
                outcome
            })
            .await
            .clone();
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        outcome
    }

    fn cached(&self, key: &TokenHash) -> Option<Outcome> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, outcome) = entries.get(key)?;
        let ttl = if outcome.is_ok() {
            self.limits.ttl
        } else {
            self.limits.failure_ttl
        };
        (at.elapsed() < ttl).then(|| outcome.clone())
    }

    fn remember(&self, key: TokenHash, outcome: &Outcome) {
        // An unavailable API server decides nothing: never cache that.
        if matches!(outcome, Err(AuthFailure::Unavailable(_))) {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.limits.max_entries {
            let ttl = self.limits.ttl.max(self.limits.failure_ttl);
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            while entries.len() >= self.limits.max_entries {
                let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| *k)
                else {
                    break;
                };
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (Instant::now(), outcome.clone()));
    }
}

/// A key-value store shared by every instance of the component (Spin's `wasi:keyvalue`), so that a
/// review outlives the request that made it. Errors are the store's business: a failed read is a
/// miss and a failed write is dropped, because the cache must never decide or deny anything.
pub trait SharedStore: Send + Sync + 'static {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: &[u8]);
    /// Removes `key`.
    fn delete(&self, key: &str);
    /// One page of keys and the cursor of the next page (`None`: last page).
    fn list_keys(&self, cursor: Option<String>) -> Option<(Vec<String>, Option<String>)>;
}

/// Prefix of every key [`StoredReviews`] writes; the rest is the hex SHA-256 of the token.
pub const STORED_REVIEW_PREFIX: &str = "proms-mcp/token-review/";

/// At most this many keys are examined by one sweep of expired reviews (Spin answers `list-keys`
/// with every key in one page, so the bound is on keys, not pages).
const SWEEP_KEYS: usize = 256;

/// [`TokenReviewer`] that remembers successful reviews in a [`SharedStore`] for the cache TTL, in
/// front of the reviewer that asks the API server. Only successes are stored: a rejection is cheap
/// to repeat, and storing them would let anyone with a made-up token grow the shared store. Entries
/// carry their expiry; every 64th write (by token hash) also sweeps expired entries, so tokens that
/// are never seen again (rotated service-account tokens) do not pile up.
pub struct StoredReviews<R, S> {
    reviewer: R,
    store: Option<S>,
    ttl: Duration,
}

impl<R: TokenReviewer, S: SharedStore> StoredReviews<R, S> {
    /// `reviewer` behind `store` (`None`: no store granted, every review goes to the API server).
    pub fn new(reviewer: R, store: Option<S>, ttl: Duration) -> Self {
        StoredReviews {
            reviewer,
            store,
            ttl,
        }
    }

    async fn review_or_recall(&self, token: &str) -> ReviewAnswer {
        let Some(store) = self.store.as_ref().filter(|_| !self.ttl.is_zero()) else {
            return self.reviewer.review(token).await;
        };
        let hash: TokenHash = Sha256::digest(token.as_bytes()).into();
        let key = stored_review_key(&hash);
        let now = crate::timespec::now_unix();
        if let Some(caller) = store.get(&key).and_then(|v| decode_stored_review(&v, now)) {
            return ReviewAnswer::Authenticated(caller);
        }
        let answer = self.reviewer.review(token).await;
        if let ReviewAnswer::Authenticated(caller) = &answer {
            store.set(
                &key,
                &encode_stored_review(caller, now + self.ttl.as_secs_f64()),
            );
            if hash[0] < 4 {
                sweep_expired(store, now);
            }
        }
        answer
    }
}

impl<R: TokenReviewer, S: SharedStore> TokenReviewer for StoredReviews<R, S> {
    fn review(&self, token: &str) -> impl Future<Output = ReviewAnswer> + Send {
        self.review_or_recall(token)
    }
}

fn stored_review_key(hash: &TokenHash) -> String {
    let mut key = String::with_capacity(STORED_REVIEW_PREFIX.len() + 64);
    key.push_str(STORED_REVIEW_PREFIX);
    for b in hash {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// The stored form of a successful review: who, and until when (Unix seconds).
pub fn encode_stored_review(caller: &Caller, expires_unix: f64) -> Vec<u8> {
    json!({
        "expires": expires_unix,
        "username": caller.username,
        "uid": caller.uid,
        "groups": caller.groups,
    })
    .to_string()
    .into_bytes()
}

/// The caller of a stored review that has not expired at `now_unix`; `None` for anything else,
/// including entries another version wrote in another shape.
pub fn decode_stored_review(bytes: &[u8], now_unix: f64) -> Option<Caller> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    if v.get("expires")?.as_f64()? <= now_unix {
        return None;
    }
    let groups = v
        .get("groups")?
        .as_array()?
        .iter()
        .map(|g| g.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    Some(Caller {
        username: v.get("username")?.as_str()?.to_string(),
        uid: v.get("uid")?.as_str()?.to_string(),
        groups,
    })
}

/// Deletes expired reviews among the first [`SWEEP_KEYS`] keys.
fn sweep_expired(store: &impl SharedStore, now: f64) {
    let mut cursor = None;
    let mut seen = 0;
    while seen < SWEEP_KEYS {
        let Some((keys, next)) = store.list_keys(cursor.take()) else {
            return;
        };
        let budget = SWEEP_KEYS - seen;
        seen += keys.len().clamp(1, budget);
        for key in keys
            .iter()
            .take(budget)
            .filter(|k| k.starts_with(STORED_REVIEW_PREFIX))
        {
            let live = store
                .get(key)
                .is_some_and(|v| decode_stored_review(&v, now).is_some());
            if !live {
                store.delete(key);
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return,
        }
    }
}

/// Settings of `AUTH_MODE=active`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSettings {
    /// `OPENSHIFT_API_URL` (default `https://kubernetes.default.svc`).
    pub api_url: String,
    /// `OPENSHIFT_CA_CERT_PATH`; default the service-account CA when present, else the system roots.
    /// (Only the native host can honour it; inside a component TLS is the runtime's.)
    pub ca_path: Option<std::path::PathBuf>,
    /// `AUTH_AUDIENCES`, comma-separated; the review must grant one of them.
    pub audiences: Vec<String>,
    /// `AUTH_TIMEOUT` (default 5s): a slow API server delays only the requests waiting for it.
    pub timeout: std::time::Duration,
    /// `AUTH_CACHE_TTL` (60s), `AUTH_CACHE_FAILURE_TTL` (5s), `AUTH_CACHE_MAX_ENTRIES` (10000).
    pub cache: CacheLimits,
    /// `AUTH_AUTHORIZATION_SERVERS`: issuers listed in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// `AUTH_CACHE_STORE` (default `default`; `none` turns it off): the key-value store in which
    /// the `server` component remembers reviews across requests. The native host keeps its cache
    /// in memory and ignores it.
    pub cache_store: Option<String>,
    /// `PUBLIC_URL`: this server's external base URL (for `resource` and `resource_metadata`);
    /// default: `http://<Host header>`.
    pub public_url: Option<String>,
}

/// The in-cluster service-account CA.
const SERVICE_ACCOUNT_CA: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

fn duration(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
) -> Result<std::time::Duration, String> {
    match env(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(std::time::Duration::from_secs(default)),
        Some(v) => crate::timespec::parse_duration(&v)
            .map(std::time::Duration::from_secs_f64)
            .map_err(|e| format!("{name}: {e}")),
    }
}

fn list(env: &impl Fn(&str) -> Option<String>, name: &str) -> Vec<String> {
    env(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl AuthSettings {
    /// Reads `AUTH_MODE` and the settings of active mode; `None` when `AUTH_MODE=none`. Errors name
    /// the variable and the expected form.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Option<AuthSettings>, String> {
        match env("AUTH_MODE").as_deref().map(str::trim) {
            Some("none") => return Ok(None),
            None | Some("active") => {}
            Some(other) => return Err(format!("AUTH_MODE: '{other}' is not one of: active, none")),
        }
        let api_url = env("OPENSHIFT_API_URL")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "https://kubernetes.default.svc".into());
        if !api_url.starts_with("https://") && !api_url.starts_with("http://") {
            return Err(format!(
                "OPENSHIFT_API_URL: '{api_url}' is not an http(s) URL"
            ));
        }
        let ca_path = env("OPENSHIFT_CA_CERT_PATH")
            .filter(|v| !v.trim().is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| Some(std::path::PathBuf::from(SERVICE_ACCOUNT_CA)).filter(|p| p.exists()));
        let max_entries = match env("AUTH_CACHE_MAX_ENTRIES") {
            None => 10_000,
            Some(v) => v.trim().parse().map_err(|_| {
                format!("AUTH_CACHE_MAX_ENTRIES: '{v}' is not a number (expected e.g. 10000)")
            })?,
        };
        Ok(Some(AuthSettings {
            api_url,
            ca_path,
            audiences: list(env, "AUTH_AUDIENCES"),
            timeout: duration(env, "AUTH_TIMEOUT", 5)?,
            cache: CacheLimits {
                ttl: duration(env, "AUTH_CACHE_TTL", 60)?,
                failure_ttl: duration(env, "AUTH_CACHE_FAILURE_TTL", 5)?,
                max_entries,
            },
            authorization_servers: list(env, "AUTH_AUTHORIZATION_SERVERS"),
            cache_store: match env("AUTH_CACHE_STORE").as_deref().map(str::trim) {
                None | Some("") => Some("default".to_string()),
                Some("none") => None,
                Some(name) => Some(name.to_string()),
            },
            public_url: env("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
        }))
    }
}

/// This server's external base URL: `public_url` (`PUBLIC_URL`) when set, else `<scheme>://<Host>`.
pub fn base_url(public_url: Option<&str>, headers: &http::HeaderMap, scheme: &str) -> String {
    if let Some(url) = public_url {
        return url.to_string();
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// The answer to a refused request: 401 with a `WWW-Authenticate` challenge pointing at the
/// metadata under `base_url`, or 503; a JSON body that says what to do.
pub fn refusal(failure: &AuthFailure, base_url: &str) -> http::Response<String> {
    let mut response = http::Response::builder()
        .status(failure.status())
        .header(http::header::CONTENT_TYPE, "application/json");
    let metadata = format!("{base_url}{PROTECTED_RESOURCE_PATH}/mcp");
    if let Some(challenge) = failure.www_authenticate(&metadata)
        && let Ok(value) = http::HeaderValue::from_str(&challenge)
    {
        response = response.header(http::header::WWW_AUTHENTICATE, value);
    }
    response
        .body(failure.body())
        .expect("valid status and headers")
}

/// RFC 9728 protected-resource metadata for the MCP endpoint at `resource` (its absolute URL).
pub fn protected_resource_metadata(resource: &str, authorization_servers: &[String]) -> String {
    let mut doc = json!({
        "resource": resource,
        "bearer_methods_supported": ["header"],
        "resource_name": "proms-mcp",
    });
    if !authorization_servers.is_empty() {
        doc["authorization_servers"] = json!(authorization_servers);
    }
    doc.to_string()
}

/// Bearer authentication of one MCP endpoint (`AUTH_MODE=active`): the review cache in front of
/// the reviewer, and what refusals and the RFC 9728 metadata say about this server.
pub struct BearerAuth<R> {
    reviews: ReviewCache<R>,
    public_url: Option<String>,
    authorization_servers: Vec<String>,
}

impl<R: TokenReviewer> BearerAuth<R> {
    /// Authentication through `reviewer`, with the cache limits, `PUBLIC_URL` and authorization
    /// servers of `settings`.
    pub fn new(reviewer: R, settings: &AuthSettings) -> Self {
        BearerAuth {
            reviews: ReviewCache::new(reviewer, settings.cache),
            public_url: settings.public_url.clone(),
            authorization_servers: settings.authorization_servers.clone(),
        }
    }

    /// Who sent a request with these headers, from its `Authorization` header.
    pub async fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller, AuthFailure> {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        self.reviews.authenticate(header).await
    }

    /// This server's external base URL (see [`base_url`]), `scheme` when `PUBLIC_URL` is unset.
    pub fn base_url(&self, headers: &http::HeaderMap, scheme: &str) -> String {
        base_url(self.public_url.as_deref(), headers, scheme)
    }

    /// The answer to a request refused with `failure` (see [`refusal`]).
    pub fn refusal(
        &self,
        failure: &AuthFailure,
        headers: &http::HeaderMap,
        scheme: &str,
    ) -> http::Response<String> {
        refusal(failure, &self.base_url(headers, scheme))
    }

    /// The protected-resource metadata of the MCP endpoint (see [`protected_resource_metadata`]).
    pub fn metadata(&self, headers: &http::HeaderMap, scheme: &str) -> String {
        let resource = format!("{}/mcp", self.base_url(headers, scheme));
        protected_resource_metadata(&resource, &self.authorization_servers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        assert_eq!(
            bearer_token(Some(b"Bearer abc.DEF-_~+/=")),
            Ok("abc.DEF-_~+/=")
        );
        assert_eq!(bearer_token(Some(b"bearer  tok ")), Ok("tok"));
        assert_eq!(bearer_token(None), Err(AuthFailure::MissingToken));
        for bad in [
            &b"Basic dTpw"[..],
            b"Bearer",
            b"Bearer ",
            b"Token abc",
            b"Bearer a b",
            b"Bearer \xff",
        ] {
            assert_eq!(
                bearer_token(Some(bad)),
                Err(AuthFailure::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn failures_map_to_statuses_and_challenges() {
        let url = "http://h/.well-known/oauth-protected-resource/mcp";
        assert_eq!(AuthFailure::MissingToken.status(), 401);
        assert_eq!(
            AuthFailure::MissingToken.www_authenticate(url).unwrap(),
            format!(r#"Bearer resource_metadata="{url}""#)
        );
        assert!(
            AuthFailure::Rejected("x".into())
                .www_authenticate(url)
                .unwrap()
                .ends_with(r#"error="invalid_token""#)
        );
        assert_eq!(AuthFailure::Unavailable("down".into()).status(), 503);
        assert!(
            AuthFailure::Unavailable("down".into())
                .www_authenticate(url)
                .is_none()
        );
    }

    #[test]
    fn token_review_wire_format() {
        let body: Value =
            serde_json::from_str(&token_review_request("t0k", &["aud".into()])).unwrap();
        assert_eq!(body["kind"], "TokenReview");
        assert_eq!(body["spec"], json!({"token": "t0k", "audiences": ["aud"]}));
        let ok = br#"{"status":{"authenticated":true,"user":{"username":"alice","uid":"42","groups":["dev","system:authenticated"]},"audiences":["aud"]}}"#;
        assert_eq!(
            read_token_review(201, ok, &["aud".into()]),
            ReviewAnswer::Authenticated(Caller {
                username: "alice".into(),
                uid: "42".into(),
                groups: vec!["dev".into(), "system:authenticated".into()]
            })
        );
        assert!(
            matches!(read_token_review(201, ok, &["other".into()]), ReviewAnswer::Rejected(r) if r.contains("audience"))
        );
        let no = br#"{"status":{"authenticated":false,"error":"token expired"}}"#;
        assert_eq!(
            read_token_review(201, no, &[]),
            ReviewAnswer::Rejected("token expired".into())
        );
        assert_eq!(read_token_review(403, b"{}", &[]), ReviewAnswer::Forbidden);
        assert!(matches!(
            read_token_review(500, b"oops", &[]),
            ReviewAnswer::Failed(_)
        ));
        assert!(matches!(
            read_token_review(201, b"<html>", &[]),
            ReviewAnswer::Failed(_)
        ));
    }

    #[test]
    fn openshift_user_wire_format() {
        let user = br#"{"kind":"User","metadata":{"name":"bob","uid":"u-1"},"groups":["ops"]}"#;
        assert_eq!(
            read_openshift_user(200, user),
            ReviewAnswer::Authenticated(Caller {
                username: "bob".into(),
                uid: "u-1".into(),
                groups: vec!["ops".into()]
            })
        );
        assert!(matches!(
            read_openshift_user(401, b""),
            ReviewAnswer::Rejected(_)
        ));
        assert!(matches!(
            read_openshift_user(502, b""),
            ReviewAnswer::Failed(_)
        ));
    }

    /// What the scripted API answers on a path: status and body, or why no answer came.
    type Script = Result<(u16, &'static str), &'static str>;

    /// An API server answering each path with a fixed status and body (or no answer at all);
    /// records every request and every answer it is told about.
    #[derive(Default)]
    struct ScriptedApi {
        answers: HashMap<&'static str, Script>,
        requests: Mutex<Vec<HttpRequest>>,
        answered: Mutex<Vec<(ReviewApi, ReviewAnswer)>>,
    }

    impl ApiClient for ScriptedApi {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
            let path = request.url.trim_start_matches("https://api.example:6443");
            let answer = self.answers.get(path).copied().unwrap_or(Ok((404, "{}")));
            self.requests.lock().unwrap().push(request);
            answer
                .map(|(status, body)| HttpResponse {
                    status,
                    body: body.into(),
                })
                .map_err(str::to_string)
        }

        fn answered(&self, api: ReviewApi, answer: &ReviewAnswer) {
            self.answered.lock().unwrap().push((api, answer.clone()));
        }
    }

    const REVIEWED: &str = r#"{"status":{"authenticated":true,"user":{"username":"alice","uid":"7","groups":["dev"]}}}"#;
    const OPENSHIFT_USER: &str =
        r#"{"kind":"User","metadata":{"name":"bob","uid":"u-1"},"groups":["ops"]}"#;

    fn self_review(answers: &[(&'static str, Script)]) -> SelfReview<ScriptedApi> {
        let api = ScriptedApi {
            answers: answers.iter().copied().collect(),
            ..ScriptedApi::default()
        };
        SelfReview::new(
            api,
            "https://api.example:6443/",
            vec!["aud".into()],
            Duration::from_secs(3),
        )
    }

    #[tokio::test]
    async fn self_review_asks_token_review_with_the_callers_own_token() {
        let review = self_review(&[(
            TOKEN_REVIEW_PATH,
            Ok((
                201,
                r#"{"status":{"authenticated":true,"user":{"username":"alice"},"audiences":["aud"]}}"#,
            )),
        )]);
        assert!(matches!(
            review.review("t0k").await,
            ReviewAnswer::Authenticated(c) if c.username == "alice"
        ));
        let requests = review.client().requests.lock().unwrap();
        assert_eq!(requests.len(), 1, "no fallback after a decision");
        let request = &requests[0];
        assert_eq!(request.method, Method::Post);
        assert_eq!(
            request.url,
            "https://api.example:6443/apis/authentication.k8s.io/v1/tokenreviews"
        );
        assert_eq!(request.timeout, Duration::from_secs(3));
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("Authorization", "Bearer t0k"),
                ("Accept", "application/json"),
                ("Content-Type", "application/json")
            ]
        );
        let body: Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["spec"], json!({"token": "t0k", "audiences": ["aud"]}));
    }

    #[tokio::test]
    async fn self_review_falls_back_to_openshift_users_when_token_review_is_forbidden() {
        let review = self_review(&[
            (TOKEN_REVIEW_PATH, Ok((403, r#"{"kind":"Status"}"#))),
            (OPENSHIFT_USER_PATH, Ok((200, OPENSHIFT_USER))),
        ]);
        let bob = Caller {
            username: "bob".into(),
            uid: "u-1".into(),
            groups: vec!["ops".into()],
        };
        assert_eq!(
            review.review("t").await,
            ReviewAnswer::Authenticated(bob.clone())
        );
        let requests = review.client().requests.lock().unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].method, Method::Get);
        assert_eq!(
            requests[1].url,
            "https://api.example:6443/apis/user.openshift.io/v1/users/~"
        );
        assert!(requests[1].body.is_none());
        assert!(requests[1].headers.iter().all(|(n, _)| n != "Content-Type"));
        assert_eq!(
            *review.client().answered.lock().unwrap(),
            [
                (ReviewApi::TokenReview, ReviewAnswer::Forbidden),
                (ReviewApi::OpenShiftUser, ReviewAnswer::Authenticated(bob)),
            ]
        );
    }

    #[tokio::test]
    async fn self_review_maps_every_other_answer_without_a_fallback() {
        for (token_review, expected) in [
            (Ok((401, "{}")), "rejected"),
            (
                Ok((201, r#"{"status":{"authenticated":false}}"#)),
                "rejected",
            ),
            (Ok((201, REVIEWED)), "rejected"), // no audience granted
            (Ok((404, "{}")), "failed"),
            (Ok((500, "etcd")), "failed"),
            (Ok((201, "<html>")), "failed"),
            (Err("API server: timed out"), "failed"),
        ] {
            let review = self_review(&[(TOKEN_REVIEW_PATH, token_review)]);
            let answer = review.review("t").await;
            let kind = match &answer {
                ReviewAnswer::Rejected(_) => "rejected",
                ReviewAnswer::Failed(_) => "failed",
                _ => "other",
            };
            assert_eq!(kind, expected, "{token_review:?}: {answer:?}");
            assert_eq!(review.client().requests.lock().unwrap().len(), 1);
        }
        let review = self_review(&[
            (TOKEN_REVIEW_PATH, Ok((403, "{}"))),
            (OPENSHIFT_USER_PATH, Err("API server: connection refused")),
        ]);
        assert_eq!(
            review.review("t").await,
            ReviewAnswer::Failed("API server: connection refused".into())
        );
        let review = self_review(&[
            (TOKEN_REVIEW_PATH, Ok((403, "{}"))),
            (OPENSHIFT_USER_PATH, Ok((403, "{}"))),
        ]);
        assert!(matches!(
            review.review("t").await,
            ReviewAnswer::Rejected(_)
        ));
    }

    /// Answers from a script; counts calls; waits a little so concurrent callers overlap.
    struct Scripted {
        calls: AtomicUsize,
        answer: Mutex<ReviewAnswer>,
    }

    impl TokenReviewer for Arc<Scripted> {
        async fn review(&self, _token: &str) -> ReviewAnswer {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.answer.lock().unwrap().clone()
        }
    }

    fn alice() -> Caller {
        Caller {
            username: "alice".into(),
            uid: String::new(),
            groups: vec![],
        }
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_review_and_hits_are_cached() {
        let reviewer = Arc::new(Scripted {
            calls: AtomicUsize::new(0),
            answer: Mutex::new(ReviewAnswer::Authenticated(alice())),
        });
        let cache = Arc::new(ReviewCache::new(reviewer.clone(), CacheLimits::default()));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move {
                cache.authenticate(Some(b"Bearer same")).await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(alice()));
        }
        assert_eq!(reviewer.calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.authenticate(Some(b"Bearer same")).await, Ok(alice()));
        assert_eq!(reviewer.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn entries_expire_unavailable_is_never_cached_and_size_is_bounded() {
        let reviewer = Arc::new(Scripted {
            calls: AtomicUsize::new(0),
            answer: Mutex::new(ReviewAnswer::Failed("down".into())),
        });
        let limits = CacheLimits {
            ttl: Duration::from_millis(50),
            failure_ttl: Duration::from_millis(10),
            max_entries: 3,
        };
        let cache = ReviewCache::new(reviewer.clone(), limits);
        assert!(matches!(
            cache.authenticate(Some(b"Bearer t")).await,
            Err(AuthFailure::Unavailable(_))
        ));
        *reviewer.answer.lock().unwrap() = ReviewAnswer::Authenticated(alice());
        assert_eq!(
            cache.authenticate(Some(b"Bearer t")).await,
            Ok(alice()),
            "the outage was not cached"
        );
        *reviewer.answer.lock().unwrap() = ReviewAnswer::Rejected("expired".into());
        assert_eq!(
            cache.authenticate(Some(b"Bearer t")).await,
            Ok(alice()),
            "cached within the TTL"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(
            matches!(
                cache.authenticate(Some(b"Bearer t")).await,
                Err(AuthFailure::Rejected(_))
            ),
            "re-reviewed after the TTL"
        );
        for t in ["a", "b", "c", "d", "e"] {
            let _ = cache
                .authenticate(Some(format!("Bearer {t}").as_bytes()))
                .await;
        }
        assert!(cache.entries.lock().unwrap().len() <= 3);
    }

    /// An in-memory [`SharedStore`] whose pages hold two keys, so sweeps page.
    #[derive(Default, Clone)]
    struct MemoryStore(Arc<Mutex<std::collections::BTreeMap<String, Vec<u8>>>>);

    impl SharedStore for MemoryStore {
        fn get(&self, key: &str) -> Option<Vec<u8>> {
            self.0.lock().unwrap().get(key).cloned()
        }
        fn set(&self, key: &str, value: &[u8]) {
            self.0.lock().unwrap().insert(key.into(), value.to_vec());
        }
        fn delete(&self, key: &str) {
            self.0.lock().unwrap().remove(key);
        }
        fn list_keys(&self, cursor: Option<String>) -> Option<(Vec<String>, Option<String>)> {
            let map = self.0.lock().unwrap();
            let keys: Vec<String> = map
                .keys()
                .filter(|k| cursor.as_ref().is_none_or(|c| k.as_str() > c.as_str()))
                .take(2)
                .cloned()
                .collect();
            let next = (keys.len() == 2).then(|| keys[1].clone());
            Some((keys, next))
        }
    }

    fn scripted(answer: ReviewAnswer) -> Arc<Scripted> {
        Arc::new(Scripted {
            calls: AtomicUsize::new(0),
            answer: Mutex::new(answer),
        })
    }

    #[tokio::test]
    async fn stored_reviews_outlive_the_request_and_only_successes_are_stored() {
        let store = MemoryStore::default();
        let reviewer = scripted(ReviewAnswer::Authenticated(alice()));
        // Each request builds its own cache, as a fresh component instance does.
        let request = || {
            ReviewCache::new(
                StoredReviews::new(
                    reviewer.clone(),
                    Some(store.clone()),
                    Duration::from_secs(60),
                ),
                CacheLimits::default(),
            )
        };
        assert_eq!(request().authenticate(Some(b"Bearer t")).await, Ok(alice()));
        assert_eq!(request().authenticate(Some(b"Bearer t")).await, Ok(alice()));
        assert_eq!(
            reviewer.calls.load(Ordering::SeqCst),
            1,
            "second request recalled"
        );
        let stored = store.0.lock().unwrap().clone();
        assert_eq!(stored.len(), 1);
        let (key, value) = stored.iter().next().unwrap();
        assert!(
            key.starts_with(STORED_REVIEW_PREFIX) && key.len() == STORED_REVIEW_PREFIX.len() + 64
        );
        assert!(!String::from_utf8_lossy(value).contains("Bearer") && !key.ends_with("/t"));

        *reviewer.answer.lock().unwrap() = ReviewAnswer::Rejected("expired".into());
        for _ in 0..2 {
            assert!(request().authenticate(Some(b"Bearer bad")).await.is_err());
        }
        assert_eq!(
            reviewer.calls.load(Ordering::SeqCst),
            3,
            "rejections are re-reviewed"
        );
        assert_eq!(store.0.lock().unwrap().len(), 1, "and never stored");
    }

    #[tokio::test]
    async fn without_a_store_every_request_reviews_and_expired_entries_are_swept() {
        let reviewer = scripted(ReviewAnswer::Authenticated(alice()));
        let uncached =
            StoredReviews::<_, MemoryStore>::new(reviewer.clone(), None, Duration::from_secs(60));
        uncached.review("t").await;
        uncached.review("t").await;
        assert_eq!(reviewer.calls.load(Ordering::SeqCst), 2);

        let store = MemoryStore::default();
        let now = crate::timespec::now_unix();
        store.set(
            &format!("{STORED_REVIEW_PREFIX}old"),
            &encode_stored_review(&alice(), now - 1.0),
        );
        store.set(
            &format!("{STORED_REVIEW_PREFIX}live"),
            &encode_stored_review(&alice(), now + 60.0),
        );
        store.set(&format!("{STORED_REVIEW_PREFIX}junk"), b"not json");
        store.set("someone-elses-key", b"kept");
        sweep_expired(&store, now);
        let keys: Vec<String> = store.0.lock().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                format!("{STORED_REVIEW_PREFIX}live"),
                "someone-elses-key".into()
            ]
        );

        // An expired entry is a miss.
        let stored = StoredReviews::new(
            reviewer.clone(),
            Some(store.clone()),
            Duration::from_secs(60),
        );
        let hash: TokenHash = Sha256::digest(b"t").into();
        store.set(
            &stored_review_key(&hash),
            &encode_stored_review(&alice(), now - 1.0),
        );
        stored.review("t").await;
        assert_eq!(reviewer.calls.load(Ordering::SeqCst), 3);
        stored.review("t").await;
        assert_eq!(reviewer.calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn stored_reviews_round_trip_and_reject_other_shapes() {
        let caller = Caller {
            username: "system:serviceaccount:ns:sa".into(),
            uid: "u-1".into(),
            groups: vec!["system:authenticated".into()],
        };
        let bytes = encode_stored_review(&caller, 100.0);
        assert_eq!(decode_stored_review(&bytes, 99.0), Some(caller));
        assert_eq!(decode_stored_review(&bytes, 100.0), None);
        assert_eq!(
            decode_stored_review(br#"{"expires":200,"username":"a"}"#, 99.0),
            None
        );
        assert_eq!(decode_stored_review(b"\xff", 0.0), None);
    }
}
