//! `AUTH_MODE=active` against a stand-in for the Kubernetes API server. The real API server cannot run
//! here, so this is a faithful local stand-in: HTTPS on loopback with its own generated CA, speaking the
//! real wire formats — `POST /apis/authentication.k8s.io/v1/tokenreviews` (a `TokenReview` in, a
//! `TokenReview` with `status` out, `201`), `GET /apis/user.openshift.io/v1/users/~` (a `User`), and
//! `Status` objects for 401/403/500 — authenticated by the caller's own bearer token, as in
//! self-validation.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use crate::fixture::{Host, loopback_tls};

/// The stand-in's state: review calls per token, and whether `expiring-token` has expired.
#[derive(Default)]
pub(crate) struct ApiState {
    calls: Mutex<HashMap<String, usize>>,
    expired: AtomicBool,
}

impl ApiState {
    /// Review calls made with `token` so far.
    pub(crate) fn calls(&self, token: &str) -> usize {
        self.calls.lock().unwrap().get(token).copied().unwrap_or(0)
    }
}

fn status_object(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn user(name: &str) -> Value {
    json!({"username": name, "uid": format!("uid-{name}"), "groups": ["devs", "system:authenticated"]})
}

/// How the stand-in answers, by the token in the `Authorization` header.
async fn answer(
    state: &ApiState,
    method: &str,
    path: &str,
    token: &str,
    body: &[u8],
) -> (u16, Value) {
    *state
        .calls
        .lock()
        .unwrap()
        .entry(token.to_string())
        .or_default() += 1;
    let valid = match token {
        "good-token" | "fresh-token" | "plain-user-token" | "slow-token" | "error-token" => true,
        "expiring-token" => !state.expired.load(Ordering::SeqCst),
        _ => false,
    };
    if !valid {
        // An invalid token cannot even authenticate the review request itself.
        return status_object(401, "Unauthorized", "Unauthorized");
    }
    match (method, path) {
        ("POST", "/apis/authentication.k8s.io/v1/tokenreviews") => {
            let review: Value = serde_json::from_slice(body).unwrap_or_default();
            assert_eq!(review["kind"], "TokenReview");
            assert_eq!(
                review["spec"]["token"], token,
                "self-validation reviews the caller's own token"
            );
            match token {
                "plain-user-token" => status_object(
                    403,
                    "Forbidden",
                    "tokenreviews.authentication.k8s.io is forbidden: User \"bob\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope",
                ),
                "error-token" => status_object(500, "InternalError", "etcd unavailable"),
                _ => {
                    if token == "slow-token" {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                    }
                    let mut review = review;
                    review["status"] = json!({"authenticated": true, "user": user("alice"),
                                              "audiences": ["https://kubernetes.default.svc"]});
                    (201, review)
                }
            }
        }
        ("GET", "/apis/user.openshift.io/v1/users/~") => (
            200,
            json!({"kind": "User", "apiVersion": "user.openshift.io/v1",
                   "metadata": {"name": "bob", "uid": "uid-bob"}, "groups": ["ops"]}),
        ),
        _ => status_object(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

/// Starts the stand-in; returns its URL, its CA's PEM, its state and a stop handle.
pub(crate) async fn kube_api() -> (String, String, Arc<ApiState>, tokio::task::JoinHandle<()>) {
    let (config, ca_pem) = loopback_tls();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(ApiState::default());
    let shared = state.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, state) = (acceptor.clone(), shared.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let state = state.clone();
                        async move {
                            let method = req.method().to_string();
                            let path = req.uri().path().to_string();
                            let token = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.strip_prefix("Bearer "))
                                .unwrap_or_default()
                                .to_string();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let (status, json) =
                                answer(&state, &method, &path, &token, &body).await;
                            Ok::<_, std::convert::Infallible>(
                                http::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(json.to_string())))
                                    .unwrap(),
                            )
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), ca_pem, state, task)
}

/// A Prometheus stand-in that records every request's headers and answers one metric name.
fn recording_prometheus() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 65536];
            let n = s.read(&mut buf).unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
            let body = r#"{"status":"success","data":["up"]}"#;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://127.0.0.1:{port}"), seen)
}

pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&body);
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    req.send().await.unwrap()
}

fn list_metrics() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "list_metrics", "arguments": {"datasource_id": "rec"}}})
}

pub(crate) fn ping() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "ping"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bearer_tokens_are_reviewed_cached_and_never_forwarded() {
    let (api_url, ca_pem, api, api_task) = kube_api().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.crt");
    std::fs::write(&ca_path, &ca_pem).unwrap();
    let (prom_url, recorded) = recording_prometheus();
    let yaml = format!("datasources:\n- name: rec\n  type: prometheus\n  url: {prom_url}\n");
    let host = Host::start(
        &yaml,
        &[
            ("AUTH_MODE", "active"),
            ("OPENSHIFT_API_URL", &api_url),
            ("OPENSHIFT_CA_CERT_PATH", ca_path.to_str().unwrap()),
            ("AUTH_CACHE_TTL", "1s"),
            ("AUTH_CACHE_FAILURE_TTL", "1s"),
            ("AUTH_TIMEOUT", "2s"),
        ],
    );
    let url = host.mcp_url.clone();
    let base = url.trim_end_matches("/mcp").to_string();
    let http = reqwest::Client::new();

    // No header: 401 with a challenge that points at the RFC 9728 metadata, which is served openly.
    let r = post(&http, &url, None, ping()).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        challenge,
        format!(r#"Bearer resource_metadata="{metadata_url}""#)
    );
    for path in [
        metadata_url.clone(),
        format!("{base}/.well-known/oauth-protected-resource"),
    ] {
        let doc: Value = http.get(&path).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["resource"], format!("{base}/mcp"), "{path}");
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }

    // Wrong scheme and a token the API server does not know: 401, no tools.
    let r = post(&http, &url, Some("Basic YWxpY2U6cHc="), ping()).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_request""#)
    );
    let r = post(&http, &url, Some("Bearer bad-token"), list_metrics()).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );

    // A good token: the tool runs; the datasource never sees the client's token.
    let r = post(&http, &url, Some("Bearer good-token"), list_metrics()).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["metrics"],
        json!(["up"]),
        "{body}"
    );
    let requests = recorded.lock().unwrap().join("\n");
    assert!(!requests.is_empty());
    assert!(
        !requests.contains("good-token"),
        "the client's token reached a datasource:\n{requests}"
    );

    // TokenReview forbidden to a plain OpenShift user: users/~ answers instead.
    let r = post(&http, &url, Some("Bearer plain-user-token"), ping()).await;
    assert_eq!(r.status(), 200);

    // An expiring token: cached while the TTL lasts, refused once it is reviewed again.
    assert_eq!(
        post(&http, &url, Some("Bearer expiring-token"), ping())
            .await
            .status(),
        200
    );
    api.expired.store(true, Ordering::SeqCst);
    assert_eq!(
        post(&http, &url, Some("Bearer expiring-token"), ping())
            .await
            .status(),
        200,
        "cached"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        post(&http, &url, Some("Bearer expiring-token"), ping())
            .await
            .status(),
        401,
        "expired"
    );

    // The API server failing: 503 with a clear message, nothing granted.
    let r = post(&http, &url, Some("Bearer error-token"), ping()).await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("nothing was granted"));

    // A slow API server (it answers after 10 s) holds only the requests that wait for it, and only
    // until AUTH_TIMEOUT (2 s). The bounds are loose on purpose: this checks blocking, not speed, on a
    // machine busy with other tests.
    let slow = {
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let status = post(&http, &url, Some("Bearer slow-token"), ping())
                .await
                .status();
            (status, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    assert_eq!(
        post(&http, &url, Some("Bearer good-token"), ping())
            .await
            .status(),
        200
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "blocked by the slow review: {:?}",
        started.elapsed()
    );
    let (status, took) = slow.await.unwrap();
    assert_eq!(status, 503);
    assert!(
        took < Duration::from_secs(8),
        "AUTH_TIMEOUT not applied: {took:?}"
    );

    // 100 concurrent requests with one new token: one review.
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            post(&http, &url, Some("Bearer fresh-token"), ping())
                .await
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(
        api.calls("fresh-token"),
        1,
        "concurrent requests must share one review"
    );

    // Health and metrics stay open; outcomes are counted; logs name the user, never a token.
    let health = http
        .get(format!("{}/health", host.health_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = host.metrics().await;
    assert!(
        metrics.contains(r#"mcp_auth_requests_total{outcome="ok"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mcp_auth_requests_total{outcome="missing"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"mcp_auth_reviews_total{api="openshift_user",result="authenticated"} 1"#),
        "{metrics}"
    );
    let log = host.log_text();
    assert!(log.contains(r#""user":"alice""#), "tool calls log the user");
    for token in [
        "good-token",
        "fresh-token",
        "bad-token",
        "plain-user-token",
        "expiring-token",
    ] {
        assert!(!log.contains(token), "{token} reached the log");
    }
    drop(host);
    api_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_api_server_or_wrong_ca_grants_nothing() {
    let (api_url, _ca, _api, api_task) = kube_api().await;
    let (_other_config, other_ca) = loopback_tls();
    let dir = tempfile::tempdir().unwrap();
    let wrong_ca = dir.path().join("wrong-ca.crt");
    std::fs::write(&wrong_ca, other_ca).unwrap();
    let closed = host_test::dev::backends::free_loopback_port().unwrap();
    let yaml = "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:9\n";
    let http = reqwest::Client::new();
    let down = format!("https://127.0.0.1:{closed}");
    for (api, ca, why) in [
        (down.as_str(), None, "API server down"),
        (
            api_url.as_str(),
            Some(wrong_ca.to_str().unwrap()),
            "certificate from an untrusted CA",
        ),
    ] {
        let mut env = vec![
            ("AUTH_MODE", "active"),
            ("OPENSHIFT_API_URL", api),
            ("AUTH_TIMEOUT", "2s"),
        ];
        if let Some(ca) = ca {
            env.push(("OPENSHIFT_CA_CERT_PATH", ca));
        }
        let host = Host::start(yaml, &env);
        let r = post(&http, &host.mcp_url, Some("Bearer good-token"), ping()).await;
        assert_eq!(r.status(), 503, "{why}");
        let text = r.text().await.unwrap();
        assert!(text.contains("cannot validate the token"), "{why}: {text}");
    }
    api_task.abort();
}

#[test]
fn auth_none_serves_everyone_as_anonymous() {
    // Covered by every other test: the fixture starts hosts with AUTH_MODE=none and calls tools
    // without any header. Here: with AUTH_MODE=none the metadata document is not offered.
    let yaml = "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:9\n";
    let host = Host::start(yaml, &[]);
    let base = host.mcp_url.trim_end_matches("/mcp");
    let mut s = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    write!(s, "GET /.well-known/oauth-protected-resource HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}
