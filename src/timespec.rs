//! Times and durations as tools accept them, and as results echo them back.
//!
//! Times: `now`, `now-1h`, `now+5m`, RFC 3339 (`2026-11-21T10:00:00Z`), or Unix seconds (`1763719200`,
//! `1763719200.5`). Durations: Prometheus' syntax (`15s`, `1h30m`, `500ms`, `1d`) or plain seconds (`30`).
//! Relative times resolve against a `now` the caller injects, so results are reproducible in tests.
//! Nothing here talks to a backend.

use std::fmt;

/// Why a time or duration was rejected; the message quotes the input and the expected form.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}

const TIME_FORMS: &str =
    "expected 'now', 'now-1h', RFC 3339 like '2026-11-21T10:00:00Z', or Unix seconds";
/// Unix seconds beyond this (the year 5138) are taken for milliseconds by mistake.
const MAX_UNIX_SECONDS: f64 = 1e11;

const DURATION_FORMS: &str = "expected e.g. 30s, 5m, 1h30m, 1d or a number of seconds";

/// Current Unix time in seconds (wall clock: `wasi:clocks/wall-clock` inside the component).
pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Parses a time argument into Unix seconds, resolving relative forms against `now`.
pub fn parse_time(input: &str, now: f64) -> Result<f64, TimeError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(TimeError(format!("empty time: {TIME_FORMS}")));
    }
    if let Some(rest) = s.strip_prefix("now") {
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(now);
        }
        // Models also write the Unicode minus and en dash; never split inside a multibyte char.
        let (sign, dur) = if let Some(d) = rest.strip_prefix(['-', '\u{2212}', '\u{2013}']) {
            (-1.0, d)
        } else if let Some(d) = rest.strip_prefix('+') {
            (1.0, d)
        } else {
            return Err(TimeError(format!("invalid time '{input}': {TIME_FORMS}")));
        };
        let secs = parse_duration(dur.trim())
            .map_err(|_| TimeError(format!("invalid time '{input}': {TIME_FORMS}")))?;
        return Ok(now + sign * secs);
    }
    if let Ok(v) = s.parse::<f64>()
        && v.is_finite()
        && !s.contains(['e', 'E'])
    {
        if v.abs() > MAX_UNIX_SECONDS {
            return Err(TimeError(format!(
                "invalid time '{input}': Unix time must be in seconds (this looks like milliseconds; divide by 1000)"
            )));
        }
        return Ok(v);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_nanos()) / 1e9);
    }
    Err(TimeError(format!("invalid time '{input}': {TIME_FORMS}")))
}

/// Parses a duration (`1h30m`, `15s`, `500ms`, or plain seconds) into seconds; it must be positive.
pub fn parse_duration(input: &str) -> Result<f64, TimeError> {
    let s = input.trim();
    let bad = || TimeError(format!("invalid duration '{input}': {DURATION_FORMS}"));
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(v) = s.parse::<f64>() {
        return if v.is_finite() && v > 0.0 && !s.contains(['e', 'E']) {
            Ok(v)
        } else {
            Err(bad())
        };
    }
    let bytes = s.as_bytes();
    let mut total = 0.0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let n: f64 = s[start..i].parse().map_err(|_| bad())?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = match &s[ustart..i] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return Err(bad()),
        };
        total += n * unit;
    }
    if total > 0.0 && total.is_finite() {
        Ok(total)
    } else {
        Err(bad())
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-21T10:00:00Z`, with fractions only when present).
pub fn format_time(t: f64) -> String {
    let secs = t.floor() as i64;
    let nanos = ((t - t.floor()) * 1e9).round() as u32;
    use chrono::{Datelike, Timelike};
    match chrono::DateTime::from_timestamp(secs, nanos.min(999_999_999)) {
        // Written field by field: chrono's `format` parses its pattern on every call, and every
        // answer carries a few times.
        Some(dt) if (0..=9999).contains(&dt.year()) => {
            let mut out = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            if nanos != 0 {
                out.push_str(&format!(".{:03}", dt.timestamp_subsec_millis()));
            }
            out.push('Z');
            out
        }
        Some(dt) if nanos == 0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{t}"),
    }
}

/// Formats seconds as a Prometheus duration (`90` → `1m30s`, `0.5` → `500ms`).
pub fn format_duration(secs: f64) -> String {
    let mut ms = (secs * 1000.0).round() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

/// Formats Unix seconds the way Prometheus' API accepts them (decimal seconds, no exponent).
pub fn api_time(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{}", t as i64)
    } else {
        format!("{t:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_763_719_200.0; // 2025-11-21T10:00:00Z

    #[test]
    fn relative_times_resolve_against_now() {
        assert_eq!(parse_time("now", NOW), Ok(NOW));
        assert_eq!(parse_time("now-1h", NOW), Ok(NOW - 3600.0));
        assert_eq!(parse_time("now - 90m", NOW), Ok(NOW - 5400.0));
        assert_eq!(parse_time("now+5m", NOW), Ok(NOW + 300.0));
        assert_eq!(parse_time("now\u{2013}1h", NOW), Ok(NOW - 3600.0));
        assert_eq!(parse_time("now\u{2212}1h", NOW), Ok(NOW - 3600.0));
        assert!(
            parse_time("now\u{e9}1h", NOW).is_err(),
            "no panic on multibyte characters"
        );
    }

    #[test]
    fn absolute_times_parse() {
        assert_eq!(parse_time("1763719200", NOW), Ok(NOW));
        assert_eq!(parse_time("1763719200.5", NOW), Ok(NOW + 0.5));
        assert_eq!(parse_time("2025-11-21T10:00:00Z", NOW), Ok(NOW));
        assert_eq!(parse_time("2025-11-21T11:00:00+01:00", NOW), Ok(NOW));
    }

    #[test]
    fn bad_times_quote_the_input_and_the_forms() {
        let e = parse_time("yesterday", NOW).unwrap_err();
        assert!(
            e.0.contains("'yesterday'") && e.0.contains("RFC 3339"),
            "{e}"
        );
        assert!(parse_time("now-", NOW).is_err());
        assert!(parse_time("now*2", NOW).is_err());
        assert!(parse_time("1e9", NOW).is_err());
        assert!(parse_time("", NOW).is_err());
        let ms = parse_time("1763719200000", NOW).unwrap_err();
        assert!(ms.0.contains("milliseconds"), "{ms}");
        let huge = format!("now-{}y", "9".repeat(400));
        assert!(
            parse_time(&huge, NOW).is_err(),
            "infinite durations are refused"
        );
    }

    #[test]
    fn durations_follow_prometheus_syntax() {
        assert_eq!(parse_duration("15s"), Ok(15.0));
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("500ms"), Ok(0.5));
        assert_eq!(parse_duration("1d"), Ok(86400.0));
        assert_eq!(parse_duration("30"), Ok(30.0));
        assert_eq!(parse_duration("2.5"), Ok(2.5));
        for bad in ["", "5x", "-5s", "0", "0s", "h", "1.5h", "inf", "NaN"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.0.contains("expected e.g. 30s"), "{bad}: {e}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(format_time(NOW), "2025-11-21T10:00:00Z");
        // Field by field, as chrono's pattern writes it, across the years it can name.
        for t in [
            -62_167_219_200.0,
            -1.5,
            0.0,
            0.0005,
            951_782_400.999,
            NOW + 0.0015,
            253_402_300_799.0,
            253_402_300_800.0,
            -62_167_219_201.0,
        ] {
            let dt = chrono::DateTime::from_timestamp(t.floor() as i64, 0).unwrap();
            let nanos = ((t - t.floor()) * 1e9).round() as u32;
            let dt = dt + chrono::Duration::nanoseconds(nanos.into());
            let pattern = if nanos == 0 {
                "%Y-%m-%dT%H:%M:%SZ"
            } else {
                "%Y-%m-%dT%H:%M:%S%.3fZ"
            };
            assert_eq!(format_time(t), dt.format(pattern).to_string(), "{t}");
        }
        assert_eq!(format_time(NOW + 0.25), "2025-11-21T10:00:00.250Z");
        assert_eq!(format_duration(90.0), "1m30s");
        assert_eq!(format_duration(0.5), "500ms");
        assert_eq!(format_duration(86_400.0 + 3600.0), "1d1h");
        assert_eq!(api_time(NOW), "1763719200");
        assert_eq!(api_time(NOW + 0.5), "1763719200.500");
    }
}
