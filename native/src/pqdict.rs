//! The pages of a Parquet column chunk of dictionary-encoded text, made without Arrow's writer
//! (`analyzer/parquet_dict.py` writes their headers and the chunk's metadata): a dictionary page
//! (PLAIN: each word's length, 4 bytes little-endian, and its bytes) and one v1 data page
//! (the definition levels, length-prefixed, then the indices' bit width and the indices of the
//! rows that are not null), both in the RLE / bit-packed hybrid of the format's Encodings.md.
//! Columns that are already dictionaries (the classification's codes) keep their dictionary as
//! it is; text columns get one of their words in order of first sight ([`KeyIndex`]: keyed).
//! Linear in the rows and the bytes.

use crate::hash::{KeyIndex, Seed};
use crate::pqlevels::Levels;

/// A chunk's rows: how many, and Arrow's validity bitmap with the bit of its first row (None:
/// no row is null).
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    pub len: usize,
    pub valid: Option<(&'a [u8], usize)>,
}

impl Rows<'_> {
    pub(crate) fn check(&self) -> Result<(), String> {
        crate::vocab::check_valid(self.valid, self.len)
    }

    #[cfg(test)]
    pub(crate) fn is_valid(&self, i: usize) -> bool {
        match self.valid {
            Some((bits, at)) => crate::hash::is_set(bits, at + i),
            None => true,
        }
    }
}

/// Arrow string values: int32 offsets (the bytes of the buffer, from the first row's) and data.
#[derive(Clone, Copy)]
pub struct Texts<'a> {
    pub offsets: &'a [u8],
    pub at: usize,
    pub data: &'a [u8],
}

impl<'a> Texts<'a> {
    #[inline]
    fn offset(&self, i: usize) -> usize {
        let p = (self.at + i) * 4;
        i32::from_le_bytes([self.offsets[p], self.offsets[p + 1], self.offsets[p + 2], self.offsets[p + 3]]) as usize
    }

    /// The bounds of `len` values checked once: offsets in the buffer, not decreasing, in the data.
    fn check(&self, len: usize) -> Result<(), String> {
        if self.offsets.len() < (self.at + len + 1) * 4 {
            return Err("an offsets buffer shorter than its chunk".into());
        }
        let mut last = self.offset(0);
        for i in 1..=len {
            let o = self.offset(i);
            if o < last || o > self.data.len() || (o as i64) > i32::MAX as i64 {
                return Err("offsets out of order or past the data".into());
            }
            last = o;
        }
        Ok(())
    }

    fn get(&self, i: usize) -> &'a [u8] {
        &self.data[self.offset(i)..self.offset(i + 1)]
    }
}

/// A column chunk's two page bodies and what its metadata says of them.
#[derive(Debug, PartialEq)]
pub struct Pages {
    /// the dictionary page's body (PLAIN byte arrays)
    pub dict: Vec<u8>,
    pub words: usize,
    /// the data page's body (v1: levels, then the indices)
    pub data: Vec<u8>,
    pub rows: usize,
    pub nulls: usize,
    /// the bytes of the rows' values (SizeStatistics.unencoded_byte_array_data_bytes)
    pub text_bytes: u64,
}

/// Bits needed for `max` (at least one: readers take any width that holds the values).
pub fn bit_width(max: u32) -> u32 {
    (32 - max.leading_zeros()).max(1)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7F) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Most groups of eight values in one bit-packed run (its header then fits in one byte, as Arrow's)
pub(crate) const GROUPS: usize = 63;

/// `values` (each < 2^width) in the RLE / bit-packed hybrid: a run of 8 or more equal values
/// starting at a group's place is one RLE run; other values go in groups of eight, bit-packed
/// (LSB first), the last group padded with zeros (readers know the count). (Runs are told eight
/// values at a time: a group not all alike is passed over whole, as it is not a run's start.)
pub fn rle_hybrid<T: Copy + PartialEq + Into<u32>>(values: &[T], width: u32, out: &mut Vec<u8>) {
    let n = values.len();
    let (mut p, mut lit) = (0, 0); // values[lit..p]: bit-packed, not yet written (a multiple of 8)
    while p + 8 <= n {
        let v = values[p];
        if !alike(&values[p..p + 8], v) {
            p += 8;
            continue;
        }
        let mut r = p + 8;
        while r + 8 <= n && alike(&values[r..r + 8], v) {
            r += 8;
        }
        while r < n && values[r] == v {
            r += 1;
        }
        bit_packed(&values[lit..p], width, out);
        put_varint(out, ((r - p) as u64) << 1);
        out.extend_from_slice(&v.into().to_le_bytes()[..width.div_ceil(8) as usize]);
        p = r;
        lit = p;
    }
    bit_packed(&values[lit..n], width, out);
}

/// Whether every one of eight values is `v` (no early exit: compared side by side).
#[inline]
fn alike<T: Copy + PartialEq>(group: &[T], v: T) -> bool {
    group.iter().fold(true, |all, &x| all & (x == v))
}

fn bit_packed<T: Copy + Into<u32>>(values: &[T], width: u32, out: &mut Vec<u8>) {
    for run in values.chunks(GROUPS * 8) {
        let groups = run.len().div_ceil(8);
        put_varint(out, ((groups as u64) << 1) | 1);
        if width <= 8 {
            // (eight values of up to 8 bits: one u64, its low `width` bytes; a short last group padded;
            // all eight bytes copied, the ones past `width` cut after)
            let w = width as usize;
            out.reserve(groups * w + 8);
            for g in run.chunks(8) {
                let acc = g.iter().enumerate().fold(0u64, |acc, (i, &v)| acc | ((v.into() as u64) << (i * w)));
                let at = out.len();
                out.extend_from_slice(&acc.to_le_bytes());
                out.truncate(at + w);
            }
            continue;
        }
        let end = out.len() + groups * width as usize;
        let (mut acc, mut bits) = (0u64, 0u32); // (under 8 bits held between values: 40 at most)
        for &v in run {
            acc |= (v.into() as u64) << bits;
            bits += width;
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
        if bits > 0 {
            out.push(acc as u8);
        }
        out.resize(end, 0); // (the last group's padding)
    }
}

/// The data page's body: definition levels (0 null, 1 a value: 4-byte length, then the hybrid)
/// of every row of `chunks`, then the bit width of `words` and the rows' `indices`.
fn data_page(chunks: &[Rows], indices: &[u32], words: usize) -> Vec<u8> {
    let rows: usize = chunks.iter().map(|c| c.len).sum();
    let mut out = Vec::with_capacity(16 + rows / 8 + indices.len() * bit_width(words.saturating_sub(1) as u32) as usize / 8);
    Levels::new(chunks.iter().copied()).put(0, rows, &mut out);
    let width = bit_width(words.saturating_sub(1) as u32);
    out.push(width as u8);
    rle_hybrid(indices, width, &mut out);
    out
}

pub(crate) fn plain_word(out: &mut Vec<u8>, word: &[u8]) {
    out.extend_from_slice(&(word.len() as u32).to_le_bytes());
    out.extend_from_slice(word);
}

/// A chunk of dictionary arrays sharing one dictionary (`words`, `count` of them): each chunk's
/// rows and its int32 indices (the bytes of the buffer, from its first row's index `at`).
pub fn from_codes(chunks: &[(Rows, &[u8], usize)], words: Texts, count: usize) -> Result<Pages, String> {
    words.check(count)?;
    let mut dict = Vec::new();
    let lens: Vec<u64> = (0..count).map(|i| words.get(i).len() as u64).collect();
    for i in 0..count {
        plain_word(&mut dict, words.get(i));
    }
    let mut indices: Vec<u32> = Vec::with_capacity(reserve(chunks.iter().map(|c| c.0.len)));
    let mut nulls = 0;
    for (rows, buf, at) in chunks {
        rows.check()?;
        if buf.len() < (at + rows.len) * 4 {
            return Err("an indices buffer shorter than its chunk".into());
        }
        let mine = &buf[at * 4..(at + rows.len) * 4];
        let code = |i: usize| u32::from_le_bytes(mine[i * 4..i * 4 + 4].try_into().unwrap());
        match rows.valid {
            None => indices.extend(mine.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().unwrap()))),
            Some(_) => {
                let mut valid = ValidRows::new(rows);
                indices.extend(valid.by_ref().map(code));
                nulls += valid.nulls;
            }
        }
    }
    // (a negative index is past `count` as u32; the first one outside told)
    if let Some(&k) = indices.iter().find(|&&k| k as usize >= count) {
        return Err(format!("index {} outside a dictionary of {count}", k as i32));
    }
    let text_bytes = indices.iter().map(|&k| lens[k as usize]).sum();
    let rows: Vec<Rows> = chunks.iter().map(|c| c.0).collect();
    let data = data_page(&rows, &indices, count);
    Ok(Pages { dict, words: count, data, rows: rows.iter().map(|r| r.len).sum(), nulls, text_bytes })
}

/// Bits `pos..pos + take` of `bits` (`take` ≤ 56), LSB first (fewer bytes at its end: zeros).
#[inline]
fn bits_at(bits: &[u8], pos: usize, take: usize) -> u64 {
    let b = pos / 8;
    let v = match bits.get(b..b + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap()),
        None => bits[b.min(bits.len())..].iter().rev().fold(0u64, |v, &x| (v << 8) | x as u64),
    };
    (v >> (pos % 8)) & ((1u64 << take) - 1)
}

/// The valid rows of a chunk (`Rows`, its bitmap checked), in order, taken 56 at a time from
/// the validity bitmap (a null row costs a bit); `nulls`: the null rows passed so far.
pub(crate) struct ValidRows<'a> {
    valid: Option<(&'a [u8], usize)>,
    len: usize,
    base: usize, // (the first row of `mask`'s bits)
    next: usize,
    mask: u64,
    pub nulls: usize,
}

impl<'a> ValidRows<'a> {
    pub(crate) fn new(rows: &Rows<'a>) -> ValidRows<'a> {
        ValidRows { valid: rows.valid, len: rows.len, base: 0, next: 0, mask: 0, nulls: 0 }
    }
}

impl Iterator for ValidRows<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.next >= self.len {
                return None;
            }
            self.base = self.next;
            let take = (self.len - self.base).min(56);
            self.mask = match self.valid {
                Some((bits, at)) => bits_at(bits, at + self.base, take),
                None => (1u64 << take) - 1,
            };
            self.nulls += take - self.mask.count_ones() as usize;
            self.next = self.base + take;
        }
        let i = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(i)
    }
}

/// A chunk of text arrays, dictionary-encoded here (words in order of first sight), or None when
/// the dictionary page would pass `limit` bytes (Arrow's writer then falls back to plain pages:
/// the caller leaves such a column to it). The valid rows are taken 56 at a time from the
/// validity bitmap (a null row costs a bit), each valid row's offsets checked as they are read;
/// a word found in [`Recent`] by its first [`WHOLE`] bytes is not hashed.
pub fn from_texts(chunks: &[(Rows, Texts)], limit: usize) -> Result<Option<Pages>, String> {
    let mut index = KeyIndex::with_capacity(64);
    let mut recent = Recent::new();
    let mut dict = Vec::new();
    let mut indices = Vec::with_capacity(reserve(chunks.iter().map(|c| c.0.len)));
    let (mut nulls, mut text_bytes) = (0, 0u64);
    for (rows, texts) in chunks {
        rows.check()?;
        if texts.offsets.len() < (texts.at + rows.len + 1) * 4 {
            return Err("an offsets buffer shorter than its chunk".into());
        }
        let data = texts.data;
        let offsets = &texts.offsets[texts.at * 4..(texts.at + rows.len + 1) * 4];
        let offset = |i: usize| i32::from_le_bytes(offsets[i * 4..i * 4 + 4].try_into().unwrap()) as usize;
        let mut valid = ValidRows::new(rows);
        for i in valid.by_ref() {
            let (s, e) = (offset(i), offset(i + 1));
            if s > e || e > data.len() {
                return Err("offsets out of order or past the data".into());
            }
            let word = &data[s..e];
            let (at, key) = recent.place_in(data, s, word);
            let slot = recent.slots[at];
            text_bytes += word.len() as u64;
            if slot.key[0] == key[0] && slot.key[1] == key[1] && slot.key[2] == key[2] && slot.len == word.len()
                && (word.len() <= WHOLE || index.key(slot.k as usize) == word) {
                indices.push(slot.k);
                continue;
            }
            let (k, new) = index.number(word);
            recent.slots[at] = Slot { key, len: word.len(), k };
            if new {
                plain_word(&mut dict, word);
                if dict.len() > limit {
                    return Ok(None);
                }
            }
            indices.push(k);
        }
        nulls += valid.nulls;
    }
    let rows: Vec<Rows> = chunks.iter().map(|c| c.0).collect();
    let data = data_page(&rows, &indices, index.len());
    Ok(Some(Pages { dict, words: index.len(), data, rows: rows.iter().map(|r| r.len).sum(), nulls, text_bytes }))
}

/// Bytes of a word [`Recent`] holds: a word of up to as many is found there by them alone.
const WHOLE: usize = 24;

/// A place of [`Recent`]: a word's first [`WHOLE`] bytes (zeros past its end), its length, its number.
#[derive(Clone, Copy)]
struct Slot {
    key: [u64; 3],
    len: usize,
    k: u32,
}

/// `(1 << 8k) - 1`: the low `k` bytes of a word (k ≤ 8)
const LOW_BYTES: [u64; 9] = [0, 0xFF, 0xFFFF, 0xFF_FFFF, 0xFFFF_FFFF, 0xFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF, 0xFF_FFFF_FFFF_FFFF, u64::MAX];

/// The words last numbered, in 256 places, each with its length and its first [`WHOLE`] bytes (a
/// shorter word: all its bytes; a longer word found there is compared whole): a few-valued
/// column's words are found there with four compares, without hashing; the place is
/// the bytes' mix times the process's key (odd), so which words share one cannot be chosen from
/// outside, and a place taken by another word only sends the row to the [`KeyIndex`] (keyed,
/// bytes compared).
struct Recent {
    key: u64,
    slots: Vec<Slot>,
}

impl Recent {
    fn new() -> Recent {
        Recent { key: Seed::default().scramble(0x5851_F42D_4C95_7F2D) | 1, slots: vec![Slot { key: [0; 3], len: usize::MAX, k: 0 }; 256] }
    }

    /// `word`'s place and its first [`WHOLE`] bytes as three words (LSB first), zeros past its end.
    /// (`word`: the bytes of `data` from `at`; with [`WHOLE`] bytes of `data` from there, read in
    /// three loads, the bytes past the word masked off)
    #[inline]
    fn place_in(&self, data: &[u8], at: usize, word: &[u8]) -> (usize, [u64; 3]) {
        let n = word.len();
        let load = |b: &[u8], j: usize| u64::from_le_bytes(b[j * 8..j * 8 + 8].try_into().unwrap()) & LOW_BYTES[n.saturating_sub(j * 8).min(8)];
        let key = match data.get(at..at + WHOLE) {
            Some(w) => [load(w, 0), load(w, 1), load(w, 2)],
            None => {
                let mut w = [0u8; WHOLE];
                w[..n.min(WHOLE)].copy_from_slice(&word[..n.min(WHOLE)]);
                [load(&w, 0), load(&w, 1), load(&w, 2)]
            }
        };
        let mix = key[0] ^ key[1].rotate_left(29) ^ key[2].rotate_left(43) ^ (n as u64).rotate_left(59);
        ((mix.wrapping_mul(self.key) >> 56) as usize, key)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::XorShift;

    /// The hybrid read back (the format's decoder): `n` values.
    pub(crate) fn decode(buf: &[u8], width: u32, n: usize) -> Vec<u32> {
        let (mut out, mut p) = (Vec::new(), 0);
        while out.len() < n {
            let (mut h, mut s) = (0u64, 0);
            loop {
                let b = buf[p];
                p += 1;
                h |= ((b & 0x7F) as u64) << s;
                s += 7;
                if b < 0x80 {
                    break;
                }
            }
            if h & 1 == 1 {
                let groups = (h >> 1) as usize;
                let bytes = &buf[p..p + groups * width as usize];
                for k in 0..groups * 8 {
                    let mut v = 0u32;
                    for b in 0..width as usize {
                        let bit = k * width as usize + b;
                        v |= (((bytes[bit / 8] >> (bit % 8)) & 1) as u32) << b;
                    }
                    out.push(v);
                }
                p += groups * width as usize;
            } else {
                let nb = width.div_ceil(8) as usize;
                let mut v = [0u8; 4];
                v[..nb].copy_from_slice(&buf[p..p + nb]);
                p += nb;
                out.extend(std::iter::repeat_n(u32::from_le_bytes(v), (h >> 1) as usize));
            }
        }
        out.truncate(n);
        out
    }

    #[test]
    fn a_short_word_is_placed_alike_read_whole_or_byte_by_byte() {
        let recent = Recent::new();
        let data = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..data.len() {
            for n in 0..(data.len() - at).min(32) {
                let word = &data[at..at + n];
                assert_eq!(recent.place_in(data, at, word), recent.place_in(word, 0, word), "at {at} n {n}");
            }
        }
    }

    #[test]
    fn hybrid_round_trips() {
        let mut rng = XorShift(0x1234_5678);
        for case in 0..400 {
            let width = 1 + (case % 20) as u32;
            let n = (rng.next() % 3000) as usize;
            let runny = rng.next() % 3;
            let mut values = Vec::with_capacity(n);
            let mut last = 0u32;
            for _ in 0..n {
                if runny == 0 || rng.next() % 4 == 0 {
                    last = (rng.next() & ((1u64 << width) - 1)) as u32;
                }
                values.push(last);
            }
            let mut out = Vec::new();
            rle_hybrid(&values, width, &mut out);
            assert_eq!(decode(&out, width, n), values, "width {width} n {n}");
        }
    }

    #[test]
    fn long_runs_are_rle_and_literals_cap_at_63_groups() {
        let mut out = Vec::new();
        rle_hybrid(&[1u32; 1000], 1, &mut out);
        assert_eq!(out, vec![0xD0, 0x0F, 1]); // 1000 << 1, varint; the value in one byte
        let alternating: Vec<u32> = (0..2000).map(|i| i % 2).collect();
        out.clear();
        rle_hybrid(&alternating, 1, &mut out);
        assert_eq!(out[0], (63 << 1) | 1);
        assert_eq!(decode(&out, 1, 2000), alternating);
    }

    fn texts_buf(words: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let (mut off, mut data) = (vec![0u8; 4], Vec::new());
        for w in words {
            data.extend_from_slice(w);
            off.extend_from_slice(&(data.len() as i32).to_le_bytes());
        }
        (off, data)
    }

    #[test]
    fn texts_numbered_in_order_nulls_skipped() {
        let (off, data) = texts_buf(&[b"b", b"a", b"", b"b", b"c"]);
        let bits = [0b11011u8]; // row 2 null
        let rows = Rows { len: 5, valid: Some((&bits, 0)) };
        let got = from_texts(&[(rows, Texts { offsets: &off, at: 0, data: &data })], 1 << 20).unwrap().unwrap();
        assert_eq!(got.words, 3);
        assert_eq!(got.dict, b"\x01\0\0\0b\x01\0\0\0a\x01\0\0\0c".to_vec());
        assert_eq!((got.rows, got.nulls, got.text_bytes), (5, 1, 4));
        let len = u32::from_le_bytes(got.data[..4].try_into().unwrap()) as usize;
        assert_eq!(decode(&got.data[4..4 + len], 1, 5), vec![1, 1, 0, 1, 1]);
        assert_eq!(got.data[4 + len], 2);
        assert_eq!(decode(&got.data[5 + len..], 2, 4), vec![0, 1, 0, 2]);
        // a dictionary past the limit: none
        assert_eq!(from_texts(&[(rows, Texts { offsets: &off, at: 0, data: &data })], 8).unwrap(), None);
    }

    #[test]
    fn codes_checked_and_offsets_taken() {
        let (off, data) = texts_buf(&[b"", b"x", b"yy"]);
        let words = Texts { offsets: &off, at: 0, data: &data };
        let idx: Vec<u8> = [9i32, 2, 1, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let bits = [0b1110u8];
        // rows 1..4 of the buffer (offset 1): 2, 1, 0 all valid (bits 1..3)
        let got = from_codes(&[(Rows { len: 3, valid: Some((&bits, 1)) }, &idx, 1)], words, 3).unwrap();
        assert_eq!((got.rows, got.nulls, got.text_bytes, got.words), (3, 0, 3, 3));
        // row 0 (index 9) valid: refused
        assert!(from_codes(&[(Rows { len: 2, valid: None }, &idx, 0)], words, 3).is_err());
        // a null row's index is not looked at
        let got = from_codes(&[(Rows { len: 2, valid: Some((&[0b10u8], 0)) }, &idx, 0)], words, 3).unwrap();
        assert_eq!((got.nulls, got.text_bytes), (1, 2));
        assert!(from_codes(&[(Rows { len: 9, valid: None }, &idx, 0)], words, 3).is_err());
    }

    /// The dictionary page's words.
    fn words_of(dict: &[u8]) -> Vec<Vec<u8>> {
        let (mut out, mut p) = (Vec::new(), 0);
        while p < dict.len() {
            let n = u32::from_le_bytes(dict[p..p + 4].try_into().unwrap()) as usize;
            out.push(dict[p + 4..p + 4 + n].to_vec());
            p += 4 + n;
        }
        out
    }

    #[test]
    fn texts_read_back_over_chunks_and_offsets() {
        let mut rng = XorShift(0x9E37);
        for case in 0..60 {
            let kinds = [3u64, 40, 3000][case % 3];
            let chunks: Vec<(Vec<Option<Vec<u8>>>, usize)> = (0..1 + case % 3)
                .map(|_| {
                    let n = (rng.next() % 500) as usize;
                    let rows = (0..n)
                        .map(|_| (rng.next() % 5 != 0).then(|| format!("w{}-{}", rng.next() % kinds, "x".repeat((rng.next() % 12) as usize)).into_bytes()))
                        .collect();
                    (rows, (rng.next() % 9) as usize)
                })
                .collect();
            // each chunk as Arrow holds a slice: `skip` rows before it in its buffers
            let bufs: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = chunks
                .iter()
                .map(|(rows, skip)| {
                    let mut all: Vec<Option<Vec<u8>>> = vec![Some(b"before".to_vec()); *skip];
                    all.extend(rows.iter().cloned());
                    let words: Vec<&[u8]> = all.iter().map(|w| w.as_deref().unwrap_or(b"")).collect();
                    let (off, data) = texts_buf(&words);
                    let mut bits = vec![0u8; all.len().div_ceil(8) + 1];
                    for (i, w) in all.iter().enumerate() {
                        if w.is_some() {
                            bits[i / 8] |= 1 << (i % 8);
                        }
                    }
                    (off, data, bits)
                })
                .collect();
            let input: Vec<(Rows, Texts)> = chunks
                .iter()
                .zip(&bufs)
                .map(|((rows, skip), (off, data, bits))| {
                    (Rows { len: rows.len(), valid: Some((&bits[..], *skip)) }, Texts { offsets: off, at: *skip, data })
                })
                .collect();
            let got = from_texts(&input, 1 << 20).unwrap().unwrap();
            let want: Vec<Option<Vec<u8>>> = chunks.iter().flat_map(|c| c.0.iter().cloned()).collect();
            let words = words_of(&got.dict);
            assert_eq!(words.len(), got.words);
            let len = u32::from_le_bytes(got.data[..4].try_into().unwrap()) as usize;
            let levels = decode(&got.data[4..4 + len], 1, want.len());
            let values = want.iter().filter(|w| w.is_some()).count();
            let idx = decode(&got.data[5 + len..], got.data[4 + len] as u32, values);
            let mut it = idx.iter();
            let back: Vec<Option<Vec<u8>>> =
                levels.iter().map(|&l| (l == 1).then(|| words[*it.next().unwrap() as usize].clone())).collect();
            assert_eq!(back, want, "case {case}");
            assert_eq!(got.nulls, want.len() - values);
            assert_eq!(got.text_bytes, want.iter().flatten().map(|w| w.len() as u64).sum::<u64>());
        }
    }

    #[test]
    fn valid_rows_are_the_set_bits_at_any_offset() {
        let mut rng = XorShift(0xB17);
        for case in 0..300 {
            let bits: Vec<u8> = (0..1 + rng.next() % 40).map(|_| [0u8, 0xFF, rng.next() as u8][(rng.next() % 3) as usize]).collect();
            let at = (rng.next() % 16) as usize;
            let len = (rng.next() as usize) % (bits.len() * 8 - at.min(bits.len() * 8) + 1);
            let rows = Rows { len, valid: if case % 5 == 0 { None } else { Some((&bits, at)) } };
            let want: Vec<usize> = (0..len).filter(|&i| rows.is_valid(i)).collect();
            let mut it = ValidRows::new(&rows);
            let got: Vec<usize> = it.by_ref().collect();
            assert_eq!(got, want, "case {case}");
            assert_eq!(it.nulls, len - want.len(), "case {case}");
        }
    }

    #[test]
    fn words_sharing_their_first_bytes_are_told_apart_at_any_length_and_place() {
        // words of 0..40 bytes, many alike but in their last byte, the last ones at the data's very end
        let mut rng = XorShift(0x5EED);
        let stems: Vec<Vec<u8>> = (0..40).map(|n| (0..n).map(|i| b'a' + (i % 3) as u8).collect()).collect();
        let words: Vec<Vec<u8>> = (0..3000)
            .map(|_| {
                let mut w = stems[(rng.next() % 40) as usize].clone();
                if let Some(last) = w.last_mut() {
                    *last = b'x' + (rng.next() % 3) as u8;
                }
                w
            })
            .collect();
        let refs: Vec<&[u8]> = words.iter().map(|w| &w[..]).collect();
        let (off, data) = texts_buf(&refs);
        let got = from_texts(&[(Rows { len: refs.len(), valid: None }, Texts { offsets: &off, at: 0, data: &data })], 1 << 20).unwrap().unwrap();
        let dict = words_of(&got.dict);
        let mut seen: Vec<&[u8]> = Vec::new();
        for w in &refs {
            if !seen.contains(w) {
                seen.push(w);
            }
        }
        assert_eq!(dict, seen.iter().map(|w| w.to_vec()).collect::<Vec<_>>());
        let len = u32::from_le_bytes(got.data[..4].try_into().unwrap()) as usize;
        let idx = decode(&got.data[5 + len..], got.data[4 + len] as u32, refs.len());
        assert!(idx.iter().zip(&refs).all(|(&k, w)| dict[k as usize] == *w));
    }

    #[test]
    fn bad_offsets_refused() {
        let off: Vec<u8> = [0i32, 5, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = Texts { offsets: &off, at: 0, data: b"abcdef" };
        assert!(from_texts(&[(Rows { len: 2, valid: None }, t)], 1 << 20).is_err());
        assert!(from_texts(&[(Rows { len: 3, valid: None }, t)], 1 << 20).is_err());
    }
}

/// The rows to reserve room for ahead: the chunks' lengths are the caller's word (checked against
/// their buffers only row by row), so no more than 4M (the vector grows past it when the rows are there).
fn reserve(lens: impl Iterator<Item = usize>) -> usize {
    lens.fold(0usize, usize::saturating_add).min(1 << 22)
}
