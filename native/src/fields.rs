//! The twin of `analyzer/parsers/fields.py` for one row at a time: `host[ip]:port`, bracketed
//! addresses, reply and enhanced codes and the stage a reply text names. The regexes and the
//! stage table come from the Python module at start ([`Fields::new`]); the hand-read parts are
//! the fixed shapes the Python code writes as regexes (`_HOSTPORT`, `^<(.*)>$`).

use crate::translate::re2_to_rust;
use regex::bytes::Regex;
use crate::nparse_scan::{only, spaces_and, byte_from, until_low_from, Stops};
use std::borrow::Cow;

/// Where a `host[ip]` spec's host part ends (`[^\[\]\s]*`), and the ip's `]`.
pub static HOST_ENDS: Stops = spaces_and(b"[]");
pub static CLOSE: Stops = only(b"]");

/// RE2's `\s`: `[\t\n\f\r ]` (no `\v`).
pub fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

/// RE2's `\w` (ASCII).
pub fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `nonempty()`: an empty capture is null.
pub fn nonempty(s: &[u8]) -> Option<&[u8]> {
    (!s.is_empty()).then_some(s)
}

/// `_strip_brackets`: null when empty, else the inside of `<...>` (`<>` gives ""), else as is.
pub fn strip_brackets(s: &[u8]) -> Option<&[u8]> {
    if s.is_empty() {
        None
    } else if s.len() >= 2 && s[0] == b'<' && s[s.len() - 1] == b'>' {
        Some(&s[1..s.len() - 1])
    } else {
        Some(s)
    }
}

/// Digits (1 to `max` of them) as a number; None for anything else.
pub fn digits(s: &[u8], max: usize) -> Option<i64> {
    if s.is_empty() || s.len() > max || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0')))
}

/// What `_split_hostport` gives a `host[ip]:port` spec: (host, ip, port). `Err` where the port
/// would not fit the schema's int32 (the caller leaves such a line to Python).
#[allow(clippy::type_complexity, clippy::result_unit_err)]
pub fn split_hostport(spec: &[u8]) -> Result<(Option<&[u8]>, Option<&[u8]>, Option<i32>), ()> {
    // ^(?P<h>[^\[\]\s]*)\[(?P<ip>[^\]]*)\](?::(?P<port>\d+))?$
    let whole = (Some(spec), None, None);
    let open = until_low_from(spec, 0, &HOST_ENDS, *b"[]");
    if spec.get(open) != Some(&b'[') {
        return Ok(whole);
    }
    let close = byte_from(spec, open + 1, b']');
    if close == spec.len() {
        return Ok(whole);
    }
    split_hostport_at(spec, open, close)
}

/// [`split_hostport`] of a spec whose `[` (the first of `HOST_ENDS`) and then `]` are at `open`
/// and `close` (a caller that scanned the spec for them already: `postfix::client`).
#[allow(clippy::type_complexity, clippy::result_unit_err)]
#[inline]
pub fn split_hostport_at(spec: &[u8], open: usize, close: usize) -> Result<(Option<&[u8]>, Option<&[u8]>, Option<i32>), ()> {
    let rest = &spec[close + 1..];
    let port = if rest.is_empty() {
        None
    } else if rest[0] == b':' && rest.len() > 1 && rest[1..].iter().all(u8::is_ascii_digit) {
        Some(digits(&rest[1..], 9).ok_or(())? as i32)
    } else {
        return Ok((Some(spec), None, None));
    };
    let h = nonempty(&spec[..open]);
    let ip = nonempty(&spec[open + 1..close]);
    Ok((if ip.is_some() { h } else { Some(spec) }, ip, port))
}

/// fields.py's `_CODE` as [`leading_codes`] reads it by hand: a reader given another pattern
/// leaves every text to its regex.
pub const CODE: &str = r"(?:^|: |\(|\s)(?P<code>[2-5][0-9][0-9])(?:[ -]|$)(?:[2-5][0-9][0-9][ -])?(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3}\b)?";

/// fields.py's `_STAGE_TEXT` as [`stage_capture`] reads it by hand: a reader given another
/// pattern leaves every text to its regex.
pub const STAGE_TEXT: &str = concat!(
    r"(?:in reply to (?P<a>.+?) command|(?P<b>refused to talk to me)|while (?P<c>[^:()]+)",
    r"|remote mail server after (?P<d>[^:]+?)(?::|$| [2-5]\d\d)|timed out while (?P<e>.+)",
    r"|in response to (?P<f>.+))"
);

/// The phrases that start [`STAGE_TEXT`]'s alternatives, in its order (a, f, b, d, c, e by
/// group), and each one's length to its group (`refused to talk to me` is its own group: 0).
const STAGE_PHRASES: [(&str, usize, u8); 6] = [
    ("in reply to ", 12, b'a'),
    ("in response to ", 15, b'f'),
    ("refused to talk to me", 0, b'b'),
    ("remote mail server after ", 25, b'd'),
    ("while ", 6, b'c'),
    ("timed out while ", 16, b'e'),
];

/// A searcher of [`STAGE_PHRASES`] (no two start alike, so at most one starts at a place; the
/// leftmost is reported), built once.
fn stage_phrases() -> &'static aho_corasick::AhoCorasick {
    static SEARCHER: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    SEARCHER.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(STAGE_PHRASES.iter().map(|p| p.0))
            .expect("six short phrases")
    })
}

/// What [`STAGE_TEXT`] captures in `text` (its first non-empty group: every alternative's group
/// is non-empty where it matches), read by hand: Some(None) where it does not match, None where
/// the regex must decide (a phrase found in a text that is not all ASCII: the regex's `.` and
/// classes read characters, not bytes). As the regex, leftmost-first: the phrases' places tried
/// from the left, at each place the one alternative whose phrase is there (no two phrases start
/// alike), on to the next place where that alternative fails. Linear: a place that matches ends
/// the scan, and the two searches a failing place makes (the next newline, the next ` command`)
/// are remembered: a later place searches again only past what the last search found.
pub fn stage_capture(text: &[u8]) -> Option<Option<&[u8]>> {
    let n = text.len();
    let mut ascii_checked = false;
    // the first newline at or after `nl.0` is at `nl.1` (n: none); the same for ` command`
    let (mut nl, mut cmd) = ((usize::MAX, n), (usize::MAX, n));
    let phrases = stage_phrases();
    let mut from = 0;
    while let Some(m) = phrases.find(aho_corasick::Input::new(text).span(from..n)) {
        let (p, (_, skip, alt)) = (m.start(), STAGE_PHRASES[m.pattern().as_usize()]);
        if !ascii_checked {
            if !text.is_ascii() {
                return None;
            }
            ascii_checked = true;
        }
        let s = p + skip;
        // the end of `.`'s run from `s` (RE2's dot takes anything but a newline)
        let mut line_end = |s: usize| {
            if !(nl.0 <= s && s <= nl.1) {
                nl = (s, memchr::memchr(b'\n', &text[s..]).map_or(n, |k| s + k));
            }
            nl.1
        };
        let got = match alt {
            // `(?P<a>.+?) command`: the first ` command` after one byte at least, no newline before it
            b'a' => {
                let from = (s + 1).min(n);
                if !(cmd.0 <= from && from <= cmd.1) {
                    cmd = (from, memchr::memmem::find(&text[from..], b" command").map_or(n, |k| from + k));
                }
                let q = cmd.1;
                (q < n && q <= line_end(s)).then(|| &text[s..q])
            }
            b'b' => Some(&text[p..p + 21]),
            // `(?P<c>[^:()]+)`: the longest run (a newline included)
            b'c' => {
                let e = text[s..].iter().position(|&b| matches!(b, b':' | b'(' | b')')).map_or(n, |k| s + k);
                (e > s).then(|| &text[s..e])
            }
            // `(?P<d>[^:]+?)(?::|$| [2-5]\d\d)`: the shortest run up to a ':', the end, or a code
            b'd' => {
                if s >= n || text[s] == b':' {
                    None
                } else {
                    let mut j = s + 1;
                    while j < n && text[j] != b':' && !is_code_after_space(&text[j..]) {
                        j += 1;
                    }
                    Some(&text[s..j])
                }
            }
            // `(?P<e>.+)`, `(?P<f>.+)`: the rest of the line, one byte at least
            _ => {
                let e = line_end(s);
                (e > s).then(|| &text[s..e])
            }
        };
        if got.is_some() {
            return Some(got);
        }
        from = p + 1;
    }
    Some(None)
}

/// ` [2-5]\d\d` at the start of `s`.
#[inline]
fn is_code_after_space(s: &[u8]) -> bool {
    s.len() >= 4 && s[0] == b' ' && (b'2'..=b'5').contains(&s[1]) && s[2].is_ascii_digit() && s[3].is_ascii_digit()
}

/// The regexes and tables of fields.py the readers need.
pub struct Fields {
    code: Regex,
    /// the code pattern is [`CODE`]: [`leading_codes`] reads the common shape
    code_by_hand: bool,
    enh_any: Regex,
    stage_text: Regex,
    /// the stage pattern is [`STAGE_TEXT`]: [`stage_capture`] reads it by hand
    stage_by_hand: bool,
    queued_as: Regex,
    /// the queued-as pattern is [`QUEUED`]: [`queued_id`] reads it by hand
    queued_by_hand: bool,
    /// `_STAGE_RULES`: (key, stage), in order
    stages: Vec<(String, String)>,
}

fn compile(re2: &str) -> Result<Regex, String> {
    Regex::new(&re2_to_rust(re2)?).map_err(|e| format!("{re2:?}: {e}"))
}

/// The stage of `text` (already cut at its first ':' or '<') by `rules` (key, stage) where its
/// first 60 bytes are ASCII (then they are its first 60 characters): upper-cased in place on
/// the stack, '_' read as ' ', the first rule whose key it holds, else "other". None where
/// they are not ASCII (the caller reads it the long way).
pub fn ascii_stage<'r>(text: &[u8], rules: &'r [(String, String)]) -> Option<&'r str> {
    let head = &text[..text.len().min(60)];
    if !head.is_ascii() {
        return None;
    }
    let mut buf = [0u8; 60];
    let up = &mut buf[..head.len()];
    for (o, &b) in up.iter_mut().zip(head) {
        *o = if b == b'_' { b' ' } else { b.to_ascii_uppercase() };
    }
    let up = &*up;
    let holds = |k: &[u8]| k.is_empty() || up.windows(k.len()).any(|w| w == k);
    Some(rules.iter().find(|(k, _)| holds(k.as_bytes())).map_or("other", |(_, s)| s.as_str()))
}

impl Fields {
    pub fn new(code: &str, enh_any: &str, stage_text: &str, queued_as: &str, stages: Vec<(String, String)>) -> Result<Fields, String> {
        Ok(Fields {
            code: compile(code)?,
            code_by_hand: code == CODE,
            enh_any: compile(enh_any)?,
            stage_text: compile(stage_text)?,
            stage_by_hand: stage_text == STAGE_TEXT,
            queued_as: compile(queued_as)?,
            queued_by_hand: queued_as == QUEUED,
            stages,
        })
    }

    /// `canonical_stage` of `_stage_column`'s trimmed text: cut at the first ':' or '<', the
    /// first 60 characters, upper-cased, '_' read as ' ', then the first rule whose key it holds.
    pub fn stage(&self, raw: &[u8]) -> Option<&str> {
        let raw = nonempty(raw)?;
        let cut = raw.iter().position(|&b| b == b':' || b == b'<').unwrap_or(raw.len());
        // the first 60 bytes, where those are ASCII, are the first 60 characters: upper-cased in
        // place on the stack (three Strings a call before: the stage of every reject and lost line);
        // where they are not, neither are the first 60 characters, and str.upper() of non-ASCII
        // text may differ from Rust's: such stages go to Python (None)
        ascii_stage(&raw[..cut], &self.stages)
    }

    /// `stage_from_text`: Ok(None) where the text names no stage; Err where Python must decide.
    #[allow(clippy::result_unit_err)]
    pub fn stage_from_text(&self, text: &[u8]) -> Result<Option<&str>, ()> {
        let raw = match self.stage_by_hand.then(|| stage_capture(text)).flatten() {
            Some(raw) => raw,
            None => self.stage_capture_by_regex(text),
        };
        match raw {
            None => Ok(None),
            Some(r) => self.stage(r).map(Some).ok_or(()),
        }
    }

    /// [`stage_capture`] by the regex (the first non-empty group, None where it does not match).
    pub fn stage_capture_by_regex<'t>(&self, text: &'t [u8]) -> Option<&'t [u8]> {
        // most texts name no stage: asked without captures first (no allocation)
        if !self.stage_text.is_match(text) {
            return None;
        }
        let c = self.stage_text.captures(text)?;
        (1..c.len()).filter_map(|i| c.get(i)).map(|m| m.as_bytes()).find(|m| !m.is_empty())
    }

    /// `reply_codes`: (reply code, enhanced code) found in a reply text.
    pub fn reply_codes<'t>(&self, text: &'t [u8]) -> (Option<i16>, Option<&'t [u8]>) {
        if let Some((code, enh)) = self.code_by_hand.then(|| leading_codes(text)).flatten() {
            return (Some(code), Some(&text[enh.0..enh.1]));
        }
        let (mut code, mut enh) = (None, None);
        // asked without captures first: an allocation and a second search saved where none is
        if let Some(c) = self.code.is_match(text).then(|| self.code.captures(text)).flatten() {
            code = c.name("code").and_then(|m| digits(m.as_bytes(), 3)).map(|v| v as i16);
            enh = c.name("enh").map(|m| m.as_bytes()).and_then(nonempty);
        }
        // asked without captures first: most texts that reach here hold no enhanced code
        if enh.is_none() && text.contains(&b'.') && self.enh_any.is_match(text) {
            enh = self.enh_any.captures(text).and_then(|c| c.name("enh")).map(|m| m.as_bytes()).and_then(nonempty);
        }
        (code, enh)
    }

    /// The queue id a reply says the next hop queued the message as.
    pub fn queued_as<'t>(&self, text: &'t [u8]) -> Option<&'t [u8]> {
        if self.queued_by_hand {
            return queued_id(text); // (it searches for "queued as" itself)
        }
        crate::postfix::finder(&QUEUED_AT, b"queued as").find(text)?;
        self.queued_as.captures(text).and_then(|c| c.name("q")).map(|m| m.as_bytes()).and_then(nonempty)
    }
}

/// fields.py's `_QUEUED_AS` (and exim_fast.py's `QUEUED_AS`), as [`queued_id`] reads it.
pub const QUEUED: &str = r"queued as (?P<q>[0-9A-Za-z-]{5,})";

/// [`QUEUED`] by hand, without a regex's captures (an allocation and a search per reply that
/// names a queue id): the leftmost `queued as ` followed by five or more of `[0-9A-Za-z-]`,
/// all of that run (greedy).
pub fn queued_id(text: &[u8]) -> Option<&[u8]> {
    crate::postfix::finder(&QUEUED_AS_SPACE, b"queued as ").find_iter(text).find_map(|p| {
        let id = &text[p + 10..];
        let n = id.iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'-').count();
        (n >= 5).then(|| &id[..n])
    })
}

static QUEUED_AS_SPACE: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();

/// `_CODE` on a text that starts with a reply code and an enhanced code (`250 2.0.0 Ok ...`, the
/// common shape): the match at the start, the leftmost, as the regex takes it (an optional
/// second code, then the enhanced code where `[245].d{1,3}.d{1,3}` ends at a non-word byte).
/// None where the regex decides (any other start, or no enhanced code there: `_ENH_ANY` then
/// looks further), so that the regex stays the specification of every other text. Returned:
/// the code and where the enhanced code is in `t`.
pub fn leading_codes(t: &[u8]) -> Option<(i16, (usize, usize))> {
    let code3 = |s: &[u8]| s.len() >= 3 && (b'2'..=b'5').contains(&s[0]) && s[1].is_ascii_digit() && s[2].is_ascii_digit();
    if !code3(t) || !matches!(t.get(3), Some(b' ' | b'-')) {
        return None;
    }
    let code = digits(&t[..3], 3)? as i16;
    let mut at = 4;
    if code3(&t[at..]) && matches!(t.get(at + 3), Some(b' ' | b'-')) {
        at += 4;
    }
    // [245]\.[0-9]{1,3}\.[0-9]{1,3}\b
    let e = &t[at..];
    if !matches!(e.first(), Some(b'2' | b'4' | b'5')) || e.get(1) != Some(&b'.') {
        return None;
    }
    let a = e[2..].iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&a) || e.get(2 + a) != Some(&b'.') {
        return None;
    }
    let b = e[3 + a..].iter().take_while(|b| b.is_ascii_digit()).count();
    let end = 3 + a + b;
    if !(1..=3).contains(&b) || e.get(end).is_some_and(|&c| is_word(c)) {
        return None;
    }
    Some((code, (at, at + end)))
}

static QUEUED_AT: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();

/// `Cow::Borrowed` of an optional slice.
pub fn text(s: Option<&[u8]>) -> Option<Cow<'_, [u8]>> {
    s.map(Cow::Borrowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;

    /// `stage_capture` against the regex on `text`: equal where it decides; how it decided.
    fn same_stage(re: &Regex, text: &[u8]) -> Option<bool> {
        let by_regex = re.captures(text).and_then(|c| (1..c.len()).filter_map(|i| c.get(i)).map(|m| m.as_bytes()).find(|m| !m.is_empty()));
        let got = stage_capture(text);
        if let Some(got) = got {
            assert_eq!(got, by_regex, "{:?}", String::from_utf8_lossy(text));
        }
        got.map(|g| g.is_some())
    }

    fn stage_regex() -> Regex {
        Regex::new(&re2_to_rust(STAGE_TEXT).unwrap()).unwrap()
    }

    #[test]
    fn stage_by_hand_as_the_regex_on_random_texts() {
        let re = stage_regex();
        // the phrases, their look-alikes and the bytes each alternative's run stops at
        let pieces: [&[u8]; 30] = [
            b"in reply to ", b"in reply to", b" command", b"command", b"in response to ", b"in re", b"refused to talk to me",
            b"refused to talk to m", b"remote mail server after ", b"remote mail server after", b"while ", b"whil",
            b"timed out while ", b"timed out ", b":", b"(", b")", b"<", b" 550", b" 2", b" 49x", b" 250 ", b"\n", b" ",
            b"RCPT TO", b"end of data", "\u{e9}".as_bytes(), b"i", b"r", b"tw",
        ];
        let mut rng = XorShift(0x5EED_0F_57A6E);
        let (mut matched, mut unmatched, mut undecided) = (0, 0, 0);
        for _ in 0..200_000 {
            let k = (rng.next() % 9) as usize;
            let mut text = Vec::new();
            for _ in 0..k {
                text.extend_from_slice(pieces[(rng.next() % pieces.len() as u64) as usize]);
            }
            match same_stage(&re, &text) {
                Some(true) => matched += 1,
                Some(false) => unmatched += 1,
                None => undecided += 1,
            }
        }
        assert!(matched > 50_000 && unmatched > 20_000 && undecided > 1_000, "{matched} {unmatched} {undecided}");
        // the usual shapes, and the places after one that fails
        for (t, want) in [
            (&b"host a said: 550 5.1.1 no (in reply to RCPT TO command)"[..], Some(&b"RCPT TO"[..])),
            (b"timed out while sending message body", Some(b"sending message body")),
            (b"timed out while \nwhile x", Some(b"\nwhile x")),
            (b"in reply to \n command in reply to end of DATA command", Some(b"end of DATA")),
            (b"remote mail server after RCPT TO:<a@b>: 550", Some(b"RCPT TO")),
            (b"remote mail server after end of data 451 later", Some(b"end of data")),
            (b"in reply to x", None),
            (b"250 2.0.0 Ok: queued as 4Xyz", None),
        ] {
            assert_eq!(stage_capture(t), Some(want), "{:?}", String::from_utf8_lossy(t));
            assert_eq!(same_stage(&re, t), Some(want.is_some()));
        }
        assert_eq!(stage_capture("while \u{e9}t\u{e9}".as_bytes()), None);
    }

    #[test]
    fn stage_by_hand_as_the_regex_over_the_corpus() {
        // every line of the shared corpus's files where it is present (and each line's tail after
        // its first ': ', as a reply text would be)
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
        let re = stage_regex();
        let mut stack = vec![root];
        let mut decided = 0;
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(bytes) = std::fs::read(&p) else { continue };
                for line in bytes.split(|&b| b == b'\n') {
                    let tail = memchr::memmem::find(line, b": ").map_or(line, |k| &line[k + 2..]);
                    for t in [line, tail] {
                        if std::str::from_utf8(t).is_ok() {
                            decided += usize::from(same_stage(&re, t).is_some());
                        }
                    }
                }
            }
        }
        eprintln!("corpus texts decided by hand: {decided}");
        if std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").is_dir() {
            assert!(decided > 10_000, "{decided}");
        }
    }

    #[test]
    fn hostport_as_the_python_regex_splits_it() {
        assert_eq!(split_hostport(b"mx.example[1.2.3.4]:25"), Ok((Some(&b"mx.example"[..]), Some(&b"1.2.3.4"[..]), Some(25))));
        assert_eq!(split_hostport(b"[1.2.3.4]:25"), Ok((None, Some(&b"1.2.3.4"[..]), Some(25))));
        assert_eq!(split_hostport(b"none"), Ok((Some(&b"none"[..]), None, None)));
        assert_eq!(split_hostport(b"x[]:7"), Ok((Some(&b"x[]:7"[..]), None, Some(7))));
        assert_eq!(split_hostport(b"a b[1]"), Ok((Some(&b"a b[1]"[..]), None, None)));
        assert_eq!(split_hostport(b"a[1]x"), Ok((Some(&b"a[1]x"[..]), None, None)));
        assert_eq!(split_hostport(b"a[1]:99999999999"), Err(()));
    }

    #[test]
    fn leading_codes_as_the_regex_reads_them() {
        let f = Fields::new(
            CODE,
            r"(?:^|[\s(\[-])(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?:$|[\s,;:)\].])",
            r"x",
            r"y",
            vec![],
        )
        .unwrap();
        fn by_regex<'t>(f: &Fields, t: &'t [u8]) -> (Option<i16>, Option<&'t [u8]>) {
            let c = f.code.captures(t);
            let code = c.as_ref().and_then(|c| c.name("code")).and_then(|m| digits(m.as_bytes(), 3)).map(|v| v as i16);
            let enh = c.as_ref().and_then(|c| c.name("enh")).map(|m| m.as_bytes()).and_then(nonempty);
            (code, enh)
        }
        let seeds: [&[u8]; 6] = [b"250 2.0.0 Ok: queued as ABC", b"550-5.1.1 <a@b>: no", b"450 451 4.7.1 later", b"250 2.0.0", b"421 4.3.2x", b"599 5.1.1234 y"];
        let mut rng = crate::testutil::XorShift(0x9E37_79B9_7F4A_7C15);
        let mut read = 0;
        for seed in seeds {
            for i in 0..4000 {
                let mut t = seed.to_vec();
                if i > 0 {
                    crate::testutil::edit(&mut t, &mut rng, b" -.:_a0123456789");
                }
                if let Some((code, (a, b))) = leading_codes(&t) {
                    read += 1;
                    assert_eq!((Some(code), Some(&t[a..b])), by_regex(&f, &t), "{}", String::from_utf8_lossy(&t));
                }
            }
        }
        assert!(read > 4000);
    }

    #[test]
    fn queued_id_as_the_regex_reads_it() {
        let re = Regex::new(&re2_to_rust(QUEUED).unwrap()).unwrap();
        let seeds: [&[u8]; 5] = [b"250 2.0.0 Ok: queued as A4871A341B3", b"queued as 12-ab", b"x queued as abc queued as abcdef)", b"queued as  ABCDE", b"250 ok queued as 1234"];
        let mut rng = crate::testutil::XorShift(0x1234_5678_9ABC_DEF1);
        let mut found = 0;
        for seed in seeds {
            for i in 0..4000 {
                let mut t = seed.to_vec();
                if i > 0 {
                    for _ in 0..(1 + rng.next() % 3) {
                        crate::testutil::edit(&mut t, &mut rng, b" -.:_aZ09q\xc3");
                    }
                }
                let want = re.captures(&t).and_then(|c| c.name("q")).map(|m| m.as_bytes()).and_then(nonempty);
                assert_eq!(queued_id(&t), want, "{}", String::from_utf8_lossy(&t));
                found += usize::from(want.is_some());
            }
        }
        assert!(found > 2000);
    }

    #[test]
    fn stage_as_the_string_path_reads_it() {
        let rules: Vec<(String, String)> = [("END OF DATA", "end of DATA"), ("RCPT", "RCPT TO"), ("EHLO", "HELO/EHLO"), ("MAIL", "MAIL FROM"), ("DATA", "DATA"), ("CONNECT", "connect"), ("A B", "ab")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let f = Fields::new(CODE, r"x", r"x", QUEUED, rules.clone()).unwrap();
        // the Python function as the code before the stack path wrote it
        let by_strings = |raw: &[u8]| -> Option<String> {
            let raw = nonempty(raw)?;
            let cut = raw.iter().position(|&b| b == b':' || b == b'<').unwrap_or(raw.len());
            let trimmed: String = String::from_utf8_lossy(&raw[..cut]).chars().take(60).collect();
            if !trimmed.is_ascii() {
                return None;
            }
            let up = trimmed.to_ascii_uppercase().replace('_', " ");
            Some(rules.iter().find(|(k, _)| up.contains(k.as_str())).map_or("other".into(), |(_, s)| s.clone()))
        };
        let long = format!("{}RCPT", "x".repeat(58));
        let seeds: [&[u8]; 6] = [b"RCPT", b"end_of_data", b"ehlo:x", b"<MAIL", long.as_bytes(), "a_b\u{e9}".as_bytes()];
        let mut rng = crate::testutil::XorShift(0x5555_AAAA_1234_9876);
        for seed in seeds {
            for i in 0..3000 {
                let mut t = seed.to_vec();
                if i > 0 {
                    for _ in 0..(1 + rng.next() % 3) {
                        crate::testutil::edit(&mut t, &mut rng, b"_ :<aAtRCP\xc3\xa9");
                    }
                }
                if std::str::from_utf8(&t).is_err() && i % 2 == 0 {
                    continue;
                }
                assert_eq!(f.stage(&t).map(str::to_string), by_strings(&t), "{}", String::from_utf8_lossy(&t));
            }
        }
    }

    #[test]
    fn brackets() {
        assert_eq!(strip_brackets(b"<>"), Some(&b""[..]));
        assert_eq!(strip_brackets(b"<a@b>"), Some(&b"a@b"[..]));
        assert_eq!(strip_brackets(b""), None);
        assert_eq!(strip_brackets(b"a"), Some(&b"a"[..]));
    }
}
