//! The twin of `analyzer/parsers/syslog.py`'s classic syslog header, hand-read: the one pattern
//! every line of a syslog file goes through, where the profile says a regex capture costs most.
//!
//! It is used only for the exact pattern text below (`HEADER`, the Python table's
//! `HEADERS["syslog"]`): if the Python side changes that pattern, the engine runs the new
//! pattern with the regex crate instead. Tests hold it equal to the regex on generated lines.

use crate::nparse_scan::{spaces_and, until_low_from, Stops, SPACES};

/// `HEADERS["syslog"]` of analyzer/parsers/syslog.py, character for character.
pub const HEADER: &str = r"^(?P<stamp>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<tag>[^\s\[\]:]+(?:\[\d+\])?): (?P<msg>.*)$";

/// The spans of (stamp, host, tag, msg), as `HEADER` captures them, or None where it does not match.
pub fn header(h: &[u8]) -> Option<[(usize, usize); 4]> {
    header_pid(h).map(|(spans, _)| spans)
}

/// [`header`], and where the tag's `[` is (the pid's digits follow it up to the tag's end): the
/// scan that found the tag's end found it, so the caller need not look again.
pub fn header_pid(h: &[u8]) -> Option<([(usize, usize); 4], Option<usize>)> {
    header_pid_in(h, true)
}

/// [`header_pid`] of a line that is known to hold no newline where `may_hold_newline` is false
/// (a caller that searched its whole block once: the message's search, one `memchr` call a
/// line, was ~4% of the Postfix fold).
#[inline]
pub fn header_pid_in(h: &[u8], may_hold_newline: bool) -> Option<([(usize, usize); 4], Option<usize>)> {
    if !stamp_shape(h) {
        return None;
    }
    header_after_stamp(h, may_hold_newline)
}

/// Whether `h` starts with the header's stamp and the space after it (`[A-Z][a-z]{2} [ \d]\d
/// \d\d:\d\d:\d\d `, 16 bytes).
#[inline]
pub fn stamp_shape(h: &[u8]) -> bool {
    let d = |i: usize| h[i].is_ascii_digit();
    h.len() >= 16
        && (h[0].is_ascii_uppercase() && h[1].is_ascii_lowercase() && h[2].is_ascii_lowercase() && h[3] == b' ')
        && ((h[4] == b' ' || d(4)) && d(5) && h[6] == b' ')
        && (d(7) && d(8) && h[9] == b':' && d(10) && d(11) && h[12] == b':' && d(13) && d(14) && h[15] == b' ')
}

/// [`header_pid_in`] of a line whose first 16 bytes have the stamp's shape ([`stamp_shape`]:
/// a caller that compared them with a line's that had it).
#[inline(always)]
pub fn header_after_stamp(h: &[u8], may_hold_newline: bool) -> Option<([(usize, usize); 4], Option<usize>)> {
    debug_assert!(stamp_shape(h));
    // host: \S+ then a space (no space inside the run, so it is the whole run); the runs
    // scanned eight bytes a step as words (`nparse_scan::until_low_from`)
    let n = h.len();
    let mut i = until_low_from(h, 16, &SPACES, []);
    if i == 16 || i >= n || h[i] != b' ' {
        return None;
    }
    let host = (16, i);
    // tag: [^\s\[\]:]+ then an optional [digits], then ": "
    i += 1;
    let start = i;
    i = until_low_from(h, i, &TAG_STOPS, *b"[]:");
    if i == start || i >= n {
        return None;
    }
    let bracket = (h[i] == b'[').then_some(i);
    if bracket.is_some() {
        let mut j = i + 1;
        while j < n && h[j].is_ascii_digit() {
            j += 1;
        }
        if j == i + 1 || j >= n || h[j] != b']' {
            return None;
        }
        i = j + 1;
    }
    let tag = (start, i);
    if i + 1 >= n || h[i] != b':' || h[i + 1] != b' ' {
        return None;
    }
    // msg: .*$ (RE2's dot takes anything but a newline)
    if may_hold_newline && memchr::memchr(b'\n', &h[i + 2..]).is_some() {
        return None;
    }
    Some(([(0, 15), host, tag, (i + 2, n)], bracket))
}

/// The tag's ends: RE2's `\s`, `[`, `]`, `:`.
static TAG_STOPS: Stops = spaces_and(b"[]:");

/// Yearless header stamps (month 1-12, day, seconds of the day) placed in years as
/// `Clock.years` of analyzer/parsers/syslog.py places them (from `year`, the year of the month
/// `prev_month`: a month going back more than six from the one before is the next year, forward
/// more than six the year before), as microseconds since 1970 of the local wall clock (what
/// `classic._utc_stamps` computes before the zone); with the clock's state after the last one.
pub fn naive_stamps(months: &[u8], days: &[u8], secs: impl Iterator<Item = u32>, year: i64, prev_month: u8) -> (Vec<i64>, i64, u8) {
    let (mut year, mut prev) = (year, i64::from(prev_month));
    let mut out = Vec::with_capacity(months.len());
    for ((&m, &d), s) in months.iter().zip(days).zip(secs) {
        let m = i64::from(m);
        let step = m - prev;
        year += if step < -6 { 1 } else if step > 6 { -1 } else { 0 };
        prev = m;
        out.push((civil_days(year, m, i64::from(d)) * 86_400 + i64::from(s)) * 1_000_000);
    }
    (out, year, prev as u8)
}

/// Days from 1970-01-01 to a (year, month, day) of the proleptic Gregorian calendar, with
/// `_utc_stamps`'s arithmetic (a day past the month's end runs on into the next).
fn civil_days(year: i64, month: i64, day: i64) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{edit, XorShift};
    use crate::translate::re2_to_rust;
    use regex::bytes::Regex;

    fn by_regex(re: &Regex, h: &[u8]) -> Option<[(usize, usize); 4]> {
        let c = re.captures(h)?;
        let s = |n: &str| c.name(n).map(|m| (m.start(), m.end())).unwrap();
        Some([s("stamp"), s("host"), s("tag"), s("msg")])
    }

    #[test]
    fn same_as_the_pattern_on_generated_lines() {
        let re = Regex::new(&re2_to_rust(HEADER).unwrap()).unwrap();
        let seeds: [&[u8]; 6] = [
            b"Nov 29 10:00:00 mx postfix/smtpd[12]: connect from a[1.2.3.4]",
            b"Dec  1 00:00:01 host.example exim[9]: 2026-12-01 00:00:01 msg",
            b"Jan 01 23:59:59 mx cron: ",
            b"Feb 28 01:02:03 h t[1]x: y",
            "Mar  3 03:03:03 h\u{e9} t\u{e9}[]: \u{e9}".as_bytes(),
            b"Apr 10 10:10:10 mx kernel[: x",
        ];
        let alphabet: &[u8] = b" :[]0123456789aZ\t\x0b\n\r\x0c\xc3\xa9-./";
        let mut rng = XorShift(0x9E3779B97F4A7C15);
        let mut checked = 0;
        for seed in seeds {
            assert_eq!(header(seed), by_regex(&re, seed), "{}", String::from_utf8_lossy(seed));
            for _ in 0..4000 {
                let mut line = seed.to_vec();
                for _ in 0..(rng.next() % 4) {
                    edit(&mut line, &mut rng, alphabet);
                }
                if std::str::from_utf8(&line).is_err() {
                    continue; // the engine only sees valid UTF-8 (Arrow strings)
                }
                assert_eq!(header(&line), by_regex(&re, &line), "{}", String::from_utf8_lossy(&line));
                if let Some(([_, _, (a, b), _], bracket)) = header_pid(&line) {
                    assert_eq!(bracket, memchr::memchr(b'[', &line[a..b]).map(|p| a + p));
                }
                checked += 1;
            }
        }
        assert!(checked > 10_000);
    }
    #[test]
    fn stamps_in_years_as_the_clock_places_them() {
        // 2026-12-31 23:59:59, then January: the next year; a December straggler: back again
        let (ts, year, prev) = naive_stamps(&[12, 1, 12, 1, 3], &[31, 1, 31, 2, 1], [86_399, 0, 5, 60, 0].into_iter(), 2026, 12);
        assert_eq!(ts, vec![1_798_761_599_000_000, 1_798_761_600_000_000, 1_798_675_205_000_000, 1_798_848_060_000_000, 1_803_859_200_000_000]);
        assert_eq!((year, prev), (2027, 3));
        // leap day, and a day past a month's end running on (Feb 30 2027 = Mar 2 2027)
        assert_eq!(naive_stamps(&[2, 2], &[29, 30], [0, 0].into_iter(), 2028, 2).0[0], 1_835_395_200_000_000);
        assert_eq!(naive_stamps(&[2], &[30], [0].into_iter(), 2027, 2).0[0], naive_stamps(&[3], &[2], [0].into_iter(), 2027, 3).0[0]);
        assert_eq!(naive_stamps(&[], &[], [].into_iter(), 1999, 7), (vec![], 1999, 7));
    }
}
