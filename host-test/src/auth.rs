//! The host's way to the Kubernetes API server for bearer authentication: [`KubeApi`], the
//! [`ApiClient`] under `proms_mcp::auth`'s self-validation ([`KubeReviewer`]). What is asked, the
//! `users/~` fallback, the decision, the cache and the responses are `proms_mcp::auth`; this module
//! is only the HTTP call, its TLS settings, its deadline and the count of each call's answer.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use proms_mcp::auth::{ApiClient, AuthSettings, ReviewAnswer, ReviewApi, SelfReview};
use proms_mcp::http::{HttpRequest, HttpResponse, Method};

use crate::egress::{Connector, SystemRoots, https_client, tls_config};
use crate::metrics::Metrics;

/// Largest API answer read.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Self-validation of tokens against one API server, through the host's HTTP client.
pub type KubeReviewer = SelfReview<KubeApi>;

/// Builds the reviewer for `settings`: the API server at `OPENSHIFT_API_URL`, trusting the CA in
/// `OPENSHIFT_CA_CERT_PATH` (else the system roots), each call within `AUTH_TIMEOUT`.
pub fn kube_reviewer(
    settings: &AuthSettings,
    metrics: Arc<Metrics>,
) -> anyhow::Result<KubeReviewer> {
    Ok(SelfReview::new(
        KubeApi::new(settings.ca_path.as_deref(), settings.timeout, metrics)?,
        &settings.api_url,
        settings.audiences.clone(),
        settings.timeout,
    ))
}

/// The API server over HTTPS with its own trust roots; counts each call's answer.
pub struct KubeApi {
    client: Client<Connector, Full<Bytes>>,
    metrics: Arc<Metrics>,
}

impl KubeApi {
    /// A client trusting the CA in `ca_path` (else the system roots), connecting within `timeout`.
    pub fn new(
        ca_path: Option<&Path>,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<KubeApi> {
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
        Ok(KubeApi {
            client: https_client(tls, timeout),
            metrics,
        })
    }

    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let mut builder = http::Request::builder()
            .method(match request.method {
                Method::Get => "GET",
                Method::Post => "POST",
            })
            .uri(request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(Bytes::from(request.body.unwrap_or_default())))
            .map_err(|e| format!("bad API URL: {e}"))?;
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
        Ok(HttpResponse {
            status,
            body: Vec::from(body),
        })
    }
}

impl ApiClient for KubeApi {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let timeout = request.timeout;
        tokio::time::timeout(timeout, self.exchange(request))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the API server did not answer within {}s",
                    timeout.as_secs_f64()
                ))
            })
    }

    fn answered(&self, api: ReviewApi, answer: &ReviewAnswer) {
        self.metrics.auth_review(api.label(), answer);
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
