//! Remembering reviews: [`ReviewCache`] (in memory, by a hash of the token, one review per token at
//! a time, bounded in time and size) and [`StoredReviews`] (successful reviews in a [`SharedStore`]
//! that outlives the request, with the sweep of expired entries).
//!
//! What does not live here: asking the API server (`review`), reading the limits from the
//! environment (`settings`) and the store itself, which each placement provides.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{AuthFailure, Caller, ReviewAnswer, TokenReviewer, bearer_token};

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
                // A review that finished between the look-up above and taking the cell has
                // already been remembered (before its cell was dropped): use it, do not review again.
                if let Some(outcome) = self.cached(&key) {
                    return outcome;
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
