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

struct StrCol {
    offsets: Vec<u8>,
    data: Vec<u8>,
    valid: Validity,
}

impl StrCol {
    fn fill(&mut self, n: usize) {
        if n > self.valid.n {
            let end = (self.data.len() as i32).to_le_bytes();
            for _ in self.valid.n..n {
                self.offsets.extend_from_slice(&end);
            }
            self.valid.fill(n);
        }
    }

    /// The value of row `row` (rows before it without a value are null).
    fn set(&mut self, row: usize, v: &[u8]) {
        self.fill(row);
        self.data.extend_from_slice(v);
        self.valid.push(true);
        self.offsets.extend_from_slice(&(self.data.len() as i32).to_le_bytes());
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

    fn set(&mut self, row: usize, v: &[u8]) {
        self.fill(row);
        debug_assert_eq!(v.len(), self.width);
        self.values.extend_from_slice(v);
        self.valid.push(true);
    }
}

/// The columns being built, plus each row's index in its batch.
pub struct Rows {
    pub rows: Vec<u32>,
    strs: Vec<StrCol>,
    nums: Vec<NumCol>,
    bytes: usize,
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
        let mut strs = Vec::new();
        let mut nums = Vec::new();
        let valid = || Validity { bits: Vec::with_capacity(n / 8 + 1), n: 0, nulls: 0 };
        for (_, kind) in COLUMNS {
            if *kind == Kind::Str {
                let mut offsets = Vec::with_capacity(4 * (n + 1));
                offsets.extend_from_slice(&0i32.to_le_bytes());
                strs.push(StrCol { offsets, data: Vec::new(), valid: valid() });
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
        Rows { rows: Vec::with_capacity(n), strs, nums, bytes: 0 }
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
        let texts: [Option<&[u8]>; 26] = [
            r.host.as_deref(),
            r.mta.map(str::as_bytes),
            r.program.as_deref(),
            r.queue_id.as_deref(),
            r.event.map(str::as_bytes),
            r.direction.map(str::as_bytes),
            r.client_host.as_deref(),
            r.client_ip.as_deref(),
            r.helo.as_deref(),
            r.relay_host.as_deref(),
            r.relay_ip.as_deref(),
            r.sender.as_deref(),
            r.recipient.as_deref(),
            r.orig_recipient.as_deref(),
            r.status.as_deref(),
            r.dsn.as_deref(),
            r.enhanced_code.as_deref(),
            r.code_origin.map(str::as_bytes),
            r.smtp_stage.map(str::as_bytes),
            r.reply_text.as_deref(),
            r.message_id.as_deref(),
            r.related_id.as_deref(),
            r.sasl_username.as_deref(),
            r.protocol.as_deref(),
            r.tls.as_deref(),
            r.detail.as_deref(),
        ];
        let size: usize = texts.iter().map(|t| t.map_or(0, <[u8]>::len)).sum::<usize>()
            + r.pattern.map_or(0, str::len);
        if self.bytes + size > i32::MAX as usize {
            return Err("a batch's text exceeds the 2 GiB of an Arrow string column".into());
        }
        self.bytes += size;
        let k = self.rows.len();
        self.rows.push(row);
        for (col, t) in self.strs.iter_mut().zip(texts.iter().chain(std::iter::once(&r.pattern.map(str::as_bytes)))) {
            if let Some(v) = t {
                col.set(k, v);
            }
        }
        // numbers, in COLUMNS order: ts, pid, client_port, relay_port, reply_code, delay, size, nrcpt, quit
        let n = &mut self.nums;
        macro_rules! put {
            ($i:expr, $v:expr) => {
                if let Some(v) = $v {
                    n[$i].set(k, &v.to_le_bytes());
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
            n[8].set(k, &[u8::from(v)]);
        }
        Ok(())
    }

    /// Nulls in every column up to the last row.
    fn fill(&mut self) {
        let n = self.rows.len();
        self.strs.iter_mut().for_each(|c| c.fill(n));
        self.nums.iter_mut().for_each(|c| c.fill(n));
    }

    /// The columns' buffers, in [`COLUMNS`] order (booleans as one byte per row: Python packs them).
    pub fn columns(mut self) -> Vec<Buffers> {
        self.fill();
        let mut strs = self.strs.into_iter();
        let mut nums = self.nums.into_iter();
        COLUMNS
            .iter()
            .map(|&(name, kind)| {
                if kind == Kind::Str {
                    let c = strs.next().expect("a string column");
                    Buffers { name, kind, values: c.offsets, data: c.data, validity: c.valid.bits, nulls: c.valid.nulls }
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
            for c in b.offsets.chunks_exact(4).skip(1) {
                let v = i32::from_le_bytes([c[0], c[1], c[2], c[3]]) + base;
                a.offsets.extend_from_slice(&v.to_le_bytes());
            }
            append_bits(&mut a.valid, &b.valid);
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
