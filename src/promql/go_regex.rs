//! Regexes as Go's `regexp` (RE2) reads them, checked with the `regex` crate: Go-only syntax
//! (`\Q...\E`, octal escapes, a literal `a{bbb}`) is translated for the crate, what Go refuses
//! but the crate would accept (nested repetition such as `a**`, repeat counts over 1000, unknown
//! flags) is refused, and error positions are mapped back into the pattern.
//!
//! Not here: where regexes occur in an expression (`check`), the messages around a refused
//! regex (`check`, [`validate_metric_regex`](super::validate_metric_regex)).

#[derive(Debug)]
pub(super) struct RegexErr {
    /// Byte offset in the pattern, when known.
    pub(super) pos: Option<usize>,
    pub(super) msg: String,
}

/// Compiles `pattern` as Prometheus does (`^(?s:pattern)$`, Go syntax); returns whether it
/// matches the empty string.
pub(super) fn check_go_regex(pattern: &str) -> Result<bool, RegexErr> {
    const PREFIX: &str = "^(?s:";
    let (translated, map) = translate_go_regex(pattern)?;
    let full = format!("{PREFIX}{translated})$");
    match regex::Regex::new(&full) {
        Ok(re) => Ok(re.is_match("")),
        Err(regex::Error::Syntax(text)) => {
            let caret = text.lines().find_map(|line| {
                let body = line.strip_prefix("    ")?;
                let col = body.find('^')?;
                body.trim().chars().all(|c| c == '^').then_some(col)
            });
            let pos = caret
                .and_then(|c| c.checked_sub(PREFIX.len()))
                .and_then(|c| map.get(c).copied());
            let msg = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("invalid regular expression")
                .to_string();
            Err(RegexErr { pos, msg })
        }
        Err(e) => Err(RegexErr {
            pos: None,
            msg: e.to_string(),
        }),
    }
}

/// Rewrites Go-only regex syntax for the `regex` crate, and refuses what Go refuses but the
/// crate would accept. Returns the pattern and, per output character, the input byte offset.
fn translate_go_regex(p: &str) -> Result<(String, Vec<usize>), RegexErr> {
    let chars: Vec<(usize, char)> = p.char_indices().collect();
    let n = chars.len();
    let mut out = String::with_capacity(p.len() + 8);
    let mut map = Vec::with_capacity(p.len() + 8);
    let mut push = |s: &str, at: usize| {
        for c in s.chars() {
            out.push(c);
            map.push(at);
        }
    };
    let err = |at: usize, msg: String| RegexErr { pos: Some(at), msg };
    let ch = |k: usize| chars.get(k).map(|x| x.1);
    let mut i = 0;
    let mut in_class = false;
    // Whether the last item was a repetition operator (Go refuses `a**`, `a{2}*`, `a*??`).
    let mut after_repeat = false;
    while i < n {
        let (at, c) = chars[i];
        if c == '\\' {
            let Some(e) = ch(i + 1) else {
                return Err(err(at, "trailing backslash at end of expression".into()));
            };
            if e == 'Q' && !in_class {
                let mut j = i + 2;
                let mut lit = String::new();
                while j < n && !(chars[j].1 == '\\' && ch(j + 1) == Some('E')) {
                    lit.push(chars[j].1);
                    j += 1;
                }
                push(&regex::escape(&lit), at);
                i = if j < n { j + 2 } else { j };
                after_repeat = false;
                continue;
            }
            let octal = |k: usize| ch(k).is_some_and(|c| ('0'..='7').contains(&c));
            if e == '0' || (('1'..='7').contains(&e) && octal(i + 2)) {
                let mut v = 0u32;
                let mut j = i + 1;
                while j < i + 4 && octal(j) {
                    v = v * 8 + ch(j).and_then(|c| c.to_digit(8)).unwrap_or(0);
                    j += 1;
                }
                push(&format!("\\x{{{v:X}}}"), at);
                i = j;
                after_repeat = false;
                continue;
            }
            push(&format!("\\{e}"), at);
            i += 2;
            after_repeat = false;
            continue;
        }
        if in_class {
            match c {
                '[' if ch(i + 1) == Some(':') => {
                    let mut j = i;
                    while j < n && !(chars[j].1 == ':' && ch(j + 1) == Some(']')) {
                        j += 1;
                    }
                    if j < n {
                        let end = chars.get(j + 2).map(|x| x.0).unwrap_or(p.len());
                        push(&p[at..end], at);
                        i = j + 2;
                        continue;
                    }
                    push("\\[", at);
                }
                '[' => push("\\[", at),
                ']' => {
                    in_class = false;
                    push("]", at);
                }
                '&' | '~' if ch(i + 1) == Some(c) => {
                    push(&format!("{c}\\{c}"), at);
                    i += 2;
                    continue;
                }
                _ => push(&c.to_string(), at),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                push("[", at);
                i += 1;
                if ch(i) == Some('^') {
                    push("^", chars[i].0);
                    i += 1;
                }
                if ch(i) == Some(']') {
                    push("\\]", chars[i].0);
                    i += 1;
                }
                after_repeat = false;
                continue;
            }
            '*' | '+' | '?' => {
                if after_repeat {
                    return Err(err(
                        at,
                        format!("invalid nested repetition operator: `{c}`"),
                    ));
                }
                push(&c.to_string(), at);
                i += 1;
                if ch(i) == Some('?') {
                    push("?", chars[i].0);
                    i += 1;
                }
                after_repeat = true;
                continue;
            }
            '{' => {
                if let Some((len, min, max)) = go_repeat(&chars[i..]) {
                    if after_repeat {
                        return Err(err(at, "invalid nested repetition operator".into()));
                    }
                    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                        return Err(err(at, "invalid repeat count".into()));
                    }
                    let end = chars.get(i + len).map(|x| x.0).unwrap_or(p.len());
                    push(&p[at..end], at);
                    i += len;
                    if ch(i) == Some('?') {
                        push("?", chars[i].0);
                        i += 1;
                    }
                    after_repeat = true;
                    continue;
                }
                push("\\{", at);
            }
            '(' if ch(i + 1) == Some('?') => {
                let mut j = i + 2;
                if !matches!(ch(j), Some('P' | '<')) {
                    while let Some(f) = ch(j).filter(|f| *f != ':' && *f != ')') {
                        if !"imsU-".contains(f) {
                            return Err(err(
                                at,
                                format!("invalid or unsupported Perl syntax: `(?{f}`"),
                            ));
                        }
                        j += 1;
                    }
                }
                push("(?", at);
                i += 2;
                after_repeat = false;
                continue;
            }
            _ => push(&c.to_string(), at),
        }
        after_repeat = false;
        i += 1;
    }
    map.push(p.len());
    Ok((out, map))
}

/// A Go repetition `{n}`, `{n,}` or `{n,m}` at the start of `chars`: (length, n, m).
fn go_repeat(chars: &[(usize, char)]) -> Option<(usize, u64, Option<u64>)> {
    let mut k = 1;
    let num = |k: &mut usize| -> Option<u64> {
        let start = *k;
        while chars.get(*k).is_some_and(|x| x.1.is_ascii_digit()) {
            *k += 1;
        }
        if *k == start {
            return None;
        }
        let s: String = chars[start..*k].iter().map(|x| x.1).collect();
        Some(s.parse().unwrap_or(u64::MAX))
    };
    let min = num(&mut k)?;
    let max = match chars.get(k)?.1 {
        '}' => Some(min),
        ',' => {
            k += 1;
            if chars.get(k)?.1 == '}' {
                None
            } else {
                num(&mut k)
            }
            .map_or(Some(None), |m| Some(Some(m)))?
        }
        _ => return None,
    };
    (chars.get(k)?.1 == '}').then_some((k + 1, min, max))
}
