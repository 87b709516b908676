//! Regexes as Go's `regexp` (RE2) reads them, checked with the `regex` crate's parser
//! (`regex-syntax`): Go-only syntax (`\Q...\E`, octal escapes, a literal `a{bbb}`, `\p{^Greek}`, a
//! literal `-` after a class in brackets as in `[\d-z]`) is translated for the crate, what Go refuses
//! but the crate would accept (nested repetition such as `a**`, repeat counts over 1000, unknown
//! flags, Unicode class names only the crate knows such as `\p{Latn}`) is refused, and error
//! positions are mapped back into the pattern.
//!
//! Not here: which Unicode class names Go knows (`go_unicode`), where regexes occur in an
//! expression (`check`), the messages around a refused regex (`check`,
//! [`validate_metric_regex`](super::validate_metric_regex)).

use regex_syntax::hir::{Hir, HirKind, Look};

use super::go_unicode::crate_class;

#[derive(Debug)]
pub(super) struct RegexErr {
    /// Byte offset in the pattern, when known.
    pub(super) pos: Option<usize>,
    pub(super) msg: String,
}

/// Checks `pattern` as Prometheus reads it (`^(?s:pattern)$`, Go syntax); returns whether it
/// matches the empty string.
///
/// Parsed, not compiled: parsing is what refuses a pattern (the message is the one
/// `regex::Regex::new` would give), and whether the anchored pattern matches `""` is read off the
/// tree ([`matches_empty`]). Compiling took 10–45 µs per pattern natively (a Unicode class or `.`
/// is a large automaton), parsing 2–4 µs. The `regex` crate's compiled-size limit is not applied:
/// Go has none like it.
pub(super) fn check_go_regex(pattern: &str) -> Result<bool, RegexErr> {
    const PREFIX: &str = "^(?s:";
    let (translated, map) = translate_go_regex(pattern)?;
    let full = format!("{PREFIX}{translated})$");
    match regex_syntax::Parser::new().parse(&full) {
        Ok(hir) => Ok(matches_empty(&hir)),
        Err(error) => {
            let text = error.to_string();
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
    }
}

/// Whether `hir` matches the empty string. On an empty haystack there is one position, with no
/// character on either side: every assertion but a word boundary holds there.
fn matches_empty(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty => true,
        HirKind::Literal(literal) => literal.0.is_empty(),
        HirKind::Class(_) => false,
        HirKind::Look(look) => !matches!(
            look,
            Look::WordAscii
                | Look::WordUnicode
                | Look::WordStartAscii
                | Look::WordEndAscii
                | Look::WordStartUnicode
                | Look::WordEndUnicode
        ),
        HirKind::Repetition(rep) => rep.min == 0 || matches_empty(&rep.sub),
        HirKind::Capture(capture) => matches_empty(&capture.sub),
        HirKind::Concat(parts) => parts.iter().all(matches_empty),
        HirKind::Alternation(parts) => parts.iter().any(matches_empty),
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
            if e == 'p' || e == 'P' {
                let (class, next) = unicode_class(&chars, i, p)?;
                push(&class, at);
                i = next;
            } else {
                push(&format!("\\{e}"), at);
                i += 2;
            }
            if in_class && "dDsSwWpP".contains(e) && ch(i) == Some('-') {
                // Go reads a `-` right after a class inside brackets as a literal (`[\d-z]`
                // holds digits, `-` and `z`); the crate would take it for a range and refuse.
                push("\\-", chars[i].0);
                i += 1;
            }
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
                        if ch(i) == Some('-') {
                            // As after `\d`: a literal `-` in Go, a range for the crate.
                            push("\\-", chars[i].0);
                            i += 1;
                        }
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

/// The Unicode class `\pN`, `\p{Name}`, `\P{Name}` or `\p{^Name}` whose backslash is at
/// `chars[i]`, read as Go's `parseUnicodeClass` does: the crate's spelling of it, and the index
/// after it. Go's `^` negation is folded into `\p`/`\P` (the crate has no `\p{^Name}`), and the
/// name into the crate's (`go_unicode`). An unknown name is refused with Go's message, quoting the
/// escape (or, when no `}` closes it, the rest of the pattern).
fn unicode_class(chars: &[(usize, char)], i: usize, p: &str) -> Result<(String, usize), RegexErr> {
    let at = chars[i].0;
    let byte = |k: usize| chars.get(k).map(|x| x.0).unwrap_or(p.len());
    let refuse = |seq: &str| RegexErr {
        pos: Some(at),
        msg: format!("invalid character class range: `{seq}`"),
    };
    let (mut name, next) = match chars.get(i + 2) {
        Some(&(brace, '{')) => {
            let Some(len) = chars[i + 3..].iter().position(|x| x.1 == '}') else {
                return Err(refuse(&p[at..]));
            };
            (&p[brace + 1..byte(i + 3 + len)], i + 4 + len)
        }
        Some(_) => (&p[byte(i + 2)..byte(i + 3)], i + 3),
        None => ("", i + 2),
    };
    let mut negated = chars[i + 1].1 == 'P';
    if let Some(rest) = name.strip_prefix('^') {
        negated = !negated;
        name = rest;
    }
    let class = crate_class(name).ok_or_else(|| refuse(&p[at..byte(next)]))?;
    let sign = if negated != class.complement {
        'P'
    } else {
        'p'
    };
    Ok((format!("\\{sign}{{{}}}", class.name), next))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(pattern: &str) -> RegexErr {
        check_go_regex(pattern).expect_err(pattern)
    }

    #[test]
    fn the_empty_string_verdict_agrees_with_a_compiled_regex() {
        for pattern in [
            "",
            ".*",
            ".+",
            "a|",
            "|a",
            "a?",
            "(a|b)*",
            "(?:)",
            "()",
            r"\b",
            r"\B",
            r"\B\B",
            "^$",
            "$",
            "^",
            "(?m:^$)",
            r"\A\z",
            r"\Afoo",
            "a{0}",
            "a{0,3}",
            "a{1,3}",
            "(a*)+",
            "(a+)?",
            r"\bfoo\b",
            "[a-z]*",
            "[^a]",
            r"\d*",
            r"\d+",
            "x*y*",
            "x*y",
            "(|x)",
            r"\Qa\E",
            r"\Q\E",
            "(?i)a*",
            r"\pL*",
            r"\p{Greek}",
            r"\P{^Any}*",
            "(a|b?)c?",
            "api|web",
            "5..",
            "/health",
            r"(?U)a*?",
            r"[\d-z]*",
            "a**",
            "(?s:.)*",
            r"\x00*",
            r"(\b|a)",
            r"(\B|a)b",
        ] {
            let Ok((translated, _)) = translate_go_regex(pattern) else {
                continue;
            };
            let Ok(compiled) = regex::Regex::new(&format!("^(?s:{translated})$")) else {
                continue;
            };
            assert_eq!(
                check_go_regex(pattern).ok(),
                Some(compiled.is_match("")),
                "{pattern}"
            );
        }
    }

    #[test]
    fn unicode_classes_go_accepts() {
        for ok in [
            r"\p{Greek}+",
            r"\pL",
            r"\pN",
            r"\pLu",
            r"\p{Lu}",
            r"\p{L}",
            r"\P{L}",
            r"\p{^Greek}",
            r"\P{^Greek}",
            r"\p{Any}",
            r"\p{Han}\p{Hiragana}",
            r"\p{Old_Italic}",
            r"\p{SignWriting}",
            r"\p{Sidetic}",
            r"\p{Cn}",
            r"\p{LC}",
            r"\p{Letter}",
            r"\p{greek}",
            r"\p{ASCII}",
            r"\P{Assigned}",
            r"\p{Cs}",
            r"[^\P{Cs}a]",
            r"(?i)\p{Lu}",
            r"\p{Greek}{2,3}",
            r"\pL*",
        ] {
            assert!(check_go_regex(ok).is_ok(), "{ok}: {:?}", check_go_regex(ok));
        }
    }

    #[test]
    fn unicode_classes_inside_brackets() {
        for ok in [
            r"[\p{L}\d]",
            r"[^\pL]",
            r"[\P{Greek}a-z]",
            r"[\p{^Greek}]",
            r"[^\P{^N}_]+",
            r"[\pL-z]",
            r"[\p{Greek}-]",
        ] {
            assert!(check_go_regex(ok).is_ok(), "{ok}: {:?}", check_go_regex(ok));
        }
        assert_eq!(refused(r"[\p{Foo}]").pos, Some(1));
        assert_eq!(refused(r"[^x\P{^Latn}]").pos, Some(3));
    }

    #[test]
    fn a_dash_after_a_class_in_brackets_is_a_literal() {
        for ok in [
            r"[\d-z]",
            r"[\W-]",
            r"[[:alpha:]-z]",
            r"[\d--z]",
            r"[\s-\w]",
        ] {
            assert!(check_go_regex(ok).is_ok(), "{ok}: {:?}", check_go_regex(ok));
        }
        // A class cannot end a range, in Go as in the crate.
        assert!(check_go_regex(r"[a-\d]").is_err());
    }

    #[test]
    fn unknown_unicode_class_names_are_refused_at_the_escape() {
        for (bad, pos, quoted) in [
            (r"\p{Foo}", 0, r"`\p{Foo}`"),
            (r"ab\p{Latn}", 2, r"`\p{Latn}`"),
            (r"\P{^Foo}x", 0, r"`\P{^Foo}`"),
            (r"\pX", 0, r"`\pX`"),
            (r"\p", 0, r"`\p`"),
            (r"\p{}", 0, r"`\p{}`"),
            (r"\p{^}", 0, r"`\p{^}`"),
            (r"\p{Greek", 0, r"`\p{Greek`"),
            (r"x\p{Gre]ek", 1, r"`\p{Gre]ek`"),
            (r"\p{Alphabetic}", 0, r"`\p{Alphabetic}`"),
            (r"é\pé", 2, r"`\pé`"),
        ] {
            let e = refused(bad);
            assert_eq!(e.pos, Some(pos), "{bad}");
            assert_eq!(
                e.msg,
                format!("invalid character class range: {quoted}"),
                "{bad}"
            );
        }
    }

    #[test]
    fn unicode_classes_never_match_the_empty_string() {
        assert_eq!(check_go_regex(r"\p{Greek}").ok(), Some(false));
        assert_eq!(check_go_regex(r"\P{^Any}*").ok(), Some(true));
        assert_eq!(check_go_regex(r"[\pL-]?").ok(), Some(true));
    }
}
