//! The deterministic demo data set that `proms-mcp demo`, the bench, the soak and the integration
//! tests load into their backends.
//!
//! What lives here:
//! - [`DemoData`] and [`DemoSeries`]: six hours of samples at a 15 s step (1441 samples per series) whose
//!   values are exact binary floats given by simple formulas ([`DemoValue`]), so a test can compute what a
//!   query must return ([`DemoData::expected_value`]);
//! - the same data as text for the backends to load: [`DemoData::openmetrics`] (for `promtool`) and
//!   [`DemoData::prometheus_text_with_ms`] (for VictoriaMetrics' import).
//!
//! What does not live here: starting the backends and loading the data (`super::backends`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// The time range of the demo data: samples at `start, start + step, …, end` (1441 per series).
///
/// Every series has a sample at every grid point; sample `i` (0-based) is at `start + i * step`, and its
/// value is [`DemoValue::at_index`]`(i)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoData {
    /// Unix seconds, a multiple of 60: the timestamp of the last sample.
    pub end: i64,
    /// `end - 6 h`: the timestamp of the first sample.
    pub start: i64,
    /// Seconds between samples: 15.
    pub step: i64,
}

/// The type of a metric family, as written in `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoKind {
    /// Monotonic counter (`_total`).
    Counter,
    /// Gauge.
    Gauge,
    /// Classic histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl DemoKind {
    fn as_str(self) -> &'static str {
        match self {
            DemoKind::Counter => "counter",
            DemoKind::Gauge => "gauge",
            DemoKind::Histogram => "histogram",
        }
    }
}

/// How a series' value depends on the sample index `i` (0 at `start`, 1440 at `end`).
///
/// All parameters are small integers or dyadic fractions (…, 0.125, 0.25, 0.5), so every value is exact
/// in `f64` and the OpenMetrics/Prometheus text written for it parses back to the same `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DemoValue {
    /// `per_step * i`: a counter that starts at 0 and never resets. Every demo `per_step` is a multiple
    /// of 15 (an integer rate per second), so over a range aligned with the grid `rate()` is exactly
    /// `per_step / 15` and `increase()` over `n` steps exactly `n * per_step`, on both backends.
    Linear {
        /// Increase per sample.
        per_step: f64,
    },
    /// `base + slope * (i % period)`: a saw-tooth gauge.
    Sawtooth {
        /// Value at index 0.
        base: f64,
        /// Increase per sample within a period.
        slope: f64,
        /// Samples per period.
        period: i64,
    },
    /// The same value at every sample.
    Constant(f64),
}

impl DemoValue {
    /// The value of sample `i`.
    pub fn at_index(&self, i: i64) -> f64 {
        match *self {
            DemoValue::Linear { per_step } => per_step * i as f64,
            DemoValue::Sawtooth {
                base,
                slope,
                period,
            } => base + slope * (i % period) as f64,
            DemoValue::Constant(v) => v,
        }
    }
}

/// One demo time series.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSeries {
    /// The sample name (`__name__`), e.g. `demo_http_requests_total` or `demo_request_duration_seconds_bucket`.
    pub metric: &'static str,
    /// The labels other than `__name__`, in exposition order (`job` first; `le` last for buckets).
    pub labels: Vec<(&'static str, String)>,
    /// The metric family name used in `# TYPE`/`# HELP` (`demo_http_requests` for the counter, since
    /// OpenMetrics names counter families without `_total`; `demo_request_duration_seconds` for all six
    /// histogram series).
    pub family: &'static str,
    /// The family type.
    pub kind: DemoKind,
    /// The family `# HELP` text.
    pub help: &'static str,
    /// How the value depends on the sample index.
    pub value: DemoValue,
}

impl DemoSeries {
    /// The value of label `name`, if the series has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The series as a PromQL selector / exposition series name: `metric{k="v",…}`.
    pub fn selector(&self) -> String {
        let mut s = String::from(self.metric);
        s.push('{');
        for (n, (k, v)) in self.labels.iter().enumerate() {
            if n > 0 {
                s.push(',');
            }
            let _ = write!(s, "{k}=\"{}\"", escape_label_value(v));
        }
        s.push('}');
        s
    }

    /// All labels including `__name__`, as a query result reports them.
    pub fn label_map(&self) -> BTreeMap<String, String> {
        let mut m: BTreeMap<String, String> = self
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        m.insert("__name__".to_string(), self.metric.to_string());
        m
    }
}

fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

const HTTP_HELP: &str = "Total HTTP requests handled by the demo application.";
const TEMP_HELP: &str = "Room temperature in degrees Celsius.";
const QUEUE_HELP: &str = "Number of jobs waiting in a demo work queue.";
const DURATION_HELP: &str = "Latency of HTTP requests handled by the demo application.";
const ITEMS_HELP: &str = "Demo catalogue items (one series per item, for limit tests).";

/// `demo_request_duration_seconds` per instance: (instance, cumulative observations per second for
/// le 0.1 / 0.5 / 1 / +Inf, `_sum` per second). `_count` per second equals the +Inf bucket. Per step
/// (15 s) every value is 15 times larger.
///
/// Every bucket's own count (difference to the previous one) is a power of two, for each instance and
/// for their sum, so `histogram_quantile` gives bit-identical results on Prometheus and
/// VictoriaMetrics for q = 0.5, 0.9, 0.99 (see [`DemoData::series`]).
const HISTOGRAM: [(&str, [f64; 4], f64); 2] = [
    ("app-1:8080", [4.0, 8.0, 12.0, 16.0], 9.5),
    ("app-2:8080", [2.0, 4.0, 8.0, 16.0], 17.0),
];
const HISTOGRAM_LE: [&str; 4] = ["0.1", "0.5", "1", "+Inf"];

/// The metric names of [`DemoData::series`], sorted: what `list_metrics` must answer on the demo.
pub const DEMO_METRICS: [&str; 7] = [
    "demo_http_requests_total",
    "demo_items_info",
    "demo_queue_depth",
    "demo_request_duration_seconds_bucket",
    "demo_request_duration_seconds_count",
    "demo_request_duration_seconds_sum",
    "demo_temperature_celsius",
];

impl DemoData {
    /// Six hours of data ending at `now - 60 s` rounded down to a multiple of 60.
    pub fn new_ending_near_now() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Self::ending_at(now - 60)
    }

    /// Six hours of data ending at `end` rounded down to a multiple of 60.
    pub fn ending_at(end: i64) -> Self {
        let end = end.div_euclid(60) * 60;
        DemoData {
            end,
            start: end - 6 * 3600,
            step: 15,
        }
    }

    /// Number of samples per series (1441).
    pub fn samples_per_series(&self) -> i64 {
        (self.end - self.start) / self.step + 1
    }

    /// Sample timestamps, `start..=end` by `step`.
    pub fn timestamps(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.samples_per_series()).map(move |i| self.start + i * self.step)
    }

    /// All demo series (175), grouped by family in exposition order. `i` is the sample index (0 at
    /// `start`, 1440 at `end`); every value is exact in `f64`.
    ///
    /// - `demo_http_requests_total` (counter; 8 series) `{job="demo", instance, method, code}`:
    ///   `per_step · i` with requests per second (`per_step / 15`)
    ///   app-1:8080 GET/200 20, GET/500 1, POST/200 5, POST/500 2;
    ///   app-2:8080 GET/200 16, GET/500 3, POST/200 8, POST/500 4 (sum 59/s).
    /// - `demo_temperature_celsius` (gauge; 3) `{job="sensors", room}`: kitchen `21 + 0.25·(i % 7)`,
    ///   office `22.5 + 0.125·(i % 11)`, server `18 + 0.5·(i % 13)` (at `end`: 22.25, 23.75, 23).
    /// - `demo_queue_depth` (gauge; 2) `{job="demo", queue}`: email `3·(i % 7)`, billing `5 + (i % 17)`
    ///   (at `end`: 15, 17).
    /// - `demo_request_duration_seconds` (histogram; 12) `{job="demo", instance}` plus `le` on
    ///   `_bucket`: counters `15·r·i` with per-second rates `r`: app-1:8080 le 0.1/0.5/1/+Inf = 4/8/12/16,
    ///   `_sum` 9.5, `_count` 16; app-2:8080 2/4/8/16, `_sum` 17, `_count` 16. On aligned `[5m]` ranges
    ///   `histogram_quantile(0.5, rate(…))` is 0.5 on app-1, 1 on app-2, 0.75 for `sum by (le)`;
    ///   q = 0.9 and 0.99 give 1 (the +Inf bucket) everywhere; mean latency `rate(_sum) / rate(_count)`
    ///   is 0.59375 and 1.0625.
    /// - `demo_items_info` (gauge; 150) `{job="demo", item="item-000"…"item-149"}`: constant 1.
    pub fn series() -> Vec<DemoSeries> {
        let mut out = Vec::new();

        let http: [(&str, &str, &str, f64); 8] = [
            ("app-1:8080", "GET", "200", 20.0),
            ("app-1:8080", "GET", "500", 1.0),
            ("app-1:8080", "POST", "200", 5.0),
            ("app-1:8080", "POST", "500", 2.0),
            ("app-2:8080", "GET", "200", 16.0),
            ("app-2:8080", "GET", "500", 3.0),
            ("app-2:8080", "POST", "200", 8.0),
            ("app-2:8080", "POST", "500", 4.0),
        ];
        for (instance, method, code, per_second) in http {
            out.push(DemoSeries {
                metric: "demo_http_requests_total",
                labels: vec![
                    ("job", "demo".into()),
                    ("instance", instance.into()),
                    ("method", method.into()),
                    ("code", code.into()),
                ],
                family: "demo_http_requests",
                kind: DemoKind::Counter,
                help: HTTP_HELP,
                value: DemoValue::Linear {
                    per_step: per_second * 15.0,
                },
            });
        }

        let rooms: [(&str, f64, f64, i64); 3] = [
            ("kitchen", 21.0, 0.25, 7),
            ("office", 22.5, 0.125, 11),
            ("server", 18.0, 0.5, 13),
        ];
        for (room, base, slope, period) in rooms {
            out.push(DemoSeries {
                metric: "demo_temperature_celsius",
                labels: vec![("job", "sensors".into()), ("room", room.into())],
                family: "demo_temperature_celsius",
                kind: DemoKind::Gauge,
                help: TEMP_HELP,
                value: DemoValue::Sawtooth {
                    base,
                    slope,
                    period,
                },
            });
        }

        let queues: [(&str, f64, f64, i64); 2] =
            [("email", 0.0, 3.0, 7), ("billing", 5.0, 1.0, 17)];
        for (queue, base, slope, period) in queues {
            out.push(DemoSeries {
                metric: "demo_queue_depth",
                labels: vec![("job", "demo".into()), ("queue", queue.into())],
                family: "demo_queue_depth",
                kind: DemoKind::Gauge,
                help: QUEUE_HELP,
                value: DemoValue::Sawtooth {
                    base,
                    slope,
                    period,
                },
            });
        }

        for (instance, buckets, sum_per_second) in HISTOGRAM {
            let base = || vec![("job", "demo"), ("instance", instance)];
            let series = |metric, labels: Vec<(&'static str, &str)>, per_second: f64| DemoSeries {
                metric,
                labels: labels
                    .into_iter()
                    .map(|(k, v)| (k, v.to_string()))
                    .collect(),
                family: "demo_request_duration_seconds",
                kind: DemoKind::Histogram,
                help: DURATION_HELP,
                value: DemoValue::Linear {
                    per_step: per_second * 15.0,
                },
            };
            for (le, per_second) in HISTOGRAM_LE.into_iter().zip(buckets) {
                let mut labels = base();
                labels.push(("le", le));
                out.push(series(
                    "demo_request_duration_seconds_bucket",
                    labels,
                    per_second,
                ));
            }
            out.push(series(
                "demo_request_duration_seconds_sum",
                base(),
                sum_per_second,
            ));
            out.push(series(
                "demo_request_duration_seconds_count",
                base(),
                buckets[3],
            ));
        }

        for n in 0..150 {
            out.push(DemoSeries {
                metric: "demo_items_info",
                labels: vec![("job", "demo".into()), ("item", format!("item-{n:03}"))],
                family: "demo_items_info",
                kind: DemoKind::Gauge,
                help: ITEMS_HELP,
                value: DemoValue::Constant(1.0),
            });
        }
        out
    }

    /// The value of `series` at time `t`: exactly the sample at `t` when `t` is on the grid; otherwise the
    /// latest sample before `t` (what an instant query sees); `t > end` gives the last sample.
    ///
    /// Panics if `t < start` (there is no sample there).
    pub fn expected_value(&self, series: &DemoSeries, t: i64) -> f64 {
        assert!(
            t >= self.start,
            "no demo sample at {t}: the data starts at {}",
            self.start
        );
        let i = ((t - self.start) / self.step).min(self.samples_per_series() - 1);
        series.value.at_index(i)
    }

    /// The data as OpenMetrics text (for `promtool tsdb create-blocks-from openmetrics`): `# HELP` and
    /// `# TYPE` per family, then every sample with a timestamp in seconds, series by series in time
    /// order, and `# EOF`.
    pub fn openmetrics(&self) -> String {
        self.render(true)
    }

    /// The same samples in the Prometheus text exposition format with millisecond timestamps (for
    /// VictoriaMetrics' `/api/v1/import/prometheus`). Families are named as in the Prometheus format
    /// (the counter's `# TYPE` says `demo_http_requests_total`); there is no `# EOF`.
    pub fn prometheus_text_with_ms(&self) -> String {
        self.render(false)
    }

    fn render(&self, openmetrics: bool) -> String {
        let series = Self::series();
        let n = self.samples_per_series() as usize;
        let mut out = String::with_capacity(series.len() * n * 72);
        let mut current_family = "";
        for s in &series {
            if s.family != current_family {
                current_family = s.family;
                let family = if openmetrics || s.kind != DemoKind::Counter {
                    s.family
                } else {
                    s.metric
                };
                let _ = writeln!(out, "# HELP {family} {}", s.help);
                let _ = writeln!(out, "# TYPE {family} {}", s.kind.as_str());
            }
            let name = s.selector();
            for (i, t) in self.timestamps().enumerate() {
                let v = s.value.at_index(i as i64);
                if openmetrics {
                    let _ = writeln!(out, "{name} {} {t}", format_value(v));
                } else {
                    let _ = writeln!(out, "{name} {} {}", format_value(v), t * 1000);
                }
            }
        }
        if openmetrics {
            out.push_str("# EOF\n");
        }
        out
    }
}

/// Formats a sample value so it parses back to the same `f64` (Rust's shortest round-trip form).
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}
