//! The summary fold of `maillens parse` (no -o): a block of lines in, and of the Postfix lines
//! the fast path reads whole (`postfix.rs`) only what the summary needs, no event rows: their
//! *groups* (rows with equal values in every column of `analyzer.class_cache.CLASS_KEY`, one
//! representative row each, numbered in order of their first line), each row's group, and the
//! two columns attribution reads that no group holds (queue id, recipient). The other lines come
//! back as `batch::read` gives them (headers for the Python engine, kinds, stamps), so the Python
//! side parses them as before (`analyzer/fast_summary.py`). Threads over line ranges, no GIL.

use crate::classkey::Masker;
use crate::batch::{head_at, may_hold_newline, newline_free, over_ranges, LastStamp, Stamps, postfix_daemon, HEADER, NO_HEADER, ROW};
use crate::engine::Strings;
use crate::hash::{keyed_step, KeyIndex, Numbering, Seed};
use crate::postfix::Fast;
use crate::rows::{concat, Row, Rows};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use crate::translate::re2_to_rust;
use regex::bytes::Regex;

/// The groups' hasher: `hash.rs`'s (eight bytes a step) from a per-process random seed, in place
/// of SipHash, which cost ~0.3 ns a byte over keys of ~150 bytes, one lookup per folded row.
/// The seed (per process, random) keeps bucket positions unpredictable from outside; unlike
/// SipHash it is not keyed cryptographically (the class cache's keys rest on the same hash).
#[derive(Clone, Copy)]
pub struct KeyHash(u64);

impl Default for KeyHash {
    fn default() -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        KeyHash(*SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u64)))
    }
}

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = (self.0.rotate_left(23) ^ crate::hash::hash_bytes(bytes)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// A nullable string column being built (Arrow offsets, data, LSB-first validity bitmap).
#[derive(Default)]
pub struct Col {
    pub offsets: Vec<i32>,
    pub data: Vec<u8>,
    pub valid: Vec<u8>,
    pub nulls: usize,
}

impl Col {
    /// Room for `n` cells of `bytes` bytes in all (grown from empty, the texts' buffer was
    /// copied at each doubling, into fresh pages).
    fn with_capacity(n: usize, bytes: usize) -> Col {
        Col { offsets: Vec::with_capacity(n + 1), data: Vec::with_capacity(bytes), valid: Vec::with_capacity(n / 8 + 1), nulls: 0 }
    }

    #[inline]
    pub fn push(&mut self, v: Option<&[u8]>) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let n = self.offsets.len() - 1;
        let bit = match v {
            Some(v) => {
                self.data.extend_from_slice(v);
                1 << (n % 8)
            }
            None => {
                self.nulls += 1;
                0
            }
        };
        // cell n's bit in the last byte (a new byte every eight cells)
        match self.valid.last_mut() {
            Some(last) if !n.is_multiple_of(8) => *last |= bit,
            _ => self.valid.push(bit),
        }
        self.offsets.push(self.data.len() as i32);
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        (self.valid[i / 8] & (1 << (i % 8)) != 0).then(|| &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize])
    }

    fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn extend(&mut self, other: &Col) {
        for i in 0..other.len() {
            self.push(other.get(i));
        }
    }
}

/// What a line of another program is: not a Postfix nor an Exim program (`POSTFIX_PROGRAM`,
/// `EXIM_PROGRAM`) and no Exim line under a wrapper's name (`EXIM_WRAPPED`): the regexes of
/// `analyzer/parsers/postfix.py` and `exim.py`, rewritten by `translate.rs`. Such a line is only
/// counted, by its program up to a `/` or `[` (`finish_batch`'s `counts.foreign`).
pub struct Foreign {
    postfix: Regex,
    exim: Regex,
    wrapped: Regex,
}

impl Foreign {
    pub fn new(postfix: &str, exim: &str, wrapped: &str) -> Result<Foreign, String> {
        let rx = |re2: &str| Regex::new(&re2_to_rust(re2)?).map_err(|e| format!("{re2:?}: {e}"));
        Ok(Foreign { postfix: rx(postfix)?, exim: rx(exim)?, wrapped: rx(wrapped)? })
    }

    /// The program's key where the line is another program's, else None. A message that does
    /// not end in a graphic ASCII byte is left to Python (which right-trims a batch's messages
    /// when one ends in whitespace).
    pub fn key<'a>(&self, program: &'a [u8], msg: &[u8]) -> Option<&'a [u8]> {
        self.key_of(program, msg, || self.mta_program(program))
    }

    /// Whether `program` is a Postfix or an Exim program (the half of [`Foreign::key`] that
    /// depends on the program alone: the fold keeps it by program, `Programs`).
    pub fn mta_program(&self, program: &[u8]) -> bool {
        self.postfix.is_match(program) || self.exim.is_match(program)
    }

    /// [`Foreign::key`] with the program's [`Foreign::mta_program`] from `mta`.
    fn key_of<'a>(&self, program: &'a [u8], msg: &[u8], mta: impl FnOnce() -> bool) -> Option<&'a [u8]> {
        if !msg.last().is_some_and(|&c| (0x21..=0x7E).contains(&c)) {
            return None;
        }
        if mta() || self.wrapped.is_match(msg) {
            return None;
        }
        Some(&program[..program.iter().position(|&b| b == b'/' || b == b'[').unwrap_or(program.len())])
    }
}

/// Counts by key in order of first appearance, with the line of the first (a map to the entry,
/// so that many keys stay linear).
#[derive(Default)]
pub struct Tally<'a> {
    pub counts: Vec<(&'a [u8], u64, u32)>,
    at: HashMap<&'a [u8], usize, KeyHash>,
}

impl<'a> Tally<'a> {
    pub fn add(&mut self, key: &'a [u8], n: u64, line: u32) {
        match self.at.get(key) {
            Some(&i) => self.counts[i].1 += n,
            None => {
                self.at.insert(key, self.counts.len());
                self.counts.push((key, n, line));
            }
        }
    }
}

/// The programs of the lines last read, each with its Postfix daemon's place among the readers'
/// (`Fast::daemon_at`; None inside: a daemon no reader names; None: not a Postfix program), in
/// a small table by length and a few bytes: a block's lines have a few programs, and
/// `postfix_daemon`'s scan and the daemons' search were ~5% of the fold. A slot holds the
/// program it was found for, compared whole before it is used.
pub(crate) struct Programs<'a> {
    slots: Vec<(&'a [u8], Option<Option<usize>>, Option<bool>)>,
}

impl<'a> Programs<'a> {
    const SLOTS: usize = 64;

    pub(crate) fn new() -> Self {
        Programs { slots: vec![(&[][..], None, None); Self::SLOTS] }
    }

    /// The slot of `program`, filled for it (its daemon found) where it held another.
    #[inline]
    fn slot(&mut self, fast: &Fast, program: &'a [u8]) -> &mut (&'a [u8], Option<Option<usize>>, Option<bool>) {
        let n = program.len();
        let at = match n {
            0 => 0,
            _ => (n.wrapping_mul(31) ^ usize::from(program[n - 1]) ^ (usize::from(program[n / 2]) << 2)) % Self::SLOTS,
        };
        let slot = &mut self.slots[at];
        if slot.0.len() != n || slot.0 != program || n == 0 {
            *slot = (program, postfix_daemon(program).map(|d| fast.daemon_at(d)), None);
        }
        slot
    }

    #[inline]
    pub(crate) fn daemon(&mut self, fast: &Fast, program: &'a [u8]) -> Option<Option<usize>> {
        self.slot(fast, program).1
    }

    /// [`Foreign::key`], the program's half kept in its slot (two regex searches a line of
    /// another program, ~1.4% of the fold).
    fn foreign_key<'m>(&mut self, fast: &Fast, fo: &Foreign, program: &'a [u8], msg: &'m [u8]) -> Option<&'a [u8]> {
        let slot = self.slot(fast, program);
        fo.key_of(program, msg, || *slot.2.get_or_insert_with(|| fo.mta_program(program)))
    }
}

/// The raw key of a row: its `CLASS_KEY` values, nulls told from empty texts.
fn key(r: &Row, out: &mut Vec<u8>) {
    crate::classkey::encode(&crate::classkey::Fields::of(r), r.relay_host.as_deref(), r.reply_text.as_deref(), r.detail.as_deref(), out);
}

/// A hash of a row's raw key: rows of equal keys hash alike ([`same_key`] tells them apart).
/// The texts are hashed whole ([`keyed_step`] on each: the key is not built for a row whose
/// group is known, ~300 instructions and a dozen copies a row); the names (event, stage, MTA,
/// direction: a few literals and table strings), the code and quit by a few bytes each, in
/// one step.
#[inline]
fn key_hash(seed: &Seed, r: &Row) -> u64 {
    #[inline(always)]
    fn name(v: Option<&str>) -> u64 {
        v.map_or(0, |s| {
            let b = s.as_bytes();
            let (first, last) = match b {
                [] => (0, 0),
                [f, .., l] => (*f, *l),
                [f] => (*f, *f),
            };
            (b.len() as u64 & 0xFF) + 1 | u64::from(first) << 9 | u64::from(last) << 17
        })
    }
    let code = r.reply_code.map_or(0, |c| u64::from(c as u16) + 1);
    let quit = r.quit.map_or(0, |q| 1 + u64::from(q));
    let names = name(r.event) | name(r.smtp_stage) << 25;
    let more = name(r.mta) | name(r.direction) << 25 | code << 50 ^ quit << 62 ^ code >> 14;
    let s = crate::hash::fold_mul(names ^ seed.word(0), more ^ seed.word(1));
    let s = keyed_step(seed, s, r.status.as_deref());
    let s = keyed_step(seed, s, r.dsn.as_deref());
    let s = keyed_step(seed, s, r.enhanced_code.as_deref());
    let s = keyed_step(seed, s, r.relay_host.as_deref());
    let s = keyed_step(seed, s, r.reply_text.as_deref());
    keyed_step(seed, s, r.detail.as_deref())
}

/// Equal values (both null, or the same bytes; where they are the same slice, not read).
#[inline]
fn same_value(a: Option<&[u8]>, b: Option<&[u8]>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.len() == y.len() && (std::ptr::eq(x.as_ptr(), y.as_ptr()) || x == y),
        _ => false,
    }
}

/// Whether two rows have the same raw key ([`key`]'s bytes equal, compared value by value).
#[inline]
fn same_key(a: &Row, b: &Row) -> bool {
    fn st(r: Option<&str>) -> Option<&[u8]> {
        r.map(str::as_bytes)
    }
    a.reply_code == b.reply_code
        && a.quit == b.quit
        && same_value(st(a.event), st(b.event))
        && same_value(a.status.as_deref(), b.status.as_deref())
        && same_value(st(a.smtp_stage), st(b.smtp_stage))
        && same_value(st(a.mta), st(b.mta))
        && same_value(a.dsn.as_deref(), b.dsn.as_deref())
        && same_value(a.enhanced_code.as_deref(), b.enhanced_code.as_deref())
        && same_value(a.relay_host.as_deref(), b.relay_host.as_deref())
        && same_value(a.reply_text.as_deref(), b.reply_text.as_deref())
        && same_value(a.detail.as_deref(), b.detail.as_deref())
        && same_value(st(a.direction), st(b.direction))
}

/// A block (or a part of one) folded.
pub struct Folded<'a> {
    /// as `batch::Batch`: per line NO_HEADER / HEADER / ROW; stamps of the lines with a header
    pub kind: Vec<u8>,
    pub stamps: Stamps,
    /// the HEADER lines (the Python engine reads them)
    pub headers: Rows,
    /// the ROW lines: line index, group, queue id, recipient
    pub rows: Vec<u32>,
    pub gid: Vec<u32>,
    pub queue_id: Col,
    pub recipient: Col,
    /// the groups' representatives (their first row), by group number: rows of one group have
    /// equal raw keys ([`Folded::key`])
    pub reps: Vec<(u32, Row<'a>)>,
    /// the groups' classification keys (`classkey.rs`; 0 without a masker), by group number
    pub ckeys: Vec<u64>,
    /// the FOREIGN lines counted by program (see [`Foreign`])
    pub foreign: Tally<'a>,
}

impl Folded<'_> {
    /// Group `g`'s raw key (its representative's: `classkey::encode`'s bytes).
    pub fn key(&self, g: usize) -> Vec<u8> {
        let mut out = Vec::new();
        key(&self.reps[g].1, &mut out);
        out
    }
}

/// A line of another program, counted (`Folded::foreign`), not handed to Python; it has a header
/// (its stamp is kept, as a HEADER line's).
pub const FOREIGN: u8 = 3;

/// Fold lines `lo..hi` of `lines` (`months`: the month names, January first).
pub fn fold<'a>(fast: &'a Fast, lines: Strings<'a>, lo: usize, hi: usize, months: &[Vec<u8>], masker: Option<&Masker>,
                foreign: Option<&Foreign>) -> Result<Folded<'a>, String> {
    let mut f = Folded {
        kind: Vec::with_capacity(hi - lo),
        stamps: Stamps::default(),
        headers: Rows::new(),
        rows: Vec::with_capacity(hi - lo),
        gid: Vec::with_capacity(hi - lo),
        // (their texts grow as they come: room for them, kept with the column handed over, raised
        // the parse's peak PSS by 10-20 MiB)
        queue_id: Col::with_capacity(hi - lo, 0),
        recipient: Col::with_capacity(hi - lo, 0),
        // a group per ~7.5 lines on a generated day: room for one per 6 (the representatives
        // are large, and growing their vector from empty copied them ~11 times a block)
        reps: Vec::with_capacity((hi - lo) / 6),
        ckeys: Vec::with_capacity((hi - lo) / 6),
        foreign: Tally::default(),
    };
    f.stamps.reserve(hi - lo);
    let mut kbuf = Vec::new();
    // a group per ~8 rows on a generated day: room for that many without rehashing
    let mut groups = Numbering::with_capacity((hi - lo) / 8);
    let seed = Seed::default();
    let free = newline_free(lines, lo, hi);
    let mut programs = Programs::new();
    let mut last = LastStamp::default();
    for i in lo..hi {
        let line = lines.get(i);
        let Some(hd) = head_at(line, months, may_hold_newline(lines, i, free), &mut last) else {
            f.kind.push(NO_HEADER);
            continue;
        };
        f.stamps.push(&hd);
        let (program, pid, msg) = (hd.program, hd.pid, hd.msg);
        let host = Some(Cow::Borrowed(hd.host));
        let mut row = Row { host: host.clone(), mta: Some("postfix"), program: Some(Cow::Borrowed(program)), pid, ..Row::default() };
        let graphic_end = msg.last().is_some_and(|&c| (0x21..=0x7E).contains(&c));
        let read = graphic_end && programs.daemon(fast, program).is_some_and(|d| fast.read_at(d, msg, &mut row));
        if !read {
            if let Some(k) = foreign.and_then(|fo| programs.foreign_key(fast, fo, program, msg)) {
                f.foreign.add(k, 1, i as u32);
                f.kind.push(FOREIGN);
                continue;
            }
            let r = Row { host, program: Some(Cow::Borrowed(program)), pid, detail: Some(Cow::Borrowed(msg)), ..Row::default() };
            f.headers.push(i as u32, &r)?;
            f.kind.push(HEADER);
            continue;
        }
        f.kind.push(ROW);
        let reps = &f.reps;
        let (g, new) = groups.number(key_hash(&seed, &row), |k| same_key(&reps[k as usize].1, &row));
        f.rows.push(i as u32);
        f.gid.push(g);
        f.queue_id.push(row.queue_id.as_deref());
        f.recipient.push(row.recipient.as_deref());
        if new {
            f.ckeys.push(masker.map_or(0, |m| m.key(&row, &mut kbuf)));
            f.reps.push((i as u32, row));
        }
    }
    Ok(f)
}

/// Join folds of consecutive line ranges: groups renumbered in order of their first line.
pub fn join<'a>(parts: Vec<Folded<'a>>) -> Folded<'a> {
    if parts.len() == 1 {
        // one range (a worker process reads with one thread): nothing to renumber
        return parts.into_iter().next().expect("one part");
    }
    let mut it = parts.into_iter();
    let mut out = it.next().expect("one part at least");
    // the first part's groups keep their numbers (its keys numbered in order)
    let mut groups = KeyIndex::with_capacity(out.reps.len());
    let mut buf = Vec::new();
    for (_, r) in &out.reps {
        key(r, &mut buf);
        groups.number(&buf);
    }
    let mut headers = vec![std::mem::take(&mut out.headers)];
    for p in it {
        let map: Vec<u32> = p
            .reps
            .into_iter()
            .zip(p.ckeys)
            .map(|(rep, ck)| {
                key(&rep.1, &mut buf);
                let (g, new) = groups.number(&buf);
                if new {
                    out.reps.push(rep);
                    out.ckeys.push(ck);
                }
                g
            })
            .collect();
        out.kind.extend(p.kind);
        out.stamps.append(p.stamps);
        headers.push(p.headers);
        out.rows.extend(p.rows);
        out.gid.extend(p.gid.iter().map(|&g| map[g as usize]));
        out.queue_id.extend(&p.queue_id);
        out.recipient.extend(&p.recipient);
        for (k, n, line) in p.foreign.counts {
            out.foreign.add(k, n, line);
        }
    }
    out.headers = concat(headers);
    out
}

/// [`fold`] over `threads` ranges of the block at once.
pub fn fold_parallel<'a>(fast: &'a Fast, lines: Strings<'a>, months: &[Vec<u8>], threads: usize, masker: Option<&Masker>,
                         foreign: Option<&Foreign>) -> Result<Folded<'a>, String> {
    let n = lines.len();
    let parts = over_ranges(n, threads, |lo, hi| fold(fast, lines, lo, hi, months, masker, foreign))?;
    Ok(join(parts))
}

/// Number `n` keys by first appearance: the position of each number's first key, and each key's
/// number (the class numbering of [`classes`] and `fold_exim::classes`).
pub fn first_seen(keys: impl Iterator<Item = u64>, n: usize) -> (Vec<usize>, Vec<u32>) {
    let mut at: HashMap<u64, u32, KeyHash> = HashMap::with_capacity_and_hasher(n / 8, KeyHash::default());
    let (mut firsts, mut cid) = (Vec::new(), Vec::with_capacity(n));
    for (g, k) in keys.enumerate() {
        let next = firsts.len() as u32;
        let c = *at.entry(k).or_insert(next);
        if c == next {
            firsts.push(g);
        }
        cid.push(c);
    }
    (firsts, cid)
}

/// Merge the groups by classification key (`ckeys`), as `analyzer.fast_summary._classes` merges
/// them: the classes numbered by their first group, each represented by it. `f.reps` and
/// `f.ckeys` then hold the classes'; returned: each group's class and the groups' reply texts
/// (attribution reads a row's own text). `f.keys` and `f.gid` stay the groups'.
pub fn classes(f: &mut Folded) -> (Vec<u32>, Col) {
    let bytes = f.reps.iter().map(|(_, r)| r.reply_text.as_ref().map_or(0, |t| t.len())).sum();
    let mut texts = Col::with_capacity(f.reps.len(), bytes);
    for (_, row) in &f.reps {
        texts.push(row.reply_text.as_deref());
    }
    let (firsts, cid) = first_seen(f.ckeys.iter().copied(), f.ckeys.len());
    // the classes' representatives kept in place (a row is large: moving each cost more)
    let mut keep = vec![false; f.reps.len()];
    for &g in &firsts {
        keep[g] = true;
    }
    let mut it = keep.iter();
    f.reps.retain(|_| *it.next().expect("a flag per group"));
    f.ckeys = firsts.iter().map(|&g| f.ckeys[g]).collect();
    (cid, texts)
}

/// The representatives as event-row columns (their row: the line of the group's first row).
pub fn reps(f: &Folded) -> Result<Rows, String> {
    let mut rows = Rows::with_capacity(f.reps.len());
    for (i, r) in &f.reps {
        rows.push(*i, r)?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of every hand-read pattern (the fields' regexes as fields.py writes them).
    fn fast() -> Fast {
        let fields = crate::fields::Fields::new(
            r"(?:^|: |\(|\s)(?P<code>[2-5][0-9][0-9])(?:[ -]|$)(?:[2-5][0-9][0-9][ -])?(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3}\b)?",
            r"(?:^|[\s(\[-])(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?:$|[\s,;:)\].])",
            r"(?:in reply to (?P<a>.+?) command)",
            r"queued as (?P<q>[0-9A-Za-z-]{5,})",
            vec![("RCPT".into(), "RCPT TO".into())],
        )
        .unwrap();
        let table = crate::postfix::patterns().iter().map(|(n, e, r)| (n.to_string(), r.clone(), e.to_string(), None)).collect();
        Fast::new(table, HashMap::new(), HashMap::new(), fields)
    }

    fn lines(v: &[String]) -> (Vec<i32>, Vec<u8>) {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        crate::testutil::strings(&refs)
    }

    fn day() -> Vec<String> {
        let mut v = Vec::new();
        for i in 0..9000 {
            let q = format!("{:X}", 0x1000 + i % 37);
            v.push(match i % 6 {
                0 => format!("Dec  3 10:00:{:02} mx postfix/smtpd[{i}]: connect from a{}.example[10.0.0.{}]", i % 60, i % 5, i % 9),
                1 => format!("Dec  3 10:00:{:02} mx postfix/qmgr[1]: {q}: removed", i % 60),
                2 => format!("Dec  3 10:00:{:02} mx postfix/smtpd[{i}]: disconnect from b[10.1.1.1] ehlo=1 quit=1 commands=2", i % 60),
                3 => format!("Dec  3 10:00:{:02} mx other[2]: something {i}", i % 60),
                4 => "not a syslog line".to_string(),
                _ => format!("Dec  3 10:00:{:02} mx postfix/cleanup[3]: {q}: message-id=<{}@x>", i % 60, i % 7),
            });
        }
        v
    }

    #[test]
    fn equal_keys_share_a_group_and_threads_change_nothing() {
        let fast = fast();
        let months: Vec<Vec<u8>> = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            .iter()
            .map(|m| m.as_bytes().to_vec())
            .collect();
        let v = day();
        let (o, d) = lines(&v);
        let s = Strings { offsets: &o, data: &d };
        let one = fold_parallel(&fast, s, &months, 1, None, None).unwrap();
        let four = fold_parallel(&fast, s, &months, 4, None, None).unwrap();
        assert_eq!(one.kind, four.kind);
        assert_eq!(one.rows, four.rows);
        assert_eq!(one.gid, four.gid);
        assert_eq!(one.reps.len(), four.reps.len());
        assert!((0..one.reps.len()).all(|g| one.key(g) == four.key(g)));
        assert_eq!(one.queue_id.data, four.queue_id.data);
        assert_eq!(one.queue_id.valid, four.queue_id.valid);
        assert_eq!(one.headers.rows, four.headers.rows);
        assert!(!one.rows.is_empty() && one.reps.len() < one.rows.len());
        // groups numbered by first row; a row's group has the row's key
        let firsts: Vec<u32> = one.reps.iter().map(|(i, _)| *i).collect();
        assert!(firsts.windows(2).all(|w| w[0] < w[1]));
        for (k, (i, _)) in one.reps.iter().enumerate() {
            let at = one.rows.iter().position(|r| r == i).unwrap();
            assert_eq!(one.gid[at] as usize, k);
        }
        // the groups' keys are distinct
        let distinct: std::collections::HashSet<_> = (0..one.reps.len()).map(|g| one.key(g)).collect();
        assert_eq!(distinct.len(), one.reps.len());
        // every line is counted once, as batch::read counts it
        let b = crate::batch::read(&fast, s, 0, v.len(), &months).unwrap();
        assert_eq!(b.kind, one.kind);
        assert_eq!(b.rows.rows, one.rows);
        assert_eq!(b.headers.rows, one.headers.rows);
        assert_eq!(b.stamps.secs, one.stamps.secs);
    }

    #[test]
    fn classes_merge_groups_by_key_in_order_of_first_group() {
        let row = |t: &'static [u8]| Row { reply_text: Some(Cow::Borrowed(t)), ..Row::default() };
        let fast = fast();
        let mut f = fold(&fast, Strings { offsets: &[0], data: b"" }, 0, 0, &[], None, None).unwrap();
        f.reps = vec![(1, row(b"a")), (2, row(b"b")), (3, row(b"c")), (5, row(b"d"))];
        f.ckeys = vec![7, 3, 7, 9];
        let (cid, texts) = classes(&mut f);
        assert_eq!(cid, vec![0, 1, 0, 2]);
        assert_eq!(f.reps.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![1, 2, 5]);
        assert_eq!(f.ckeys, vec![7, 3, 9]);
        assert_eq!((texts.data.as_slice(), texts.len()), (&b"abcd"[..], 4));
    }

    #[test]
    fn programs_table_gives_what_the_scan_and_search_give() {
        // daemons with a direction (so that `daemon_at` finds some)
        let fields = fast().fields;
        let table = crate::postfix::patterns().iter().map(|(n, e, r)| (n.to_string(), r.clone(), e.to_string(), None)).collect();
        let directions = [("smtpd", "inbound"), ("smtp", "outbound"), ("local", "local")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let fast = Fast::new(table, directions, HashMap::new(), fields);
        let parts: [&str; 16] = ["postfix", "postfix-2", "postfixx", "/", "smtpd", "smtp", "qmgr", "cleanup", "local", "x y", "", "é",
                                 "postfix/smtpd", "postfix/submission/smtpd", "postfix-2/smtp", "postfix/local"];
        let mut rng = crate::testutil::XorShift(0xDAE_0005);
        let mut names = Vec::new();
        for _ in 0..400 {
            let k = 1 + (rng.next() % 4) as usize;
            names.push((0..k).map(|_| parts[(rng.next() % parts.len() as u64) as usize]).collect::<String>());
        }
        let mut programs = Programs::new();
        let mut hits = 0;
        for _ in 0..20_000 {
            let p = names[(rng.next() % names.len() as u64) as usize].as_bytes();
            let want = postfix_daemon(p).map(|d| fast.daemon_at(d));
            assert_eq!(programs.daemon(&fast, p), want, "{}", String::from_utf8_lossy(p));
            hits += usize::from(want.flatten().is_some());
        }
        assert!(hits > 100, "{hits}");
    }

    /// Rows of a few values a field (null, empty, short and long texts, each also at another
    /// place), and each beside a twin of the same values at other places, one of them changed
    /// half the time: two rows are [`same_key`] where their [`key`]s are equal, and then hash alike.
    #[test]
    fn same_key_and_key_hash_agree_with_the_encoded_key() {
        let words: [&[u8]; 6] = [b"sent", b"a", b"", b"2.0.0", b"250 2.0.0 Ok: queued as ABC", b"mx.example.com[192.0.2.1]:25 long enough"];
        let twins: Vec<Vec<u8>> = words.iter().map(|w| w.to_vec()).collect();
        let names: [&'static str; 4] = ["delivery", "reject", "", "inbound"];
        let mut rng = crate::testutil::XorShift(0xF01D_5EED);
        let mut n = |k: u64| (rng.next() % k) as usize;
        let make = |texts: &[Option<usize>; 8], strs: &[Option<usize>; 4], twin: bool, reply_code: Option<i16>, quit: Option<bool>| {
            let t = |i: usize| texts[i].map(|w| Cow::Borrowed(if twin { twins[w].as_slice() } else { words[w] }));
            let st = |i: usize| strs[i].map(|w| names[w]);
            Row {
                event: st(0),
                status: t(0),
                smtp_stage: st(1),
                mta: st(2),
                dsn: t(1),
                enhanced_code: t(2),
                reply_code,
                quit,
                relay_host: t(3),
                reply_text: t(4),
                detail: t(5),
                direction: st(3),
                // outside the key
                queue_id: t(6),
                recipient: t(7),
                ..Row::default()
            }
        };
        let mut rows: Vec<(Row, Row)> = Vec::new();
        for _ in 0..4000 {
            // each field: a value (None or a word's place), set in the row and its twin
            let mut texts = [None; 8];
            for t in &mut texts {
                *t = (n(4) != 0).then(|| n(6));
            }
            let mut strs = [None; 4];
            for t in &mut strs {
                *t = (n(3) != 0).then(|| n(4));
            }
            let code = (n(3) != 0).then(|| [250i16, 550, 0x0102][n(3)]);
            let quit = (n(3) != 0).then(|| n(2) == 0);
            let row = make(&texts, &strs, false, code, quit);
            // the twin: the same values at other places, one changed half the time
            let (mut texts2, mut strs2, mut code2, mut quit2) = (texts, strs, code, quit);
            if n(2) == 0 {
                match n(14) {
                    k @ 0..8 => texts2[k] = if texts2[k].is_some() && n(2) == 0 { None } else { Some(n(6)) },
                    k @ 8..12 => strs2[k - 8] = Some(n(4)),
                    12 => code2 = code2.map_or(Some(250), |c| Some(c + 1)),
                    _ => quit2 = quit2.map_or(Some(true), |q| Some(!q)),
                }
            }
            let twin = make(&texts2, &strs2, true, code2, quit2);
            rows.push((row, twin));
        }
        let seed = Seed::default();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut equal, mut apart) = (0, 0);
        let mut check = |x: &Row, y: &Row| {
            key(x, &mut a);
            key(y, &mut b);
            assert_eq!(same_key(x, y), a == b);
            if a == b {
                equal += 1;
                assert_eq!(key_hash(&seed, x), key_hash(&seed, y));
            } else {
                apart += 1;
            }
        };
        for (i, (x, twin)) in rows.iter().enumerate() {
            check(x, twin);
            check(x, &rows[(i * 7 + 1) % rows.len()].0);
        }
        assert!(equal > 1000 && apart > 1000, "{equal} {apart}");
    }

    #[test]
    fn null_and_empty_are_different_keys() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        key(&Row { detail: None, ..Row::default() }, &mut a);
        key(&Row { detail: Some(Cow::Borrowed(b"")), ..Row::default() }, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn col_keeps_nulls() {
        let mut c = Col::default();
        c.push(Some(b"ab"));
        c.push(None);
        c.push(Some(b""));
        let mut d = Col::default();
        d.extend(&c);
        assert_eq!(d.offsets, vec![0, 2, 2, 2]);
        assert_eq!((d.valid[0], d.nulls), (0b101, 1));
    }
}
