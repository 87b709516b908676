//! The soak's bookkeeping: answers counted per minute and per case, the host's resident memory,
//! threads and descriptors sampled from `/proc`, and the per-minute table.
//!
//! Not here: the calls and how an answer is judged, the run and the final report (the soak's main
//! file), the cases (`cases`).

use std::collections::BTreeMap;
use std::time::Duration;

use host_test::dev::process;

use super::cases::Case;
use super::{Outcome, excerpt};

/// Example messages kept per case and kind, for the summary.
pub(crate) const EXAMPLES: usize = 3;

#[derive(Default)]
pub(crate) struct Minute {
    pub(crate) requests: u64,
    pub(crate) ok: u64,
    pub(crate) expected: u64,
    pub(crate) lost: u64,
    pub(crate) malformed: u64,
    /// Latencies in µs of calls that must succeed, and of calls that must fail.
    pub(crate) normal: Vec<u32>,
    pub(crate) failing: Vec<u32>,
}

#[derive(Default)]
pub(crate) struct CaseStats {
    pub(crate) ok: u64,
    pub(crate) expected: u64,
    pub(crate) lost: u64,
    pub(crate) malformed: u64,
    pub(crate) late: u64,
    pub(crate) latencies: Vec<u32>,
    pub(crate) classes: BTreeMap<&'static str, u64>,
    pub(crate) examples: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Record {
    pub(crate) minutes: Vec<Minute>,
    pub(crate) cases: Vec<CaseStats>,
    /// Length of the run: later answers count in its last minute.
    pub(crate) length: Duration,
}

impl Record {
    pub(crate) fn new(cases: usize, length: Duration) -> Record {
        Record {
            length,
            minutes: Vec::new(),
            cases: (0..cases).map(|_| CaseStats::default()).collect(),
        }
    }

    /// Counts one answer that came `at` after the start (the last minute takes the stragglers).
    pub(crate) fn add(
        &mut self,
        at: Duration,
        index: usize,
        case: &Case,
        took: Duration,
        outcome: Outcome,
    ) {
        let at = at.min(self.length.saturating_sub(Duration::from_millis(1)));
        let m = (at.as_secs() / 60) as usize;
        if self.minutes.len() <= m {
            self.minutes.resize_with(m + 1, Minute::default);
        }
        let minute = &mut self.minutes[m];
        let stats = &mut self.cases[index];
        let micros = took.as_micros().min(u32::MAX as u128) as u32;
        minute.requests += 1;
        stats.latencies.push(micros);
        if case.failing() {
            minute.failing.push(micros);
        } else {
            minute.normal.push(micros);
        }
        let mut example = |kind: &str, why: String| {
            if stats.examples.len() < EXAMPLES {
                stats
                    .examples
                    .push(format!("{kind} after {took:.1?}: {}", excerpt(&why)));
            }
        };
        match outcome {
            Outcome::Ok => {
                minute.ok += 1;
                stats.ok += 1;
            }
            Outcome::Expected(class) => {
                minute.expected += 1;
                stats.expected += 1;
                *stats.classes.entry(class).or_default() += 1;
                if case.late_after.is_some_and(|limit| took > limit) {
                    stats.late += 1;
                    example("late", class.to_string());
                }
            }
            Outcome::Lost(why) => {
                minute.lost += 1;
                stats.lost += 1;
                example("lost", why);
            }
            Outcome::Malformed(why) => {
                minute.malformed += 1;
                stats.malformed += 1;
                example("malformed", why);
            }
        }
    }
}

/// The `q` quantile of `v` (sorted in place), in milliseconds.
pub(crate) fn quantile_ms(v: &mut [u32], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i] as f64 / 1000.0)
}

pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

#[derive(Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: Duration,
    pub(crate) rss_kib: u64,
    pub(crate) threads: u64,
    pub(crate) fds: u64,
}

pub(crate) fn sample(pid: u32, at: Duration) -> Option<Sample> {
    let field = |name: &str| process::status_field(pid, name);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Some(Sample {
        at,
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:")?,
        fds,
    })
}

pub(crate) const MINUTE_HEADER: &str = "| minute | requests | ok | expected errors | lost | malformed | normal p50 ms | normal p99 ms | failing p50 ms | failing p99 ms | RSS min MiB | RSS max MiB | threads max | fds max |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

pub(crate) fn print_minute(m: usize, minute: &mut Minute, samples: &[Sample]) {
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at.as_secs() / 60 == m as u64)
        .collect();
    let rss_min = window.iter().map(|s| s.rss_kib).min();
    let rss_max = window.iter().map(|s| s.rss_kib).max();
    println!(
        "| {}–{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        m,
        m + 1,
        minute.requests,
        minute.ok,
        minute.expected,
        minute.lost,
        minute.malformed,
        ms(quantile_ms(&mut minute.normal, 0.50)),
        ms(quantile_ms(&mut minute.normal, 0.99)),
        ms(quantile_ms(&mut minute.failing, 0.50)),
        ms(quantile_ms(&mut minute.failing, 0.99)),
        rss_min.map_or("–".into(), mib),
        rss_max.map_or("–".into(), mib),
        window
            .iter()
            .map(|s| s.threads)
            .max()
            .map_or("–".into(), |v| v.to_string()),
        window
            .iter()
            .map(|s| s.fds)
            .max()
            .map_or("–".into(), |v| v.to_string()),
    );
}
