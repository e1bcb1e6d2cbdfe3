//! 64-bit hashes of the values of an Arrow string column, by value: the keys of the
//! classification cache (`analyzer/class_cache.py`). The same bytes hash alike in any batch and
//! any process; a null hashes apart from every string (the empty one too). Linear in the bytes.

use crate::engine::Strings;

/// What a null hashes to.
pub const NULL: u64 = 0x9E37_79B9_7F4A_7C15;

/// Eight bytes at a time, each step a full-avalanche permutation of the state xor the word
/// (splitmix64's finaliser), then the length and the finaliser once more. Every step is a
/// bijection of the word for a given state and of the state for a given word, so two inputs of
/// the same length collide only by chance (about 2^-64 a pair), however alike their bytes: the
/// queue-id tables and the classification cache compare these hashes alone. (A multiply-rotate
/// step collided on alike strings: two pairs of e-mail addresses in a generated 10M-line day.)
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = mix(h ^ w);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = mix(h ^ u64::from_le_bytes(last));
    }
    mix(h ^ bytes.len() as u64)
}

/// splitmix64's finaliser: a bijection of u64 in which every input bit flips each output bit
/// with probability about one half.
#[inline]
fn mix(mut h: u64) -> u64 {
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
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
    fn alike_addresses_do_not_collide() {
        // the peers' 'host [ip] sender' keys of a generated day: the multiply-rotate step gave
        // collisions among these (e.g. "... omar9@gmail.test" / "... uma21@gmail.test")
        let mut seen = std::collections::HashMap::new();
        let names = ["omar", "uma", "li", "ana", "jo", "eve", "kim", "raj", "zoe", "max", "ivy", "sam"];
        for ip in 100..164 {
            for a in names {
                for j in 0..100 {
                    let s = format!("bounce.tailspin-group.example [198.51.100.{ip}] {a}{j}@gmail.test");
                    if let Some(prev) = seen.insert(hash_bytes(s.as_bytes()), s.clone()) {
                        assert_eq!(prev, s, "collision");
                    }
                }
            }
        }
        assert_eq!(seen.len(), 64 * 12 * 100);
    }

    #[test]
    fn the_same_in_any_batch() {
        let (off, data) = strings(&["x", "250 2.0.0 Ok", "y"]);
        let whole = hash_column(Strings { offsets: &off, data: &data }, None);
        let (off2, data2) = strings(&["250 2.0.0 Ok"]);
        assert_eq!(hash_column(Strings { offsets: &off2, data: &data2 }, None)[0], whole[1]);
    }
}
