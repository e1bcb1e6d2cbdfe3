//! Rows of the event table built in Rust: one typed column builder per column of
//! `analyzer/schema.py`'s `SCHEMA` (except `source` and `line_no`, which Python adds from the
//! batch, and `ts` for syslog lines, whose year only the Python clock knows), handed to Python as
//! Arrow buffers (`analyzer.native.rows_table` wraps them with `pa.Array.from_buffers`).
//!
//! Use: fill a [`Row`] (every field `None` by default: a null cell) and [`Rows::push`] it with
//! its row index in the batch; [`Rows::columns`] gives the buffers. The Postfix readers
//! (`postfix.rs`) and the Exim ones build their rows with this; the column list and the order
//! are [`COLUMNS`] (a test on the Python side holds them equal to the schema).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// A string cell: borrowed from the line, or built (a stripped address, a joined TLS text).
pub type Text<'a> = Option<Cow<'a, [u8]>>;

/// One event row; `None` is null. Field names are the schema's column names.
#[derive(Default, Clone)]
pub struct Row<'a> {
    pub ts: Option<i64>, // microseconds since the epoch, UTC (left null by the syslog readers)
    pub host: Text<'a>,
    pub mta: Option<&'static str>,
    pub program: Text<'a>,
    pub pid: Option<i32>,
    pub queue_id: Text<'a>,
    pub event: Option<&'static str>,
    pub direction: Option<&'a str>,
    pub client_host: Text<'a>,
    pub client_ip: Text<'a>,
    pub client_port: Option<i32>,
    pub helo: Text<'a>,
    pub relay_host: Text<'a>,
    pub relay_ip: Text<'a>,
    pub relay_port: Option<i32>,
    pub sender: Text<'a>,
    pub recipient: Text<'a>,
    pub orig_recipient: Text<'a>,
    pub status: Text<'a>,
    pub dsn: Text<'a>,
    pub reply_code: Option<i16>,
    pub enhanced_code: Text<'a>,
    pub code_origin: Option<&'static str>,
    pub smtp_stage: Option<&'a str>,
    pub reply_text: Text<'a>,
    pub delay: Option<f64>,
    pub size: Option<i64>,
    pub nrcpt: Option<i32>,
    pub quit: Option<bool>,
    pub message_id: Text<'a>,
    pub related_id: Text<'a>,
    pub sasl_username: Text<'a>,
    pub protocol: Text<'a>,
    pub tls: Text<'a>,
    pub detail: Text<'a>,
    /// the pattern name of the Python table this row stands for (kept for tests and stats)
    pub pattern: Option<&'static str>,
}

/// The Arrow type of a column as built here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    I16,
    I32,
    I64,
    F64,
    Bool,
    /// int64 microseconds, UTC
    Ts,
}

/// The columns [`Rows::columns`] returns, in order (the schema's order, `source` and `line_no`
/// left out, `pattern` added last).
pub const COLUMNS: &[(&str, Kind)] = &[
    ("ts", Kind::Ts),
    ("host", Kind::Str),
    ("mta", Kind::Str),
    ("program", Kind::Str),
    ("pid", Kind::I32),
    ("queue_id", Kind::Str),
    ("event", Kind::Str),
    ("direction", Kind::Str),
    ("client_host", Kind::Str),
    ("client_ip", Kind::Str),
    ("client_port", Kind::I32),
    ("helo", Kind::Str),
    ("relay_host", Kind::Str),
    ("relay_ip", Kind::Str),
    ("relay_port", Kind::I32),
    ("sender", Kind::Str),
    ("recipient", Kind::Str),
    ("orig_recipient", Kind::Str),
    ("status", Kind::Str),
    ("dsn", Kind::Str),
    ("reply_code", Kind::I16),
    ("enhanced_code", Kind::Str),
    ("code_origin", Kind::Str),
    ("smtp_stage", Kind::Str),
    ("reply_text", Kind::Str),
    ("delay", Kind::F64),
    ("size", Kind::I64),
    ("nrcpt", Kind::I32),
    ("quit", Kind::Bool),
    ("message_id", Kind::Str),
    ("related_id", Kind::Str),
    ("sasl_username", Kind::Str),
    ("protocol", Kind::Str),
    ("tls", Kind::Str),
    ("detail", Kind::Str),
    ("pattern", Kind::Str),
];

/// One column's Arrow buffers: `values` (offsets for strings, i32 LE), `data` (string bytes;
/// empty otherwise), `validity` (LSB-first bitmap, 1 = valid) and the null count.
pub struct Buffers {
    pub name: &'static str,
    pub kind: Kind,
    pub values: Vec<u8>,
    pub data: Vec<u8>,
    pub validity: Vec<u8>,
    pub nulls: usize,
}

struct Validity {
    bits: Vec<u8>,
    n: usize,
    nulls: usize,
}

impl Validity {
    #[inline]
    fn push(&mut self, valid: bool) {
        if self.n.is_multiple_of(8) {
            self.bits.push(0);
        }
        if valid {
            self.bits[self.n / 8] |= 1 << (self.n % 8);
        } else {
            self.nulls += 1;
        }
        self.n += 1;
    }

    /// Nulls up to row `n` (cells are written only where a row has a value).
    fn fill(&mut self, n: usize) {
        if n > self.n {
            self.bits.resize(n.div_ceil(8), 0);
            self.nulls += n - self.n;
            self.n = n;
        }
    }
}

/// A string column being built: only the rows with a value are noted as they come (the row,
/// where its text ends); [`StrCol::finish`] lays out Arrow's offsets and validity for all rows
/// in one pass. (Filled per row as values came, the nulls between them cost a third of a row's
/// push: ~1,500 instructions a row before, over 27 columns.)
struct StrCol {
    at: Vec<u32>,
    ends: Vec<i32>,
    data: Vec<u8>,
}

impl StrCol {
    /// Room for `values` values and `bytes` bytes of text.
    fn with_capacity(values: usize, bytes: usize) -> StrCol {
        StrCol { at: Vec::with_capacity(values), ends: Vec::with_capacity(values), data: Vec::with_capacity(bytes) }
    }

    /// The value of row `row` (rows are set in increasing order; those between have none).
    #[inline]
    fn set(&mut self, row: usize, v: &[u8]) {
        self.data.extend_from_slice(v);
        self.at.push(row as u32);
        self.ends.push(self.data.len() as i32);
    }

    /// Arrow's buffers for `n` rows: offsets (i32 LE), data, validity bitmap, null count.
    fn finish(self, n: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>, usize) {
        let (offsets, valid) = lay_out(&self.at, &self.ends, n);
        (offsets, self.data, valid, n - self.at.len())
    }
}

/// What the string columns of the last big batch of a reader held per row: the share of rows
/// with a value and the bytes a row, so that the next batch's columns are made with room for
/// what they will likely hold (grown from empty, each doubled and was copied: the block threads'
/// `memmove` samples of a 1M-line `parse -o` went 249/236 → 182/182 with the room made,
/// bench/RESULTS.md r29-pqout). Read and written relaxed: a guess, never a result (a batch that
/// holds more grows as before).
pub struct Hints<const N: usize> {
    /// rows with a value per 2^16 rows
    values: [AtomicU32; N],
    /// bytes per 16 rows
    bytes: [AtomicU32; N],
}

impl<const N: usize> Hints<N> {
    pub const fn new() -> Self {
        Hints { values: [const { AtomicU32::new(0) }; N], bytes: [const { AtomicU32::new(0) }; N] }
    }

    /// Room for column `i` of a batch of `n` rows whose text is at most `most` bytes: (values,
    /// data bytes).
    fn room(&self, i: usize, n: usize, most: usize) -> (usize, usize) {
        let values = self.values[i].load(Relaxed) as usize;
        let bytes = self.bytes[i].load(Relaxed) as usize;
        // a sixteenth over the last batch's rates (a batch of long lines after one of short ones
        // reserves no more than this one's text)
        ((values * n >> 16) * 17 / 16, ((bytes * n / 16) * 17 / 16).min(most))
    }

    /// Note what column `i` held over `n` rows (only batches of 1024 rows or more).
    fn note(&self, i: usize, n: usize, values: usize, bytes: usize) {
        if n >= 1024 {
            self.values[i].store(((values << 16) / n).min(u32::MAX as usize) as u32, Relaxed);
            self.bytes[i].store(((bytes * 16) / n).min(u32::MAX as usize) as u32, Relaxed);
        }
    }
}

impl<const N: usize> Default for Hints<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The string columns of [`Rows`]: those of [`COLUMNS`] of kind [`Kind::Str`], counted.
pub const STR_COLUMNS: usize = {
    let (mut i, mut n) = (0, 0);
    while i < COLUMNS.len() {
        if matches!(COLUMNS[i].1, Kind::Str) {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The Arrow offsets (i32 LE) and validity bitmap of `n` rows of which only rows `at` (in
/// increasing order, each below `n`) have a value, ending at `ends` in the data: in one pass.
/// A column with a value in every row (host, program ...) is its ends as they are.
pub fn lay_out(at: &[u32], ends: &[i32], n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut offsets = vec![0u8; 4 * (n + 1)];
    let mut valid = vec![0u8; n.div_ceil(8)];
    if at.is_empty() {
        return (offsets, valid); // all null: the zeros are its offsets
    }
    let cells = &mut offsets[4..];
    if at.len() == n {
        // every row set (rows are increasing and below n, so row i is at[i])
        for (c, e) in cells.chunks_exact_mut(4).zip(ends) {
            c.copy_from_slice(&e.to_le_bytes());
        }
        valid.fill(0xFF);
        if n % 8 != 0 {
            valid[n / 8] = (1u8 << (n % 8)) - 1;
        }
        return (offsets, valid);
    }
    // each row's end after the leading 0: a null row's is the last value's end
    let (mut end, mut next) = (0i32, 0usize);
    for (&r, &e) in at.iter().zip(ends) {
        let r = r as usize;
        repeat(&mut cells[4 * next..4 * r], end);
        cells[4 * r..4 * r + 4].copy_from_slice(&e.to_le_bytes());
        valid[r / 8] |= 1 << (r % 8);
        end = e;
        next = r + 1;
    }
    repeat(&mut cells[4 * next..], end);
    (offsets, valid)
}

/// `v` (i32 LE) in every 4 bytes of `cells` (zeros already there for 0).
fn repeat(cells: &mut [u8], v: i32) {
    if v != 0 {
        let b = v.to_le_bytes();
        cells.chunks_exact_mut(4).for_each(|c| c.copy_from_slice(&b));
    }
}

struct NumCol {
    values: Vec<u8>,
    valid: Validity,
    width: usize,
}

impl NumCol {
    fn fill(&mut self, n: usize) {
        if n > self.valid.n {
            self.values.resize(n * self.width, 0);
            self.valid.fill(n);
        }
    }

    /// The value of row `row` (its `W` bytes: the width known where it is called, so that the
    /// copy is a store, not a `memcpy` call of a length read at run time).
    #[inline]
    fn set<const W: usize>(&mut self, row: usize, v: [u8; W]) {
        self.fill(row);
        debug_assert_eq!(W, self.width);
        self.values.extend_from_slice(&v);
        self.valid.push(true);
    }
}

/// The columns being built, plus each row's index in its batch.
pub struct Rows {
    pub rows: Vec<u32>,
    strs: Vec<StrCol>,
    nums: Vec<NumCol>,
    bytes: usize,
    /// where the string columns' sizes are noted when laid out (see [`Rows::hinted`])
    hints: Option<&'static Hints<STR_COLUMNS>>,
}

impl Default for Rows {
    fn default() -> Self {
        Self::new()
    }
}

impl Rows {
    pub fn new() -> Rows {
        Rows::with_capacity(0)
    }

    /// Room for `n` rows without growing (string data grows as it comes).
    pub fn with_capacity(n: usize) -> Rows {
        Rows::made(n, None)
    }

    /// Room for `n` rows, the string columns made with the room `hints` give (what the last big
    /// batch made with the same hints held, per row; a column's text at most `most` bytes, the
    /// lines' own), and their sizes noted there when laid out. (`n`: the lines the rows come
    /// from, at most a row each: fewer rows, a little more room.)
    pub fn hinted(n: usize, most: usize, hints: &'static Hints<STR_COLUMNS>) -> Rows {
        Rows::made(n, Some((hints, most)))
    }

    fn made(n: usize, hints: Option<(&'static Hints<STR_COLUMNS>, usize)>) -> Rows {
        let mut strs = Vec::new();
        let mut nums = Vec::new();
        let valid = || Validity { bits: Vec::with_capacity(n / 8 + 1), n: 0, nulls: 0 };
        for (_, kind) in COLUMNS {
            if *kind == Kind::Str {
                let (values, bytes) = hints.map_or((0, 0), |(h, most)| h.room(strs.len(), n, most));
                strs.push(StrCol::with_capacity(values, bytes));
            } else {
                let width = match kind {
                    Kind::I16 => 2,
                    Kind::I32 => 4,
                    Kind::Bool => 1,
                    _ => 8,
                };
                nums.push(NumCol { values: Vec::with_capacity(width * n), valid: valid(), width });
            }
        }
        Rows { rows: Vec::with_capacity(n), strs, nums, bytes: 0, hints: hints.map(|(h, _)| h) }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Append a row (`row`: its index in the batch). Err when the string data would pass the
    /// 2 GiB an Arrow string column holds.
    pub fn push(&mut self, row: u32, r: &Row) -> Result<(), String> {
        let k = self.rows.len();
        self.rows.push(row);
        let strs = &mut self.strs;
        let mut size = 0;
        // the string columns in COLUMNS order, each set where the row has a value (no array of
        // the 27 cells gathered first)
        macro_rules! text {
            ($($i:expr => $v:expr),* $(,)?) => {$(
                if let Some(v) = $v {
                    size += v.len();
                    strs[$i].set(k, v);
                }
            )*};
        }
        text!(
            0 => r.host.as_deref(),
            1 => r.mta.map(str::as_bytes),
            2 => r.program.as_deref(),
            3 => r.queue_id.as_deref(),
            4 => r.event.map(str::as_bytes),
            5 => r.direction.map(str::as_bytes),
            6 => r.client_host.as_deref(),
            7 => r.client_ip.as_deref(),
            8 => r.helo.as_deref(),
            9 => r.relay_host.as_deref(),
            10 => r.relay_ip.as_deref(),
            11 => r.sender.as_deref(),
            12 => r.recipient.as_deref(),
            13 => r.orig_recipient.as_deref(),
            14 => r.status.as_deref(),
            15 => r.dsn.as_deref(),
            16 => r.enhanced_code.as_deref(),
            17 => r.code_origin.map(str::as_bytes),
            18 => r.smtp_stage.map(str::as_bytes),
            19 => r.reply_text.as_deref(),
            20 => r.message_id.as_deref(),
            21 => r.related_id.as_deref(),
            22 => r.sasl_username.as_deref(),
            23 => r.protocol.as_deref(),
            24 => r.tls.as_deref(),
            25 => r.detail.as_deref(),
            26 => r.pattern.map(str::as_bytes),
        );
        // (an Err leaves the builder unusable: every caller drops the batch)
        self.bytes += size;
        if self.bytes > i32::MAX as usize {
            return Err("a batch's text exceeds the 2 GiB of an Arrow string column".into());
        }
        // numbers, in COLUMNS order: ts, pid, client_port, relay_port, reply_code, delay, size, nrcpt, quit
        let n = &mut self.nums;
        macro_rules! put {
            ($i:expr, $v:expr) => {
                if let Some(v) = $v {
                    n[$i].set(k, v.to_le_bytes());
                }
            };
        }
        put!(0, r.ts);
        put!(1, r.pid);
        put!(2, r.client_port);
        put!(3, r.relay_port);
        put!(4, r.reply_code);
        put!(5, r.delay);
        put!(6, r.size);
        put!(7, r.nrcpt);
        if let Some(v) = r.quit {
            n[8].set(k, [u8::from(v)]);
        }
        Ok(())
    }

    /// Nulls in every number column up to the last row.
    fn fill(&mut self) {
        let n = self.rows.len();
        self.nums.iter_mut().for_each(|c| c.fill(n));
    }

    /// The columns' buffers, in [`COLUMNS`] order (booleans as one byte per row: Python packs them).
    pub fn columns(mut self) -> Vec<Buffers> {
        self.fill();
        let n = self.rows.len();
        if let Some(h) = self.hints {
            self.strs.iter().enumerate().for_each(|(i, c)| h.note(i, n, c.at.len(), c.data.len()));
        }
        let mut strs = self.strs.into_iter();
        let mut nums = self.nums.into_iter();
        COLUMNS
            .iter()
            .map(|&(name, kind)| {
                if kind == Kind::Str {
                    let (values, data, validity, nulls) = strs.next().expect("a string column").finish(n);
                    Buffers { name, kind, values, data, validity, nulls }
                } else {
                    let c = nums.next().expect("a number column");
                    Buffers { name, kind, values: c.values, data: Vec::new(), validity: c.valid.bits, nulls: c.valid.nulls }
                }
            })
            .collect()
    }
}

/// Concatenate the rows of several builders (the parts of a batch read on several threads).
pub fn concat(parts: Vec<Rows>) -> Rows {
    let mut it = parts.into_iter();
    let Some(mut first) = it.next() else { return Rows::new() };
    first.fill();
    for mut p in it {
        p.fill();
        let n0 = first.rows.len();
        first.rows.extend_from_slice(&p.rows);
        first.bytes += p.bytes;
        for (a, b) in first.strs.iter_mut().zip(p.strs) {
            let base = a.data.len() as i32;
            a.data.extend_from_slice(&b.data);
            a.at.extend(b.at.iter().map(|&r| r + n0 as u32));
            a.ends.extend(b.ends.iter().map(|&e| e + base));
        }
        for (a, b) in first.nums.iter_mut().zip(p.nums) {
            a.values.extend_from_slice(&b.values);
            append_bits(&mut a.valid, &b.valid);
        }
        debug_assert_eq!(first.rows.len(), n0 + p.rows.len());
    }
    first
}

fn append_bits(a: &mut Validity, b: &Validity) {
    for i in 0..b.n {
        a.push(b.bits[i / 8] & (1 << (i % 8)) != 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(raw: &[u8]) -> Vec<i32> {
        raw.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    #[test]
    fn strings_numbers_and_nulls() {
        let mut rows = Rows::new();
        let r = Row { host: Some(Cow::Borrowed(b"mx")), pid: Some(7), quit: Some(true), event: Some("connect"), ..Row::default() };
        rows.push(3, &r).unwrap();
        rows.push(5, &Row::default()).unwrap();
        let cols = rows.columns();
        assert_eq!(cols.len(), COLUMNS.len());
        let host = cols.iter().find(|c| c.name == "host").unwrap();
        assert_eq!(offsets(&host.values), vec![0, 2, 2]);
        assert_eq!(host.data, b"mx");
        assert_eq!((host.validity[0], host.nulls), (0b01, 1));
        let pid = cols.iter().find(|c| c.name == "pid").unwrap();
        assert_eq!(pid.values, [7, 0, 0, 0, 0, 0, 0, 0]);
        let quit = cols.iter().find(|c| c.name == "quit").unwrap();
        assert_eq!((quit.values.as_slice(), quit.nulls), (&[1u8, 0][..], 1));
    }

    #[test]
    fn sparse_columns_as_arrow_lays_them_out() {
        // random rows, some cells null: each string column's buffers equal the plain layout
        let mut rng = crate::testutil::XorShift(0xDEAD_BEEF_1234_5678);
        let words: [&[u8]; 4] = [b"", b"a", b"bc", b"defgh"];
        for n in [0usize, 1, 7, 8, 9, 100, 1000] {
            let cells: Vec<(Option<&[u8]>, Option<&[u8]>)> = (0..n)
                .map(|_| {
                    let mut pick = || if rng.next() % 3 == 0 { None } else { Some(words[(rng.next() % 4) as usize]) };
                    (pick(), pick())
                })
                .collect();
            let row = |c: &(Option<&'static [u8]>, Option<&'static [u8]>)| Row { host: c.0.map(Cow::Borrowed), tls: c.1.map(Cow::Borrowed), ..Row::default() };
            let mut whole = Rows::new();
            let mut parts = (Rows::new(), Rows::new());
            for (i, c) in cells.iter().enumerate() {
                whole.push(i as u32, &row(c)).unwrap();
                let part = if i < n / 3 { &mut parts.0 } else { &mut parts.1 };
                part.push(i as u32, &row(c)).unwrap();
            }
            let joined = concat(vec![parts.0, parts.1]).columns();
            let whole = whole.columns();
            for (name, pick) in [("host", 0), ("tls", 1)] {
                let (mut offs, mut data, mut bits, mut nulls) = (vec![0i32], Vec::new(), vec![0u8; n.div_ceil(8)], 0);
                for (i, c) in cells.iter().enumerate() {
                    match if pick == 0 { c.0 } else { c.1 } {
                        Some(v) => {
                            data.extend_from_slice(v);
                            bits[i / 8] |= 1 << (i % 8);
                        }
                        None => nulls += 1,
                    }
                    offs.push(data.len() as i32);
                }
                for cols in [&whole, &joined] {
                    let c = cols.iter().find(|c| c.name == name).unwrap();
                    assert_eq!((offsets(&c.values), &c.data, &c.validity, c.nulls), (offs.clone(), &data, &bits, nulls), "{name} n={n}");
                }
            }
        }
    }

    #[test]
    fn hinted_rows_are_made_with_room_and_lay_out_alike() {
        // a batch noted in the hints; the next batch made with room for what that one held, its
        // columns the same as a batch built without hints
        static HINTS: Hints<STR_COLUMNS> = Hints::new();
        let mut rng = crate::testutil::XorShift(0x0BAD_F00D_1234_9876);
        let texts: [&[u8]; 3] = [b"mx.example", b"a-much-longer-host-name.example.org", b"x"];
        let batch = |rng: &mut crate::testutil::XorShift, n: usize| -> Vec<Row<'static>> {
            (0..n)
                .map(|_| Row {
                    host: Some(Cow::Borrowed(texts[(rng.next() % 3) as usize])),
                    helo: (rng.next() % 4 == 0).then(|| Cow::Borrowed(texts[(rng.next() % 3) as usize])),
                    ..Row::default()
                })
                .collect()
        };
        let n = 3000;
        let first = batch(&mut rng, n);
        let mut rows = Rows::hinted(n, usize::MAX, &HINTS);
        first.iter().enumerate().for_each(|(i, r)| rows.push(i as u32, r).unwrap());
        let (host_bytes, helo_values) = (rows.strs[0].data.len(), rows.strs[8].at.len());
        rows.columns();
        let second = batch(&mut rng, n);
        // (a batch of as many lines with less text gets no more room than its text)
        assert_eq!(Rows::hinted(n, 100, &HINTS).strs[0].data.capacity(), 100);
        let (mut hinted, mut plain) = (Rows::hinted(n, usize::MAX, &HINTS), Rows::new());
        // room for the first batch's sizes (and a sixteenth more), nothing for the columns it left empty
        assert!(hinted.strs[0].data.capacity() >= host_bytes && hinted.strs[0].at.capacity() >= n);
        assert!(hinted.strs[8].at.capacity() >= helo_values && hinted.strs[8].at.capacity() < n);
        assert_eq!(hinted.strs[25].data.capacity(), 0, "detail: never set");
        for (i, r) in second.iter().enumerate() {
            hinted.push(i as u32, r).unwrap();
            plain.push(i as u32, r).unwrap();
        }
        for (a, b) in hinted.columns().iter().zip(plain.columns().iter()) {
            assert_eq!((a.name, &a.values, &a.data, &a.validity, a.nulls), (b.name, &b.values, &b.data, &b.validity, b.nulls));
        }
    }

    #[test]
    fn concat_keeps_rows_and_offsets() {
        let mut a = Rows::new();
        a.push(0, &Row { host: Some(Cow::Borrowed(b"a")), ..Row::default() }).unwrap();
        let mut b = Rows::new();
        b.push(1, &Row::default()).unwrap();
        b.push(2, &Row { host: Some(Cow::Borrowed(b"bc")), size: Some(9), ..Row::default() }).unwrap();
        let all = concat(vec![a, b]);
        assert_eq!(all.rows, vec![0, 1, 2]);
        let cols = all.columns();
        let host = cols.iter().find(|c| c.name == "host").unwrap();
        assert_eq!(offsets(&host.values), vec![0, 1, 1, 3]);
        assert_eq!(host.validity, vec![0b101]);
        let size = cols.iter().find(|c| c.name == "size").unwrap();
        assert_eq!(size.values.len(), 24);
        assert_eq!(size.validity, vec![0b100]);
    }
}
