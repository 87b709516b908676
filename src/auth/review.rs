//! The Kubernetes `TokenReview` and OpenShift `users/~` wire formats, and [`SelfReview`], which asks
//! the API server about a token with that same token (`TokenReview` first, `users/~` when that is
//! forbidden) over any [`ApiClient`].
//!
//! What does not live here: the HTTP client itself (each placement brings its own), remembering
//! answers (`cache`), and turning an answer into an HTTP refusal (`endpoint`).

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Caller, OPENSHIFT_USER_PATH, TOKEN_REVIEW_PATH};
use crate::http::{HttpRequest, HttpResponse, Method};

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

/// What decides about a token: [`SelfReview`] asks the API server, [`StoredReviews`](super::StoredReviews) remembers its
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

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
}
