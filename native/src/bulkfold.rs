//! The report's Bulk fold (`analyzer/anomalies/bulk_native.py`; the Python `BulkFold` of
//! `analyzer/anomalies/aggregates.py` is its specification): the lines only counted, folded
//! batch by batch into one entry per (second, source, host, reply class, kind) with their
//! counts, first and last times and last line; each message's first times (`qids`, per chunk
//! of `COMPACT_EVERY` batches when `first_only`), the senders the folded lines name, and the
//! queue ids of the deferred and looked-up lines (which `qids` and `senders` are kept). A batch
//! comes as its columns (the string columns the report compares as the codes its tests made,
//! their words beside them; times, lines and flags as Arrow buffers); the result is handed over
//! once, at the end. Linear in the rows (hash tables under the process's random key: the keys
//! are log texts or derived from them), the table sorted once at the end.

use crate::hash::{is_set, Seed};
use held::Held;
use crate::vocab::{Column, Vocab};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

/// The second of a line without a time (and a held entry's time: see [`Entry`]).
pub const NULL_SEC: i64 = i64::MIN;
/// Batches folded per chunk of `qids` (the Python fold's `COMPACT_EVERY`).
pub const COMPACT_EVERY: usize = 16;
/// What a broken fold (a batch failed part-way) answers.
const BROKEN: &str = "an earlier batch failed part-way: this fold's state is incomplete";

/// The hasher of the fold's tables: every word mixed under the process's random key
/// ([`Seed::scramble`]), so which keys share a bucket cannot be chosen from a log.
#[derive(Clone, Copy, Default)]
pub struct Keyed(Seed);

pub struct KeyedHasher {
    seed: Seed,
    state: u64,
}

impl BuildHasher for Keyed {
    type Hasher = KeyedHasher;
    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher { seed: self.0, state: 0 }
    }
}

impl Hasher for KeyedHasher {
    fn finish(&self) -> u64 {
        self.state
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        self.write_u64(bytes.len() as u64);
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.state = self.seed.scramble(self.state.rotate_left(23) ^ v);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Little-endian signed integers of 1, 2, 4 or 8 bytes (a numpy array's buffer).
#[derive(Clone, Copy)]
pub struct Ints<'a> {
    raw: &'a [u8],
    width: usize,
}

impl<'a> Ints<'a> {
    pub fn new(raw: &'a [u8], width: usize, len: usize) -> Result<Self, String> {
        if !matches!(width, 1 | 2 | 4 | 8) || raw.len() < width * len {
            return Err(format!("{len} codes of 1, 2, 4 or 8 bytes are needed"));
        }
        Ok(Ints { raw, width })
    }

}

/// A column of few values: each row's code into `words` (a code out of range, or a `None`
/// word, is a null).
pub struct Coded<'a> {
    pub words: Vec<Option<String>>,
    pub codes: Ints<'a>,
}

impl Coded<'_> {
    /// One value per word (and a last one for the nulls) of `f` of the word.
    fn table<T: Copy>(&self, null: T, f: impl FnMut(&str) -> T) -> Vec<T> {
        let mut f = f;
        let mut out: Vec<T> = self.words.iter().map(|w| w.as_deref().map_or(null, &mut f)).collect();
        out.push(null);
        out
    }

    /// Each of the first `n` rows' value of `table` (its code's; a null's: the last).
    fn map<T: Copy>(&self, table: &[T], n: usize) -> Vec<T> {
        let last = table.len() - 1;
        let pick = |c: i64| table[if c < 0 || c as u64 >= last as u64 { last } else { c as usize }];
        let raw = &self.codes.raw[..n * self.codes.width];
        match self.codes.width {
            1 => raw.iter().map(|&b| pick(i64::from(b as i8))).collect(),
            2 => raw.chunks_exact(2).map(|c| pick(i64::from(i16::from_le_bytes([c[0], c[1]])))).collect(),
            4 => raw.chunks_exact(4).map(|c| pick(i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))).collect(),
            _ => raw.chunks_exact(8).map(|c| pick(i64::from_le_bytes(c.try_into().expect("8 bytes")))).collect(),
        }
    }
}

/// A column of fixed-width values (Arrow's values buffer, its first row's index, and its
/// validity bitmap with the first row's bit, or None when no row is null).
pub struct Prim<'a> {
    pub values: &'a [u8],
    pub at: usize,
    pub valid: Option<(&'a [u8], usize)>,
}

impl Prim<'_> {
    fn check(&self, len: usize, bits: usize) -> Result<(), String> {
        let need = ((self.at + len) * bits).div_ceil(8);
        if self.values.len() < need {
            return Err("a values buffer shorter than the column".into());
        }
        crate::vocab::check_valid(self.valid, len)
    }

    #[inline]
    fn valid(&self, i: usize) -> bool {
        self.valid.is_none_or(|(b, at)| is_set(b, at + i))
    }

    #[inline]
    fn word(&self, i: usize) -> [u8; 8] {
        let at = 8 * (self.at + i);
        self.values[at..at + 8].try_into().expect("8 bytes")
    }

    #[inline]
    fn bit(&self, i: usize) -> bool {
        is_set(self.values, self.at + i)
    }
}

/// A string column with its validity.
pub struct Texts<'a> {
    pub col: Column<'a>,
    pub valid: Option<(&'a [u8], usize)>,
}

impl Texts<'_> {
    #[inline]
    fn valid(&self, i: usize) -> bool {
        self.valid.is_none_or(|(b, at)| is_set(b, at + i))
    }
}

/// One batch's columns (all of `len` rows); `None`: the batch has no such column.
pub struct Batch<'a> {
    pub len: usize,
    /// the lines folded (one byte each, non-zero: folded)
    pub mask: &'a [u8],
    /// the place of the first row in the input order (`row_order`)
    pub order: i64,
    /// times (int64, `ts_unit` ns each), lines (int64, or float64 where `line_float`), quit (bits)
    pub ts: Prim<'a>,
    pub ts_unit: i64,
    pub line: Prim<'a>,
    pub line_float: bool,
    pub quit: Option<Prim<'a>>,
    pub event: Coded<'a>,
    pub direction: Coded<'a>,
    pub program: Texts<'a>,
    pub status: Option<Coded<'a>>,
    pub source: Texts<'a>,
    pub host: Texts<'a>,
    /// number the sources and hosts of all rows (a stream batch's, as its tests encode them),
    /// not only of the lines folded
    pub all_rows: bool,
    pub reply_class: Coded<'a>,
    pub queue_id: Option<Texts<'a>>,
    pub sender: Option<Texts<'a>>,
    /// the validity of `cause_ref` (Some(None): the column, no null in it)
    pub cause_ref: Option<Option<(&'a [u8], usize)>>,
}

const RECEIVED: u8 = 1;
const DELIVERY: u8 = 2;
const CONNECT: u8 = 4;
const DISCONNECT: u8 = 8;
const EXPIRED: u8 = 16;
const REMOVED: u8 = 32;
const OUTBOUND: u8 = 1;
const LOCAL: u8 = 2;
const INBOUND: u8 = 4;
const SENT: u8 = 1;
const DEFERRED: u8 = 2;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Key {
    pub sec: i64,
    pub source: u32,
    pub host: u32,
    pub reply_class: u32,
    pub kind: u8,
}

impl std::hash::Hash for Key {
    /// One word: the second (times an odd constant: a bijection) and the codes packed (a
    /// collision of the packed words costs a comparison, never a wrong group).
    fn hash<H: Hasher>(&self, h: &mut H) {
        let codes = u64::from(self.source) ^ u64::from(self.host) << 21 ^ u64::from(self.reply_class) << 42 ^ u64::from(self.kind) << 62;
        h.write_u64((self.sec as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ codes);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acc {
    pub n: i64,
    pub sessions: i64,
    pub closed: i64,
    pub unclosed: i64,
    pub ts_min: i64,
    pub ts_max: i64,
    pub last_order: i64,
    pub last_line: f64,
}

/// An entry's sums as the fold holds them (40 bytes, not [`Acc`]'s 64): the counts as u32 and
/// the first and last times as nanoseconds into the entry's second ([`Slim::base`]). An entry
/// whose counts pass u32 is held as an [`Acc`] beside (`BulkFold::wide`) instead.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Slim {
    n: u32,
    sessions: u32,
    closed: u32,
    unclosed: u32,
    lo: u32,
    hi: u32,
    last_order: i64,
    last_line: f64,
}

impl Slim {
    /// The time the offsets count from: the second's first nanosecond (wrapping: the offset of a
    /// time in that second is its distance from it, below 10^9, whatever the second); a line
    /// without a time is held at 0 (its key's second is `NULL_SEC`).
    fn base(sec: i64) -> i64 {
        if sec == NULL_SEC { 0 } else { sec.wrapping_mul(1_000_000_000) }
    }

    /// `a` held narrow, if its counts and times fit.
    fn of(a: &Acc, sec: i64) -> Option<Slim> {
        let base = Self::base(sec);
        let off = |t: i64| u32::try_from(t.wrapping_sub(base)).ok().filter(|&o| o < 1_000_000_000);
        let count = |c: i64| u32::try_from(c).ok();
        Some(Slim { n: count(a.n)?, sessions: count(a.sessions)?, closed: count(a.closed)?, unclosed: count(a.unclosed)?,
                    lo: off(a.ts_min)?, hi: off(a.ts_max)?, last_order: a.last_order, last_line: a.last_line })
    }

    fn acc(&self, sec: i64) -> Acc {
        let base = Self::base(sec);
        Acc { n: i64::from(self.n), sessions: i64::from(self.sessions), closed: i64::from(self.closed),
              unclosed: i64::from(self.unclosed), ts_min: base.wrapping_add(i64::from(self.lo)),
              ts_max: base.wrapping_add(i64::from(self.hi)), last_order: self.last_order, last_line: self.last_line }
    }
}

/// Sums `l` into `a` (a batch's into the fold's).
fn merge(a: &mut Acc, l: &Acc) {
    a.n += l.n;
    a.sessions += l.sessions;
    a.closed += l.closed;
    a.unclosed += l.unclosed;
    a.ts_min = a.ts_min.min(l.ts_min);
    a.ts_max = a.ts_max.max(l.ts_max);
    if l.last_order >= a.last_order {
        a.last_order = l.last_order;
        a.last_line = l.last_line;
    }
}

/// A message's entry: its queue id's hash, its time (ns; `NULL_SEC` without one) and, for a
/// sender's, its place in the input and the sender's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed(4))] // (28 bytes, not 32: one is held per message with a sender)
pub struct Entry {
    pub qid: u64,
    pub ts: i64,
    pub order: i64,
    pub sender: i32,
}

/// A message's first-time entry: its queue id's hash and its time (`NULL_SEC` without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qid {
    pub qid: u64,
    pub ts: i64,
}

/// The values of a key column in order of first sight (code 0: null, then 1, 2 ...).
#[derive(Default)]
pub struct Names {
    codes: HashMap<Box<[u8]>, u32, Keyed>,
    pub names: Vec<String>,
}

impl Names {
    fn code(&mut self, s: &[u8]) -> u32 {
        if let Some(&c) = self.codes.get(s) {
            return c;
        }
        self.names.push(String::from_utf8_lossy(s).into_owned());
        let c = self.names.len() as u32;
        self.codes.insert(s.into(), c);
        c
    }

    /// Each word's code (in the order of its words: as the Python fold numbers a batch's), the nulls' 0 last.
    fn table(&mut self, col: &Coded) -> Vec<u32> {
        let mut out: Vec<u32> = col.words.iter().map(|w| w.as_deref().map_or(0, |s| self.code(s.as_bytes()))).collect();
        out.push(0);
        out
    }

    /// Each row's code (0: null or not read), the values numbered in the order of the rows read:
    /// all of them, or those of `mask` (as the Python fold numbers a batch's column, from its
    /// dictionary encoding: of all its rows, or of the lines folded where it takes them first).
    fn column(&mut self, t: &Texts, mask: &[u8], all: bool) -> Vec<u32> {
        let mut out = vec![0u32; mask.len()];
        let mut last: Option<(&[u8], u32)> = None;
        for (i, o) in out.iter_mut().enumerate() {
            if !(all || mask[i] != 0) || !t.valid(i) {
                continue;
            }
            let s = t.col.get(i);
            *o = match last {
                Some((w, c)) if w == s => c,
                _ => {
                    let c = self.code(s);
                    last = Some((s, c));
                    c
                }
            };
        }
        out
    }
}

/// The fold's options (see the Python fold's).
#[derive(Clone, Copy, Default)]
pub struct Options {
    /// `Some(split second)`: each chunk's first entry per queue id and side of it only
    pub split: Option<i64>,
    pub deferred_only: bool,
    pub looked_up_only: bool,
}

/// The result: the table's entries in the order of their last lines, the key columns' values,
/// the qids' and senders' entries (None: no batch gave one), the senders' words.
pub struct Folded {
    pub rows: Vec<(Key, Acc)>,
    pub names: [Vec<String>; 3],
    pub qids: Option<Vec<Qid>>,
    pub senders: Option<Vec<Entry>>,
}

/// No entry (the end of a chain).
const NONE: u32 = u32::MAX;
/// The longest chain of one second's entries; further ones go into the table (so that a second
/// of many keys, which a log can make, costs no more than a table's lookups).
const CHAIN: usize = 8;
/// The seconds a dense index spans from its first (~48 days: 16 MiB at most).
const SPAN: i64 = 1 << 22;

/// The fold's entries by second: one chain head per second from the first second seen on
/// (a day's lines come in time order, so a batch's seconds are a few neighbouring heads, where
/// a table's buckets of them lie anywhere: a cache miss each); seconds before it, without a
/// time or beyond its span are left to the table.
#[derive(Default)]
struct BySecond {
    base: Option<i64>,
    heads: Vec<u32>,
}

impl BySecond {
    fn chain(&self, sec: i64) -> Option<u32> {
        let d = sec.checked_sub(self.base?)?;
        if !(0..SPAN).contains(&d) {
            return None;
        }
        Some(self.heads.get(d as usize).copied().unwrap_or(NONE))
    }

    fn slot(&mut self, sec: i64) -> Option<&mut u32> {
        if sec == NULL_SEC {
            return None;
        }
        let d = sec.checked_sub(*self.base.get_or_insert(sec))?;
        if !(0..SPAN).contains(&d) {
            return None;
        }
        let d = d as usize;
        if d >= self.heads.len() {
            self.heads.resize(d + 1, NONE);
        }
        Some(&mut self.heads[d])
    }
}

#[derive(Default)]
pub struct BulkFold {
    by_sec: BySecond,
    next: Vec<u32>,
    opts: Options,
    index: HashMap<Key, u32, Keyed>,
    /// a batch's keys and sums (a small table, in cache), added to the fold's after it
    local: HashMap<Key, u32, Keyed>,
    local_rows: Vec<(Key, Acc)>,
    keys: Vec<Key>,
    accs: Vec<Slim>,
    /// the entries whose sums do not fit a [`Slim`], by index (their `accs` slot unread)
    wide: HashMap<u32, Acc, Keyed>,
    names: [Names; 3],
    pieces: usize,
    /// the chunks' first times before this one's (held narrow: [`Held`])
    done: Held,
    chunk: Vec<Qid>,
    best: HashMap<Side, usize, Keyed>,
    any_qids: bool,
    /// the senders' entries (held narrow: [`Held`])
    senders: Held,
    pub sender_words: Vocab,
    deferred: HashSet<u64, Keyed>,
    looked_up: HashSet<u64, Keyed>,
    /// with `looked_up_only`: the messages ended (a `removed` line: Postfix's removed, Exim's
    /// Completed) before any look-up of their queue id, each queue id's bound: its sender's
    /// entries below it are never read ([`Self::ended`]); dropped from `senders` in place once
    /// they are many ([`Self::let_go`])
    ended: HashMap<u64, usize, Keyed>,
    /// whether a batch gave a sender's entry (all of them may have been let go of)
    any_senders: bool,
    /// the sender's words' count when they were last renumbered ([`Self::let_go`])
    words_kept: usize,
    /// with `deferred_only`: the messages ended before any deferral of their queue id, each
    /// queue id's bounds in `done` and `chunk`: its first-time entries below them are never read;
    /// dropped in place at a chunk's reduction, or once they are many ([`Self::let_go_firsts`])
    firsts_ended: HashMap<u64, (usize, usize), Keyed>,
    /// set when a batch failed part-way (its state half folded): every later call fails
    broken: bool,
}

/// [`crate::hash::hash_bytes`] of a queue id (the same hash), its last partial word read by
/// shifts: copying it into a zeroed word first (a call, and a store the load waits on) was
/// half of the fold's time.
#[inline]
pub fn hash_qid(bytes: &[u8]) -> u64 {
    use crate::hash::mix_step as mix;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h ^ u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let w = rest.iter().rev().fold(0u64, |w, &b| w << 8 | u64::from(b));
        h = mix(h ^ w);
    }
    mix(h ^ bytes.len() as u64)
}

fn sec_of(ns: i64) -> i64 {
    ns.div_euclid(1_000_000_000)
}

/// A queue id's hash and a side of the split, hashed as one word.
#[derive(PartialEq, Eq)]
pub struct Side(u64, u8);

impl std::hash::Hash for Side {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.0 ^ u64::from(self.1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
}

/// Of a chunk's entries, each queue id's earliest per side of `split` (no time, before, from
/// it on; of equal times the first), in their order (the Python fold's `_first_qids`).
pub fn first_qids(entries: &[Qid], split: i64, best: &mut HashMap<Side, usize, Keyed>) -> Vec<Qid> {
    if entries.len() < 2 {
        return entries.to_vec();
    }
    best.clear();
    for (i, e) in entries.iter().enumerate() {
        let side = if e.ts == NULL_SEC { 0 } else if sec_of(e.ts) < split { 1 } else { 2 };
        best.entry(Side(e.qid, side)).and_modify(|b| if e.ts < entries[*b].ts { *b = i }).or_insert(i);
    }
    let mut keep: Vec<usize> = best.values().copied().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| entries[i]).collect()
}

impl BulkFold {
    pub fn new(opts: Options) -> Self {
        BulkFold { opts, done: Held::new(false), senders: Held::new(true), ..Default::default() }
    }

    /// Fold one batch (its columns checked first: nothing is folded from a batch that fails its
    /// checks; a batch that fails later — a full vocabulary — leaves the fold broken, and every
    /// later call says so rather than answer from half a batch).
    pub fn add(&mut self, b: &Batch) -> Result<(), String> {
        if self.broken {
            return Err(BROKEN.into());
        }
        Self::check(b)?;
        let done = self.add_checked(b);
        self.broken = done.is_err();
        done
    }

    /// The batch's columns against its length, and its times against the nanosecond range.
    fn check(b: &Batch) -> Result<(), String> {
        let n = b.len;
        if b.mask.len() != n {
            return Err("the mask and the batch differ in length".into());
        }
        b.ts.check(n, 64)?;
        b.line.check(n, 64)?;
        if let Some(q) = &b.quit {
            q.check(n, 1)?;
        }
        for c in [&b.event, &b.direction, &b.reply_class].into_iter().chain(b.status.as_ref()) {
            Ints::new(c.codes.raw, c.codes.width, n)?;
        }
        for t in [&b.queue_id, &b.sender].into_iter().flatten().chain([&b.program, &b.source, &b.host]) {
            if t.col.len() != n {
                return Err("a string column and the batch differ in length".into());
            }
            crate::vocab::check_valid(t.valid, n)?;
        }
        if let Some(Some(v)) = b.cause_ref {
            crate::vocab::check_valid(Some(v), n)?;
        }
        if b.ts_unit != 1 && (0..n).any(|i| b.mask[i] != 0 && b.ts.valid(i) && i64::from_le_bytes(b.ts.word(i)).checked_mul(b.ts_unit).is_none()) {
            return Err("a time outside the nanosecond range (years 1677 to 2262)".into());
        }
        Ok(())
    }

    /// Fold a batch whose columns [`Self::check`] passed.
    fn add_checked(&mut self, b: &Batch) -> Result<(), String> {
        let n = b.len;
        let event = b.event.map(&b.event.table(0u8, |w| match w {
            "received" => RECEIVED,
            "delivery" => DELIVERY,
            "connect" => CONNECT,
            "disconnect" => DISCONNECT,
            "expired" => EXPIRED,
            "removed" => REMOVED,
            _ => 0,
        }), n);
        let direction = b.direction.map(&b.direction.table(0u8, |w| match w {
            "outbound" => OUTBOUND,
            "local" => LOCAL,
            "inbound" => INBOUND,
            _ => 0,
        }), n);
        let status = match &b.status {
            Some(s) => s.map(&s.table(0u8, |w| match w {
                "sent" => SENT,
                "deferred" => DEFERRED,
                _ => 0,
            }), n),
            None => vec![0u8; n],
        };
        let qid_valid = |i: usize| b.queue_id.as_ref().is_some_and(|q| q.valid(i));
        self.senders_of(b, &event, &direction)?;
        if !b.mask.iter().any(|&m| m != 0) {
            self.firsts_of(b, &event, &status, self.chunk.len());
            return Ok(());
        }
        let [sources, hosts, replies] = &mut self.names;
        let source = sources.column(&b.source, b.mask, b.all_rows);
        let host = hosts.column(&b.host, b.mask, b.all_rows);
        let reply = b.reply_class.map(&replies.table(&b.reply_class), n);
        self.pieces += 1;
        if self.pieces >= COMPACT_EVERY {
            self.pieces = 0;
            if let Some(split) = self.opts.split {
                self.let_go_firsts();
                if !self.chunk.is_empty() {
                    let chunk = std::mem::take(&mut self.chunk);
                    for q in first_qids(&chunk, split, &mut self.best) {
                        self.done.push(q.qid, q.ts, 0, 0);
                    }
                }
            }
        }
        let start = self.chunk.len();
        let mut last: Option<(Key, usize)> = None;
        for i in (0..n).filter(|&i| b.mask[i] != 0) {
            let timed = b.ts.valid(i);
            let ns = if timed { i64::from_le_bytes(b.ts.word(i)).checked_mul(b.ts_unit).unwrap_or(0) } else { 0 };
            let sec = if timed { sec_of(ns) } else { NULL_SEC };
            let (ev, dir) = (event[i], direction[i]);
            let kind = if ev == RECEIVED {
                1
            } else if ev == DELIVERY && status[i] == SENT {
                2
            } else {
                0
            };
            let key = Key { sec, source: source[i], host: host[i], reply_class: reply[i], kind };
            let quit = b.quit.as_ref().is_some_and(|q| q.valid(i) && q.bit(i));
            let disconnect = ev == DISCONNECT && dir & (OUTBOUND | LOCAL) == 0;
            let session = ev == CONNECT && dir != OUTBOUND && !(b.program.valid(i) && b.program.col.get(i).ends_with(b"postscreen"));
            let order = b.order + i as i64;
            let line = match (b.line.valid(i), b.line_float) {
                (false, _) => f64::NAN,
                (true, true) => f64::from_le_bytes(b.line.word(i)),
                (true, false) => i64::from_le_bytes(b.line.word(i)) as f64,
            };
            let at = match last {
                Some((k, at)) if k == key => at,
                _ => {
                    let next = self.local_rows.len() as u32;
                    let at = *self.local.entry(key).or_insert(next) as usize;
                    if at == self.local_rows.len() {
                        self.local_rows.push((key, Acc { n: 0, sessions: 0, closed: 0, unclosed: 0, ts_min: ns, ts_max: ns, last_order: order, last_line: line }));
                    }
                    last = Some((key, at));
                    at
                }
            };
            let a = &mut self.local_rows[at].1;
            a.n += 1;
            a.sessions += i64::from(session);
            a.closed += i64::from(disconnect && quit);
            a.unclosed += i64::from(disconnect && !quit);
            a.ts_min = a.ts_min.min(ns);
            a.ts_max = a.ts_max.max(ns);
            if order >= a.last_order {
                a.last_order = order;
                a.last_line = line;
            }
            if !qid_valid(i) {
                continue;
            }
            let q = b.queue_id.as_ref().expect("queue_id");
            let qid = hash_qid(q.col.get(i));
            let held = if timed { ns } else { NULL_SEC };
            self.chunk.push(Qid { qid, ts: held });
            self.any_qids = true;
        }
        self.local.clear();
        let rows = std::mem::take(&mut self.local_rows);
        for &(key, l) in &rows {
            let Some(at) = self.find(key) else {
                let at = self.accs.len() as u32;
                self.insert(key);
                self.hold(at, key.sec, l);
                continue;
            };
            let mut a = self.acc(at, key.sec);
            merge(&mut a, &l);
            self.put(at as u32, key.sec, a);
        }
        self.local_rows = rows;
        self.local_rows.clear();
        self.firsts_of(b, &event, &status, start);
        Ok(())
    }

    /// Bytes held, by part: the entries (keys, sums, chains and table), the messages' first
    /// times, the senders' entries and words, the deferred and looked-up queue ids' sets.
    pub fn nbytes(&self) -> [usize; 5] {
        use std::mem::size_of;
        let set = |c: usize, w: usize| c * (w + 1);
        [size_of::<Key>() * self.keys.capacity() + size_of::<Slim>() * self.accs.capacity() + 4 * self.next.capacity()
             + 4 * self.by_sec.heads.capacity() + set(self.index.capacity(), size_of::<(Key, u32)>()),
         self.done.nbytes() + size_of::<Qid>() * self.chunk.capacity() + set(self.firsts_ended.capacity(), 24),
         self.senders.nbytes() + self.sender_words.nbytes() + set(self.ended.capacity(), 16),
         set(self.deferred.capacity(), 8),
         set(self.looked_up.capacity(), 8)]
    }

    /// A new entry's sums (its index `at`, the next of `accs`).
    fn hold(&mut self, at: u32, sec: i64, a: Acc) {
        let slim = Slim::of(&a, sec);
        self.accs.push(slim.unwrap_or(Slim { n: 0, sessions: 0, closed: 0, unclosed: 0, lo: 0, hi: 0, last_order: 0, last_line: 0.0 }));
        if slim.is_none() {
            self.wide.insert(at, a);
        }
    }

    /// Entry `at`'s sums.
    fn acc(&self, at: usize, sec: i64) -> Acc {
        if self.wide.is_empty() {
            return self.accs[at].acc(sec);
        }
        match self.wide.get(&(at as u32)) {
            Some(a) => *a,
            None => self.accs[at].acc(sec),
        }
    }

    /// Entry `at`'s sums set to `a` (narrow while they fit; once wide, wide).
    fn put(&mut self, at: u32, sec: i64, a: Acc) {
        if let Some(w) = (!self.wide.is_empty()).then(|| self.wide.get_mut(&at)).flatten() {
            *w = a;
            return;
        }
        match Slim::of(&a, sec) {
            Some(slim) => self.accs[at as usize] = slim,
            None => {
                self.wide.insert(at, a);
            }
        }
    }

    /// The fold's entry of `key`: in its second's chain ([`BySecond`]), or the table beside it.
    fn find(&self, key: Key) -> Option<usize> {
        match self.by_sec.chain(key.sec) {
            Some(mut at) => {
                let mut steps = 0;
                while at != NONE {
                    if self.keys[at as usize] == key {
                        return Some(at as usize);
                    }
                    steps += 1;
                    at = self.next[at as usize];
                }
                if steps < CHAIN {
                    return None;
                }
                self.index.get(&key).map(|&at| at as usize)
            }
            None => self.index.get(&key).map(|&at| at as usize),
        }
    }

    /// A new entry of `key` (not held): first in its second's chain while that is short, else in the table.
    fn insert(&mut self, key: Key) {
        let at = self.keys.len() as u32;
        self.keys.push(key);
        self.next.push(NONE);
        if let Some(head) = self.by_sec.slot(key.sec) {
            let mut len = 0;
            let mut walk = *head;
            while walk != NONE && len < CHAIN {
                len += 1;
                walk = self.next[walk as usize];
            }
            if len < CHAIN {
                self.next[at as usize] = *head;
                *head = at;
                return;
            }
        }
        self.index.insert(key, at);
    }

    /// The folded table, entries and senders (the fold is emptied: its key columns' codes are kept).
    pub fn result(&mut self) -> Result<Folded, String> {
        let Finished { table, names, qids, senders } = self.finish()?;
        let rows = (0..table.order.len()).map(|i| table.row(i)).collect();
        Ok(Folded { rows, names, qids, senders })
    }

    /// [`Self::result`] with the table as its 13 columns of little-endian bytes ([`Entries::columns`]),
    /// made from the held entries without the rows (`(Key, Acc)`, 88 bytes an entry) between.
    pub fn result_columns(&mut self) -> Result<(Vec<Vec<u8>>, [Vec<String>; 3], Option<Vec<Qid>>, Option<Vec<Entry>>), String> {
        let Finished { table, names, qids, senders } = self.finish()?;
        Ok((table.columns(), names, qids, senders))
    }

    /// The fold's end: its entries as held, in the order of their last lines (the fold is emptied).
    fn finish(&mut self) -> Result<Finished, String> {
        if self.broken {
            return Err(BROKEN.into());
        }
        // (the held entries read back as they were, those not kept dropped as they are read)
        self.let_go_firsts();
        self.firsts_ended = HashMap::default();
        let deferred = std::mem::take(&mut self.deferred);
        let kept = |q: u64| !self.opts.deferred_only || deferred.contains(&q);
        let mut qids = self.done.qids(kept);
        let chunk = std::mem::take(&mut self.chunk);
        match self.opts.split {
            Some(split) => qids.extend(first_qids(&chunk, split, &mut self.best).into_iter().filter(|e| kept(e.qid))),
            None => qids.extend(chunk.into_iter().filter(|e| kept(e.qid))),
        }
        drop(deferred);
        self.let_go();
        let any_senders = std::mem::take(&mut self.any_senders);
        let wanted = std::mem::take(&mut self.looked_up);
        let senders = self.senders.entries(|q| !self.opts.looked_up_only || wanted.contains(&q));
        drop(wanted);
        self.best = HashMap::default();
        // (the look-ups freed first: only the entries are read from here on)
        self.by_sec = BySecond::default();
        self.next = Vec::new();
        self.index = HashMap::default();
        let table = Entries { keys: std::mem::take(&mut self.keys), slim: std::mem::take(&mut self.accs),
                              wide: std::mem::take(&mut self.wide), order: Vec::new() };
        // (the entries come nearly in order of their last lines: a stable sort merges their runs)
        let mut by: Vec<(i64, u32)> = (0..table.keys.len()).map(|i| (table.acc(i).last_order, i as u32)).collect();
        by.sort_by_key(|&(o, _)| o);
        let mut at = 0;
        while at < by.len() {  // (equal last lines, by key)
            let end = at + by[at..].iter().take_while(|x| x.0 == by[at].0).count();
            if end - at > 1 {
                by[at..end].sort_unstable_by_key(|&(_, i)| table.keys[i as usize]);
            }
            at = end;
        }
        let table = Entries { order: by.into_iter().map(|(_, i)| i).collect(), ..table };
        self.pieces = 0;
        let any_qids = std::mem::take(&mut self.any_qids);
        Ok(Finished {
            table,
            names: [self.names[0].names.clone(), self.names[1].names.clone(), self.names[2].names.clone()],
            qids: any_qids.then_some(qids),
            senders: any_senders.then_some(senders),
        })
    }
}

/// The fold's entries as held (keys, narrow sums, the wide ones apart), in ``order``.
struct Entries {
    keys: Vec<Key>,
    slim: Vec<Slim>,
    wide: HashMap<u32, Acc, Keyed>,
    order: Vec<u32>,
}

impl Entries {
    /// Held entry `i`'s sums.
    fn acc(&self, i: usize) -> Acc {
        match self.wide.get(&(i as u32)) {
            Some(a) => *a,
            None => self.slim[i].acc(self.keys[i].sec),
        }
    }

    /// The `i`th entry in order.
    fn row(&self, i: usize) -> (Key, Acc) {
        let at = self.order[i] as usize;
        (self.keys[at], self.acc(at))
    }

    /// The table's 13 columns as little-endian bytes (sec, source, host, reply_class as i32, kind
    /// i8, n, sessions, closed, unclosed, ts_min, ts_max, last_order, last_line f64), in one pass
    /// over the entries in order (a pass per column read them 13 times: r24-rfold); the entries
    /// are freed once read.
    fn columns(self) -> Vec<Vec<u8>> {
        const WIDTHS: [usize; 13] = [8, 4, 4, 4, 1, 8, 8, 8, 8, 8, 8, 8, 8];
        let n = self.order.len();
        let mut out: Vec<Vec<u8>> = WIDTHS.iter().map(|w| Vec::with_capacity(w * n)).collect();
        for i in 0..n {
            let (k, a) = self.row(i);
            out[0].extend_from_slice(&k.sec.to_le_bytes());
            out[1].extend_from_slice(&k.source.to_le_bytes());
            out[2].extend_from_slice(&k.host.to_le_bytes());
            out[3].extend_from_slice(&k.reply_class.to_le_bytes());
            out[4].push(k.kind);
            for (o, v) in out[5..12].iter_mut().zip([a.n, a.sessions, a.closed, a.unclosed, a.ts_min, a.ts_max, a.last_order]) {
                o.extend_from_slice(&v.to_le_bytes());
            }
            out[12].extend_from_slice(&a.last_line.to_le_bytes());
        }
        out
    }
}

/// [`BulkFold::finish`]'s result.
struct Finished {
    table: Entries,
    names: [Vec<String>; 3],
    qids: Option<Vec<Qid>>,
    senders: Option<Vec<Entry>>,
}

#[path = "bulkfold_held.rs"]
mod held;

#[path = "bulkfold_ends.rs"]
mod ends;

#[path = "bulkfold_firsts.rs"]
mod firsts;

#[cfg(test)]
#[path = "bulkfold_tests.rs"]
mod tests;
