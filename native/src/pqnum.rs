//! Parquet column chunks of numbers, times and booleans made without Arrow's writer, beside
//! `pqdict.rs` (text) and `pqzstd.rs` (`analyzer/parquet_dict.py` writes the page headers and
//! the chunk's metadata): dictionary-encoded (a dictionary page of PLAIN values in order of
//! first sight, one v1 data page of RLE_DICTIONARY indices) or PLAIN v1 data pages (at most
//! `page_rows` rows, cut once the values reach `page_bytes`), each page compressed at the
//! column's zstd level if it has one; and the chunk's min/max statistics as Arrow's writer
//! gives them (int16 widened to INT32; doubles without NaN, a zero min as -0.0 and a zero max
//! as +0.0; none where no value counts). Booleans are never dictionary-encoded (nor by Arrow).
//! Linear in the rows.

use crate::hash::{is_set, KeyIndex, Seed};
use crate::pqdict::{bit_width, rle_hybrid, Rows, ValidRows};
use crate::pqlevels::{page_body, Levels};
use crate::pqnum_delta::Delta;
use crate::pqzstd::{Page, Pager, Squeeze};

/// Arrow's type of a chunk's values (its buffer), and so the Parquet physical type written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    I16,
    I32,
    I64,
    F64,
    Bool,
}

impl Kind {
    pub fn parse(name: &str) -> Result<Kind, String> {
        Ok(match name {
            "int16" => Kind::I16,
            "int32" => Kind::I32,
            "int64" => Kind::I64,
            "double" => Kind::F64,
            "bool" => Kind::Bool,
            _ => return Err(format!("no native chunks of {name}")),
        })
    }

    /// Bits of a value in Arrow's buffer (booleans: 1).
    fn bits(self) -> usize {
        match self {
            Kind::I16 => 16,
            Kind::I32 => 32,
            Kind::I64 | Kind::F64 => 64,
            Kind::Bool => 1,
        }
    }

    /// Bytes of a PLAIN value (INT32, INT64, DOUBLE; a boolean's statistics: 1).
    fn width(self) -> usize {
        match self {
            Kind::I16 | Kind::I32 => 4,
            Kind::I64 | Kind::F64 => 8,
            Kind::Bool => 1,
        }
    }
}

/// A chunk of one column: its rows and its values' buffer, with the index of its first row's value.
#[derive(Clone, Copy)]
pub struct Values<'a> {
    pub rows: Rows<'a>,
    pub data: &'a [u8],
    pub at: usize,
}

/// Each valid row's value (the low bytes of a u64: the PLAIN value's bytes, little-endian)
/// with the row's number in the column chunk (from 0): the null rows passed 56 at a time
/// ([`ValidRows`]); buffers checked first.
#[inline(always)]
fn each_valid_value(kind: Kind, chunks: &[Values], f: impl FnMut(usize, u64)) -> Result<(), String> {
    by_kind(kind, chunks, ValidOnly(f))
}

/// A walk over the rows of chunks, given how a value is read (`read(buffer, index)`).
trait Walk {
    fn walk(self, chunks: &[Values], read: impl Fn(&[u8], usize) -> u64);
}

/// `walk` over `chunks` (their bitmaps and buffers checked first) with the read of `kind`'s
/// values: one loop for each kind, the read inlined in it.
#[inline(always)]
fn by_kind(kind: Kind, chunks: &[Values], walk: impl Walk) -> Result<(), String> {
    for c in chunks {
        c.rows.check()?;
        let end = c.at.checked_add(c.rows.len).and_then(|n| n.checked_mul(kind.bits())).ok_or("a chunk past any buffer")?;
        if c.data.len() * 8 < end {
            return Err("a values buffer shorter than its chunk".into());
        }
    }
    match kind {
        Kind::I16 => walk.walk(chunks, |d, j| i16::from_le_bytes([d[2 * j], d[2 * j + 1]]) as i32 as u32 as u64),
        Kind::I32 => walk.walk(chunks, |d, j| u32::from_le_bytes(d[4 * j..4 * j + 4].try_into().unwrap()) as u64),
        Kind::I64 | Kind::F64 => walk.walk(chunks, |d, j| u64::from_le_bytes(d[8 * j..8 * j + 8].try_into().unwrap())),
        Kind::Bool => walk.walk(chunks, |d, j| is_set(d, j) as u64),
    }
    Ok(())
}

/// The valid rows: `f(row in the column chunk, value)`.
struct ValidOnly<F>(F);

impl<F: FnMut(usize, u64)> Walk for ValidOnly<F> {
    #[inline(always)]
    fn walk(mut self, chunks: &[Values], read: impl Fn(&[u8], usize) -> u64) {
        let mut first = 0;
        for c in chunks {
            match c.rows.valid {
                None => (0..c.rows.len).for_each(|i| (self.0)(first + i, read(c.data, c.at + i))),
                Some(_) => ValidRows::new(&c.rows).for_each(|i| (self.0)(first + i, read(c.data, c.at + i))),
            }
            first += c.rows.len;
        }
    }
}

/// `v`'s low `w` bytes (a PLAIN value) added to `out`.
#[inline(always)]
fn put_value(out: &mut Vec<u8>, v: u64, w: usize) {
    if w == 4 {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Min and max of the values seen, as Arrow's writer orders them (ints signed, doubles without
/// NaN, booleans false < true), as they are read (u64).
struct MinMax {
    kind: Kind,
    got: Option<(u64, u64)>,
}

impl MinMax {
    /// Of every valid row of `chunks`.
    fn of(kind: Kind, chunks: &[Values]) -> Result<MinMax, String> {
        let got = if kind == Kind::F64 {
            let (mut lo, mut hi, mut any) = (f64::INFINITY, f64::NEG_INFINITY, false);
            each_valid_value(kind, chunks, |_, v| {
                let x = f64::from_bits(v);
                if !x.is_nan() {
                    lo = lo.min(x);
                    hi = hi.max(x);
                    any = true;
                }
            })?;
            any.then(|| (lo.to_bits(), hi.to_bits()))
        } else {
            let (mut lo, mut hi, mut any) = (i64::MAX, i64::MIN, false);
            each_valid_value(kind, chunks, |_, v| {
                let x = signed(kind, v);
                lo = lo.min(x);
                hi = hi.max(x);
                any = true;
            })?;
            any.then_some((lo as u64, hi as u64))
        };
        Ok(MinMax { kind, got })
    }

    /// One more value (the dictionary's words, as they come).
    fn add(&mut self, v: u64) {
        let (lo, hi) = match (self.kind, self.got) {
            (Kind::F64, _) if f64::from_bits(v).is_nan() => return,
            (_, None) => (v, v),
            (Kind::F64, Some((lo, hi))) => {
                let x = f64::from_bits(v);
                (if x < f64::from_bits(lo) { v } else { lo }, if x > f64::from_bits(hi) { v } else { hi })
            }
            (k, Some((lo, hi))) => {
                let x = signed(k, v);
                (if x < signed(k, lo) { v } else { lo }, if x > signed(k, hi) { v } else { hi })
            }
        };
        self.got = Some((lo, hi));
    }

    /// (min, max) as PLAIN bytes (a zero double's min -0.0, its max +0.0, as Arrow's), or None.
    fn bytes(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let (mut lo, mut hi) = self.got?;
        if self.kind == Kind::F64 {
            if f64::from_bits(lo) == 0.0 {
                lo = (-0.0f64).to_bits();
            }
            if f64::from_bits(hi) == 0.0 {
                hi = 0.0f64.to_bits();
            }
        }
        let w = self.kind.width();
        Some((lo.to_le_bytes()[..w].to_vec(), hi.to_le_bytes()[..w].to_vec()))
    }
}

/// A value as read (INT32's bits, INT64's, a boolean's 0/1) as a signed number.
#[inline(always)]
fn signed(kind: Kind, v: u64) -> i64 {
    match kind {
        Kind::I16 | Kind::I32 => v as u32 as i32 as i64,
        _ => v as i64,
    }
}

/// A chunk made here: its pages (a dictionary page first, if any), the dictionary's values, its
/// rows and nulls, and its (min, max).
#[derive(Debug, PartialEq)]
pub struct Made {
    pub dict: Option<(Page, usize)>,
    pub pages: Vec<Page>,
    pub nulls: usize,
    pub stats: Option<(Vec<u8>, Vec<u8>)>,
}

/// The values last numbered, in 1024 places by their bits times the process's key (odd): a
/// repeated value is found without hashing; a place taken by another only sends the row to
/// the [`KeyIndex`] (keyed).
struct Recent {
    key: u64,
    slots: Vec<(u64, u32)>,
}

impl Recent {
    fn new() -> Recent {
        Recent { key: Seed::default().scramble(0x2545_F491_4F6C_DD1D) | 1, slots: vec![(0, u32::MAX); 1024] }
    }

    #[inline]
    fn place(&self, v: u64) -> usize {
        ((v ^ (v >> 29)).wrapping_mul(self.key) >> 54) as usize
    }
}

/// `chunks` dictionary-encoded, or None when the dictionary page would pass `limit` bytes
/// (Arrow's writer then falls back to plain pages: the caller leaves such a column to it). The
/// data pages hold `page_rows` rows each, their indices as wide as the words numbered by their
/// last row need (as Arrow's are: a growing dictionary's first pages are narrower).
pub fn dictionary(kind: Kind, chunks: &[Values], limit: usize, page_rows: usize, squeeze: &mut Squeeze)
                  -> Result<Option<Made>, String> {
    if kind == Kind::Bool {
        return Err("booleans are not dictionary-encoded".into());
    }
    let (w, page_rows) = (kind.width(), page_rows.max(1));
    let rows = chunks.iter().map(|c| c.rows.len).fold(0usize, usize::saturating_add);
    let mut index = KeyIndex::with_capacity(64);
    let mut recent = Recent::new();
    let mut dict = Vec::new();
    let mut indices = Vec::with_capacity(rows.min(1 << 22));
    let mut ends = Vec::new(); // each page's (rows, indices, words) at its end
    let (mut valid, mut over, mut cut) = (0, false, page_rows);
    let mut mm = MinMax { kind, got: None };
    each_valid_value(kind, chunks, |row, v| {
        if over {
            return; // too many values for a dictionary: the rest is not hashed
        }
        while cut <= row {
            ends.push((cut, indices.len(), index.len())); // (the rows since the last valid one are null)
            cut += page_rows;
        }
        valid += 1;
        let at = recent.place(v);
        let (b, k) = recent.slots[at];
        if b == v && k != u32::MAX {
            indices.push(k);
            return;
        }
        let (k, new) = if w == 4 { index.number(&(v as u32).to_le_bytes()) } else { index.number(&v.to_le_bytes()) };
        recent.slots[at] = (v, k);
        if new {
            mm.add(v);
            put_value(&mut dict, v, w);
            over |= dict.len() > limit;
        }
        indices.push(k);
    })?;
    if over {
        return Ok(None);
    }
    while cut <= rows {
        ends.push((cut, indices.len(), index.len()));
        cut += page_rows;
    }
    if cut - page_rows != rows {
        ends.push((rows, indices.len(), index.len()));
    }
    let nulls = rows - valid;
    let levels = Levels::new(chunks.iter().map(|c| c.rows));
    let (mut pages, mut from) = (Vec::with_capacity(ends.len()), (0, 0));
    for &(rows, k, words) in &ends {
        let width = bit_width(words.saturating_sub(1) as u32);
        let mut values = vec![width as u8];
        rle_hybrid(&indices[from.1..k], width, &mut values);
        pages.push(squeeze.page(page_body(&levels, from.0, rows, &values), rows - from.0)?);
        from = (rows, k);
    }
    let words = index.len();
    let dict = squeeze.page(dict, words)?;
    Ok(Some(Made { dict: Some((dict, words)), pages, nulls, stats: mm.bytes() }))
}

/// `chunks` as PLAIN v1 data pages of at most `page_rows` rows (a page is cut once its values
/// reach `page_bytes`), compressed by `squeeze`. The valid rows only are walked ([`ValidRows`]).
pub fn plain(kind: Kind, chunks: &[Values], page_rows: usize, page_bytes: usize, squeeze: &mut Squeeze) -> Result<Made, String> {
    let w = kind.width();
    let rows = chunks.iter().map(|c| c.rows.len).fold(0usize, usize::saturating_add);
    let mut pager = Pager::new(Levels::new(chunks.iter().map(|c| c.rows)), page_rows, page_bytes);
    let (mut valid, mut bools, mut err) = (0usize, 0usize, None);
    let mm = MinMax::of(kind, chunks)?;
    each_valid_value(kind, chunks, |row, v| {
        if err.is_some() {
            return;
        }
        match pager.before(row, squeeze) {
            Ok(true) => bools = 0,
            Ok(false) => {}
            Err(e) => return err = Some(e),
        }
        valid += 1;
        if kind == Kind::Bool {
            if bools % 8 == 0 {
                pager.values.push(0u8);
            }
            *pager.values.last_mut().unwrap() |= (v as u8) << (bools % 8);
            bools += 1;
        } else {
            put_value(&mut pager.values, v, w);
        }
        match pager.after(row, squeeze) {
            Ok(true) => bools = 0,
            Ok(false) => {}
            Err(e) => err = Some(e),
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    Ok(Made { dict: None, pages: pager.finish(rows, squeeze)?, nulls: rows - valid, stats: mm.bytes() })
}

/// `chunks` (integers) as DELTA_BINARY_PACKED v1 data pages (`pqnum_delta`) of at most
/// `page_rows` rows (a page is cut once its encoded values reach `page_bytes`), compressed by
/// `squeeze`. The valid rows only are walked ([`ValidRows`]); min and max in the same walk.
pub fn delta(kind: Kind, chunks: &[Values], page_rows: usize, page_bytes: usize, squeeze: &mut Squeeze) -> Result<Made, String> {
    if !matches!(kind, Kind::I16 | Kind::I32 | Kind::I64) {
        return Err("only integers are delta-encoded".into());
    }
    let page_rows = page_rows.max(1);
    let rows = chunks.iter().map(|c| c.rows.len).fold(0usize, usize::saturating_add);
    let levels = Levels::new(chunks.iter().map(|c| c.rows));
    let mut enc = Delta::new(kind == Kind::I64);
    let (mut pages, mut from, mut valid, mut err) = (Vec::new(), 0, 0, None);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    // the page of rows `from..to`: its levels and the values put since the last
    let mut page = |from: &mut usize, to: usize, enc: &mut Delta, err: &mut Option<String>| {
        match squeeze.page(page_body(&levels, *from, to, &enc.page()), to - *from) {
            Ok(p) => pages.push(p),
            Err(e) => *err = err.take().or(Some(e)),
        }
        *from = to;
    };
    each_valid_value(kind, chunks, |row, v| {
        while from + page_rows <= row {
            let to = from + page_rows;
            page(&mut from, to, &mut enc, &mut err); // (its rows since the last value are null)
        }
        let x = signed(kind, v);
        (lo, hi, valid) = (lo.min(x), hi.max(x), valid + 1);
        enc.put(x);
        if row + 1 - from >= page_rows || enc.bytes() >= page_bytes {
            page(&mut from, row + 1, &mut enc, &mut err);
        }
    })?;
    while from < rows {
        let to = rows.min(from + page_rows);
        page(&mut from, to, &mut enc, &mut err);
    }
    if let Some(e) = err {
        return Err(e);
    }
    let mm = MinMax { kind, got: (valid > 0).then_some((lo as u64, hi as u64)) };
    Ok(Made { dict: None, pages, nulls: rows - valid, stats: mm.bytes() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[i64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn a_dictionary_past_its_limit_is_none_and_a_small_one_holds_its_distinct_values() {
        let data = ints(&[5, 7, 5, 5, 7, 9]);
        let chunk = [Values { rows: Rows { len: 6, valid: None }, data: &data, at: 0 }];
        let mut sq = Squeeze::new(None).unwrap();
        let made = dictionary(Kind::I64, &chunk, 1 << 20, 4, &mut sq).unwrap().expect("a dictionary");
        assert_eq!(made.dict.as_ref().map(|d| d.1), Some(3)); // 5, 7, 9
        assert_eq!(made.pages.len(), 2); // 4 rows, then 2
        // 16 bytes is two values: the third distinct one is over the limit
        assert!(dictionary(Kind::I64, &chunk, 16, 4, &mut sq).unwrap().is_none());
    }

    #[test]
    fn a_chunk_whose_first_value_is_past_any_buffer_is_an_error_not_a_wrap() {
        let data = ints(&[1, 2]);
        let mut sq = Squeeze::new(None).unwrap();
        for at in [3, usize::MAX, usize::MAX / 8] {
            let chunk = [Values { rows: Rows { len: 2, valid: None }, data: &data, at }];
            assert!(dictionary(Kind::I64, &chunk, 1 << 20, 4, &mut sq).is_err(), "at {at}");
        }
        let bits = [0xffu8];
        let chunk = [Values { rows: Rows { len: 2, valid: Some((&bits, usize::MAX)) }, data: &data, at: 0 }];
        assert!(dictionary(Kind::I64, &chunk, 1 << 20, 4, &mut sq).is_err());
    }
}
