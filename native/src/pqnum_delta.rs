//! DELTA_BINARY_PACKED v1 data pages of integers (the event table's line numbers always; Exim's
//! pids, ports and sizes where a dictionary would not pay), beside `pqnum.rs`'s dictionary and
//! PLAIN pages: Arrow's writer made these chunks in a Parquet file of their own for every row
//! group (bench/RESULTS.md, r28-pqout). The encoding as the format's spec gives it and as
//! Arrow's `DeltaBitPackEncoder` writes it: a page's valid values as a header (blocks of 256
//! values for INT64, 128 for INT32, each of 4 miniblocks, the values' count, the first value as a zigzag varint),
//! then each block of the deltas between neighbours: its least delta (zigzag varint), the 4
//! miniblocks' bit widths (a byte each; 0 for a miniblock past the page's last value) and the
//! miniblocks, each delta less the least one bit-packed LSB first, a short last miniblock
//! padded with zeros to its length. Deltas wrap in the column's width (INT32 or INT64), as
//! Arrow's do. A page without values repeats the first value of the chunk's page before it
//! (Arrow's encoder keeps it). Linear in the rows.

use crate::pqdict::put_varint;

const BLOCK: usize = 256; // (INT64's; INT32's is half)
const MINIS: usize = 4;

/// One column chunk's pages of deltas, a page at a time: [`Delta::put`] each valid value of
/// the page, then [`Delta::page`].
pub struct Delta {
    wide: bool, // INT64 (else INT32: deltas wrap at 32 bits)
    block: usize, // values a block
    deltas: [i64; BLOCK],
    n: usize, // deltas in the block so far
    count: u64,
    first: i64,
    last: i64,
    blocks: Vec<u8>,
}

impl Delta {
    pub fn new(wide: bool) -> Delta {
        Delta { wide, block: if wide { BLOCK } else { BLOCK / 2 }, deltas: [0; BLOCK], n: 0, count: 0, first: 0, last: 0, blocks: Vec::new() }
    }

    /// The next valid value (an INT32's sign-extended).
    #[inline(always)]
    pub fn put(&mut self, v: i64) {
        if self.count == 0 {
            self.first = v;
        } else {
            self.deltas[self.n] = if self.wide { v.wrapping_sub(self.last) } else { (v as i32).wrapping_sub(self.last as i32) as i64 };
            self.n += 1;
            if self.n == self.block {
                self.block();
            }
        }
        self.last = v;
        self.count += 1;
    }

    /// Bytes of the blocks written so far (what Arrow's writer weighs a page by).
    pub fn bytes(&self) -> usize {
        self.blocks.len()
    }

    fn block(&mut self) {
        let (n, size) = (self.n, self.block / MINIS);
        let least = self.deltas[..n].iter().copied().fold(i64::MAX, i64::min);
        let least = if n == 0 { 0 } else { least };
        // (a short block padded with its least delta: frames of 0, what the spec pads with)
        self.deltas[n..self.block].fill(least);
        put_varint(&mut self.blocks, zigzag(least));
        let widths_at = self.blocks.len();
        self.blocks.extend_from_slice(&[0u8; MINIS]);
        for i in 0..n.div_ceil(size) {
            let mini = &self.deltas[i * size..(i + 1) * size];
            let frame = |x: i64| (x as u64).wrapping_sub(least as u64);
            // (the bits of every frame or'ed: as wide as the largest)
            let width = 64 - mini.iter().fold(0u64, |a, &x| a | frame(x)).leading_zeros() as usize;
            self.blocks[widths_at + i] = width as u8;
            if width == 0 {
                continue;
            }
            self.blocks.reserve(size * width / 8);
            let (mut acc, mut bits) = (0u64, 0usize);
            for &x in mini {
                let f = frame(x);
                acc |= f << bits;
                bits += width;
                if bits >= 64 {
                    self.blocks.extend_from_slice(&acc.to_le_bytes());
                    bits -= 64;
                    // (the frame's bits that did not fit)
                    acc = if bits == 0 { 0 } else { f >> (width - bits) };
                }
            }
            self.blocks.extend_from_slice(&acc.to_le_bytes()[..bits / 8]); // (32 or 64 x width bits: whole bytes)
        }
        self.n = 0;
    }

    /// The page's encoded values (header, then blocks); the next page starts afresh.
    pub fn page(&mut self) -> Vec<u8> {
        if self.n > 0 {
            self.block();
        }
        let mut out = Vec::with_capacity(24 + self.blocks.len());
        put_varint(&mut out, self.block as u64);
        put_varint(&mut out, MINIS as u64);
        put_varint(&mut out, self.count);
        put_varint(&mut out, zigzag(self.first));
        out.append(&mut self.blocks);
        self.count = 0;
        out
    }
}

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent reader of one page's values (the spec's layout, bit by bit).
    fn decode(page: &[u8], wide: bool) -> (Vec<i64>, usize) {
        let mut at = 0;
        let varint = |at: &mut usize| {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let b = page[*at];
                *at += 1;
                v |= ((b & 0x7f) as u64) << shift;
                if b < 0x80 {
                    return v;
                }
                shift += 7;
            }
        };
        let unzig = |z: u64| ((z >> 1) as i64) ^ -((z & 1) as i64);
        let (block, minis, count) = (varint(&mut at) as usize, varint(&mut at) as usize, varint(&mut at) as usize);
        assert_eq!((block, minis), (if wide { 256 } else { 128 }, 4));
        let mini = block / minis;
        let mut out = vec![unzig(varint(&mut at))];
        if count == 0 {
            return (vec![], at);
        }
        while out.len() < count {
            let least = unzig(varint(&mut at));
            let widths: Vec<usize> = page[at..at + minis].iter().map(|&w| w as usize).collect();
            at += minis;
            for w in widths {
                if out.len() >= count {
                    break; // (no bytes for a miniblock past the last value)
                }
                let mut bit = at * 8;
                for _ in 0..mini {
                    let mut x = 0u64;
                    for k in 0..w {
                        x |= (((page[bit / 8] >> (bit % 8)) & 1) as u64) << k;
                        bit += 1;
                    }
                    if out.len() < count {
                        let prev = *out.last().unwrap();
                        let next = if wide {
                            prev.wrapping_add(least).wrapping_add(x as i64)
                        } else {
                            (prev as i32).wrapping_add(least as i32).wrapping_add(x as i32) as i64
                        };
                        out.push(next);
                    }
                }
                at += mini / 8 * w;
            }
        }
        (out, at)
    }

    fn pages_of(values: &[i64], wide: bool) -> Vec<Vec<i64>> {
        let mut d = Delta::new(wide);
        let mut got = vec![];
        for chunk in values.chunks(600) {
            chunk.iter().for_each(|&v| d.put(v));
            let page = d.page();
            let (vals, end) = decode(&page, wide);
            assert_eq!(end, page.len(), "the page is read to its last byte");
            got.push(vals);
        }
        got
    }

    #[test]
    fn values_read_back_across_blocks_widths_and_wraps() {
        let mut rng = crate::testutil::XorShift(0x9E37_79B9_7F4A_7C15);
        let mut next = move || rng.next();
        for len in [1usize, 2, 63, 64, 65, 255, 256, 257, 258, 513, 600, 2000] {
            for spread in [0u32, 1, 7, 31, 32, 63, 64] {
                let wide: Vec<i64> = (0..len).map(|_| if spread == 0 { 5 } else { (next() >> (64 - spread)) as i64 }).collect();
                let expect: Vec<Vec<i64>> = wide.chunks(600).map(|c| c.to_vec()).collect();
                assert_eq!(pages_of(&wide, true), expect, "int64 len {len} spread {spread}");
                let narrow: Vec<i64> = wide.iter().map(|&v| v as i32 as i64).collect();
                let expect: Vec<Vec<i64>> = narrow.chunks(600).map(|c| c.to_vec()).collect();
                assert_eq!(pages_of(&narrow, false), expect, "int32 len {len} spread {spread}");
            }
        }
        let extremes = [i64::MIN, i64::MAX, 0, -1, i64::MIN, 1, i64::MAX];
        assert_eq!(pages_of(&extremes, true), vec![extremes.to_vec()]);
        let extremes32: Vec<i64> = [i32::MIN, i32::MAX, 0, -1, i32::MIN].iter().map(|&v| v as i64).collect();
        assert_eq!(pages_of(&extremes32, false), vec![extremes32.clone()]);
    }

    #[test]
    fn a_run_of_ones_is_narrow_and_a_page_without_values_keeps_the_first() {
        let mut d = Delta::new(true);
        (1..=400).for_each(|v| d.put(v));
        let page = d.page();
        // header 256, 4, 400, zigzag(1) = 2; blocks of deltas all 1: least 1, widths 0, no miniblock bytes
        assert_eq!(&page[..6], &[0x80, 0x02, 4, 0x90, 0x03, 2]);
        assert_eq!(page.len(), 6 + 2 * (1 + 4));
        let empty = d.page();
        assert_eq!(empty, vec![0x80, 0x02, 4, 0, 2]); // (Arrow's: the first value stays)
    }
}
