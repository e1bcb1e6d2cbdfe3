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

/// A per-process random key for [`keyed_hash`] (drawn once, from the standard library's
/// `RandomState`): the folds' group indexes place their keys by it, so that which log texts
/// share a bucket cannot be known, nor chosen, from outside.
#[derive(Clone, Copy)]
pub struct Seed([u64; 3]);

impl Default for Seed {
    fn default() -> Seed {
        static SEED: std::sync::OnceLock<[u64; 3]> = std::sync::OnceLock::new();
        Seed(*SEED.get_or_init(|| {
            use std::hash::BuildHasher;
            let r = std::collections::hash_map::RandomState::new();
            [r.hash_one(1u64), r.hash_one(2u64), r.hash_one(3u64) | 1]
        }))
    }
}

/// The 128-bit product of two words folded to 64 bits (high xor low).
#[inline]
pub fn fold_mul(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline(always)]
fn word(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("eight bytes"))
}

/// A keyed hash of `bytes` for an in-memory index (never stored, shown or compared across
/// processes: [`hash_bytes`] is that one): sixteen bytes a step, one folded multiply of the
/// state mixed with both words and the key (as foldhash and wyhash build theirs), the length in
/// the start state. About five times fewer cycles a byte than [`hash_bytes`] on the folds' ~150-byte
/// group keys. Without the key, the state each word meets is unknown, so inputs that collide
/// cannot be built from outside as they can for an unkeyed hash; [`KeyIndex`] compares the keys
/// themselves anyway, so a collision costs time, never a wrong group.
#[inline]
pub fn keyed_hash(seed: &Seed, bytes: &[u8]) -> u64 {
    let [k0, k1, k2] = seed.0;
    let s = keyed_words(seed, k0 ^ (bytes.len() as u64).wrapping_mul(k2), bytes);
    fold_mul(s ^ k1, k2)
}

/// [`keyed_hash`]'s steps over `bytes` from the state `s` (which holds the length).
#[inline(always)]
fn keyed_words(seed: &Seed, mut s: u64, bytes: &[u8]) -> u64 {
    let [_, k1, k2] = seed.0;
    let n = bytes.len();
    if n > 16 {
        let mut i = 0;
        while i + 16 < n {
            s = fold_mul(word(&bytes[i..]) ^ s, word(&bytes[i + 8..]) ^ k1);
            i += 16;
        }
        // the last sixteen bytes, over the step before's where the length is no multiple of 16
        // (the length is in the start state: the bytes read are a function of the key and
        // determine it), with no copy into a padded word
        s = fold_mul(word(&bytes[n - 16..]) ^ s, word(&bytes[n - 8..]) ^ k2);
    } else if n >= 8 {
        s = fold_mul(word(bytes) ^ s, word(&bytes[n - 8..]) ^ k2);
    } else if n >= 4 {
        let half = |b: &[u8]| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        s = fold_mul((half(bytes) << 32 | half(&bytes[n - 4..])) ^ s, k2);
    } else if n > 0 {
        let v = u64::from(bytes[0]) << 16 | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]);
        s = fold_mul(v ^ s, k2);
    }
    s
}

/// One value of a key hashed onto the state `s` of the values before it ([`keyed_hash`]'s
/// steps, the value's length, or a null, in the state first): a key of several values hashed
/// as they are read, with no buffer they are copied into first (`fold.rs`'s groups).
#[inline(always)]
pub fn keyed_step(seed: &Seed, s: u64, v: Option<&[u8]>) -> u64 {
    let [k0, _, k2] = seed.0;
    match v {
        None => fold_mul(s ^ k0, k2),
        Some(bytes) => keyed_words(seed, s ^ (bytes.len() as u64 + 1).wrapping_mul(k2), bytes),
    }
}

/// Things numbered in order of first sight by a hash and an equality the caller gives (a
/// [`KeyIndex`] without the keys' bytes: the folds' groups, told apart by comparing a row with
/// its group's first row). Open-addressed as [`KeyIndex`]: a slot holds the hash's high half
/// and the number + 1.
pub struct Numbering {
    slots: Vec<u64>,
    hashes: Vec<u64>,
}

impl Numbering {
    /// Room for `n` things.
    pub fn with_capacity(n: usize) -> Numbering {
        Numbering { slots: vec![0; (2 * n).next_power_of_two().max(16)], hashes: Vec::with_capacity(n) }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The number of the thing whose hash is `h` and for whose number `same` is true, and
    /// whether it is new (then numbered next: `same` was false for every number of its hash).
    #[inline]
    pub fn number(&mut self, h: u64, mut same: impl FnMut(u32) -> bool) -> (u32, bool) {
        let mask = self.slots.len() - 1;
        let tag = h >> 32;
        let mut at = h as usize & mask;
        loop {
            let s = self.slots[at];
            if s == 0 {
                break;
            }
            if s >> 32 == tag {
                let k = s as u32 - 1;
                if same(k) {
                    return (k, false);
                }
            }
            at = (at + 1) & mask;
        }
        let new = self.hashes.len();
        self.slots[at] = tag << 32 | (new as u64 + 1);
        self.hashes.push(h);
        if 2 * self.hashes.len() > self.slots.len() {
            self.slots = regrown(&self.hashes, 2 * self.slots.len());
        }
        (new as u32, true)
    }
}

/// A table of `n` slots with the things of `hashes` placed again in order of number (each in
/// the first free slot from its place, as when it came).
fn regrown(hashes: &[u64], n: usize) -> Vec<u64> {
    let mask = n - 1;
    let mut slots = vec![0u64; n];
    for (k, &h) in hashes.iter().enumerate() {
        let mut at = h as usize & mask;
        while slots[at] != 0 {
            at = (at + 1) & mask;
        }
        slots[at] = (h >> 32) << 32 | (k as u64 + 1);
    }
    slots
}

impl Seed {
    /// Word `i` (0-2) of the key, for a caller that mixes its own words with it.
    #[inline]
    pub fn word(&self, i: usize) -> u64 {
        self.0[i]
    }

    /// A word placed by the key (a table's bucket of a key that is an unkeyed hash already,
    /// or a pair of small codes): which words share a bucket cannot be chosen from outside.
    #[inline]
    pub fn scramble(&self, v: u64) -> u64 {
        fold_mul(v ^ self.0[0], self.0[2])
    }
}

/// The hasher of map keys that are [`keyed_hash`]es already (their own bucket position).
#[derive(Default)]
pub struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = keyed_hash(&Seed::default(), bytes);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Distinct byte strings numbered in order of first sight (the folds' groups): each key hashed
/// once ([`keyed_hash`]) and placed in an open-addressed table (linear probing, at most half
/// full) whose slot holds the hash's high half and the key's number in one word: a lookup reads
/// one slot (a std `HashMap` read its control bytes and its slot apart, two cache misses a row
/// in the fold), then the key's bytes where the high halves agree. The keys' bytes are kept end
/// to end in one buffer (a fold numbers a new key every ~8 lines: one allocation each was ~2.5%
/// of the Postfix fold). Keys of one hash (a 64-bit keyed hash: by chance only) take the next
/// free slots and are told apart by their bytes.
pub struct KeyIndex {
    seed: Seed,
    /// the keys' numbers by hash (slots of `tag << 32 | number + 1`, `tag` the hash's high 32
    /// bits; the hashes by number, the table grown without hashing them again)
    numbers: Numbering,
    /// the keys' bytes, by number, end to end; `ends[i]`: where key `i` ends
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl KeyIndex {
    /// Room for `n` keys.
    pub fn with_capacity(n: usize) -> KeyIndex {
        KeyIndex::with_room(n, 0)
    }

    /// Room for `n` keys of `bytes` bytes in all.
    pub fn with_room(n: usize, bytes: usize) -> KeyIndex {
        KeyIndex {
            seed: Seed::default(),
            numbers: Numbering::with_capacity(n),
            data: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Key number `i`.
    #[inline]
    pub fn key(&self, i: usize) -> &[u8] {
        key_in(&self.data, &self.ends, i)
    }

    /// The keys, by number.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.key(i))
    }

    /// The number of `key`, and whether it is new (then numbered next).
    #[inline]
    pub fn number(&mut self, key: &[u8]) -> (u32, bool) {
        let h = keyed_hash(&self.seed, key);
        self.number_at(h, key)
    }

    /// [`KeyIndex::number`] of a key whose hash is `h`.
    fn number_at(&mut self, h: u64, key: &[u8]) -> (u32, bool) {
        let (data, ends) = (&self.data, &self.ends);
        let got = self.numbers.number(h, |k| key_in(data, ends, k as usize) == key);
        if got.1 {
            self.data.extend_from_slice(key);
            self.ends.push(self.data.len());
        }
        got
    }
}

/// Key `i` of keys kept end to end in `data` (`ends[i]`: where key `i` ends).
#[inline]
fn key_in<'d>(data: &'d [u8], ends: &[usize], i: usize) -> &'d [u8] {
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &data[start..ends[i]]
}

impl Default for KeyIndex {
    fn default() -> KeyIndex {
        KeyIndex::with_capacity(0)
    }
}

/// [`hash_bytes`]' step, for a caller that reads the words itself (`bulkfold::hash_qid`).
#[inline]
pub fn mix_step(h: u64) -> u64 {
    mix(h)
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

    #[test]
    fn keys_numbered_by_first_sight_and_compared_whole() {
        let mut ix = KeyIndex::default();
        let keys: Vec<Vec<u8>> = (0..3000u32).map(|i| format!("key {} {}", i % 1000, "x".repeat((i % 37) as usize)).into_bytes()).collect();
        let mut want = std::collections::HashMap::new();
        for k in &keys {
            let next = want.len() as u32;
            let n = *want.entry(k.clone()).or_insert(next);
            assert_eq!(ix.number(k), (n, n == next));
        }
        assert_eq!(ix.len(), want.len());
        assert_eq!(ix.keys().len(), want.len());
        for (k, n) in &want {
            assert_eq!(ix.key(*n as usize), k.as_slice());
        }
        // lengths that end inside a word, and zero bytes past the length, hash apart
        let s = Seed::default();
        for (a, b) in [(&b"abcdefgh"[..], &b"abcdefgh\0"[..]), (b"", b"\0"), (b"0123456789abcdef", b"0123456789abcdef\0")] {
            assert_ne!(keyed_hash(&s, a), keyed_hash(&s, b));
        }
    }

    #[test]
    fn keys_of_one_hash_stay_apart() {
        // every key forced onto one hash: they take the next slots, told apart by their bytes,
        // numbered by first sight, through the table's growth
        let mut ix = KeyIndex::default();
        let keys: Vec<Vec<u8>> = (0..100u32).map(|i| format!("k{i}").into_bytes()).collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(ix.number_at(7, k), (i as u32, true));
            assert_eq!(ix.number_at(7, &keys[i / 2]), ((i / 2) as u32, false));
        }
        for (i, k) in keys.iter().enumerate().rev() {
            assert_eq!(ix.number_at(7, k), (i as u32, false));
        }
        assert!(ix.numbers.slots.len() >= 200 && ix.numbers.slots.iter().filter(|&&s| s != 0).count() == 100);
    }

    #[test]
    fn keyed_hash_reads_every_byte_of_every_length() {
        // a byte changed anywhere in keys of 0..80 bytes changes the hash (the overlapping reads
        // of the last words still read each byte)
        let s = Seed::default();
        let mut seen = std::collections::HashSet::new();
        for n in 0..80usize {
            let base: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            assert!(seen.insert(keyed_hash(&s, &base)), "length {n}");
            for i in 0..n {
                let mut k = base.clone();
                k[i] ^= 0x40;
                assert!(seen.insert(keyed_hash(&s, &k)), "length {n} byte {i}");
            }
        }
    }
}
