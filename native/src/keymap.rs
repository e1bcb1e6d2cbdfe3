//! A map of 64-bit keys (the hashes of queue ids, of pairs of codes) to dense slots 0, 1, 2 ...
//! in the order first seen (`analyzer/keyed.py`'s `QidTable`: the peers' per-message fields are
//! numpy arrays indexed by slot). One call per column looks every key up, and adds the new ones:
//! no sorted runs to merge and search one after the other. The keys are held once, in slot
//! order; the table holds slots (open addressing, linear probes, doubling when 3/4 full; the
//! keys' vector grows by an eighth, not doubling: a day's messages are most of its memory).

/// An empty bucket of the table.
const EMPTY: u32 = u32::MAX;

#[derive(Default)]
pub struct KeyMap {
    keys: Vec<u64>,   // each slot's key
    table: Vec<u32>,  // EMPTY, or a slot
    shift: u32,       // 64 - log2(table's size)
}

/// The table's bucket of ``key`` (Fibonacci hashing: the keys are hashes already, but a pair
/// of small codes is not, so the high bits of a multiply are used).
fn bucket(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

impl KeyMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Bytes held (keys and table).
    pub fn nbytes(&self) -> usize {
        8 * self.keys.capacity() + 4 * self.table.capacity()
    }

    /// The keys held, in slot order.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The slot of ``key``, or None.
    pub fn get(&self, key: u64) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.table.len() - 1;
        let mut i = bucket(key, self.shift);
        loop {
            let slot = self.table[i];
            if slot == EMPTY {
                return None;
            }
            if self.keys[slot as usize] == key {
                return Some(slot as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of ``key``, added (the next slot) when not held; None when 2^31 - 1 keys are
    /// held already (slots are i32-sized for Python's narrow arrays).
    pub fn slot(&mut self, key: u64) -> Option<usize> {
        if self.table.is_empty() || 4 * (self.len() + 1) > 3 * self.table.len() {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut i = bucket(key, self.shift);
        loop {
            let slot = self.table[i];
            if slot == EMPTY {
                let new = self.len();
                if new >= i32::MAX as usize {
                    return None;
                }
                if self.keys.len() == self.keys.capacity() {
                    self.keys.reserve_exact((self.keys.len() / 8).max(1024));
                }
                self.keys.push(key);
                self.table[i] = new as u32;
                return Some(new);
            }
            if self.keys[slot as usize] == key {
                return Some(slot as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// Twice the buckets (64 at first), every slot put back by its key.
    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(64);
        let shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        let mut table = vec![EMPTY; size];
        for (slot, &key) in self.keys.iter().enumerate() {
            let mut i = bucket(key, shift);
            while table[i] != EMPTY {
                i = (i + 1) & mask;
            }
            table[i] = slot as u32;
        }
        self.table = table;
        self.shift = shift;
    }

    /// The slot of each key, -1 for a key not held.
    pub fn locate(&self, keys: &[u64]) -> Vec<i64> {
        keys.iter().map(|&k| self.get(k).map_or(-1, |s| s as i64)).collect()
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
}
