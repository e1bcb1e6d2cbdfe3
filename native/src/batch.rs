//! A batch of lines in, event rows out: the classic syslog header of each line read by hand
//! (`syslog::header`, the twin of `HEADERS["syslog"]`), then Postfix messages the readers of
//! `postfix.rs` are sure of turned into whole rows. Everything else is left to the Python
//! engine, which gets the header fields of the lines that have one (`headers`) so that the year
//! of every yearless stamp is placed in one pass of the Python clock, in line order.

use crate::engine::Strings;
use crate::fields::is_space;
use crate::postfix::Fast;
use crate::rows::{concat, Row, Rows};
use crate::syslog::header;
use std::borrow::Cow;

/// What a line is, in [`Batch::kind`].
pub const NO_HEADER: u8 = 0;
pub const HEADER: u8 = 1;
pub const ROW: u8 = 2;

pub struct Batch {
    /// per line: [`NO_HEADER`], [`HEADER`] (the Python engine reads the message) or [`ROW`]
    pub kind: Vec<u8>,
    /// per line with a header (kind HEADER or ROW), in line order: month 1-12, day, seconds of the day
    pub months: Vec<u8>,
    pub days: Vec<u8>,
    pub secs: Vec<u32>,
    /// a stamp Python reads otherwise (no such month or day, hour 24 ...) or a pid beyond int32:
    /// the caller parses the whole batch in Python
    pub unusual: bool,
    /// some message ends with whitespace (Python right-trims the batch's messages then)
    pub trailing_space: bool,
    /// the HEADER lines: host, program, pid, and the message in `detail`
    pub headers: Rows,
    /// the ROW lines
    pub rows: Rows,
}

impl Batch {
    /// An empty batch with room for `lines` kinds and `rows` event rows.
    fn with_capacity(lines: usize, rows: Rows) -> Batch {
        Batch {
            kind: Vec::with_capacity(lines),
            months: Vec::new(),
            days: Vec::new(),
            secs: Vec::new(),
            unusual: false,
            trailing_space: false,
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
    if !program.starts_with(b"postfix") || program.ends_with(b"/") {
        return None;
    }
    let ok = program.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'));
    if !ok || memchr::memmem::find(program, b"//").is_some() {
        return None;
    }
    Some(program.rsplit(|&b| b == b'/').next().unwrap_or(program))
}

/// Read lines `lo..hi` of `lines`. `months`: the month names, January first.
pub fn read(fast: &Fast, lines: Strings, lo: usize, hi: usize, months: &[Vec<u8>]) -> Result<Batch, String> {
    let mut b = Batch::with_capacity(hi - lo, Rows::with_capacity(hi - lo));
    for i in lo..hi {
        let line = lines.get(i);
        let Some([_, host, tag, msg]) = header(line) else {
            b.kind.push(NO_HEADER);
            continue;
        };
        let stamp = &line[..15];
        let month = months.iter().position(|m| m.as_slice() == &stamp[..3]);
        let (day, h, m, s) = (two(&stamp[4..6]), two(&stamp[7..9]), two(&stamp[10..12]), two(&stamp[13..15]));
        let month = month.unwrap_or_else(|| {
            b.unusual = true;
            0
        });
        if day == 0 || day > u32::from(MDAYS[month]) || h > 23 || m > 59 || s > 59 {
            b.unusual = true;
        }
        b.months.push(month as u8 + 1);
        b.days.push(day as u8);
        b.secs.push(h * 3600 + m * 60 + s);
        let tag = &line[tag.0..tag.1];
        let (program, pid) = match memchr::memchr(b'[', tag) {
            Some(p) => {
                let digits = &tag[p + 1..tag.len() - 1];
                let v = digits.iter().try_fold(0u64, |a, &d| a.checked_mul(10)?.checked_add(u64::from(d - b'0')));
                match v {
                    Some(v) if v <= i32::MAX as u64 => (&tag[..p], Some(v as i32)),
                    _ => {
                        b.unusual = true;
                        (&tag[..p], None)
                    }
                }
            }
            None => (tag, None),
        };
        let msg = &line[msg.0..msg.1];
        if msg.last().is_some_and(|&c| is_space(c)) {
            b.trailing_space = true;
        }
        let mut row = Row {
            host: Some(Cow::Borrowed(&line[host.0..host.1])),
            mta: Some("postfix"),
            program: Some(Cow::Borrowed(program)),
            pid,
            ..Row::default()
        };
        let graphic_end = msg.last().is_some_and(|&c| (0x21..=0x7E).contains(&c));
        let fast_read = match postfix_daemon(program) {
            Some(daemon) if graphic_end => fast.read(daemon, msg, &mut row),
            _ => false,
        };
        if fast_read {
            b.rows.push(i as u32, &row)?;
            b.kind.push(ROW);
        } else {
            let r = Row {
                host: Some(Cow::Borrowed(&line[host.0..host.1])),
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
    let threads = threads.clamp(1, 64).min(n / 4096 + 1);
    if threads == 1 {
        return read(fast, lines, 0, n, months);
    }
    let step = n.div_ceil(threads);
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (lo, hi) = ((t * step).min(n), ((t + 1) * step).min(n));
                s.spawn(move || read(fast, lines, lo, hi, months))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("reader thread")).collect::<Result<Vec<_>, _>>()
    })?;
    let mut out = Batch::with_capacity(n, Rows::new());
    let (mut headers, mut rows) = (Vec::new(), Vec::new());
    for p in parts {
        out.kind.extend(p.kind);
        out.months.extend(p.months);
        out.days.extend(p.days);
        out.secs.extend(p.secs);
        out.unusual |= p.unusual;
        out.trailing_space |= p.trailing_space;
        headers.push(p.headers);
        rows.push(p.rows);
    }
    out.headers = concat(headers);
    out.rows = concat(rows);
    Ok(out)
}

