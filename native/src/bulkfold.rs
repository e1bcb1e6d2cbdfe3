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

use crate::hash::{hash_bytes, is_set, Seed};
use crate::vocab::{Column, Vocab};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

/// The second of a line without a time (and a held entry's time: see [`Entry`]).
pub const NULL_SEC: i64 = i64::MIN;
/// Batches folded per chunk of `qids` (the Python fold's `COMPACT_EVERY`).
pub const COMPACT_EVERY: usize = 16;

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
        self.seed.scramble(self.state)
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

    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        let b = &self.raw[i * self.width..(i + 1) * self.width];
        match self.width {
            1 => i64::from(b[0] as i8),
            2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            _ => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
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

    #[inline]
    fn at<T: Copy>(&self, table: &[T], i: usize) -> T {
        let c = self.codes.get(i);
        let last = table.len() - 1;
        table[if c < 0 || c as u64 >= last as u64 { last } else { c as usize }]
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
    /// times (int64 ns), lines (float64), quit (bits)
    pub ts: Prim<'a>,
    pub line: Prim<'a>,
    pub quit: Option<Prim<'a>>,
    pub event: Coded<'a>,
    pub direction: Coded<'a>,
    pub program: Coded<'a>,
    pub status: Option<Coded<'a>>,
    pub source: Coded<'a>,
    pub host: Coded<'a>,
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
const OUTBOUND: u8 = 1;
const LOCAL: u8 = 2;
const INBOUND: u8 = 4;
const SENT: u8 = 1;
const DEFERRED: u8 = 2;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Key {
    pub sec: i64,
    pub source: u32,
    pub host: u32,
    pub reply_class: u32,
    pub kind: u8,
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

/// A message's entry: its queue id's hash, its time (ns; `NULL_SEC` without one) and, for a
/// sender's, its place in the input and the sender's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub qid: u64,
    pub ts: i64,
    pub order: i64,
    pub sender: i32,
}

/// The values of a key column in order of first sight (code 0: null, then 1, 2 ...).
#[derive(Default)]
pub struct Names {
    codes: HashMap<String, u32, Keyed>,
    pub names: Vec<String>,
}

impl Names {
    /// Each word's code (its batch's codes, in the order of its words: as the Python fold numbers them), the nulls' 0 last.
    fn table(&mut self, col: &Coded) -> Vec<u32> {
        let mut out = Vec::with_capacity(col.words.len() + 1);
        for w in &col.words {
            out.push(match w {
                None => 0,
                Some(s) => match self.codes.get(s.as_str()) {
                    Some(&c) => c,
                    None => {
                        self.names.push(s.clone());
                        let c = self.names.len() as u32;
                        self.codes.insert(s.clone(), c);
                        c
                    }
                },
            });
        }
        out.push(0);
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
    pub qids: Option<Vec<Entry>>,
    pub senders: Option<Vec<Entry>>,
}

#[derive(Default)]
pub struct BulkFold {
    opts: Options,
    index: HashMap<Key, u32, Keyed>,
    keys: Vec<Key>,
    accs: Vec<Acc>,
    names: [Names; 3],
    pieces: usize,
    done: Vec<Entry>,
    chunk: Vec<Entry>,
    any_qids: bool,
    senders: Vec<Entry>,
    pub sender_words: Vocab,
    deferred: HashSet<u64, Keyed>,
    looked_up: HashSet<u64, Keyed>,
}

fn sec_of(ns: i64) -> i64 {
    ns.div_euclid(1_000_000_000)
}

/// Of a chunk's entries, each queue id's earliest per side of `split` (no time, before, from
/// it on; of equal times the first), in their order (the Python fold's `_first_qids`).
pub fn first_qids(entries: &[Entry], split: i64) -> Vec<Entry> {
    if entries.len() < 2 {
        return entries.to_vec();
    }
    let mut best: HashMap<(u64, u8), usize, Keyed> = HashMap::with_capacity_and_hasher(entries.len(), Keyed::default());
    for (i, e) in entries.iter().enumerate() {
        let side = if e.ts == NULL_SEC { 0 } else if sec_of(e.ts) < split { 1 } else { 2 };
        best.entry((e.qid, side)).and_modify(|b| if e.ts < entries[*b].ts { *b = i }).or_insert(i);
    }
    let mut keep: Vec<usize> = best.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| entries[i]).collect()
}

impl BulkFold {
    pub fn new(opts: Options) -> Self {
        BulkFold { opts, ..Default::default() }
    }

    /// Fold one batch (its columns checked first: nothing is folded from a batch that fails).
    pub fn add(&mut self, b: &Batch) -> Result<(), String> {
        let n = b.len;
        if b.mask.len() != n {
            return Err("the mask and the batch differ in length".into());
        }
        b.ts.check(n, 64)?;
        b.line.check(n, 64)?;
        if let Some(q) = &b.quit {
            q.check(n, 1)?;
        }
        for c in [&b.event, &b.direction, &b.program, &b.source, &b.host, &b.reply_class].into_iter().chain(b.status.as_ref()) {
            Ints::new(c.codes.raw, c.codes.width, n)?;
        }
        for t in [&b.queue_id, &b.sender].into_iter().flatten() {
            if t.col.len() != n {
                return Err("a string column and the batch differ in length".into());
            }
            crate::vocab::check_valid(t.valid, n)?;
        }
        if let Some(Some(v)) = b.cause_ref {
            crate::vocab::check_valid(Some(v), n)?;
        }
        let event = b.event.table(0u8, |w| match w {
            "received" => RECEIVED,
            "delivery" => DELIVERY,
            "connect" => CONNECT,
            "disconnect" => DISCONNECT,
            "expired" => EXPIRED,
            _ => 0,
        });
        let direction = b.direction.table(0u8, |w| match w {
            "outbound" => OUTBOUND,
            "local" => LOCAL,
            "inbound" => INBOUND,
            _ => 0,
        });
        let status = b.status.as_ref().map(|s| s.table(0u8, |w| match w {
            "sent" => SENT,
            "deferred" => DEFERRED,
            _ => 0,
        }));
        let qid_valid = |i: usize| b.queue_id.as_ref().is_some_and(|q| q.valid(i));
        if self.opts.deferred_only {
            if let (Some(st), Some(q)) = (&status, &b.queue_id) {
                let s = b.status.as_ref().expect("status");
                for i in 0..n {
                    if b.event.at(&event, i) == DELIVERY && s.at(st, i) == DEFERRED && q.valid(i) {
                        self.deferred.insert(hash_bytes(q.col.get(i)));
                    }
                }
            }
        }
        if self.opts.looked_up_only {
            if let (Some(q), Some(s)) = (&b.queue_id, &b.sender) {
                for i in 0..n {
                    let ev = b.event.at(&event, i);
                    if ev & (DELIVERY | EXPIRED) == 0 || s.valid(i) || !q.valid(i) {
                        continue;
                    }
                    let d = b.direction.at(&direction, i);
                    let caused = match b.cause_ref {
                        Some(v) => v.is_none_or(|(bits, at)| is_set(bits, at + i)) && d != INBOUND,
                        None => false,
                    };
                    if d == OUTBOUND || caused {
                        self.looked_up.insert(hash_bytes(q.col.get(i)));
                    }
                }
            }
        }
        if !b.mask.iter().any(|&m| m != 0) {
            return Ok(());
        }
        let program = b.program.table(false, |w| w.ends_with("postscreen"));
        let [sources, hosts, replies] = &mut self.names;
        let (source, host, reply) = (sources.table(&b.source), hosts.table(&b.host), replies.table(&b.reply_class));
        self.pieces += 1;
        if self.pieces >= COMPACT_EVERY {
            self.pieces = 0;
            if let Some(split) = self.opts.split {
                if !self.chunk.is_empty() {
                    let chunk = std::mem::take(&mut self.chunk);
                    self.done.extend(first_qids(&chunk, split));
                }
            }
        }
        let mut last: Option<(Key, usize)> = None;
        for i in (0..n).filter(|&i| b.mask[i] != 0) {
            let timed = b.ts.valid(i);
            let ns = if timed { i64::from_le_bytes(b.ts.word(i)) } else { 0 };
            let sec = if timed { sec_of(ns) } else { NULL_SEC };
            let ev = b.event.at(&event, i);
            let dir = b.direction.at(&direction, i);
            let kind = if ev == RECEIVED {
                1
            } else if ev == DELIVERY && status.as_ref().is_some_and(|st| b.status.as_ref().expect("status").at(st, i) == SENT) {
                2
            } else {
                0
            };
            let key = Key { sec, source: b.source.at(&source, i), host: b.host.at(&host, i), reply_class: b.reply_class.at(&reply, i), kind };
            let quit = b.quit.as_ref().is_some_and(|q| q.valid(i) && q.bit(i));
            let disconnect = ev == DISCONNECT && dir & (OUTBOUND | LOCAL) == 0;
            let session = ev == CONNECT && !b.program.at(&program, i) && dir != OUTBOUND;
            let order = b.order + i as i64;
            let line = if b.line.valid(i) { f64::from_le_bytes(b.line.word(i)) } else { f64::NAN };
            let at = match last {
                Some((k, at)) if k == key => at,
                _ => {
                    let next = self.keys.len() as u32;
                    let at = *self.index.entry(key).or_insert(next) as usize;
                    if at == self.keys.len() {
                        self.keys.push(key);
                        self.accs.push(Acc { n: 0, sessions: 0, closed: 0, unclosed: 0, ts_min: ns, ts_max: ns, last_order: order, last_line: line });
                    }
                    last = Some((key, at));
                    at
                }
            };
            let a = &mut self.accs[at];
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
            let qid = hash_bytes(q.col.get(i));
            let held = if timed { ns } else { NULL_SEC };
            self.chunk.push(Entry { qid, ts: held, order, sender: -1 });
            self.any_qids = true;
            if let Some(s) = b.sender.as_ref().filter(|s| s.valid(i)) {
                let code = self.sender_words.code(s.col.get(i)).ok_or("the senders' vocabulary is full")?;
                self.senders.push(Entry { qid, ts: held, order, sender: code as i32 });
            }
        }
        Ok(())
    }

    /// The folded table, entries and senders (the fold is emptied: its key columns' codes are kept).
    pub fn result(&mut self) -> Folded {
        let mut qids = std::mem::take(&mut self.done);
        let chunk = std::mem::take(&mut self.chunk);
        match self.opts.split {
            Some(split) => qids.extend(first_qids(&chunk, split)),
            None => qids.extend(chunk),
        }
        if self.opts.deferred_only {
            let deferred = std::mem::take(&mut self.deferred);
            qids.retain(|e| deferred.contains(&e.qid));
        }
        let any_senders = !self.senders.is_empty();
        let mut senders = std::mem::take(&mut self.senders);
        if self.opts.looked_up_only {
            let wanted = std::mem::take(&mut self.looked_up);
            senders.retain(|e| wanted.contains(&e.qid));
        }
        let mut rows: Vec<(Key, Acc)> = std::mem::take(&mut self.keys).into_iter().zip(std::mem::take(&mut self.accs)).collect();
        self.index = HashMap::default();
        rows.sort_unstable_by(|a, b| (a.1.last_order, a.0).cmp(&(b.1.last_order, b.0)));
        self.pieces = 0;
        let any_qids = std::mem::take(&mut self.any_qids);
        Folded {
            rows,
            names: [self.names[0].names.clone(), self.names[1].names.clone(), self.names[2].names.clone()],
            qids: any_qids.then_some(qids),
            senders: any_senders.then_some(senders),
        }
    }
}

#[cfg(test)]
#[path = "bulkfold_tests.rs"]
mod tests;
