//! Runs several independent jobs (the datasources of a fan-out, the queries of a formula) so that
//! their backend requests go out together through [`HttpClient::send_all`], while every job keeps
//! its plain, sequential code.
//!
//! How: a job runs against a replaying client. A request it has not been answered yet is recorded
//! and refused with [`DEFERRED`]; the job's result from that run is thrown away. All recorded
//! requests of all jobs are then sent together, their answers kept, and the unfinished jobs run
//! again; each run gets at least one request further. A job's result counts only from a run in which
//! every request it made was answered, so results are exactly those of running the jobs one after
//! another. Jobs are read-only, so running one more than once has no effect beyond the CPU.

use std::cell::RefCell;

use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, Method};

/// Rounds of gathering before the remaining jobs simply run one after another: each round serves
/// one more request per job, and no tool makes more than a few in sequence.
const MAX_ROUNDS: usize = 6;

/// The refusal a job sees for a request that is still to be sent together with the others.
const DEFERRED: &str = "deferred: sent with the next batch";

/// A request's identity: the same method, URL and body get the same answer.
type Key = (bool, String, Vec<u8>);

fn key(request: &HttpRequest) -> Key {
    (
        matches!(request.method, Method::Post),
        request.url.clone(),
        request.body.clone().unwrap_or_default(),
    )
}

/// Answers requests from what was fetched; records and defers the rest.
struct Replay<'a> {
    answers: &'a [(Key, Result<HttpResponse, HttpError>)],
    missed: RefCell<Vec<HttpRequest>>,
}

impl HttpClient for Replay<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let wanted = key(request);
        if let Some((_, answer)) = self.answers.iter().find(|(k, _)| *k == wanted) {
            return answer.clone();
        }
        self.missed.borrow_mut().push(request.clone());
        Err(HttpError::Other(DEFERRED.into()))
    }
}

/// Runs `job` for every item and returns the results in order; `http` sends the gathered requests.
pub(crate) fn run_each<I, T>(
    http: &dyn HttpClient,
    items: &[I],
    job: impl Fn(&I, &dyn HttpClient) -> T,
) -> Vec<T> {
    if items.len() < 2 {
        return items.iter().map(|item| job(item, http)).collect();
    }
    let job = &job;
    let jobs: Vec<_> = items
        .iter()
        .map(|item| move |h: &dyn HttpClient| job(item, h))
        .collect();
    let mut results: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    let mut answers: Vec<(Key, Result<HttpResponse, HttpError>)> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let mut wanted: Vec<HttpRequest> = Vec::new();
        for (job, result) in jobs.iter().zip(results.iter_mut()) {
            if result.is_some() {
                continue;
            }
            let replay = Replay {
                answers: &answers,
                missed: RefCell::new(Vec::new()),
            };
            let outcome = job(&replay);
            let missed = replay.missed.into_inner();
            if missed.is_empty() {
                *result = Some(outcome);
            }
            for request in missed {
                let k = key(&request);
                if !wanted.iter().any(|w| key(w) == k) {
                    wanted.push(request);
                }
            }
        }
        if wanted.is_empty() {
            break;
        }
        let fetched = http.send_all(&wanted);
        answers.extend(wanted.iter().map(key).zip(fetched));
    }
    // Jobs that need more rounds than expected finish one after another, still correct.
    jobs.iter()
        .zip(results)
        .map(|(job, result)| result.unwrap_or_else(|| job(http)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    /// Answers `GET <url>` with the URL's last segment; counts batches and requests.
    #[derive(Default)]
    struct Echo {
        batches: Cell<usize>,
        requests: Cell<usize>,
    }

    impl HttpClient for Echo {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            self.requests.set(self.requests.get() + 1);
            if request.url.ends_with("/down") {
                return Err(HttpError::Connect("connection refused".into()));
            }
            Ok(HttpResponse {
                status: 200,
                body: request.url.rsplit('/').next().unwrap().as_bytes().to_vec(),
            })
        }

        fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, HttpError>> {
            self.batches.set(self.batches.get() + 1);
            requests.iter().map(|r| self.send(r)).collect()
        }
    }

    fn get(http: &dyn HttpClient, path: &str) -> Result<String, HttpError> {
        http.send(&HttpRequest {
            method: Method::Get,
            url: format!("http://b/{path}"),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(1),
        })
        .map(|r| String::from_utf8(r.body).unwrap())
    }

    #[test]
    fn jobs_of_two_sequential_requests_take_two_batches() {
        let echo = Echo::default();
        // Each job's second request depends on its first answer.
        let a = |h: &dyn HttpClient| -> Result<String, HttpError> {
            let first = get(h, "a1")?;
            Ok(first + &get(h, "a2")?)
        };
        let b = |h: &dyn HttpClient| -> Result<String, HttpError> {
            let first = get(h, "b1")?;
            let second = get(h, &format!("{first}-next"))?;
            Ok(first + &second)
        };
        let c = |h: &dyn HttpClient| get(h, "down");
        let results = run_each(&echo, &["a", "b", "c"], |which, h| match *which {
            "a" => a(h),
            "b" => b(h),
            _ => c(h),
        });
        assert_eq!(results[0], Ok("a1a2".to_string()));
        assert_eq!(results[1], Ok("b1b1-next".to_string()));
        assert_eq!(
            results[2],
            Err(HttpError::Connect("connection refused".into()))
        );
        assert_eq!(echo.batches.get(), 2);
        // Each distinct request went out once.
        assert_eq!(echo.requests.get(), 5);
    }

    #[test]
    fn a_job_without_requests_and_a_single_job_run_once() {
        let echo = Echo::default();
        let runs = Cell::new(0);
        let pure = |_: &dyn HttpClient| {
            runs.set(runs.get() + 1);
            7
        };
        assert_eq!(run_each(&echo, &[(), ()], |_, h| pure(h)), vec![7, 7]);
        assert_eq!(runs.get(), 2);
        let one = |h: &dyn HttpClient| get(h, "x").unwrap();
        assert_eq!(run_each(&echo, &[()], |_, h| one(h)), vec!["x".to_string()]);
        assert_eq!(echo.batches.get(), 0);
    }

    #[test]
    fn a_job_longer_than_the_rounds_still_finishes() {
        let echo = Echo::default();
        let long = |h: &dyn HttpClient| -> Result<usize, HttpError> {
            (0..MAX_ROUNDS + 3).try_for_each(|i| get(h, &format!("s{i}")).map(drop))?;
            Ok(MAX_ROUNDS + 3)
        };
        let short = |h: &dyn HttpClient| get(h, "short").map(|s| s.len());
        let results = run_each(
            &echo,
            &[true, false],
            |l, h| if *l { long(h) } else { short(h) },
        );
        assert_eq!(results, vec![Ok(9), Ok(5)]);
    }
}
