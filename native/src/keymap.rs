//! A map of 64-bit keys (the hashes of queue ids, of pairs of codes) to dense slots 0, 1, 2 ...
//! in the order first seen (`analyzer/keyed.py`'s `QidTable`: the peers' per-message fields are
//! numpy arrays indexed by slot). One call per column looks every key up, and adds the new ones:
//! no sorted runs to merge and search one after the other. The keys are held once, in slot
//! order; the table holds slots (open addressing, linear probes, doubling when 3/4 full; the
//! keys' vector grows by an eighth, not doubling: a day's messages are most of its memory).
//!
//! A key can be removed (`remove`: a message whose last line was read): its bucket emptied by
//! backward-shift deletion (no tombstones: a probe sequence never crosses a removed key's bucket,
//! so lookups cost what they cost before any removal) and its slot put on a free list, given to the
//! next new key (slots are then no longer in first-seen order: a map that removes nothing keeps
//! that order). So the slots held, the keys' vector and the table are bounded by the keys held at
//! once, not by every key ever added.

use crate::hash::Seed;

/// An empty bucket of the table.
const EMPTY: u32 = u32::MAX;

#[derive(Default)]
pub struct KeyMap {
    keys: Vec<u64>,   // each slot's key (a free slot's: the key it held last)
    table: Vec<u32>,  // EMPTY, or a slot
    shift: u32,       // 64 - log2(table's size)
    free: Vec<u32>,   // the slots of removed keys, reused last-freed first
    seed: Seed,       // the process's random key, that places keys in buckets
}

/// The table's bucket of ``key``: its bits scrambled under the process's random key first
/// (`hash::Seed`). The keys are unkeyed hashes of log texts (queue ids) or pairs of small codes,
/// so a crafted log could otherwise choose keys that share one run of buckets and make every
/// lookup walk it (quadratic time); the slots stay in first-seen order, so nothing else depends
/// on where a key's bucket is.
fn bucket(seed: &Seed, key: u64, shift: u32) -> usize {
    (seed.scramble(key) >> shift) as usize
}

impl KeyMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// The slots in use or free: one more than the largest slot ever given.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys held (the slots in use).
    pub fn live(&self) -> usize {
        self.keys.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live() == 0
    }

    /// Bytes held (keys, table and free list).
    pub fn nbytes(&self) -> usize {
        8 * self.keys.capacity() + 4 * self.table.capacity() + 4 * self.free.capacity()
    }

    /// Each slot's key, in slot order (a free slot's is the key it held last).
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The slot of ``key``, or None.
    pub fn get(&self, key: u64) -> Option<usize> {
        self.bucket_of(key).map(|i| self.table[i] as usize)
    }

    /// The bucket holding ``key``, or None.
    fn bucket_of(&self, key: u64) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.table.len() - 1;
        let mut i = bucket(&self.seed, key, self.shift);
        loop {
            let slot = self.table[i];
            if slot == EMPTY {
                return None;
            }
            if self.keys[slot as usize] == key {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of ``key``, added (a free slot, else the next one) when not held; None when
    /// 2^31 - 1 slots are in use already (slots are i32-sized for Python's narrow arrays).
    pub fn slot(&mut self, key: u64) -> Option<usize> {
        if self.table.is_empty() || 4 * (self.live() + 1) > 3 * self.table.len() {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut i = bucket(&self.seed, key, self.shift);
        loop {
            let slot = self.table[i];
            if slot == EMPTY {
                let new = if let Some(free) = self.free.pop() {
                    self.keys[free as usize] = key;
                    free as usize
                } else {
                    let new = self.len();
                    if new >= i32::MAX as usize {
                        return None;
                    }
                    if self.keys.len() == self.keys.capacity() {
                        self.keys.reserve_exact((self.keys.len() / 8).max(1024));
                    }
                    self.keys.push(key);
                    new
                };
                self.table[i] = new as u32;
                return Some(new);
            }
            if self.keys[slot as usize] == key {
                return Some(slot as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// Twice the buckets (64 at first), every slot in use put back by its key.
    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(64);
        let shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        let mut table = vec![EMPTY; size];
        for &slot in self.table.iter().filter(|&&s| s != EMPTY) {
            let mut i = bucket(&self.seed, self.keys[slot as usize], shift);
            while table[i] != EMPTY {
                i = (i + 1) & mask;
            }
            table[i] = slot;
        }
        self.table = table;
        self.shift = shift;
    }

    /// Remove ``key``: its slot (now free), or None when it is not held. The buckets after
    /// its own, up to the next empty one, are shifted back where their key's probe allows.
    pub fn remove_key(&mut self, key: u64) -> Option<usize> {
        let mut hole = self.bucket_of(key)?;
        let slot = self.table[hole];
        let mask = self.table.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.table[j];
            if s == EMPTY {
                break;
            }
            // the entry at j may move back to the hole when its home bucket is not in (hole, j]
            let home = bucket(&self.seed, self.keys[s as usize], self.shift);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.table[hole] = s;
                hole = j;
            }
        }
        self.table[hole] = EMPTY;
        self.free.push(slot);
        Some(slot as usize)
    }

    /// The slot of each key, -1 for a key not held.
    pub fn locate(&self, keys: &[u64]) -> Vec<i64> {
        keys.iter().map(|&k| self.get(k).map_or(-1, |s| s as i64)).collect()
    }

    /// Remove each key: the slot it held (now free), -1 for a key not held (or given twice).
    pub fn remove(&mut self, keys: &[u64]) -> Vec<i64> {
        keys.iter().map(|&k| self.remove_key(k).map_or(-1, |s| s as i64)).collect()
    }

    /// The slot of each key, the keys not held added first (in the order of ``keys``).
    pub fn ensure(&mut self, keys: &[u64]) -> Result<Vec<i64>, String> {
        keys.iter().map(|&k| self.slot(k).map(|s| s as i64).ok_or_else(|| "too many keys for a key map".to_string())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;
    use std::collections::HashMap;

    #[test]
    fn slots_in_first_seen_order() {
        let mut m = KeyMap::new();
        assert!(m.is_empty());
        assert_eq!(m.locate(&[5, 0]), vec![-1, -1]);
        assert_eq!(m.ensure(&[7, 0, 7, u64::MAX, 3]).unwrap(), vec![0, 1, 0, 2, 3]);
        assert_eq!(m.locate(&[3, 9, 0, u64::MAX, 7]), vec![3, -1, 1, 2, 0]);
        assert_eq!(m.ensure(&[9, 3]).unwrap(), vec![4, 3]);
        assert_eq!(m.keys(), &[7, 0, u64::MAX, 3, 9]);
        assert_eq!(m.len(), 5);
    }

    /// Keys built to share bucket 0 of an unkeyed Fibonacci bucket (k * 0x9E37_79B9_7F4A_7C15
    /// small: the multiples of the constant's inverse) spread over the table under the key: no
    /// lookup walks a long run of buckets.
    #[test]
    fn keys_crafted_for_one_bucket_spread() {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut inv: u64 = K; // Newton's iteration for K's inverse modulo 2^64
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(K.wrapping_mul(inv)));
        }
        assert_eq!(K.wrapping_mul(inv), 1);
        let keys: Vec<u64> = (0..50_000u64).map(|j| j.wrapping_mul(inv)).collect();
        assert!(keys.iter().all(|&k| k.wrapping_mul(K) >> 40 == 0)); // one bucket unkeyed
        let mut m = KeyMap::new();
        assert_eq!(m.ensure(&keys).unwrap(), (0..50_000i64).collect::<Vec<_>>());
        let mask = m.table.len() - 1;
        let longest = keys
            .iter()
            .map(|&k| {
                let home = bucket(&m.seed, k, m.shift);
                (m.bucket_of(k).unwrap() + m.table.len() - home) & mask
            })
            .max()
            .unwrap();
        assert!(longest < 200, "a key {longest} buckets from its own");
    }

    #[test]
    fn many_keys_against_a_hashmap() {
        // random keys and small ones (pairs of codes: alike in their low bits), over many calls
        let mut rng = XorShift(11);
        let mut m = KeyMap::new();
        let mut want: HashMap<u64, i64> = HashMap::new();
        for round in 0..60 {
            let keys: Vec<u64> = (0..5000)
                .map(|i| if round % 2 == 0 { rng.next() % 200_000 } else { (rng.next() % 300) << 32 | (i % 700) })
                .collect();
            let before = m.locate(&keys);
            for (k, b) in keys.iter().zip(&before) {
                assert_eq!(*b, want.get(k).copied().unwrap_or(-1));
            }
            let got = m.ensure(&keys).unwrap();
            for (k, g) in keys.iter().zip(&got) {
                let n = want.len() as i64;
                assert_eq!(*g, *want.entry(*k).or_insert(n));
            }
        }
        assert_eq!(m.len(), want.len());
        assert!(m.nbytes() >= 12 * m.len());
    }

    #[test]
    fn removed_keys_free_their_slots() {
        let mut m = KeyMap::new();
        assert_eq!(m.ensure(&[7, 0, 9, 3]).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(m.remove(&[0, 5, 0, 3]), vec![1, -1, -1, 3]);
        assert_eq!((m.len(), m.live()), (4, 2));
        assert_eq!(m.locate(&[7, 0, 9, 3]), vec![0, -1, 2, -1]);
        // the last freed slot first, then the other, then a new one
        assert_eq!(m.ensure(&[11, 0, 12, 7]).unwrap(), vec![3, 1, 4, 0]);
        assert_eq!((m.len(), m.live()), (5, 5));
        assert_eq!(m.remove(&[7, 0, 9, 3, 11, 12]), vec![0, 1, 2, -1, 3, 4]);
        assert!(m.is_empty());
        assert_eq!(m.locate(&[7, 0, 9, 11, 12]), vec![-1; 5]);
    }

    #[test]
    fn removals_against_a_hashmap() {
        // keys added and removed over many calls (some of them clustered: small keys, pairs), the
        // slots in use never more than the keys held at once, every lookup as a HashMap's
        let mut rng = XorShift(23);
        let mut m = KeyMap::new();
        let mut want: HashMap<u64, i64> = HashMap::new();
        let mut most = 0;
        for round in 0..80 {
            let keys: Vec<u64> = (0..3000)
                .map(|i| match round % 3 {
                    0 => rng.next() % 20_000,
                    1 => (rng.next() % 50) << 32 | (i % 300),
                    _ => rng.next(),
                })
                .collect();
            let got = m.ensure(&keys).unwrap();
            let mut used: std::collections::HashSet<i64> = want.values().copied().collect();
            for (k, g) in keys.iter().zip(&got) {
                match want.get(k) {
                    Some(s) => assert_eq!(s, g),
                    None => {
                        assert!(used.insert(*g), "a slot in use given again");
                        want.insert(*k, *g);
                    }
                }
            }
            most = most.max(want.len());
            // remove about half of the keys held, and some never held
            let mut gone: Vec<u64> = want.keys().copied().filter(|_| rng.next() % 2 == 0).collect();
            gone.extend((0..50).map(|_| rng.next()));
            let freed = m.remove(&gone);
            for (k, f) in gone.iter().zip(&freed) {
                assert_eq!(*f, want.remove(k).unwrap_or(-1));
            }
            assert_eq!(m.live(), want.len());
            let probe: Vec<u64> = keys.iter().copied().chain(gone.iter().copied()).collect();
            for (k, s) in probe.iter().zip(m.locate(&probe)) {
                assert_eq!(s, want.get(k).copied().unwrap_or(-1));
            }
        }
        assert!(m.len() <= most, "slots {} beyond the most keys held at once {}", m.len(), most);
    }
}
