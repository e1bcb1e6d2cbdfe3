//! A vocabulary of byte strings: each distinct string gets a dense code (0, 1, 2 ... in the order
//! first seen), found again by hashing, looking up, inserting and comparing in one pass over an
//! Arrow string column (`analyzer/peer_vocab.py`: the peers' senders, hosts, recipients). The
//! strings are held once, in one buffer in code order, with 32 bits of each one's hash; the table
//! holds codes. Linear in the bytes read (amortised: the table doubles when 3/4 full, the strings'
//! buffers grow by an eighth: at most an eighth of them spare, not half).

use crate::hash::is_set;

/// An Arrow string column's offsets (i32 or i64, sliced to the column) and data, checked once
/// (offsets from zero or more, never decreasing, within the data) so that every row reads a
/// slice of the data.
pub enum Offsets<'a> {
    Narrow(&'a [u8]),
    Wide(&'a [u8]),
}

pub struct Column<'a> {
    offsets: Offsets<'a>,
    data: &'a [u8],
    len: usize,
}

/// Whether the offsets of ``b`` (little-endian, ``W`` bytes each, read by ``read``) never
/// decrease: every pair looked at, no early exit, so that the loop is vectorised (it was one
/// compare and branch per row, and ran for every string column each fold reads).
fn ordered<const W: usize>(b: &[u8], read: impl Fn([u8; W]) -> i64) -> bool {
    let at = |c: &[u8]| read(c.try_into().expect("W bytes"));
    let offs = b.chunks_exact(W);
    offs.clone().zip(offs.skip(1)).fold(true, |ok, (a, c)| ok & (at(a) <= at(c)))
}

impl<'a> Column<'a> {
    /// The column of ``offsets`` (little-endian i32, or i64 when ``wide``) and ``data``, or why
    /// not (too short, decreasing or negative offsets, an offset past the data).
    pub fn new(offsets: &'a [u8], data: &'a [u8], wide: bool) -> Result<Self, String> {
        let width = if wide { 8 } else { 4 };
        if offsets.len() % width != 0 || offsets.len() < width {
            return Err("the offsets buffer does not hold n + 1 offsets".into());
        }
        let col = Column { offsets: if wide { Offsets::Wide(offsets) } else { Offsets::Narrow(offsets) }, data, len: offsets.len() / width - 1 };
        if col.offset(0) < 0 {
            return Err("a negative offset".into());
        }
        let ordered = if wide { ordered::<8>(offsets, i64::from_le_bytes) } else { ordered::<4>(offsets, |b| i64::from(i32::from_le_bytes(b))) };
        if !ordered {
            return Err("decreasing offsets".into());
        }
        if col.offset(col.len) as u64 > data.len() as u64 {
            return Err("an offset past the data".into());
        }
        Ok(col)
    }

    #[inline]
    fn offset(&self, i: usize) -> i64 {
        match self.offsets {
            Offsets::Narrow(b) => i64::from(i32::from_le_bytes(b[4 * i..4 * i + 4].try_into().expect("4 bytes"))),
            Offsets::Wide(b) => i64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes")),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Row ``i``'s bytes (the offsets were checked in `new`).
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.data[self.offset(i) as usize..self.offset(i + 1) as usize]
    }
}

/// A validity bitmap (LSB first, 1 = valid) and the bit of the column's first row, or None when
/// no row is null; checked to cover ``len`` rows.
pub fn check_valid(valid: Option<(&[u8], usize)>, len: usize) -> Result<(), String> {
    match valid {
        // (summed without wrapping: the bit and the length come from the caller)
        Some((bits, at)) if at.checked_add(len).is_none_or(|end| bits.len().saturating_mul(8) < end) => {
            Err("the validity bitmap is shorter than the column".into())
        }
        _ => Ok(()),
    }
}

fn valid_at(valid: Option<(&[u8], usize)>, i: usize) -> bool {
    valid.is_none_or(|(bits, at)| is_set(bits, at + i))
}

#[derive(Default)]
pub struct Vocab {
    data: Vec<u8>,
    ends: Vec<u32>, // where each code's string ends in `data` (it starts where the one before ends)
    tags: Vec<u32>, // each code's string's hash, its high 32 bits (the table's probes compare them first)
    slots: Vec<u32>, // 0: empty; else code + 1
    // the table's hash is `hash::keyed_hash` under the process's random key: the strings are log
    // texts (senders, hosts), so which of them share a probe sequence must not be choosable
    seed: crate::hash::Seed,
}

/// The table doubles when more than 3/4 of its slots are taken.
fn too_full(n: usize, slots: usize) -> bool {
    4 * n >= 3 * slots
}

/// Room for ``more`` items in ``v``, growing it by an eighth at least (not doubling: the
/// vocabulary's strings are most of its memory, and at most a ninth of them is spare).
fn reserve<T>(v: &mut Vec<T>, more: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 8).max(64));
    }
}

impl Vocab {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes held (strings, their ends, the table).
    pub fn nbytes(&self) -> usize {
        self.data.capacity() + 4 * self.ends.capacity() + 4 * self.tags.capacity() + 4 * self.slots.capacity()
    }

    /// The string of ``code`` (below `len`).
    pub fn word(&self, code: usize) -> &[u8] {
        let start = if code == 0 { 0 } else { self.ends[code - 1] as usize };
        &self.data[start..self.ends[code] as usize]
    }

    /// The code of ``s``, which is added (the next code) when not held yet; None when the
    /// vocabulary holds 2^31 - 1 strings already (codes are i32 for Python) or would hold over
    /// 4 GiB of text (the ends are u32; an Arrow string column holds 2 GiB).
    pub fn code(&mut self, s: &[u8]) -> Option<i64> {
        if self.slots.is_empty() || too_full(self.len() + 1, self.slots.len()) {
            self.grow();
        }
        let tag = (crate::hash::keyed_hash(&self.seed, s) >> 32) as u32;
        let mask = self.slots.len() - 1;
        let mut i = tag as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                let code = self.len();
                if code >= i32::MAX as usize || self.data.len() + s.len() > u32::MAX as usize {
                    return None;
                }
                reserve(&mut self.data, s.len());
                self.data.extend_from_slice(s);
                reserve(&mut self.ends, 1);
                self.ends.push(self.data.len() as u32);
                reserve(&mut self.tags, 1);
                self.tags.push(tag);
                self.slots[i] = code as u32 + 1;
                return Some(code as i64);
            }
            let code = slot as usize - 1;
            if self.tags[code] == tag && self.word(code) == s {
                return Some(code as i64);
            }
            i = (i + 1) & mask;
        }
    }

    /// Twice the slots (16 at first), every code put back by its string's hash bits.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let mask = size - 1;
        let mut slots = vec![0u32; size];
        for &slot in self.slots.iter().filter(|&&s| s != 0) {
            let mut i = self.tags[slot as usize - 1] as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = slot;
        }
        self.slots = slots;
    }

    /// The code of each row of ``col`` (-1 for a null one), new strings added in row order.
    pub fn encode(&mut self, col: &Column, valid: Option<(&[u8], usize)>) -> Result<Vec<i64>, String> {
        check_valid(valid, col.len())?;
        let mut out = Vec::with_capacity(col.len());
        for i in 0..col.len() {
            out.push(if valid_at(valid, i) { self.code(col.get(i)).ok_or_else(full)? } else { -1 });
        }
        Ok(out)
    }

    /// The code of each row of a dictionary column: ``indices`` (little-endian signed integers of
    /// ``width`` bytes, with their validity) into ``dict`` (with its own). A row's code is its
    /// value's, new values added in row order (as if the column were decoded first), each
    /// dictionary entry looked up once.
    pub fn encode_dict(&mut self, dict: &Column, dict_valid: Option<(&[u8], usize)>, indices: &[u8], width: usize,
                       valid: Option<(&[u8], usize)>) -> Result<Vec<i64>, String> {
        if !matches!(width, 1 | 2 | 4 | 8) || indices.len() % width != 0 {
            return Err("dictionary indices of 1, 2, 4 or 8 bytes".into());
        }
        let n = indices.len() / width;
        check_valid(valid, n)?;
        check_valid(dict_valid, dict.len())?;
        let mut known: Vec<Option<i64>> = vec![None; dict.len()];
        let mut out = Vec::with_capacity(n);
        for (i, raw) in indices.chunks_exact(width).enumerate() {
            if !valid_at(valid, i) {
                out.push(-1);
                continue;
            }
            let mut b = [if raw[width - 1] & 0x80 != 0 { 0xff } else { 0 }; 8];
            b[..width].copy_from_slice(raw);
            let at = usize::try_from(i64::from_le_bytes(b)).ok().filter(|&at| at < dict.len())
                .ok_or("a dictionary index out of range")?;
            let code = match known[at] {
                Some(c) => c,
                None => {
                    let c = if valid_at(dict_valid, at) { self.code(dict.get(at)).ok_or_else(full)? } else { -1 };
                    known[at] = Some(c);
                    c
                }
            };
            out.push(code);
        }
        Ok(out)
    }

    /// The strings of ``codes`` as an Arrow column: (offsets: i32, or i64 when ``wide``, the
    /// data over 2 GiB; data; wide), or an error for a code not held.
    pub fn take(&self, codes: &[i64]) -> Result<(Vec<u8>, Vec<u8>, bool), String> {
        let mut size: u64 = 0;
        for &c in codes {
            if c < 0 || c as u64 >= self.len() as u64 {
                return Err(format!("code {c} is not in the vocabulary"));
            }
            size += self.word(c as usize).len() as u64;
        }
        let wide = size > i32::MAX as u64;
        let mut data = Vec::with_capacity(size as usize);
        let mut offsets = Vec::with_capacity((codes.len() + 1) * if wide { 8 } else { 4 });
        let push = |o: usize, out: &mut Vec<u8>| if wide { out.extend_from_slice(&(o as i64).to_le_bytes()) } else { out.extend_from_slice(&(o as i32).to_le_bytes()) };
        push(0, &mut offsets);
        for &c in codes {
            data.extend_from_slice(self.word(c as usize));
            push(data.len(), &mut offsets);
        }
        Ok((offsets, data, wide))
    }
}

fn full() -> String {
    "a vocabulary of 2^31 - 1 strings or 4 GiB".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{strings, XorShift};

    fn col_bytes(values: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let (off, data) = strings(values);
        (off.iter().flat_map(|o| o.to_le_bytes()).collect(), data)
    }

    #[test]
    fn a_validity_bit_past_any_bitmap_is_an_error_not_a_wrap() {
        let bits = [0xffu8; 2];
        assert!(check_valid(Some((&bits, 0)), 16).is_ok());
        assert!(check_valid(Some((&bits, 1)), 16).is_err());
        assert!(check_valid(Some((&bits, usize::MAX)), 2).is_err());
        assert!(check_valid(Some((&bits, 2)), usize::MAX).is_err());
        assert!(check_valid(None, usize::MAX).is_ok());
    }

    #[test]
    fn codes_in_first_seen_order_nulls_apart() {
        let (off, data) = col_bytes(&["b", "a", "b", "", "c", "a"]);
        let col = Column::new(&off, &data, false).unwrap();
        let mut v = Vocab::new();
        // row 2 null (bit 2 clear)
        assert_eq!(v.encode(&col, Some((&[0b1111_1011], 0))).unwrap(), vec![0, 1, -1, 2, 3, 1]);
        assert_eq!(v.len(), 4);
        let (off2, data2) = col_bytes(&["c", "d", "b"]);
        assert_eq!(v.encode(&Column::new(&off2, &data2, false).unwrap(), None).unwrap(), vec![3, 4, 0]);
        let (o, d, wide) = v.take(&[4, 0, 2, 2]).unwrap();
        assert!(!wide);
        assert_eq!(d, b"db");
        assert_eq!(o, [0i32, 1, 2, 2, 2].iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>());
        assert!(v.take(&[5]).is_err());
        assert!(v.take(&[-1]).is_err());
    }

    #[test]
    fn wide_offsets_and_dictionaries() {
        let values = ["x", "yy", "x"];
        let mut off = vec![];
        let mut data = vec![];
        off.extend_from_slice(&0i64.to_le_bytes());
        for s in values {
            data.extend_from_slice(s.as_bytes());
            off.extend_from_slice(&(data.len() as i64).to_le_bytes());
        }
        let mut v = Vocab::new();
        assert_eq!(v.encode(&Column::new(&off, &data, true).unwrap(), None).unwrap(), vec![0, 1, 0]);
        // dictionary ["q", "yy", null, "z"] not in first-seen order; indices int16 [3, 1, 0, 3, 2, null]
        let (doff, ddata) = col_bytes(&["q", "yy", "", "z"]);
        let dict = Column::new(&doff, &ddata, false).unwrap();
        let idx: Vec<u8> = [3i16, 1, 0, 3, 2, 0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let got = v.encode_dict(&dict, Some((&[0b1011], 0)), &idx, 2, Some((&[0b01_1111], 0))).unwrap();
        assert_eq!(got, vec![2, 1, 3, 2, -1, -1]);
        assert!(v.encode_dict(&dict, None, &[4, 0, 0, 0], 4, None).is_err()); // index past the dictionary
        assert!(v.encode_dict(&dict, None, &[0xff], 1, None).is_err()); // negative index
    }

    #[test]
    fn decreasing_offsets_anywhere_are_errors_narrow_and_wide() {
        let narrow = |o: &[i32]| o.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let wide = |o: &[i64]| o.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let data = [b'x'; 64];
        for n in [2usize, 3, 17, 40] {
            let ok: Vec<i64> = (0..n as i64).map(|i| i.min(30)).collect(); // (equal offsets: empty strings)
            assert!(Column::new(&narrow(&ok.iter().map(|&x| x as i32).collect::<Vec<_>>()), &data, false).is_ok());
            assert!(Column::new(&wide(&ok), &data, true).is_ok());
            for at in 1..n {
                let mut bad = ok.clone();
                bad[at] = bad[at - 1] - 1;
                if bad[at] < 0 {
                    continue;
                }
                assert!(Column::new(&narrow(&bad.iter().map(|&x| x as i32).collect::<Vec<_>>()), &data, false).is_err());
                assert!(Column::new(&wide(&bad), &data, true).is_err());
            }
        }
    }

    #[test]
    fn bad_buffers_are_errors() {
        assert!(Column::new(&[0, 0, 0], b"", false).is_err());
        let off: Vec<u8> = [0i32, 3, 2].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert!(Column::new(&off, b"abc", false).is_err());
        let off: Vec<u8> = [0i32, 4].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert!(Column::new(&off, b"abc", false).is_err());
        let off: Vec<u8> = [-1i32, 1].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert!(Column::new(&off, b"abc", false).is_err());
        let off: Vec<u8> = [1i32, 3].iter().flat_map(|x| x.to_le_bytes()).collect();
        let col = Column::new(&off, b"abc", false).unwrap(); // a sliced column starts past zero
        let mut v = Vocab::new();
        assert_eq!(v.encode(&col, None).unwrap(), vec![0]);
        assert_eq!(v.word(0), b"bc");
        assert!(v.encode(&col, Some((&[], 0))).is_err());
    }

    #[test]
    fn many_strings_same_as_a_map() {
        // random strings over a small alphabet (many repeats, alike ones), in batches: the codes
        // are those of a HashMap assigning the next code to each new string
        let mut rng = XorShift(0x1234_5678);
        let mut v = Vocab::new();
        let mut map = std::collections::HashMap::new();
        for _ in 0..20 {
            let words: Vec<String> = (0..5000)
                .map(|_| match rng.next() % 2 {
                    0 => (0..(rng.next() % 6) as usize).map(|_| (b'a' + (rng.next() % 3) as u8) as char).collect(),
                    _ => format!("host{}.example", rng.next() % 50_000),
                })
                .collect();
            let refs: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
            let (off, data) = col_bytes(&refs);
            let got = v.encode(&Column::new(&off, &data, false).unwrap(), None).unwrap();
            for (w, c) in words.iter().zip(got) {
                let n = map.len() as i64;
                assert_eq!(*map.entry(w.clone()).or_insert(n), c);
            }
        }
        assert_eq!(v.len(), map.len());
        for (w, &c) in &map {
            assert_eq!(v.word(c as usize), w.as_bytes());
        }
    }
}
