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
//!
//! One concern per file: this one holds [`Caller`], the API paths, [`AuthFailure`] and
//! [`bearer_token`]; `review` the wire formats and [`SelfReview`]; `cache` [`ReviewCache`] and
//! [`StoredReviews`] over a [`SharedStore`]; `settings` [`AuthSettings`] from the environment;
//! `endpoint` [`BearerAuth`] and its HTTP answers (refusals, RFC 9728 metadata, the base URL).
//! Every item is re-exported here, so `crate::auth::X` is the one path to use.

mod cache;
mod endpoint;
mod review;
mod settings;

pub use cache::{
    CacheLimits, ReviewCache, STORED_REVIEW_PREFIX, SharedStore, StoredReviews,
    decode_stored_review, encode_stored_review,
};
pub use endpoint::{BearerAuth, base_url, protected_resource_metadata, refusal};
pub use review::{
    ApiClient, ReviewAnswer, ReviewApi, SelfReview, TokenReviewer, read_openshift_user,
    read_token_review, token_review_request,
};
pub use settings::{AUTH_ENV, AuthSettings};

use serde_json::json;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
