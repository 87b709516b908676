//! The host's [`TokenReviewer`]: asks the Kubernetes API server about a client's bearer token, with
//! the client's own token (self-validation: no special RBAC), `TokenReview` first and OpenShift's
//! `users/~` when that is forbidden. The decision, the cache and the responses are
//! `proms_mcp::auth`; this module is only the HTTP call, its TLS settings and its deadline.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use proms_mcp::auth::{
    OPENSHIFT_USER_PATH, ReviewAnswer, TOKEN_REVIEW_PATH, TokenReviewer, read_openshift_user,
    read_token_review, token_review_request,
};

use crate::egress::{Connector, SystemRoots, https_client, tls_config};
use crate::metrics::Metrics;

/// Largest API answer read.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Reviews tokens against one API server.
pub struct KubeReviewer {
    client: Client<Connector, Full<Bytes>>,
    api_url: String,
    audiences: Vec<String>,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl KubeReviewer {
    /// A reviewer for `api_url`, trusting the CA in `ca_path` (else the system roots), giving each
    /// review `timeout`.
    pub fn new(
        api_url: &str,
        ca_path: Option<&Path>,
        audiences: Vec<String>,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<KubeReviewer> {
        let ca = match ca_path {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!(
                    "OPENSHIFT_CA_CERT_PATH: cannot read {}: {e}",
                    path.display()
                )
            })?),
            None => None,
        };
        let what = format!(
            "OPENSHIFT_CA_CERT_PATH ({})",
            ca_path.map_or_else(String::new, |p| p.display().to_string())
        );
        let tls = tls_config(ca.as_deref(), false, &SystemRoots::default(), &what)?;
        Ok(KubeReviewer {
            client: https_client(tls, timeout),
            api_url: api_url.trim_end_matches('/').to_string(),
            audiences,
            timeout,
            metrics,
        })
    }

    /// One call with the user's token; `None` body means GET.
    async fn call(
        &self,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let builder = http::Request::builder()
            .uri(format!("{}{path}", self.api_url))
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "application/json");
        let request = match body {
            Some(body) => builder
                .method("POST")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body))),
            None => builder.method("GET").body(Full::new(Bytes::new())),
        }
        .map_err(|e| format!("bad API URL: {e}"))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("API server unreachable: {}", error_chain(&e)))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| format!("reading the API answer: {e}"))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the API server did not answer within {}s",
                    self.timeout.as_secs_f64()
                ))
            })
    }
}

/// The error and its causes on one line (TLS failures hide in the causes).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl TokenReviewer for KubeReviewer {
    async fn review(&self, token: &str) -> ReviewAnswer {
        let body = token_review_request(token, &self.audiences);
        let answer = match self.call(TOKEN_REVIEW_PATH, token, Some(body)).await {
            Ok((status, body)) => read_token_review(status, &body, &self.audiences),
            Err(reason) => ReviewAnswer::Failed(reason),
        };
        self.metrics.auth_review("tokenreview", &answer);
        if answer != ReviewAnswer::Forbidden {
            return answer;
        }
        // Plain users on OpenShift may not create TokenReviews; they may ask who they are.
        let answer = match self.call(OPENSHIFT_USER_PATH, token, None).await {
            Ok((status, body)) => read_openshift_user(status, &body),
            Err(reason) => ReviewAnswer::Failed(reason),
        };
        self.metrics.auth_review("openshift_user", &answer);
        answer
    }
}
