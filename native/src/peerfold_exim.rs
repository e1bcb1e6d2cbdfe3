//! The peers' Exim fold step (`analyzer/peer_native_exim.py`'s `NativeExFold`): what
//! `analyzer/peer_folds.py`'s `ExFold.add` does to a flush of Exim lines, the per-message state
//! held here. Python stays the specification (`MAILLENS_ENGINE=python` runs `ExFold`);
//! `tests/test_peer_native_exim.py` holds this fold's tables equal to `ExFold`'s.
//!
//! A flush is cut into pieces at each line that follows an end ('Completed') of its own queue id
//! in the piece (`message_ends.end_cuts`); each piece is folded in `ExFold._add`'s phase order:
//! the deferred/failed flags, the arrivals ('<=': sending hosts, each message's first size,
//! arrival and sending host and sender), the deliveries ('=>', '->': destination hosts, local
//! addresses, transports, the relayed pairs), the 'Completed' lines (the time on the queue
//! settled in the message's entry, or held), and then the messages ended: their waiting lines
//! folded, their times counted, their queue ids removed (`ExEnds._end`).
//!
//! The texts come as the flush's string columns; the events, statuses and details are compared
//! with the strings `analyzer.totals._ex_frame` compares. The relayed pairs' strings are lower-cased
//! as Python's `str.lower` does: ASCII here; a column with other text comes with its values
//! lower-cased by Python (per column: each join's parts are separated by '(', '[', ' ' ..., which
//! Python's one context rule, the final sigma, does not read across, so lower-casing the parts is
//! lower-casing the join).
//!
//! Lines that wait (a delivery before its message's size, a relayed delivery before its sending
//! host) are held per queue id (`Held`): when the message's size or host is read they are folded
//! with the next delivery lines, in the order they waited, as `ExFold` tries its waiting lines
//! again; each waiting line is looked at a bounded number of times (linear in the lines).

use crate::hash::{keyed_hash, Seed};
use crate::keymap::KeyMap;
use crate::peerfold_warn::Texts;
use crate::vocab::Vocab;
use memchr::memmem;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// The hasher of the maps and sets keyed by queue-id hashes (unkeyed hashes of log texts): the
/// key placed by the process's random key (`Seed::scramble`), one multiply, not SipHash's rounds.
#[derive(Clone, Copy, Default)]
pub struct Keyed(Seed);

pub struct Scramble(Seed, u64);

impl BuildHasher for Keyed {
    type Hasher = Scramble;
    fn build_hasher(&self) -> Scramble {
        Scramble(self.0, 0)
    }
}

impl Hasher for Scramble {
    fn finish(&self) -> u64 {
        self.1
    }
    fn write(&mut self, bytes: &[u8]) {
        self.1 = keyed_hash(&self.0, bytes);
    }
    fn write_u64(&mut self, v: u64) {
        self.1 = self.0.scramble(v);
    }
}

/// A queue id's flags (`peer_folds._SIZED`, `_DEFERRED`, `_FAILED`, `_SRC`, `_REMOTE`).
pub const SIZED: u8 = 1;
pub const DEFERRED: u8 = 4;
pub const FAILED: u8 = 8;
pub const SRC: u8 = 16;
pub const REMOTE: u8 = 32;
/// `peer_folds._UNSETTLED`: no time on the queue settled in the entry.
const UNSETTLED: i64 = i32::MIN as i64;
/// `message_ends.QUEUE_BUCKETS`' limits (seconds; a time goes under the first limit above it).
pub const BUCKETS: [i64; 9] = [60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400];

/// `ExFold.COUNTS`, in its order.
pub const COUNTS: usize = 8;
const RECEIVED: usize = 0;
const RECEIVED_BYTES: usize = 1;
const DELIVERED: usize = 2;
const DELIVERED_ADDRESSES: usize = 3;
const ERRORS: usize = 4;
const REJECTS: usize = 5;
const TEMPORARY_REJECTS: usize = 6;
const MENTIONS: usize = 7;

// a row's classes (`_ex_frame`'s masks and what the phases read)
const R_HAS: u16 = 1;
const R_ARRIVAL: u16 = 2;
const R_ARROW: u16 = 4;
const R_FURTHER: u16 = 8;
const R_BLACKHOLE: u16 = 16;
const R_END: u16 = 32;
const R_OUT: u16 = 64;
const R_DEFER: u16 = 128;
const R_FAILED: u16 = 256;
const R_REJECTED: u16 = 512;

/// The columns lower-cased (`ExRows::low`), by their place there.
pub const LOW: [&str; 8] = ["client_host", "helo", "client_ip", "sender", "relay_host", "relay_ip", "recipient",
                            "orig_recipient"];
const L_HOST: usize = 0;
const L_HELO: usize = 1;
const L_IP: usize = 2;
const L_SENDER: usize = 3;
const L_RHOST: usize = 4;
const L_RIP: usize = 5;
const L_RCPT: usize = 6;
const L_PARENT: usize = 7;

/// A flush's rows: the texts (event, status, detail, direction, reply text; the columns of
/// `LOW`, and their lower-cased values where a column is not all ASCII: the caller sees to it,
/// `peerfold_exim_py.rs`; a column without them is lower-cased as ASCII), the queue id's presence
/// (one byte) and hash, the size, the time (microseconds).
pub struct ExRows<'a> {
    pub event: Texts<'a>,
    pub status: Texts<'a>,
    pub detail: Texts<'a>,
    pub direction: Texts<'a>,
    pub reply: Texts<'a>,
    pub text: [Texts<'a>; 8],
    pub low: [Option<Texts<'a>>; 8],
    pub has: &'a [u8],
    pub h: &'a [u64],
    pub size: &'a [i64],
    pub ts: &'a [i64],
    /// the queue ids (the seconds in an ended message's id, `exim_ids.arrow_id_seconds`)
    pub qid: Texts<'a>,
    /// the rows folded (one byte each, non-zero: folded), None: all; the others are read as no
    /// line at all (a batch's lines handed over where they lie, not copied out first)
    pub sel: Option<&'a [u8]>,
}

/// The seconds in an Exim id (`exim_ids._base62` of its first six characters, '0' after a
/// shorter one), or None where those are not ASCII.
pub fn id_seconds(id: &[u8]) -> Option<i64> {
    let six = &id[..id.len().min(6)];
    if !six.is_ascii() {
        return None;
    }
    Some(six.iter().copied().chain(std::iter::repeat(b'0')).take(6).fold(0i64, |t, c| {
        let c = i64::from(c);
        t * 62 + (if c >= 97 { c - 61 } else if c >= 65 { c - 55 } else { c - 48 }).clamp(0, 61)
    }))
}

fn is(t: &Texts, i: usize, s: &[u8]) -> bool {
    t.get(i) == Some(s)
}

fn eqs(a: Option<&[u8]>, s: &[u8]) -> bool {
    a == Some(s)
}

impl ExRows<'_> {
    fn len(&self) -> Result<usize, String> {
        let n = self.has.len();
        let lens = [self.h.len(), self.size.len(), self.ts.len(), self.qid.len(), self.event.len(),
                    self.status.len(), self.detail.len(), self.direction.len(), self.reply.len()];
        let texts = self.text.iter().chain(self.low.iter().flatten()).map(|t| t.len());
        if lens.into_iter().chain(texts).chain(self.sel.map(<[u8]>::len)).any(|l| l != n) {
            return Err("the fold's columns differ in length".into());
        }
        Ok(n)
    }

    /// Row ``i``'s value of column ``c`` of `LOW` lower-cased (Python's `str.lower`) onto ``out``;
    /// false (nothing added) for null.
    fn lower(&self, c: usize, i: usize, out: &mut Vec<u8>) -> bool {
        match &self.low[c] {
            Some(low) => low.get(i).map(|s| out.extend_from_slice(s)).is_some(),
            None => self.text[c].get(i).map(|s| out.extend(s.iter().map(u8::to_ascii_lowercase))).is_some(),
        }
    }

    /// `' [ip]'`'s part of a join: ``[ip]`` lower-cased, nothing where there is no IP.
    fn ip_suffix(&self, c: usize, i: usize, out: &mut Vec<u8>) {
        if self.text[c].get(i).is_some() {
            out.push(b'[');
            self.lower(c, i, out);
            out.push(b']');
        }
    }

    /// The sending host of an arrival: H='s name, '(helo)', '[ip]', else 'local'
    /// (``lower``: lower-cased).
    fn host(&self, i: usize, lower: bool, out: &mut Vec<u8>) {
        for (c, (open, close)) in [(L_HOST, (None, None)), (L_HELO, (Some(b'('), Some(b')'))), (L_IP, (Some(b'['), Some(b']')))] {
            if self.text[c].get(i).is_some() {
                out.extend(open);
                if lower {
                    self.lower(c, i, out);
                } else {
                    out.extend_from_slice(self.text[c].get(i).unwrap_or_default());
                }
                out.extend(close);
                return;
            }
        }
        out.extend_from_slice(b"local");
    }

    /// Each row's classes (`_ex_frame`), and the counts of `ExFold._count` added to ``n``.
    /// (An error, nothing counted in ``n``'s owner yet, where an end's id is not read by `id_seconds`.)
    fn classes(&self, n_rows: usize, n: &mut [i64; COUNTS]) -> Result<Vec<u16>, String> {
        let words = [b"rejected".as_slice(), b"refused".as_slice(), b"dropped".as_slice()].map(memmem::Finder::new);
        let mentions = |t: Option<&[u8]>| t.is_some_and(|t| words.iter().any(|w| w.find(t).is_some()));
        let mut out = Vec::with_capacity(n_rows);
        for i in 0..n_rows {
            if self.sel.is_some_and(|s| s[i] == 0) {
                out.push(0);
                continue;
            }
            let has = self.has[i] != 0;
            let (ev, st) = (self.event.get(i), self.status.get(i));
            let detail = self.detail.get(i).unwrap_or_default(); // (filled with "")
            let arrival = eqs(ev, b"received") && !eqs(st, b"fakereject") && has;
            let delivery = eqs(ev, b"delivery");
            let blackhole = delivery && eqs(st, b"discarded");
            let sent = delivery && eqs(st, b"sent");
            let arrow = (sent && detail.is_empty()) || blackhole;
            let further = sent && detail == b"->";
            let failed = delivery && eqs(st, b"bounced");
            let reject = eqs(ev, b"reject");
            let rejected = (reject && eqs(st, b"rejected"))
                || (eqs(ev, b"protocol_error") && eqs(st, b"synchronization")
                    && detail != b"sync failure" && detail != b"synchronization error")
                || eqs(ev, b"too_many_errors") || blackhole;
            let remote = has && matches!(ev, Some(b"reply" | b"connect_failure" | b"lost_connection" | b"timeout"));
            n[RECEIVED] += arrival as i64;
            n[RECEIVED_BYTES] += if arrival { self.size[i] } else { 0 };
            n[DELIVERED] += arrow as i64;
            n[DELIVERED_ADDRESSES] += (arrow || further) as i64;
            n[ERRORS] += failed as i64;
            n[REJECTS] += rejected as i64;
            n[TEMPORARY_REJECTS] += (reject && eqs(st, b"tempfailed")) as i64;
            n[MENTIONS] += (remote && (mentions(self.reply.get(i)) || mentions(Some(detail)))) as i64;
            let end = has && eqs(ev, b"removed") && eqs(st, b"completed");
            if end && self.qid.get(i).is_some_and(|q| id_seconds(q).is_none()) {
                return Err("an Exim id whose first characters are not ASCII".into());
            }
            let bits = [(has, R_HAS), (arrival, R_ARRIVAL), (arrow, R_ARROW), (further, R_FURTHER), (blackhole, R_BLACKHOLE),
                        (end, R_END), (is(&self.direction, i, b"outbound"), R_OUT),
                        (delivery && eqs(st, b"deferred") && has, R_DEFER), (failed && has, R_FAILED),
                        (reject && eqs(st, b"rejected"), R_REJECTED)];
            out.push(bits.iter().filter(|(on, _)| *on).fold(0u16, |acc, (_, b)| acc | b));
        }
        Ok(out)
    }
}

/// Per key code: a slot in first-folded order, and ``K`` sums per slot.
#[derive(Default)]
pub struct Sums<const K: usize> {
    slot_of: Vec<i32>,
    /// each slot's key code
    pub codes: Vec<i64>,
    pub vals: Vec<[i64; K]>,
}

impl<const K: usize> Sums<K> {
    fn add(&mut self, code: usize, v: [i64; K]) {
        if code >= self.slot_of.len() {
            self.slot_of.resize(code + 1, -1);
        }
        if self.slot_of[code] < 0 {
            self.slot_of[code] = self.codes.len() as i32;
            self.codes.push(code as i64);
            self.vals.push([0; K]);
        }
        let s = &mut self.vals[self.slot_of[code] as usize];
        for (a, b) in s.iter_mut().zip(v) {
            *a += b;
        }
    }

    fn nbytes(&self) -> usize {
        4 * self.slot_of.capacity() + 8 * self.codes.capacity() + 8 * K * self.vals.capacity()
    }
}

/// Items held per queue id, in the order held: taken by queue id (in that order) or all at once.
struct Held<T> {
    items: Vec<Option<(u64, T)>>,
    by: HashMap<u64, Vec<u32>, Keyed>,
    live: usize,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held { items: Vec::new(), by: HashMap::default(), live: 0 }
    }
}

impl<T> Held<T> {
    fn push(&mut self, h: u64, t: T) {
        self.by.entry(h).or_default().push(self.items.len() as u32);
        self.items.push(Some((h, t)));
        self.live += 1;
    }

    fn holds(&self, h: u64) -> bool {
        self.by.contains_key(&h)
    }

    /// The items of the queue ids ``hs``, in the order they were held.
    fn take(&mut self, hs: impl IntoIterator<Item = u64>) -> Vec<(u64, T)> {
        if self.by.is_empty() {
            return Vec::new();
        }
        let mut at: Vec<u32> = hs.into_iter().filter_map(|h| self.by.remove(&h)).flatten().collect();
        at.sort_unstable();
        let out: Vec<(u64, T)> = at.iter().filter_map(|&i| self.items[i as usize].take()).collect();
        self.live -= out.len();
        if self.items.len() > 1024 && 2 * self.live < self.items.len() {
            let all = self.all();
            for (h, t) in all {
                self.push(h, t);
            }
        }
        out
    }

    /// Every item, in the order held (none held after).
    fn all(&mut self) -> Vec<(u64, T)> {
        self.by = Default::default(); // (not `clear`: that costs the peak capacity, each compaction)
        self.live = 0;
        std::mem::take(&mut self.items).into_iter().flatten().collect()
    }

    fn nbytes(&self) -> usize {
        std::mem::size_of::<Option<(u64, T)>>() * self.items.capacity() + 32 * self.by.capacity() + 4 * self.live
    }
}

/// A delivery line ('=>' or '->') folded when its message's size is read.
#[derive(Clone, Copy)]
struct Line {
    dest: u32,
    local: i32,
    arrow: bool,
    known: bool,
    kind: u8,
    h: u64,
}

/// A relayed delivery folded when its message's sending host is read: the receiving host and
/// recipient's code, its line (the day's row number).
#[derive(Clone, Copy)]
struct Pair {
    to: u32,
    first: i64,
}

#[derive(Default)]
pub struct ExFold {
    qids: KeyMap,
    flags: Vec<u8>,
    size: Vec<i64>,
    arrived: Vec<i64>,
    /// the sending host and sender's code in `words[W_FROM]`, -1 until a relayed pair reads it
    src: Vec<i32>,
    /// the sending host and sender as read at the arrival, held until a relayed pair codes it
    /// (`src_code`): most messages' never is (a day's remote arrivals are mostly not relayed on),
    /// and coded at their arrival they stayed in the vocabulary to the day's end (measured at 1M
    /// Exim lines: 91k words, 22k of them in a pair)
    src_text: Vec<Option<Box<[u8]>>>,
    queued: Vec<i64>,
    /// the vocabularies: sending hosts, destination hosts, local addresses, relayed from and to
    pub words: [Vocab; 5],
    /// sending hosts (messages, bytes), destination hosts and local addresses (messages,
    /// addresses, bytes), transports (messages, bytes: codes 0 remote, 1 local, 2 blackhole)
    pub sources: Sums<2>,
    pub dest: Sums<3>,
    pub local: Sums<3>,
    pub transports: Sums<2>,
    pairs: KeyMap,
    /// per relayed pair (slot order): count, first line
    pub pair_count: Vec<i64>,
    pub pair_first: Vec<i64>,
    waiting: Held<Line>,
    relay_waiting: Held<Pair>,
    completed: Held<(i64, i64)>,
    sized_since: Vec<u64>,
    /// per vocabulary, the code of 'local' (the sending host of local arrivals, the destination
    /// of local deliveries: most lines' key, looked up once)
    local_code: [Option<u32>; 5],
    src_since: Vec<u64>,
    rows: i64,
    pub n: [i64; COUNTS],
    /// of the messages ended: delayed, failed
    pub ended: [i64; 2],
    /// the times on the queue per bucket (`QueueCounts`): all, remote
    pub queue: [[i64; 10]; 2],
}

pub const W_SOURCES: usize = 0;
pub const W_DEST: usize = 1;
pub const W_LOCAL: usize = 2;
pub const W_FROM: usize = 3;
pub const W_TO: usize = 4;

fn code(v: &mut Vocab, s: &[u8]) -> Result<u32, String> {
    v.code(s).map(|c| c as u32).ok_or_else(|| "a vocabulary of 2^31 - 1 strings or 4 GiB".to_string())
}

impl ExFold {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&mut self, h: u64) -> Result<usize, String> {
        let s = self.qids.slot(h).ok_or_else(|| "too many queue ids for a key map".to_string())?;
        if s >= self.flags.len() {
            self.flags.push(0);
            self.size.push(0);
            self.arrived.push(0);
            self.src.push(-1);
            self.src_text.push(None);
            self.queued.push(UNSETTLED);
        }
        Ok(s)
    }

    /// The code of ``s`` in vocabulary ``w`` ('local' looked up once).
    fn code_of(&mut self, w: usize, s: &[u8]) -> Result<u32, String> {
        if s != b"local" {
            return code(&mut self.words[w], s);
        }
        if let Some(c) = self.local_code[w] {
            return Ok(c);
        }
        let c = code(&mut self.words[w], s)?;
        self.local_code[w] = Some(c);
        Ok(c)
    }

    fn sized(&self, h: u64) -> Option<usize> {
        self.qids.get(h).filter(|&s| self.flags[s] & SIZED != 0)
    }

    fn count_queued(&mut self, q: i64, remote: bool) {
        let b = BUCKETS.iter().filter(|&&l| l <= q).count();
        self.queue[0][b] += 1;
        self.queue[1][b] += remote as i64;
    }

    /// Fold a flush, cut into pieces at the lines that follow an end of their own id; returns
    /// the rows that are our rejects ('rejected' reject lines: `report.peers._ex_reject_rows`).
    pub fn add(&mut self, r: &ExRows) -> Result<Vec<bool>, String> {
        let n = r.len()?;
        let mut counts = [0; COUNTS];
        let cls = r.classes(n, &mut counts)?;
        for (a, b) in self.n.iter_mut().zip(counts) {
            *a += b;
        }
        // each id's last end row: an end before `lo` is of an earlier piece (no clearing per cut,
        // which cost the set's whole capacity each time: quadratic on a flush of many cuts)
        let mut ended: HashMap<u64, usize, Keyed> = HashMap::default();
        let mut lo = 0;
        for i in 0..n {
            if cls[i] & R_HAS != 0 && ended.get(&r.h[i]).is_some_and(|&e| e >= lo) {
                self.piece(r, &cls, lo, i)?;
                lo = i;
            }
            if cls[i] & R_END != 0 {
                ended.insert(r.h[i], i);
            }
        }
        self.piece(r, &cls, lo, n)?;
        Ok(cls.iter().map(|&c| c & R_REJECTED != 0).collect())
    }

    /// `ExFold._add` of rows ``lo .. hi``: none follows its message's end in them.
    fn piece(&mut self, r: &ExRows, cls: &[u16], lo: usize, hi: usize) -> Result<(), String> {
        for (i, &c) in cls.iter().enumerate().take(hi).skip(lo) {
            for (bit, flag) in [(R_DEFER, DEFERRED), (R_FAILED, FAILED)] {
                if c & bit != 0 {
                    let s = self.slot(r.h[i])?;
                    self.flags[s] |= flag;
                }
            }
        }
        self.arrivals(r, cls, lo, hi)?;
        if (lo..hi).any(|i| cls[i] & (R_ARROW | R_FURTHER) != 0) {
            self.deliveries(r, cls, lo, hi)?;
        }
        let mut ends = Vec::new();
        for i in (lo..hi).filter(|&i| cls[i] & R_END != 0) {
            // the time on the queue settled in the message's entry (its arrival read, none settled
            // yet; an id ends once in a piece), else held
            let (h, at) = (r.h[i], r.ts[i].div_euclid(1_000_000));
            let settle = self.sized(h).filter(|&s| self.queued[s] == UNSETTLED)
                .map(|s| (s, at - self.arrived[s])).filter(|&(_, q)| q > UNSETTLED && q <= i32::MAX as i64);
            match settle {
                Some((s, q)) => self.queued[s] = q,
                None => self.completed.push(h, (at, r.qid.get(i).and_then(id_seconds).unwrap_or(0))),
            }
            ends.push(h);
        }
        self.rows += (hi - lo) as i64;
        self.end(&ends)
    }

    /// `ExFold._arrivals`: the sending hosts; each message's first size, arrival, sending host and sender.
    fn arrivals(&mut self, r: &ExRows, cls: &[u16], lo: usize, hi: usize) -> Result<(), String> {
        let mut buf = Vec::new();
        for i in (lo..hi).filter(|&i| cls[i] & R_ARRIVAL != 0) {
            buf.clear();
            r.host(i, false, &mut buf);
            let c = self.code_of(W_SOURCES, &buf)?;
            self.sources.add(c as usize, [1, r.size[i]]);
            let h = r.h[i];
            let s = self.slot(h)?;
            if self.flags[s] & SIZED == 0 {
                self.size[s] = r.size[i];
                self.arrived[s] = r.ts[i].div_euclid(1_000_000);
                self.flags[s] |= SIZED;
                if self.waiting.holds(h) {
                    self.sized_since.push(h);
                }
            }
            if buf != b"local" && self.flags[s] & SRC == 0 {
                buf.clear();
                r.host(i, true, &mut buf);
                r.ip_suffix(L_IP, i, &mut buf);
                buf.push(b' ');
                let at = buf.len();
                r.lower(L_SENDER, i, &mut buf);
                if buf.len() == at {
                    buf.extend_from_slice(b"<>");
                }
                self.src_text[s] = Some(buf.as_slice().into());
                self.flags[s] |= SRC;
                if self.relay_waiting.holds(h) {
                    self.src_since.push(h);
                }
            }
        }
        Ok(())
    }

    /// `ExFold._deliveries`: the lines waiting whose size came, then the piece's delivery lines;
    /// the remote flags; the relayed pairs (those waiting whose sending host came, then the piece's).
    fn deliveries(&mut self, r: &ExRows, cls: &[u16], lo: usize, hi: usize) -> Result<(), String> {
        let since = std::mem::take(&mut self.sized_since);
        for (_, l) in self.waiting.take(since) {
            self.deliver(l, false);
        }
        let (mut buf, mut other) = (Vec::new(), Vec::new());
        let mut pairs = Vec::new();
        for i in (lo..hi).filter(|&i| cls[i] & (R_ARROW | R_FURTHER) != 0) {
            let (c, arrow, known) = (cls[i], cls[i] & R_ARROW != 0, cls[i] & R_HAS != 0);
            let rhost = r.text[L_RHOST].get(i);
            let rcpt = r.text[L_RCPT].get(i).unwrap_or_default();
            let dest = self.code_of(W_DEST, rhost.unwrap_or(b"local"))?;
            let mut local = -1;
            if rhost.is_none() {
                buf.clear();
                let parent = r.text[L_PARENT].get(i);
                if c & R_BLACKHOLE != 0 {
                    buf.extend_from_slice(b"blackhole");
                } else if let Some(p) = parent.filter(|_| rcpt.starts_with(b"/") || rcpt.starts_with(b"|")) {
                    for part in [rcpt, b" <".as_slice(), p, b">".as_slice()] {
                        buf.extend_from_slice(part);
                    }
                } else {
                    buf.extend_from_slice(rcpt);
                }
                local = code(&mut self.words[W_LOCAL], &buf)? as i32;
            }
            let kind = if c & R_BLACKHOLE != 0 { 2 } else if c & R_OUT != 0 { 0 } else { 1 };
            let h = if known { r.h[i] } else { 0 };
            self.deliver(Line { dest, local, arrow, known: known && arrow, kind, h }, false);
            if arrow && known && rhost.is_some() {
                let s = self.slot(h)?;
                self.flags[s] |= REMOTE;
                // a relayed pair: a remote delivery to the address itself (no parent, or the same one)
                let same = r.text[L_PARENT].get(i).is_none() || {
                    buf.clear();
                    other.clear();
                    r.lower(L_PARENT, i, &mut buf);
                    r.lower(L_RCPT, i, &mut other);
                    buf == other
                };
                if same {
                    buf.clear();
                    r.lower(L_RHOST, i, &mut buf);
                    r.ip_suffix(L_RIP, i, &mut buf);
                    buf.push(b' ');
                    r.lower(L_RCPT, i, &mut buf);
                    let to = code(&mut self.words[W_TO], &buf)?;
                    pairs.push((h, Pair { to, first: self.rows + (i - lo) as i64 }));
                }
            }
        }
        let since = std::mem::take(&mut self.src_since);
        for (h, p) in self.relay_waiting.take(since) {
            self.relay(h, p, false)?;
        }
        for (h, p) in pairs {
            self.relay(h, p, false)?;
        }
        Ok(())
    }

    /// `ExFold._deliver` of one line: folded when its size is read (or ``last``), else it waits.
    fn deliver(&mut self, l: Line, last: bool) {
        let mut size = 0;
        if l.known {
            match self.sized(l.h) {
                Some(s) => size = self.size[s],
                None if !last => return self.waiting.push(l.h, l),
                None => {}
            }
        }
        let size = if l.arrow { size } else { 0 };
        self.dest.add(l.dest as usize, [l.arrow as i64, 1, size]);
        if l.local >= 0 {
            self.local.add(l.local as usize, [l.arrow as i64, 1, size]);
        }
        if l.arrow {
            self.transports.add(l.kind as usize, [1, size]);
        }
    }

    /// `ExFold._relay` of one pair: counted when its message's sending host is read; else it
    /// waits (dropped when ``last``).
    fn relay(&mut self, h: u64, p: Pair, last: bool) -> Result<(), String> {
        let at = self.qids.get(h).filter(|&s| self.flags[s] & SRC != 0);
        match at {
            Some(at) => {
                let src = self.src_code(at)?;
                let key = (src as u32 as u64) << 32 | p.to as u64;
                let s = self.pairs.slot(key).ok_or_else(|| "too many relayed pairs for a key map".to_string())?;
                if s >= self.pair_count.len() {
                    self.pair_count.push(0);
                    self.pair_first.push(i64::MAX);
                }
                self.pair_count[s] += 1;
                self.pair_first[s] = self.pair_first[s].min(p.first);
            }
            None if !last => self.relay_waiting.push(h, p),
            None => {}
        }
        Ok(())
    }

    /// The code of slot ``s``'s sending host and sender (its flag `SRC` set), coded on first use.
    fn src_code(&mut self, s: usize) -> Result<i32, String> {
        if self.src[s] < 0 {
            let text = self.src_text[s].take().ok_or_else(|| "a sending host read but not held".to_string())?;
            self.src[s] = code(&mut self.words[W_FROM], &text)? as i32;
        }
        Ok(self.src[s])
    }

    /// `ExEnds._end`: the messages ``hs`` ended whose arrival was read: their waiting lines
    /// folded, their times on the queue, delayed and failed counted, their queue ids removed.
    fn end(&mut self, hs: &[u64]) -> Result<(), String> {
        let mut gone: Vec<u64> = hs.iter().copied().filter(|&h| self.sized(h).is_some()).collect();
        gone.sort_unstable();
        gone.dedup();
        if gone.is_empty() {
            return Ok(());
        }
        for (_, l) in self.waiting.take(gone.iter().copied()) {
            self.deliver(l, true);
        }
        for (h, p) in self.relay_waiting.take(gone.iter().copied()) {
            self.relay(h, p, true)?;
        }
        for (h, (at, id_at)) in self.completed.take(gone.iter().copied()) {
            self.held_time(h, at, id_at);
        }
        for &h in &gone {
            let s = self.qids.remove_key(h).expect("an ended message is held");
            let f = self.flags[s];
            if self.queued[s] != UNSETTLED {
                self.count_queued(self.queued[s], f & REMOTE != 0);
            }
            self.ended[0] += (f & DEFERRED != 0) as i64;
            self.ended[1] += (f & FAILED != 0) as i64;
            (self.flags[s], self.size[s], self.arrived[s], self.src[s], self.queued[s]) = (0, 0, 0, -1, UNSETTLED);
            self.src_text[s] = None;
        }
        Ok(())
    }

    /// A 'Completed' line held: its time minus the message's arrival (read), else the id's time.
    fn held_time(&mut self, h: u64, at: i64, id_at: i64) {
        let s = self.qids.get(h);
        let f = s.map_or(0, |s| self.flags[s]);
        let start = match s {
            Some(s) if f & SIZED != 0 => self.arrived[s],
            _ => id_at,
        };
        self.count_queued(at - start, f & REMOTE != 0);
    }

    /// The lines still waiting folded (size 0, or dropped, where never read), then the times on
    /// the queue of the 'Completed' lines held and of the entries settled: once, at the end.
    pub fn finish(&mut self) -> Result<(), String> {
        for (_, l) in self.waiting.all() {
            self.deliver(l, true);
        }
        for (h, p) in self.relay_waiting.all() {
            self.relay(h, p, true)?;
        }
        for (h, (at, id_at)) in self.completed.all() {
            self.held_time(h, at, id_at);
        }
        for s in 0..self.flags.len() {
            if self.queued[s] != UNSETTLED {
                self.count_queued(self.queued[s], self.flags[s] & REMOTE != 0);
            }
        }
        Ok(())
    }

    /// delayed and failed: the messages ended, and those held whose arrival was read.
    pub fn delayed_failed(&self) -> [i64; 2] {
        let held = |bit: u8| self.flags.iter().filter(|&&f| f & SIZED != 0 && f & bit != 0).count() as i64;
        [self.ended[0] + held(DEFERRED), self.ended[1] + held(FAILED)]
    }

    /// Each relayed pair's from and to codes (slot order).
    pub fn pair_codes(&self) -> (Vec<i64>, Vec<i64>) {
        self.pairs.keys().iter().map(|&k| ((k >> 32) as i64, (k & 0xFFFF_FFFF) as i64)).unzip()
    }

    pub fn held(&self) -> usize {
        self.qids.live()
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        self.qids.nbytes() + self.flags.capacity() + 8 * (self.size.capacity() + self.arrived.capacity() + self.queued.capacity())
            + 4 * self.src.capacity() + 16 * self.src_text.capacity()
            + self.src_text.iter().flatten().map(|t| t.len()).sum::<usize>() + self.words.iter().map(Vocab::nbytes).sum::<usize>() + self.sources.nbytes()
            + self.dest.nbytes() + self.local.nbytes() + self.transports.nbytes() + self.pairs.nbytes()
            + 8 * (self.pair_count.capacity() + self.pair_first.capacity()) + self.waiting.nbytes()
            + self.relay_waiting.nbytes() + self.completed.nbytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string column's buffers: i32 offsets, data, validity bits.
    struct Col(Vec<u8>, Vec<u8>, Vec<u8>);

    impl Col {
        fn new(values: &[Option<&str>]) -> Col {
            let (mut off, mut data, mut bits) = (0i32.to_le_bytes().to_vec(), Vec::new(), vec![0u8; values.len().div_ceil(8)]);
            for (i, v) in values.iter().enumerate() {
                if let Some(v) = v {
                    data.extend_from_slice(v.as_bytes());
                    bits[i / 8] |= 1 << (i % 8);
                }
                off.extend_from_slice(&(data.len() as i32).to_le_bytes());
            }
            Col(off, data, bits)
        }

        fn texts(&self) -> Texts<'_> {
            Texts::new(&self.0, &self.1, false, Some((&self.2, 0))).unwrap()
        }
    }

    /// Rows of (queue id, event, status, client host, relay host, recipient, size, seconds).
    type Row<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>, i64, i64);

    fn fold<'a>(f: &mut ExFold, rows: &[Row<'a>]) -> Vec<bool> {
        let col = |g: &dyn Fn(&Row<'a>) -> Option<&'a str>| Col::new(&rows.iter().map(g).collect::<Vec<_>>());
        let (ev, st) = (col(&|r| Some(r.1)), col(&|r| r.2));
        let none = col(&|_| None);
        let (host, rhost, rcpt, qid) = (col(&|r| r.3), col(&|r| r.4), col(&|r| r.5), col(&|r| Some(r.0)));
        let h: Vec<u64> = rows.iter().map(|r| crate::hash::hash_bytes(r.0.as_bytes())).collect();
        let has = vec![1u8; rows.len()];
        let size: Vec<i64> = rows.iter().map(|r| r.6).collect();
        let ts: Vec<i64> = rows.iter().map(|r| r.7 * 1_000_000).collect();
        let text = [host.texts(), none.texts(), none.texts(), none.texts(), rhost.texts(), none.texts(), rcpt.texts(),
                    none.texts()];
        let r = ExRows { event: ev.texts(), status: st.texts(), detail: none.texts(), direction: none.texts(),
                         reply: none.texts(), text, low: Default::default(), has: &has, h: &h, size: &size, ts: &ts,
                         qid: qid.texts(), sel: None };
        f.add(&r).unwrap()
    }

    #[test]
    fn id_seconds_read_six_characters() {
        assert_eq!(id_seconds(b"000010-xyz"), Some(62));
        assert_eq!(id_seconds(b"0z"), Some(61 * 62i64.pow(4)), "padded with '0'");
        assert_eq!(id_seconds(b"\xc3\xa9abcd"), None);
    }

    #[test]
    fn a_message_ends_its_state_dropped_and_a_line_after_it_is_a_new_one() {
        let mut f = ExFold::new();
        // a delivery before its message's arrival waits for its size
        fold(&mut f, &[("A", "delivery", Some("sent"), None, Some("mx"), Some("u@x"), 0, 100)]);
        assert_eq!(f.dest.codes.len(), 0);
        let rejected = fold(&mut f, &[
            ("A", "received", None, Some("Relay.Example"), None, None, 500, 40),
            ("A", "reject", Some("rejected"), None, None, None, 0, 41),
            ("A", "removed", Some("completed"), None, None, None, 0, 130),
            ("A", "delivery", Some("deferred"), None, None, None, 0, 131), // a new message's (not ended: held)
        ]);
        assert_eq!(rejected, vec![false, true, false, false]);
        assert_eq!(f.dest.vals, vec![[1, 1, 500]], "folded with its size at the end");
        assert_eq!(f.pair_count, vec![1]);
        assert_eq!(f.queue[0].iter().sum::<i64>(), 1, "its time on the queue: 90 s");
        assert_eq!(f.queue[0][1], 1);
        assert_eq!(f.held(), 1, "the ended message removed, the new one held");
        assert_eq!(f.delayed_failed(), [0, 0], "the new message's deferral: no arrival read");
        f.finish().unwrap();
        assert_eq!(f.n[RECEIVED], 1);
        assert_eq!(f.n[REJECTS], 1);
    }

    #[test]
    fn a_sending_host_is_coded_only_when_a_relayed_pair_reads_it() {
        let mut f = ExFold::new();
        fold(&mut f, &[
            ("B", "received", None, Some("Other.Host"), None, None, 10, 1), // delivered locally: no pair
            ("B", "delivery", Some("sent"), None, None, Some("me"), 0, 2),
            ("B", "removed", Some("completed"), None, None, None, 0, 3),
            ("C", "delivery", Some("sent"), None, Some("mx"), Some("u@x"), 0, 4), // before its arrival: waits
            ("E", "received", None, Some("Third.Host"), None, None, 30, 4), // not ended: held as text
        ]);
        assert_eq!(f.words[W_FROM].len(), 0, "no pair yet: nothing coded");
        assert_eq!(f.pair_count.len(), 0);
        fold(&mut f, &[
            ("C", "received", None, Some("Relay.Example"), None, None, 20, 5),
            ("C", "removed", Some("completed"), None, None, None, 0, 6),
            ("D", "received", None, Some("Relay.Example"), None, None, 40, 7),
            ("D", "delivery", Some("sent"), None, Some("mx"), Some("u@x"), 0, 8),
            ("D", "delivery", Some("sent"), None, Some("mx"), Some("v@x"), 0, 9),
        ]);
        assert_eq!(f.words[W_FROM].len(), 1, "one sending host and sender in pairs, coded once");
        assert_eq!(f.pair_count, vec![2, 1], "C's waiting pair and D's first: the same pair");
        let (from, _) = f.pair_codes();
        assert_eq!(from, vec![0, 0]);
        let (_, data, _) = f.words[W_FROM].take(&[0]).unwrap();
        assert_eq!(data, b"relay.example <>".to_vec());
        assert_eq!(f.held(), 2, "D and E held; B and C removed");
        f.finish().unwrap();
        assert_eq!(f.words[W_FROM].len(), 1, "E's never coded");
    }

    #[test]
    fn rows_not_selected_are_no_lines() {
        let ev = Col::new(&[Some("received"), Some("removed"), Some("delivery")]);
        let st = Col::new(&[None, Some("completed"), Some("sent")]);
        let none = Col::new(&[None, None, None]);
        let host = Col::new(&[Some("h"), None, None]);
        let rhost = Col::new(&[None, None, Some("mx")]);
        let rcpt = Col::new(&[None, None, Some("u@x")]);
        let qid = Col::new(&[Some("A"), Some("A"), Some("A")]);
        let h = vec![7u64; 3];
        let (has, size, ts) = (vec![1u8; 3], vec![500i64, 0, 0], vec![40_000_000i64, 50_000_000, 60_000_000]);
        let sel = [1u8, 0, 1];
        let r = ExRows { event: ev.texts(), status: st.texts(), detail: none.texts(), direction: none.texts(),
                         reply: none.texts(), text: [host.texts(), none.texts(), none.texts(), none.texts(), rhost.texts(),
                                                     none.texts(), rcpt.texts(), none.texts()],
                         low: Default::default(), has: &has, h: &h, size: &size, ts: &ts, qid: qid.texts(), sel: Some(&sel) };
        let mut f = ExFold::new();
        f.add(&r).unwrap();
        assert_eq!(f.held(), 1, "the end not selected: the message stays");
        assert_eq!(f.dest.vals, vec![[1, 1, 500]], "the delivery after it is the same message's");
        assert_eq!(f.queue[0].iter().sum::<i64>(), 0);
        let short = [1u8, 0];
        assert!(f.add(&ExRows { sel: Some(&short), ..r }).is_err(), "a selection of another length");
    }

    #[test]
    fn held_items_come_back_in_the_order_held() {
        let mut h: Held<u32> = Held::default();
        for i in 0..3000u32 {
            h.push(u64::from(i % 3), i);
        }
        let got: Vec<u32> = h.take([2, 0]).into_iter().map(|(_, t)| t).collect();
        assert_eq!(got.len(), 2000);
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        assert!(h.holds(1) && !h.holds(0));
        assert_eq!(h.items.len(), 1000, "compacted");
        assert_eq!(h.all().into_iter().map(|(_, t)| t).collect::<Vec<_>>(), (0..1000).map(|i| 3 * i + 1).collect::<Vec<_>>());
    }
}
