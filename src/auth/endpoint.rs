//! [`BearerAuth`], bearer authentication of one MCP endpoint, and its HTTP answers: the refusal
//! (401 with a `WWW-Authenticate` challenge, or 503), RFC 9728 protected-resource metadata and this
//! server's external base URL.
//!
//! What does not live here: the decision itself (`cache` and `review`), routing requests to these
//! answers (the front's endpoint) and the listener.

use serde_json::json;

use super::{
    AuthFailure, AuthSettings, Caller, PROTECTED_RESOURCE_PATH, ReviewCache, TokenReviewer,
};

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
