//! 64-bit hashes of the values of an Arrow string column, by value: the keys of the
//! classification cache (`analyzer/class_cache.py`). The same bytes hash alike in any batch and
//! any process; a null hashes apart from every string (the empty one too). Linear in the bytes.

use crate::engine::Strings;

/// What a null hashes to.
pub const NULL: u64 = 0x9E37_79B9_7F4A_7C15;

/// Eight bytes at a time (multiply, rotate), the length, then a 64-bit finaliser (splitmix64's)
/// so that every bit mixes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9fb2_1c65_1e98_df25;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(last)).wrapping_mul(K).rotate_left(29);
    }
    h ^= bytes.len() as u64;
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// One hash per row; ``valid``: Arrow's validity bitmap (LSB first, 1 = valid) and the bit of
/// the column's first row, or None when no row is null.
pub fn hash_column(col: Strings, valid: Option<(&[u8], usize)>) -> Vec<u64> {
    (0..col.len())
        .map(|i| match valid {
            Some((bits, at)) if !is_set(bits, at + i) => NULL,
            _ => hash_bytes(col.get(i)),
        })
        .collect()
}

pub fn is_set(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_none_or(|b| b & (1 << (i % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strings;

    #[test]
    fn equal_values_hash_alike_and_nulls_apart() {
        let (off, data) = strings(&["ab", "", "ab", "ba", "a"]);
        let col = Strings { offsets: &off, data: &data };
        let h = hash_column(col, Some((&[0b1111_0000, 0b0000], 4)));
        assert_eq!(h[0], h[2]);
        assert_ne!(h[0], h[3]);
        assert_ne!(h[1], NULL);
        assert_eq!(h[4], NULL);
        assert_eq!(hash_column(col, None)[4], hash_bytes(b"a"));
        // lengths that end inside a word, and bytes past the length, do not collide
        assert_ne!(hash_bytes(b"abcdefgh"), hash_bytes(b"abcdefgh\0"));
        assert_ne!(hash_bytes(b"abcdefghi"), hash_bytes(b"abcdefghj"));
    }

    #[test]
    fn the_same_in_any_batch() {
        let (off, data) = strings(&["x", "250 2.0.0 Ok", "y"]);
        let whole = hash_column(Strings { offsets: &off, data: &data }, None);
        let (off2, data2) = strings(&["250 2.0.0 Ok"]);
        assert_eq!(hash_column(Strings { offsets: &off2, data: &data2 }, None)[0], whole[1]);
    }
}
