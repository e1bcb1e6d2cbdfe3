//! Two Arrow columns of one type put together in a given row order: the rows the native readers
//! read whole and the rows the pattern engine matched, into one event table in line order
//! (`analyzer/parsers/order.py`). A run of consecutive rows of one side is copied as one piece
//! (string bytes by one `memcpy`, offsets rebased), where a gather by row indices (Arrow's
//! `take`) looks every cell up on its own.

/// One side's column: Arrow buffers as they are, the array's `offset` and `len`.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// LSB-first bitmap (bit `offset + i`: row `i` is valid), None: no nulls
    pub validity: Option<&'a [u8]>,
    /// i32 offsets for strings, a bitmap for booleans, the values otherwise
    pub values: &'a [u8],
    /// string bytes (empty otherwise)
    pub data: &'a [u8],
    pub offset: usize,
    pub len: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    Str,
    Bool,
    /// fixed width in bytes: 1, 2, 4 or 8
    Fixed(usize),
}

/// The column put together: validity bitmap, null count, values (offsets, bitmap or values), data.
pub struct Out {
    pub validity: Vec<u8>,
    pub nulls: usize,
    pub values: Vec<u8>,
    pub data: Vec<u8>,
}

/// Runs of `from_b` (per output row: 0 = next row of a, else next row of b): (from b, first row
/// of that side, rows).
pub fn runs(from_b: &[u8]) -> Vec<(bool, usize, usize)> {
    let mut out: Vec<(bool, usize, usize)> = Vec::new();
    let (mut na, mut nb) = (0usize, 0usize);
    for &f in from_b {
        let b = f != 0;
        match out.last_mut() {
            Some(r) if r.0 == b => r.2 += 1,
            _ => out.push((b, if b { nb } else { na }, 1)),
        }
        if b {
            nb += 1;
        } else {
            na += 1;
        }
    }
    out
}

/// OR bits `s..s + len` of `src` (all ones when None) into bits `d..d + len` of `dst`, up to a
/// byte at a time.
fn copy_bits(dst: &mut [u8], mut d: usize, src: Option<&[u8]>, mut s: usize, mut len: usize) {
    while len > 0 {
        let take = len.min(8 - (d & 7));
        let mask = ((1u16 << take) - 1) as u8;
        let bits = match src {
            None => mask,
            Some(src) => {
                let lo = u16::from(src[s >> 3]);
                let hi = src.get((s >> 3) + 1).map_or(0, |&b| u16::from(b));
                ((((hi << 8) | lo) >> (s & 7)) as u8) & mask
            }
        };
        dst[d >> 3] |= bits << (d & 7);
        d += take;
        s += take;
        len -= take;
    }
}

fn check(layout: Layout, s: &Side) -> Result<(), String> {
    let end = s.offset.checked_add(s.len).ok_or("side too long")?;
    if let Some(v) = s.validity {
        if v.len() * 8 < end {
            return Err("validity bitmap shorter than the column".into());
        }
    }
    let need = match layout {
        Layout::Str => (end + 1) * 4,
        Layout::Bool => end.div_ceil(8),
        Layout::Fixed(w) => end * w,
    };
    if s.values.len() < need {
        return Err("values buffer shorter than the column".into());
    }
    Ok(())
}

fn off(values: &[u8], i: usize) -> i32 {
    let c = &values[i * 4..i * 4 + 4];
    i32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

/// Put `a` and `b` together in the order of `runs` (from [`runs`]).
pub fn interleave(layout: Layout, runs: &[(bool, usize, usize)], a: Side, b: Side) -> Result<Out, String> {
    check(layout, &a)?;
    check(layout, &b)?;
    let (ta, tb) = runs.iter().fold((0, 0), |(x, y), r| if r.0 { (x, y + r.2) } else { (x + r.2, y) });
    if ta != a.len || tb != b.len {
        return Err("the row order does not match the two columns' lengths".into());
    }
    let n = a.len + b.len;
    let mut validity = vec![0u8; n.div_ceil(8)];
    let (mut values, mut data) = match layout {
        Layout::Str => {
            let size = [a, b].iter().map(|s| (off(s.values, s.offset + s.len) - off(s.values, s.offset)).max(0) as usize).sum();
            let mut v = Vec::with_capacity((n + 1) * 4);
            v.extend_from_slice(&0i32.to_le_bytes());
            (v, Vec::with_capacity(size))
        }
        Layout::Bool => (vec![0u8; n.div_ceil(8)], Vec::new()),
        Layout::Fixed(w) => (Vec::with_capacity(n * w), Vec::new()),
    };
    let mut row = 0usize;
    for &(from_b, start, len) in runs {
        let s = if from_b { b } else { a };
        let first = s.offset + start;
        copy_bits(&mut validity, row, s.validity, first, len);
        match layout {
            Layout::Str => {
                let lo = off(s.values, first);
                let hi = off(s.values, first + len);
                if lo < 0 || hi < lo || hi as usize > s.data.len() {
                    return Err("string offsets outside the data".into());
                }
                let base = data.len() as i64 - i64::from(lo);
                let mut prev = lo;
                for i in 1..=len {
                    let o = off(s.values, first + i);
                    if o < prev || o > hi {
                        return Err("string offsets out of order".into());
                    }
                    prev = o;
                    let rebased = i64::from(o) + base;
                    if rebased > i64::from(i32::MAX) {
                        return Err("the column's text exceeds 2 GiB".into());
                    }
                    values.extend_from_slice(&(rebased as i32).to_le_bytes());
                }
                data.extend_from_slice(&s.data[lo as usize..hi as usize]);
            }
            Layout::Bool => copy_bits(&mut values, row, Some(s.values), first, len),
            Layout::Fixed(w) => values.extend_from_slice(&s.values[first * w..(first + len) * w]),
        }
        row += len;
    }
    let nulls = n - validity.iter().map(|b| b.count_ones() as usize).sum::<usize>();
    Ok(Out { validity, nulls, values, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strings;

    fn side<'a>(values: &'a [u8], data: &'a [u8], validity: Option<&'a [u8]>, offset: usize, len: usize) -> Side<'a> {
        Side { validity, values, data, offset, len }
    }

    #[test]
    fn runs_count_each_side() {
        assert_eq!(runs(&[0, 0, 1, 0, 1, 1]), vec![(false, 0, 2), (true, 0, 1), (false, 2, 1), (true, 1, 2)]);
        assert!(runs(&[]).is_empty());
    }

    #[test]
    fn strings_in_order_with_nulls_and_offsets() {
        let (ao, ad) = strings(&["x", "a1", "a2"]);
        let (bo, bd) = strings(&["b1", "", "b3"]);
        let ao: Vec<u8> = ao.iter().flat_map(|o| o.to_le_bytes()).collect();
        let bo: Vec<u8> = bo.iter().flat_map(|o| o.to_le_bytes()).collect();
        // a: rows 1..3 of its buffers (offset 1); b: its second row null
        let a = side(&ao, &ad, None, 1, 2);
        let b = side(&bo, &bd, Some(&[0b101]), 0, 3);
        let r = runs(&[1, 0, 1, 1, 0]);
        let out = interleave(Layout::Str, &r, a, b).unwrap();
        let offs: Vec<i32> = out.values.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        assert_eq!(out.data, b"b1a1b3a2");
        assert_eq!(offs, vec![0, 2, 4, 4, 6, 8]);
        assert_eq!((out.validity, out.nulls), (vec![0b11011], 1));
    }

    #[test]
    fn fixed_and_bool() {
        let a: Vec<u8> = [1i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        let b: Vec<u8> = [7i32].iter().flat_map(|v| v.to_le_bytes()).collect();
        let r = runs(&[0, 1, 0]);
        let out = interleave(Layout::Fixed(4), &r, side(&a, &[], None, 0, 2), side(&b, &[], None, 0, 1)).unwrap();
        assert_eq!(out.values, [1i32, 7, 2].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
        let out = interleave(Layout::Bool, &r, side(&[0b10], &[], None, 0, 2), side(&[0b1], &[], None, 0, 1)).unwrap();
        assert_eq!(out.values, vec![0b110]);
    }

    #[test]
    fn bits_at_any_offset() {
        let mut rng = crate::testutil::XorShift(7);
        for _ in 0..500 {
            let src: Vec<u8> = (0..6).map(|_| rng.next() as u8).collect();
            let (s, d) = ((rng.next() % 20) as usize, (rng.next() % 20) as usize);
            let len = (rng.next() % 28) as usize;
            let mut dst = vec![0u8; 7];
            copy_bits(&mut dst, d, Some(&src), s, len);
            for i in 0..56 {
                let want = i >= d && i < d + len && src[(s + i - d) >> 3] >> ((s + i - d) & 7) & 1 == 1;
                assert_eq!(dst[i >> 3] >> (i & 7) & 1 == 1, want, "s={s} d={d} len={len} bit {i}");
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let r = runs(&[0, 1]);
        assert!(interleave(Layout::Fixed(8), &r, side(&[0; 4], &[], None, 0, 1), side(&[0; 8], &[], None, 0, 1)).is_err());
        let bad: Vec<u8> = [0i32, 9].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(interleave(Layout::Str, &r, side(&bad, b"ab", None, 0, 1), side(&bad, b"abcdefghij", None, 0, 1)).is_err());
        assert!(interleave(Layout::Fixed(1), &runs(&[0]), side(&[1], &[], None, 0, 1), side(&[2], &[], None, 0, 1)).is_err());
    }
}
