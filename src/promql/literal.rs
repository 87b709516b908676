//! The values of literal tokens as Go computes them: strings (`strconv.Unquote`), numbers
//! (`strconv.ParseFloat` and `ParseInt` as Prometheus' lexer calls them) and durations
//! (`model.ParseDuration`), and the range a Go `time.Duration` holds.
//!
//! Not here: which text is a token (`lex`, which has already checked escapes and digits).

/// The value of a string token (Go `strconv.Unquote`); escapes were checked by the lexer.
pub(super) fn unquote(tok: &str) -> String {
    let quote = tok.chars().next().unwrap_or('"');
    let inner = &tok[quote.len_utf8()..tok.len().saturating_sub(1).max(quote.len_utf8())];
    if quote == '`' {
        return inner.to_string();
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else { break };
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' => Some(b'\''),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (count, radix, byte) = match e {
            '0'..='7' => (2, 8, true),
            'x' => (2, 16, true),
            'u' => (4, 16, false),
            'U' => (8, 16, false),
            _ => (0, 16, false),
        };
        let mut v: u32 = if radix == 8 {
            e.to_digit(8).unwrap_or(0)
        } else {
            0
        };
        for _ in 0..count {
            if let Some(d) = chars.peek().and_then(|c| c.to_digit(radix)) {
                v = v * radix + d;
                chars.next();
            }
        }
        if byte {
            out.push((v & 0xFF) as u8);
        } else if let Some(c) = char::from_u32(v) {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A number token's value as Prometheus computes it (`strconv.ParseInt(s, 0, 64)`, then
/// `strconv.ParseFloat(s, 64)`).
pub(super) fn parse_go_number(s: &str) -> Result<f64, String> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" => return Ok(f64::INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (digits, radix) = if let Some(h) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        (h, 16)
    } else if clean.len() > 1 && clean.starts_with('0') {
        (&clean[1..], 8)
    } else {
        (clean.as_str(), 10)
    };
    if !digits.is_empty()
        && let Ok(v) = i64::from_str_radix(digits, radix)
    {
        return Ok(v as f64);
    }
    if radix == 16 {
        return Err(format!("error parsing number: {s:?} is not a valid number"));
    }
    match clean.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!(
            "error parsing number: {s:?} is out of the 64-bit float range"
        )),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("error parsing number: {s:?} is not a valid number")),
    }
}

/// A duration token's value in seconds (Prometheus' `model.ParseDuration`).
pub(super) fn parse_go_duration(s: &str) -> Result<f64, String> {
    const NS: u128 = 1_000_000_000;
    const UNITS: [(&str, u128, u8); 7] = [
        ("ms", 1_000_000, 7),
        ("s", NS, 6),
        ("m", 60 * NS, 5),
        ("h", 3_600 * NS, 4),
        ("d", 86_400 * NS, 3),
        ("w", 604_800 * NS, 2),
        ("y", 31_536_000 * NS, 1),
    ];
    if s == "0" {
        return Ok(0.0);
    }
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut last = 0u8;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..n].parse().map_err(|_| invalid())?;
        rest = &rest[n..];
        let u = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if u == 0 {
            return Err(invalid());
        }
        let unit = &rest[..u];
        rest = &rest[u..];
        let Some(&(_, mult, pos)) = UNITS.iter().find(|(name, _, _)| *name == unit) else {
            return Err(format!("unknown unit {unit:?} in duration {s:?}"));
        };
        if pos <= last {
            return Err(invalid());
        }
        last = pos;
        if u128::from(v) > (1u128 << 63) / mult {
            return Err("duration out of range".to_string());
        }
        total += u128::from(v) * mult;
        if total > i64::MAX as u128 {
            return Err("duration out of range".to_string());
        }
    }
    Ok(total as f64 / NS as f64)
}

/// Whether `v` seconds overflow a Go `time.Duration`.
pub(super) fn duration_out_of_range(v: f64) -> bool {
    // `abs` keeps NaN in range, as Go's comparison does.
    v.abs() > 9_223_372_036.854_775
}
