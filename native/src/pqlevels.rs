//! The definition levels of a v1 data page (0 a null row, 1 a value; a 4-byte length, then the
//! RLE / bit-packed hybrid of width 1) made from Arrow's validity bitmaps a byte at a time, not
//! a row at a time: the rows' bits gathered into one bitmap (64 bits a step), whose bytes are
//! bit-packed groups of eight levels as they are; runs of whole bytes all valid or all null
//! become RLE runs. Linear in the rows / 8.

use crate::pqdict::{put_varint, Rows, GROUPS};

/// Levels of the rows of a column chunk's arrays, by the chunk's row numbers.
pub struct Levels<'a> {
    chunks: Vec<(usize, Rows<'a>)>, // (each array's first row in the chunk, its rows)
}

impl<'a> Levels<'a> {
    /// Bitmaps checked by the caller (`Rows::check`).
    pub fn new(rows: impl Iterator<Item = Rows<'a>>) -> Levels<'a> {
        let mut at = 0;
        Levels {
            chunks: rows
                .map(|r| {
                    at += r.len;
                    (at - r.len, r)
                })
                .collect(),
        }
    }

    /// The levels of rows `from..to`, length-prefixed, appended to `out`.
    pub fn put(&self, from: usize, to: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0u8; 4]);
        let n = to - from;
        let mine = self.chunks.iter().filter(|(s, r)| *s < to && s + r.len > from);
        if mine.clone().all(|(_, r)| r.valid.is_none()) {
            if n > 0 {
                put_varint(out, (n as u64) << 1);
                out.push(1);
            }
        } else {
            let mut bits = vec![0u8; n.div_ceil(8) + 8];
            for &(s, r) in mine {
                let (a, b) = (from.max(s), to.min(s + r.len)); // (rows of this array in the range)
                match r.valid {
                    None => set_ones(&mut bits, a - from, b - a),
                    Some((src, at)) => copy_bits(&mut bits, a - from, src, at + (a - s), b - a),
                }
            }
            bits.truncate(n.div_ceil(8));
            hybrid_bits(&bits, out);
        }
        let len = (out.len() - start - 4) as u32;
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// A v1 data page's body: the levels of rows `from..to`, then `values`.
pub fn page_body(levels: &Levels, from: usize, to: usize, values: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + (to - from) / 8 + values.len());
    levels.put(from, to, &mut out);
    out.extend_from_slice(values);
    out
}

/// Bits `to..to + n` of `dst` set (they are clear).
fn set_ones(dst: &mut [u8], mut to: usize, mut n: usize) {
    while n > 0 && to % 8 != 0 {
        dst[to / 8] |= 1 << (to % 8);
        to += 1;
        n -= 1;
    }
    if n == 0 {
        return;
    }
    dst[to / 8..(to + n) / 8].fill(0xFF);
    for i in (to + n) / 8 * 8..to + n {
        dst[i / 8] |= 1 << (i % 8);
    }
}

/// Bits `from..from + n` of `src` ORed into bits `to..to + n` of `dst` (clear; 8 bytes of room past them).
fn copy_bits(dst: &mut [u8], to: usize, src: &[u8], from: usize, n: usize) {
    let mut done = 0;
    while done < n {
        let take = (n - done).min(56);
        let (s, d) = (from + done, to + done);
        // (up to 8 bytes of src from byte s / 8, fewer at its end)
        let mut word = [0u8; 8];
        let end = (s / 8 + 8).min(src.len());
        word[..end - s / 8].copy_from_slice(&src[s / 8..end]);
        let v = (u64::from_le_bytes(word) >> (s % 8)) & ((1u64 << take) - 1);
        let mut cur = [0u8; 8];
        cur.copy_from_slice(&dst[d / 8..d / 8 + 8]);
        let merged = u64::from_le_bytes(cur) | (v << (d % 8));
        dst[d / 8..d / 8 + 8].copy_from_slice(&merged.to_le_bytes());
        done += take;
    }
}

/// `bits` (levels, LSB first, the last byte's high bits clear) in the hybrid of width 1: runs of
/// two or more whole bytes 0x00 or 0xFF as RLE runs, the other bytes as bit-packed groups.
fn hybrid_bits(bits: &[u8], out: &mut Vec<u8>) {
    let n = bits.len();
    let (mut p, mut lit) = (0, 0);
    while p < n {
        // (eight bytes none of which is 0x00 or 0xFF start no run: passed over at once)
        if let Some(w) = bits.get(p..p + 8) {
            let w = u64::from_le_bytes(w.try_into().unwrap());
            if !zero_byte(w) && !zero_byte(!w) {
                p += 8;
                continue;
            }
        }
        let b = bits[p];
        let mut r = p + 1;
        if b == 0 || b == 0xFF {
            while r < n && bits[r] == b && r + 1 < n {
                r += 1; // (the last byte, maybe part of a byte, stays in a bit-packed group)
            }
        }
        if r - p >= 2 {
            literal(&bits[lit..p], out);
            put_varint(out, ((r - p) as u64 * 8) << 1);
            out.push(b & 1);
            lit = r;
        }
        p = r;
    }
    literal(&bits[lit..n], out);
}

/// Whether a byte of `x` is zero.
#[inline]
fn zero_byte(x: u64) -> bool {
    x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080 != 0
}

fn literal(groups: &[u8], out: &mut Vec<u8>) {
    for run in groups.chunks(GROUPS) {
        put_varint(out, ((run.len() as u64) << 1) | 1);
        out.extend_from_slice(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pqdict::tests::decode;
    use crate::testutil::XorShift;

    #[test]
    fn levels_read_back_for_any_bitmaps_offsets_and_ranges() {
        let mut rng = XorShift(0x1234_5678);
        for case in 0..400 {
            let arrays = 1 + rng.next() % 4;
            let mut owned = Vec::new();
            for _ in 0..arrays {
                let len = (rng.next() % 200) as usize;
                let at = (rng.next() % 20) as usize;
                let mode = rng.next() % 4; // all valid (no bitmap), runs, random, all null
                let bits: Vec<u8> = (0..(at + len).div_ceil(8) + (rng.next() % 2) as usize)
                    .map(|i| match mode {
                        1 => if (i / 3) % 2 == 0 { 0xFF } else { 0 },
                        2 => rng.next() as u8,
                        _ => 0,
                    })
                    .collect();
                owned.push((len, at, mode, bits));
            }
            let rows: Vec<Rows> = owned
                .iter()
                .map(|(len, at, mode, bits)| Rows { len: *len, valid: (*mode != 0).then_some((&bits[..], *at)) })
                .collect();
            let want: Vec<u32> = rows.iter().flat_map(|r| (0..r.len).map(move |i| r.is_valid(i) as u32)).collect();
            let total = want.len();
            let from = if total > 0 { (rng.next() as usize) % (total + 1) } else { 0 };
            let to = from + if total > from { (rng.next() as usize) % (total - from + 1) } else { 0 };
            let mut out = vec![9u8]; // (appended after what is there)
            Levels::new(rows.iter().copied()).put(from, to, &mut out);
            let len = u32::from_le_bytes(out[1..5].try_into().unwrap()) as usize;
            assert_eq!(len, out.len() - 5, "case {case}");
            assert_eq!(decode(&out[5..], 1, to - from), want[from..to].to_vec(), "case {case}");
        }
    }

    #[test]
    fn a_zero_byte_is_told_at_any_place() {
        let mut rng = XorShift(0x2E40);
        for _ in 0..2000 {
            let mut b = (rng.next() as u64).to_le_bytes();
            for x in b.iter_mut() {
                if rng.next() % 6 == 0 {
                    *x = [0u8, 1, 0x80, 0xFF][(rng.next() % 4) as usize];
                }
            }
            assert_eq!(zero_byte(u64::from_le_bytes(b)), b.contains(&0), "{b:?}");
        }
    }

    #[test]
    fn whole_bytes_alike_are_rle_runs() {
        let bits = [0xFFu8; 40];
        let rows = [Rows { len: 300, valid: Some((&bits[..], 4)) }];
        let mut out = Vec::new();
        Levels::new(rows.iter().copied()).put(0, 300, &mut out);
        assert!(out.len() < 12, "{out:?}");
    }
}
