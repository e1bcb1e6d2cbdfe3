//! A batch of lines in, event rows out: the classic syslog header of each line read by hand
//! (`syslog::header`, the twin of `HEADERS["syslog"]`), then Postfix messages the readers of
//! `postfix.rs` are sure of turned into whole rows. Everything else is left to the Python
//! engine, which gets the header fields of the lines that have one (`headers`) so that the year
//! of every yearless stamp is placed in one pass of the Python clock, in line order.

use crate::engine::Strings;
use crate::fields::is_space;
use crate::fold::Programs;
use crate::postfix::Fast;
use crate::rows::{concat, Hints, Row, Rows, STR_COLUMNS};
use crate::syslog::{header_after_stamp, header_pid_in};
use std::borrow::Cow;

/// What a line is, in [`Batch::kind`].
pub const NO_HEADER: u8 = 0;
pub const HEADER: u8 = 1;
pub const ROW: u8 = 2;

pub struct Batch {
    /// per line: [`NO_HEADER`], [`HEADER`] (the Python engine reads the message) or [`ROW`]
    pub kind: Vec<u8>,
    /// the stamps of the lines with a header, and the batch's two flags
    pub stamps: Stamps,
    /// the HEADER lines: host, program, pid, and the message in `detail`
    pub headers: Rows,
    /// the ROW lines
    pub rows: Rows,
}

/// What [`Batch`] and `fold::Folded` keep of their lines' headers.
#[derive(Default)]
pub struct Stamps {
    /// per line with a header (kind HEADER or ROW), in line order: month 1-12, day, seconds of the day
    pub months: Vec<u8>,
    pub days: Vec<u8>,
    pub secs: Vec<u32>,
    /// a stamp Python reads otherwise (no such month or day, hour 24 ...) or a pid beyond int32:
    /// the caller parses the whole batch in Python
    pub unusual: bool,
    /// some message ends with whitespace (Python right-trims the batch's messages then)
    pub trailing_space: bool,
}

impl Stamps {
    /// Keep one line's header.
    pub fn push(&mut self, h: &Head) {
        self.months.push(h.month);
        self.days.push(h.day);
        self.secs.push(h.secs);
        self.unusual |= h.unusual;
        self.trailing_space |= h.trailing_space;
    }

    /// Room for `n` more lines.
    pub fn reserve(&mut self, n: usize) {
        self.months.reserve(n);
        self.days.reserve(n);
        self.secs.reserve(n);
    }

    /// Append the stamps of the next range of lines.
    pub fn append(&mut self, next: Stamps) {
        self.months.extend(next.months);
        self.days.extend(next.days);
        self.secs.extend(next.secs);
        self.unusual |= next.unusual;
        self.trailing_space |= next.trailing_space;
    }
}

impl Batch {
    /// An empty batch with room for `lines` kinds and `rows` event rows.
    fn with_capacity(lines: usize, rows: Rows) -> Batch {
        Batch {
            kind: Vec::with_capacity(lines),
            stamps: Stamps::default(),
            headers: Rows::new(),
            rows,
        }
    }
}

/// Days in each month for any year (February's 29th is "unusual": it depends on the year).
pub const MDAYS: [u8; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

pub fn two(b: &[u8]) -> u32 {
    let d = |c: u8| if c == b' ' { 0 } else { u32::from(c - b'0') };
    d(b[0]) * 10 + d(b[1])
}

/// `postfix[\w.-]*(?:/[\w.-]+)*`: the daemon (the last part), or None.
pub fn postfix_daemon(program: &[u8]) -> Option<&[u8]> {
    if !program.get(..7).is_some_and(|p| crate::postfix::same(p, b"postfix")) || program.ends_with(b"/") {
        return None;
    }
    // one pass: the characters allowed (a table look-up each), no "//" (an empty part), and
    // where the last part starts
    let (mut prev, mut last) = (0u8, 0);
    for (i, &b) in program.iter().enumerate().skip(7) {
        if !PROGRAM_BYTE[b as usize] || (b == b'/' && prev == b'/') {
            return None;
        }
        if b == b'/' {
            last = i + 1;
        }
        prev = b;
    }
    Some(&program[last..])
}

/// `[\w.-/]`, by byte.
static PROGRAM_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'/');
        b += 1;
    }
    t
};

/// One classic syslog line's header as [`read`] and `fold::fold` both take it: the stamp's
/// month (1-12), day and seconds of the day, the host, program, pid and message, and the two
/// flags the caller ORs into its batch (`unusual`, `trailing_space`).
pub struct Head<'a> {
    pub month: u8,
    pub day: u8,
    pub secs: u32,
    pub host: &'a [u8],
    pub program: &'a [u8],
    pub pid: Option<i32>,
    pub msg: &'a [u8],
    pub unusual: bool,
    pub trailing_space: bool,
}

/// The header of `line` (None: no classic syslog header). `months`: the month names, January first.
pub fn head<'a>(line: &'a [u8], months: &[Vec<u8>]) -> Option<Head<'a>> {
    head_in(line, months, true)
}

/// The byte span of lines `lo..hi` of `lines` where it holds no newline (one `memchr` over the
/// span, not one a line): a line inside it need not be searched again ([`head_in`]). None where
/// a newline is, or the offsets are not those of an Arrow array.
pub fn newline_free(lines: Strings, lo: usize, hi: usize) -> Option<(usize, usize)> {
    if lo >= hi || hi >= lines.offsets.len() {
        return None;
    }
    let (a, b) = (lines.offsets[lo], lines.offsets[hi]);
    if a < 0 || b < a || b as usize > lines.data.len() {
        return None;
    }
    let (a, b) = (a as usize, b as usize);
    memchr::memchr(b'\n', &lines.data[a..b]).is_none().then_some((a, b))
}

/// Whether line `i` of `lines` may hold a newline: it is not inside the span `free`
/// ([`newline_free`]) of its range.
#[inline]
pub fn may_hold_newline(lines: Strings, i: usize, free: Option<(usize, usize)>) -> bool {
    let (a, b) = (lines.offsets[i], lines.offsets[i + 1]);
    free.is_none_or(|(lo, hi)| a < 0 || b < a || (a as usize) < lo || (b as usize) > hi)
}

/// [`head`] of a line known to hold no newline where `may_hold_newline` is false.
pub fn head_in<'a>(line: &'a [u8], months: &[Vec<u8>], may_hold_newline: bool) -> Option<Head<'a>> {
    head_at(line, months, may_hold_newline, &mut LastStamp::default())
}

/// The stamp of the last line [`head_at`] read (its first 16 bytes, the stamp and the space
/// after it) and what was read of it: most lines of a log have their line before's stamp, and
/// its checks, month and numbers were ~8% of the Postfix fold. For one `months` table only.
#[derive(Default)]
pub struct LastStamp {
    bytes: Option<u128>,
    month: usize,
    day: u32,
    secs: u32,
    unusual: bool,
}

/// [`head_in`], the stamp read again only where it is not `last`'s.
#[inline]
pub fn head_at<'a>(line: &'a [u8], months: &[Vec<u8>], may_hold_newline: bool, last: &mut LastStamp) -> Option<Head<'a>> {
    let first = line.get(..16).map(|b| u128::from_le_bytes(b.try_into().expect("16 bytes")));
    let again = first.is_some() && first == last.bytes;
    let spans = if again { header_after_stamp(line, may_hold_newline) } else { header_pid_in(line, may_hold_newline) };
    let ([_, host, tag, msg], bracket) = spans?;
    if !again {
        let (month, day, secs, unusual) = stamp_of(&line[..15], months);
        *last = LastStamp { bytes: first, month, day, secs, unusual };
    }
    let (month, day, secs, mut unusual) = (last.month, last.day, last.secs, last.unusual);
    // the pid's `[` as the header's scan found it (no second search of the tag)
    let open = bracket.map(|b| b - tag.0);
    let tag = &line[tag.0..tag.1];
    let (program, pid) = match open {
        Some(p) => {
            let digits = &tag[p + 1..tag.len() - 1];
            // ASCII digits (the header's scan checked them): nine fit an i32 as they are
            let pid = if digits.len() <= 9 {
                Some(digits.iter().fold(0i32, |a, &d| a * 10 + i32::from(d - b'0')))
            } else {
                let v = digits.iter().try_fold(0u64, |a, &d| a.checked_mul(10)?.checked_add(u64::from(d - b'0')));
                v.filter(|&v| v <= i32::MAX as u64).map(|v| v as i32)
            };
            unusual |= pid.is_none();
            (&tag[..p], pid)
        }
        None => (tag, None),
    };
    let msg = &line[msg.0..msg.1];
    Some(Head {
        month: month as u8 + 1,
        day: day as u8,
        secs,
        host: &line[host.0..host.1],
        program,
        pid,
        msg,
        unusual,
        trailing_space: msg.last().is_some_and(|&c| is_space(c)),
    })
}

/// A header stamp's (`Mmm dd hh:mm:ss`) month place (0: January; 0 where `months` does not
/// name it), day, seconds of the day, and whether it is unusual (a month not named, a day or
/// time out of range).
fn stamp_of(stamp: &[u8], months: &[Vec<u8>]) -> (usize, u32, u32, bool) {
    let mut unusual = false;
    // three bytes compared by hand: a slice comparison is a memcmp call per month, per line;
    // the English name's place tried first, then every month (any table Python hands in)
    let name = [stamp[0], stamp[1], stamp[2]];
    let is = |m: &Vec<u8>| m.len() == 3 && m[0] == name[0] && m[1] == name[1] && m[2] == name[2];
    let month = match english_month(name).filter(|&g| months.get(g).is_some_and(is)) {
        Some(g) => g,
        None => months.iter().position(is).unwrap_or_else(|| {
            unusual = true;
            0
        }),
    };
    let (day, h, m, s) = (two(&stamp[4..6]), two(&stamp[7..9]), two(&stamp[10..12]), two(&stamp[13..15]));
    unusual |= day == 0 || day > u32::from(MDAYS[month]) || h > 23 || m > 59 || s > 59;
    (month, day, h * 3600 + m * 60 + s, unusual)
}

/// The place of an English month's name (`Jan` 0 ... `Dec` 11), or None.
fn english_month(n: [u8; 3]) -> Option<usize> {
    Some(match &n {
        b"Jan" => 0,
        b"Feb" => 1,
        b"Mar" => 2,
        b"Apr" => 3,
        b"May" => 4,
        b"Jun" => 5,
        b"Jul" => 6,
        b"Aug" => 7,
        b"Sep" => 8,
        b"Oct" => 9,
        b"Nov" => 10,
        b"Dec" => 11,
        _ => return None,
    })
}

/// `work(lo, hi)` over `threads` consecutive ranges of `n` lines at once (at most one thread per
/// 4096 lines), the results in range order.
pub fn over_ranges<T: Send>(
    n: usize,
    threads: usize,
    work: impl Fn(usize, usize) -> Result<T, String> + Sync,
) -> Result<Vec<T>, String> {
    let threads = threads.clamp(1, 64).min(n / 4096 + 1);
    let step = n.div_ceil(threads).max(1);
    let work = &work;
    // the first range on the calling thread: one thread (a worker process) spawns none, and the
    // regexes' caches stay with the thread that owns them (another thread takes a locked pool's)
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads)
            .map(|t| {
                let (lo, hi) = ((t * step).min(n), ((t + 1) * step).min(n));
                s.spawn(move || work(lo, hi))
            })
            .collect();
        let first = work(0, step.min(n));
        std::iter::once(first).chain(handles.into_iter().map(|h| h.join().expect("reader thread"))).collect()
    })
}

/// The sizes of the Postfix rows' string columns in the last big batch read (see [`Hints`]).
static ROWS_HINTS: Hints<STR_COLUMNS> = Hints::new();

/// Read lines `lo..hi` of `lines`. `months`: the month names, January first.
pub fn read(fast: &Fast, lines: Strings, lo: usize, hi: usize, months: &[Vec<u8>]) -> Result<Batch, String> {
    let text = lines.offsets.get(hi).zip(lines.offsets.get(lo)).map_or(0, |(&b, &a)| (b - a).max(0) as usize);
    let mut b = Batch::with_capacity(hi - lo, Rows::hinted(hi - lo, text, &ROWS_HINTS));
    b.stamps.reserve(hi - lo);
    let free = newline_free(lines, lo, hi);
    let mut last = LastStamp::default();
    // each program's daemon found once a block, as the fold finds it (`postfix_daemon`'s scan
    // and the daemons' search were ~7% of this read's instructions)
    let mut programs = Programs::new();
    for i in lo..hi {
        let line = lines.get(i);
        let Some(hd) = head_at(line, months, may_hold_newline(lines, i, free), &mut last) else {
            b.kind.push(NO_HEADER);
            continue;
        };
        b.stamps.push(&hd);
        let (host, program, pid, msg) = (hd.host, hd.program, hd.pid, hd.msg);
        let mut row = Row {
            host: Some(Cow::Borrowed(host)),
            mta: Some("postfix"),
            program: Some(Cow::Borrowed(program)),
            pid,
            ..Row::default()
        };
        let graphic_end = msg.last().is_some_and(|&c| (0x21..=0x7E).contains(&c));
        let fast_read = match programs.daemon(fast, program) {
            Some(daemon) if graphic_end => fast.read_at(daemon, msg, &mut row),
            _ => false,
        };
        if fast_read {
            b.rows.push(i as u32, &row)?;
            b.kind.push(ROW);
        } else {
            let r = Row {
                host: Some(Cow::Borrowed(host)),
                program: Some(Cow::Borrowed(program)),
                pid,
                detail: Some(Cow::Borrowed(msg)),
                ..Row::default()
            };
            b.headers.push(i as u32, &r)?;
            b.kind.push(HEADER);
        }
    }
    Ok(b)
}

/// [`read`] over `threads` ranges of the batch at once.
pub fn read_parallel(fast: &Fast, lines: Strings, months: &[Vec<u8>], threads: usize) -> Result<Batch, String> {
    let n = lines.len();
    if threads.clamp(1, 64).min(n / 4096 + 1) == 1 {
        return read(fast, lines, 0, n, months);
    }
    let parts = over_ranges(n, threads, |lo, hi| read(fast, lines, lo, hi, months))?;
    let mut out = Batch::with_capacity(n, Rows::new());
    let (mut headers, mut rows) = (Vec::new(), Vec::new());
    for p in parts {
        out.kind.extend(p.kind);
        out.stamps.append(p.stamps);
        headers.push(p.headers);
        rows.push(p.rows);
    }
    out.headers = concat(headers);
    out.rows = concat(rows);
    Ok(out)
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{edit, XorShift};

    #[test]
    fn postfix_daemon_as_the_pattern() {
        // POSTFIX_PROGRAM of analyzer/parsers/postfix.py, anchored as the program is matched whole
        let re = regex::bytes::Regex::new(r"^postfix(?-u:[\w.-])*(?:/(?-u:[\w.-])+)*$").unwrap();
        let alphabet: &[u8] = b"/.-_aZ09 [:";
        let mut rng = XorShift(0x2545F4914F6CDD1D);
        for seed in [&b"postfix/smtpd"[..], b"postfix-out/smtp", b"postfix/submission/smtpd", b"postfix", b"postfi"] {
            for _ in 0..3000 {
                let mut p = seed.to_vec();
                for _ in 0..(rng.next() % 3) {
                    edit(&mut p, &mut rng, alphabet);
                }
                let want = re.is_match(&p).then(|| p.rsplit(|&b| b == b'/').next().unwrap());
                assert_eq!(postfix_daemon(&p), want, "{}", String::from_utf8_lossy(&p));
            }
        }
    }
}
