//! How numbers are written into answers: range values rounded to significant digits (or kept
//! exact), whole numbers as JSON integers, and averages without float noise.
//!
//! Not here: which values are shown and how series are laid out (`shape`).

use serde_json::{Value, json};

/// How many significant digits range values keep unless the caller asks for full precision: enough
/// to read a shape and compare series (a relative error below 0.05%), a third of the bytes of a
/// 17-digit float. The statistics are always computed from the exact values.
pub const DEFAULT_DIGITS: u32 = 4;

/// How a value is written into a compact series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Rounded to this many significant digits.
    Digits(u32),
    /// Exactly as the datasource sent it.
    Full,
}

impl Precision {
    /// `value` as written: rounded unless [`Precision::Full`], and whole numbers as JSON integers
    /// (`28`, not `28.0`; lossless below 2^53). `NaN`/`±Inf` stay strings.
    pub fn number(self, value: &Value) -> Value {
        match value.as_f64() {
            Some(f) => self.float(f),
            None => value.clone(),
        }
    }

    /// A finite `f` as written (see [`Precision::number`]).
    pub fn float(self, f: f64) -> Value {
        let f = match self {
            Precision::Digits(d) => significant(f, d),
            Precision::Full => f,
        };
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            json!(f as i64)
        } else {
            json!(f)
        }
    }
}

/// `f` rounded to `digits` significant digits, as the nearest float to the decimal that prints;
/// so `28.333333` becomes `28.33`, never `28.330000000000002`.
///
/// Arithmetic, not text (every value of a range answer goes through here): the digits kept are an
/// integer `n`, and the result `n / 10^k` (or `n * 10^k`) is one correctly rounded operation on
/// exact operands, hence the nearest float to that decimal. A value (all but) exactly halfway may
/// round either way (the text round trip rounds it to even). Beyond the powers of ten a float holds
/// exactly (`10^22`), or past 2^53, it falls back to writing and reading the value as text.
pub fn significant(f: f64, digits: u32) -> f64 {
    if f == 0.0 || !f.is_finite() {
        return f;
    }
    let digits = digits.clamp(1, 17) as i32;
    let text = || {
        format!("{f:.*e}", (digits - 1) as usize)
            .parse()
            .unwrap_or(f)
    };
    // The decimal exponent of `f`, looked up among the exact powers of ten (a range series has
    // thousands of values, and `log10` is a software routine in wasm); either way it can be off by
    // one next to a power of ten, so the number of digits kept is checked below and corrected.
    let mut exponent = decimal_exponent(f.abs());
    for _ in 0..2 {
        let k = digits - 1 - exponent;
        if !(-22..=22).contains(&k) {
            return text();
        }
        let scale = POW10[k.unsigned_abs() as usize];
        let n = if k >= 0 { f * scale } else { f / scale }.round();
        let magnitude = n.abs();
        if magnitude >= POW10[digits as usize] {
            exponent += 1;
        } else if magnitude < POW10[digits as usize - 1] && magnitude != 0.0 {
            exponent -= 1;
        } else if n.abs() >= 9.0e15 {
            return text();
        } else {
            return if k >= 0 { n / scale } else { n * scale };
        }
    }
    text()
}

/// The powers of ten a float holds exactly: `10^0` to `10^22`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `floor(log10(a))` for a positive finite `a`, possibly off by one next to a power of ten.
fn decimal_exponent(a: f64) -> i32 {
    if (1.0..POW10[22]).contains(&a) {
        POW10.partition_point(|p| *p <= a) as i32 - 1
    } else if (1e-22..1.0).contains(&a) {
        -(POW10.partition_point(|p| a * p < 1.0) as i32)
    } else {
        a.log10().floor() as i32
    }
}

/// Rounds to 12 significant digits so averages do not print float noise (0.30000000000000004).
pub(in crate::tools) fn round(f: f64) -> f64 {
    if f == 0.0 || !f.is_finite() {
        return f;
    }
    let digits = 12 - (f.abs().log10().floor() as i32 + 1);
    let scale = 10f64.powi(digits.clamp(-300, 300));
    (f * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_agrees_with_the_text_round_trip() {
        assert_eq!(significant(-0.0012345678, 3), -0.00123);
        // The arithmetic agrees with the text round trip over values of every magnitude, except
        // (all but) exact halves, which the text rounds to even.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mantissa = (x >> 11) as f64 / (1u64 << 53) as f64 * 10.0;
            let f =
                mantissa * 10f64.powi((x % 41) as i32 - 20) * if x & 1 == 0 { 1.0 } else { -1.0 };
            for d in [1, 4, 6, 15] {
                let text: f64 = format!("{f:.*e}", d as usize - 1).parse().unwrap();
                let got = significant(f, d);
                // They may differ only on a value (all but) exactly halfway between the two.
                let halfway = (got + text) / 2.0;
                assert!(
                    got == text || (f - halfway).abs() <= f.abs() * 1e-12,
                    "{f} to {d} digits: {got} vs {text}"
                );
            }
        }
        assert_eq!(significant(9.9996, 4), 10.0);
        for k in -30..=30 {
            let p = 10f64.powi(k);
            for a in [p, p * 0.999_999, p * 1.000_001, p * 3.7] {
                let exact = a.log10().floor() as i32;
                assert!((decimal_exponent(a) - exact).abs() <= 1, "{a}");
            }
            if (0..=22).contains(&k) {
                assert_eq!(decimal_exponent(p), k);
                assert_eq!(decimal_exponent(p * 3.7), k);
            }
        }
    }
}
