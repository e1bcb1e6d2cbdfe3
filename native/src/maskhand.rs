//! `analyzer.classify`'s MASK and first OPAQUE pass read by hand (`classkey.rs`'s `Masker`
//! uses this while its patterns are these, verbatim): the masking of a new group's texts was
//! the largest part of the Postfix fold (~23%: a lazy DFA forward pass per match plus a reverse
//! one for its start, then a capture search for the OPAQUE pass), and it runs once per raw
//! group. Only for ASCII texts in which MASK's IPv6 alternative cannot match (no `h:h{0,4}:`,
//! `h` a hex digit); any other text returns None and the regexes mask it. Each alternative is
//! read as the regex crate's leftmost-first search reads it (the first alternative that matches
//! at the leftmost position, its quantifiers greedy with backtracking); why each reading is that
//! match is said where it is read. The regexes stay the specification: the tests below compare
//! the two over mutated texts, and tests/test_class_cache_native.py compares the masks with
//! pyarrow's.

use std::borrow::Cow;

/// classify.py's MASK, as the Python table spells it (RE2 syntax: `\d \s \b` ASCII). The CJK and
/// fullwidth ranges its address alternative leaves out are non-ASCII: a text holding them is the
/// regexes' (see [`mask`]), so nothing below reads them.
pub const MASK: &str = r#"(?i)[^\s<>()\[\],;:\"'\x{1100}-\x{11FF}\x{2E80}-\x{9FFF}\x{A960}-\x{A97F}\x{AC00}-\x{D7FF}\x{F900}-\x{FAFF}\x{FE30}-\x{FE4F}\x{FF00}-\x{FFEF}\x{20000}-\x{3FFFF}]+@[^\s<>()\[\],;:\"'\x{1100}-\x{11FF}\x{2E80}-\x{9FFF}\x{A960}-\x{A97F}\x{AC00}-\x{D7FF}\x{F900}-\x{FAFF}\x{FE30}-\x{FE4F}\x{FF00}-\x{FFEF}\x{20000}-\x{3FFFF}]+|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b|\b[a-z0-9]*\d[a-z0-9]*[a-z][a-z0-9]*\d[a-z0-9._-]*|\d{6,}"#;
/// classify.py's MASKED.
pub const MASKED: &str = "~";
/// classify.py's first OPAQUE pass: (no literal), pattern, replacement.
pub const OPAQUE_FIRST: &str = r"(<~> )[A-Za-z0-9+/=~_-]+( Saved)\b|\b(queued as )[0-9A-Za-z]+";
pub const OPAQUE_FIRST_REWRITE: &str = r"\1\3~\2";

// byte classes, one bit each, read from one table (a `match` per byte compiled to a jump
// table: a mispredicted indirect branch per byte)
const DIGIT: u8 = 1;
const ALPHA: u8 = 2;
const WORD: u8 = 4; // RE2's `\w` (and `(?-u:\b)`'s word bytes)
const HEX: u8 = 8;
const ADDRESS: u8 = 16; // `[^\s<>()\[\],;:"']` on ASCII (`\s` is RE2's `[\t\n\f\r ]`)
const TAIL: u8 = 32; // `[a-z0-9._-]` under `(?i)` on ASCII
const TOKEN: u8 = 64; // `[A-Za-z0-9+/=~_-]`

const fn class_of(c: u8) -> u8 {
    let mut k = 0;
    let d = c.is_ascii_digit();
    let a = c.is_ascii_alphabetic();
    if d {
        k |= DIGIT;
    }
    if a {
        k |= ALPHA;
    }
    if d || a || c == b'_' {
        k |= WORD;
    }
    if c.is_ascii_hexdigit() {
        k |= HEX;
    }
    if !matches!(c, b'\t' | b'\n' | 0x0C | b'\r' | b' ' | b'<' | b'>' | b'(' | b')' | b'[' | b']' | b',' | b';' | b':' | b'"' | b'\'') {
        k |= ADDRESS;
    }
    if d || a || matches!(c, b'.' | b'_' | b'-') {
        k |= TAIL;
    }
    if d || a || matches!(c, b'+' | b'/' | b'=' | b'~' | b'_' | b'-') {
        k |= TOKEN;
    }
    k
}

const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = class_of(i as u8);
        i += 1;
    }
    t
};

fn is(c: u8, class: u8) -> bool {
    CLASSES[c as usize] & class != 0
}

fn digit(c: u8) -> bool {
    is(c, DIGIT)
}

fn word(c: u8) -> bool {
    is(c, WORD)
}

/// The end of the run of `class` bytes from `at`.
fn run(t: &[u8], at: usize, class: u8) -> usize {
    t[at..].iter().position(|&c| !is(c, class)).map_or(t.len(), |k| at + k)
}

/// Whether MASK's third alternative (`\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b`) could match
/// somewhere: each of its matches holds `h:h{0,4}:` (`h` a hex digit, case-insensitive).
fn may_be_ipv6(t: &[u8]) -> bool {
    memchr::memchr_iter(b':', t).any(|i| {
        if i == 0 || !is(t[i - 1], HEX) {
            return false;
        }
        let j = i + 1 + t[i + 1..].iter().take(4).take_while(|&&c| is(c, HEX)).count(); // h{0,4}, greedy: a shorter one is followed by an h
        j < t.len() && t[j] == b':'
    })
}

/// Whether the alphanumeric run from `p` (a letter) holds a digit, then a letter, then a digit
/// (MASK's fourth alternative): Ok with the end of the digit that completes the three (the run
/// goes on from there), else Err with the end of its first letters (where no digit follows
/// them, the run's end). The run read as its parts: letters, digits, letters, a digit, each a
/// tight loop.
fn digit_letter_digit(t: &[u8], p: usize) -> Result<usize, usize> {
    let n = t.len();
    let letters = run(t, p, ALPHA);
    if letters == n || !digit(t[letters]) {
        return Err(letters);
    }
    let q = run(t, letters, DIGIT);
    if q == n || !is(t[q], ALPHA) {
        return Err(letters);
    }
    let q = run(t, q, ALPHA);
    if q == n || !digit(t[q]) {
        return Err(letters);
    }
    Ok(q + 1)
}

/// What the scan finds at a candidate position.
enum At {
    /// a MASK match, ending here
    Match(usize),
    /// none, and none starts before here
    Skip(usize),
}

/// The MASK match starting at `p`, a candidate of [`next_candidate`], or where the next one may
/// start. `next_at`: the first '@' after `p` (None: there is none).
fn mask_at(t: &[u8], p: usize, next_at: Option<usize>) -> At {
    let n = t.len();
    let c = t[p];
    let before = if p == 0 { 0 } else { CLASSES[t[p - 1] as usize] };
    // 1. [^D]+@[^D]+ : the first part takes the whole address run and gives back up to an '@'
    //    with a byte of the run after it; the second then takes the run's rest. So: an '@' in
    //    p+1..=end-2, and the match is the rest of the run. It can only start where its run
    //    does: the scan reaches each run's first byte (every alternative's bytes are address
    //    bytes, so no match runs into a run from before it), and there it matches if it ever
    //    would in the run (the '@' must follow the start). The run is read up to the next '@'
    //    (stopping where the run does: each run once), and on to its end only if it holds it.
    if let Some(a) = next_at {
        if is(c, ADDRESS) && before & ADDRESS == 0 && run(&t[..a], p, ADDRESS) == a {
            let end = run(t, a, ADDRESS);
            if a + 2 <= end {
                return At::Match(end);
            }
        }
    }
    let starts_word = before & WORD == 0; // \b before a word byte
    if digit(c) {
        // the digit run from p, read once for the three alternatives that may start at a digit
        let e = run(t, p, DIGIT);
        if starts_word {
            // 2. \b\d{1,3}(?:\.\d{1,3}){3}\b : giving back a digit leaves a digit where '.' or
            //    the end's \b is wanted, so each number is a whole digit run of 1 to 3.
            if e - p <= 3 && e < n && t[e] == b'.' {
                if let Some(q) = dotted_rest(t, e) {
                    return At::Match(q);
                }
            }
            // 3. (IPv6) cannot match: the caller checked may_be_ipv6.
            // 4. (see below) from a digit: the digit run, then letters, then a digit
            if e < n && is(t[e], ALPHA) {
                let q = run(t, e, ALPHA);
                if q < n && digit(t[q]) {
                    return At::Match(run(t, q + 1, TAIL));
                }
            }
        }
        // 5. \d{6,} : the digit run from p, whole; shorter, no digit of it starts one (and
        //    inside it no word starts, nor an address run)
        return if e - p >= 6 { At::Match(e) } else { At::Skip(e) };
    }
    if is(c, ALPHA) && starts_word {
        // 4. \b[a-z0-9]*\d[a-z0-9]*[a-z][a-z0-9]*\d[a-z0-9._-]* : a digit, a letter, a digit in
        //    this order within the alphanumeric run from p; the last class then takes the run
        //    of [a-z0-9._-] bytes, which holds the whole alphanumeric run. (Word starts are
        //    apart by a non-word byte: the runs read here do not overlap.)
        return match digit_letter_digit(t, p) {
            Ok(r) => At::Match(run(t, r, TAIL)), // the rest of the alphanumeric run is TAIL's too
            // none: inside the run's first letters no word starts, no digit, no address run;
            // where a digit ends them it is the next candidate (alternative 5 only: not a
            // word's start)
            Err(letters) => At::Skip(letters),
        };
    }
    At::Skip(p + 1)
}

/// MASK's second alternative after its first number (the `.` at `e`): the three `.\d{1,3}`
/// and the `\b` after them; the match's end, or None.
#[inline]
fn dotted_rest(t: &[u8], mut q: usize) -> Option<usize> {
    let n = t.len();
    for _ in 0..3 {
        if q >= n || t[q] != b'.' {
            return None;
        }
        let e = run(t, q + 1, DIGIT);
        if e == q + 1 || e - (q + 1) > 3 {
            return None;
        }
        q = e;
    }
    (q == n || !word(t[q])).then_some(q)
}

/// The first position from `p` at which a MASK match may start: a digit, a letter that starts
/// a word (alternatives 2, 4, 5), or, while an '@' follows (`ats`), an address run's first
/// byte (alternative 1). A table read and a few bit operations a byte, no branch but the
/// loop's.
#[inline]
fn next_candidate(t: &[u8], mut p: usize, ats: bool) -> usize {
    let n = t.len();
    let mut before = if p == 0 { 0 } else { CLASSES[t[p - 1] as usize] };
    let runs = if ats { ADDRESS } else { 0 };
    const _: () = assert!(WORD >> 1 == ALPHA);
    for &c in &t[p..] {
        let k = CLASSES[c as usize];
        // a digit; a letter after a non-word byte; an address byte after a non-address one
        if k & (DIGIT | ((!before & WORD) >> 1) | (!before & runs)) != 0 {
            return p;
        }
        before = k;
        p += 1;
    }
    n
}

/// MASK replaced by MASKED, then the first OPAQUE pass; None where the regexes must do it (see
/// the module's doc). Linear in the text: between candidates a table read a byte; at a
/// candidate each alternative reads on from it at most to where the scan goes on, or over an
/// address run that no other candidate's reading enters again.
pub fn mask(t: &[u8]) -> Option<Cow<'_, [u8]>> {
    if !t.is_ascii() || may_be_ipv6(t) {
        return None;
    }
    let n = t.len();
    let mut out: Option<Vec<u8>> = None;
    let (mut p, mut last) = (0, 0);
    // the first '@' at or after p (found again once p passes it)
    let mut next_at = memchr::memchr(b'@', t);
    loop {
        p = next_candidate(t, p, next_at.is_some());
        if p >= n {
            break;
        }
        if next_at.is_some_and(|a| a <= p) {
            next_at = memchr::memchr(b'@', &t[p + 1..]).map(|k| p + 1 + k);
        }
        match mask_at(t, p, next_at) {
            At::Match(e) => {
                let o = out.get_or_insert_with(|| Vec::with_capacity(n));
                o.extend_from_slice(&t[last..p]);
                o.extend_from_slice(MASKED.as_bytes());
                p = e; // no alternative matches the empty text
                last = e;
            }
            At::Skip(q) => p = q,
        }
    }
    let masked: Cow<[u8]> = match out {
        None => Cow::Borrowed(t),
        Some(mut o) => {
            o.extend_from_slice(&t[last..]);
            Cow::Owned(o)
        }
    };
    Some(match opaque_first(&masked) {
        Some(v) => Cow::Owned(v),
        None => masked,
    })
}

/// OPAQUE_FIRST replaced by its rewrite (`<~> ~ Saved`, `queued as ~`); None: no match.
fn opaque_first(t: &[u8]) -> Option<Vec<u8>> {
    let n = t.len();
    let mut out: Option<Vec<u8>> = None;
    let (mut p, mut last) = (0, 0);
    // a match starts with '<' or 'q'
    while let Some(k) = memchr::memchr2(b'<', b'q', &t[p..]) {
        p += k;
        let mut hit = None;
        if t[p..].starts_with(b"<~> ") {
            // (<~> )[...]+( Saved)\b : the token run is taken whole (a shorter one is followed
            // by a token byte, not ' ')
            let e = run(t, p + 4, TOKEN);
            if e > p + 4 && t[e..].starts_with(b" Saved") && (e + 6 == n || !word(t[e + 6])) {
                hit = Some((e + 6, &b"<~> ~ Saved"[..]));
            }
        } else if t[p..].starts_with(b"queued as ") && (p == 0 || !word(t[p - 1])) {
            // \b(queued as )[0-9A-Za-z]+
            let e = run(t, p + 10, DIGIT | ALPHA);
            if e > p + 10 {
                hit = Some((e, &b"queued as ~"[..]));
            }
        }
        match hit {
            Some((e, with)) => {
                let o = out.get_or_insert_with(|| Vec::with_capacity(n));
                o.extend_from_slice(&t[last..p]);
                o.extend_from_slice(with);
                p = e;
                last = e;
            }
            None => p += 1,
        }
    }
    out.map(|mut o| {
        o.extend_from_slice(&t[last..]);
        o
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{edit, XorShift};
    use crate::translate::re2_to_rust;
    use regex::bytes::{NoExpand, Regex};

    fn by_regex(t: &[u8]) -> Vec<u8> {
        // compiled once for the whole test run: compiling them per text made the mutated-texts
        // test take about a minute in a debug build
        static COMPILED: std::sync::OnceLock<(Regex, Regex)> = std::sync::OnceLock::new();
        let (mask, first) = COMPILED.get_or_init(|| {
            (Regex::new(&re2_to_rust(MASK).unwrap()).unwrap(), Regex::new(&re2_to_rust(OPAQUE_FIRST).unwrap()).unwrap())
        });
        let m = mask.replace_all(t, NoExpand(MASKED.as_bytes()));
        first.replace_all(&m, &b"${1}${3}~${2}"[..]).into_owned()
    }

    fn same(t: &[u8]) -> bool {
        match mask(t) {
            Some(got) => {
                assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&by_regex(t)), "{:?}", String::from_utf8_lossy(t));
                true
            }
            None => false,
        }
    }

    #[test]
    fn masks_as_the_regexes_on_the_common_replies() {
        for t in [
            &b"250 2.0.0 Ok: queued as 6D87DF2B8DB"[..],
            b"250 2.0.0 <heidi.silva@ourdomain.test> 8akuvp8aPKiprbFiiFvZEb Saved",
            b"554 5.7.1 <dave4@prosewareshop.test>: Relay access denied",
            b"host mail.x.example.com[203.0.113.149] said: 450 4.2.0 <a@b.c>: Recipient address rejected: Greylisted (in reply to RCPT TO command)",
            b"250 2.0.0 OK  1795413033 3dd9df2945si7716817.579 - gsmtp",
            b"250 2.6.0 <2026.148C@x.test> [InternalId=99821328135, Hostname=AM6PR06MB2331.eurprd04.prod.outlook.test] 6721 bytes in 0.087, 485.217 KB/sec",
            b"connect to 10.1.2.3 refused",
            b"1.2.3.4.5 1.2.3 1234.5.6.7 a1.2.3.4 1.2.3.4a 01.002.3.4_ 9.9.9.9-",
            b"a@ @a @@ a@@ x@y@z <a@b> @ab ab@",
            b"x1y2 1a2 a1b2c a1b 12a3.x-y_z.7 _1a2 1a2_ 123456 12345 a1234567b 1234567a",
            b"queued as  queued as x xqueued as y queued as ~ queued as",
            b"<~> a Saved <~>  Saved <~> a Savedx <~> a+/=~_- Saved. <~> ~ Saved",
            b"",
            b"plain text",
        ] {
            assert!(same(t), "{:?} left to the regexes", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn leaves_ipv6_shapes_and_non_ascii_to_the_regexes() {
        assert!(mask(b"from 2001:db8::1 x").is_none());
        assert!(mask(b"at 12:34:56").is_none());
        assert!(mask(b"a:b:").is_none());
        assert!(mask("caf\u{e9} 1a2".as_bytes()).is_none());
        assert!(mask("\u{212a}1a2".as_bytes()).is_none());
        assert!(mask(b"a: b: c:").is_some());
        assert!(mask(b"a:bcdef:").is_some());
    }

    #[test]
    fn an_address_stops_at_cjk_text_in_the_regexes() {
        // non-ASCII: the regexes' text, whose address halves end at CJK and fullwidth characters
        for (t, want) in [
            ("收件人user@example.com不存在", "收件人~不存在"),
            ("「staff@lists.example.org」というリストはありません。", "「~」というリストはありません。"),
            ("사용자user@example.com은 없습니다", "사용자~은 없습니다"),
            ("宛先a@b.jp：ｘ", "宛先~：ｘ"),
            ("<café@exämple.de>: unknown 𠀀x@y", "<~>: unknown 𠀀~"),
        ] {
            assert!(mask(t.as_bytes()).is_none());
            assert_eq!(String::from_utf8(by_regex(t.as_bytes())).unwrap(), want);
        }
    }

    #[test]
    fn masks_as_the_regexes_on_mutated_texts() {
        let seeds: &[&[u8]] = &[
            b"250 2.0.0 Ok: queued as 6D87DF2B8DB",
            b"250 2.0.0 <heidi@ourdomain.test> 8akuvp8aPK/+= Saved",
            b"host mx[203.0.113.149] said: 450 4.2.0 <a@b.c>: x (in reply to RCPT TO command)",
            b"1.2.3.4 a1b2 123456 x@y _a1b2_ 9-8.7",
            b"",
        ];
        let alphabet: &[u8] = b"0123456789abfkqzAFKQZ@.:;_-~+/=<> ()[],\"'\t\x0b\x0cSaveduo";
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let (mut by_hand, mut total) = (0, 0);
        for seed in seeds {
            for _ in 0..4000 {
                let mut t = seed.to_vec();
                for _ in 0..(1 + rng.next() % 6) {
                    edit(&mut t, &mut rng, alphabet);
                }
                total += 1;
                by_hand += usize::from(same(&t));
            }
        }
        // and texts of the alphabet alone
        for _ in 0..20000 {
            let t: Vec<u8> = (0..rng.next() % 24).map(|_| alphabet[(rng.next() as usize) % alphabet.len()]).collect();
            total += 1;
            by_hand += usize::from(same(&t));
        }
        assert!(by_hand * 10 > total * 8, "{by_hand} of {total} masked by hand");
    }

    #[test]
    fn masks_as_the_regexes_on_long_texts_of_pieces() {
        // texts of up to 40 pieces that each start a candidate or skip one: the scan's jumps over
        // letters, digit runs and address runs, next to and across each other
        let pieces: &[&[u8]] = &[
            b"abc", b"a1b2", b"12345", b"123456", b"1.2.3.4", b"1.2.3", b"x@y", b"@", b"<a@b.c>", b"queued as ", b"<~> ",
            b" Saved", b"_", b"-", b".", b" ", b"  ", b":", b"(", b"=", b"~", b"Ok", b"9", b"z9z9", b"q", b"A0", b"0A",
        ];
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let (mut by_hand, mut total) = (0, 0);
        for _ in 0..30000 {
            let mut t = Vec::new();
            for _ in 0..(rng.next() % 40) {
                t.extend_from_slice(pieces[(rng.next() as usize) % pieces.len()]);
            }
            total += 1;
            by_hand += usize::from(same(&t));
        }
        assert!(by_hand * 10 > total * 9, "{by_hand} of {total} masked by hand");
    }
}
