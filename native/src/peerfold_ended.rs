//! What the Postfix peers' fold (`peerfold.rs`) keeps of a message ended at its qmgr `removed`
//! line, its queue id's slot freed (`analyzer/peer_ended.py`'s `Ended` is the specification):
//! per sender code, the received messages and their bytes (pflogsumm's senders table and bytes
//! received); the (sender, client) pairs of the senders without a domain (pflogsumm's sending
//! hosts/domains reads the client only for those); how many had a deferral.

use crate::peerfold_exim::Keyed;
use std::collections::HashSet;

#[derive(Default)]
pub struct PfEnded {
    /// per sender code + 1 (a code of -1 held at 0): messages and bytes
    pub messages: Vec<i64>,
    pub bytes: Vec<i64>,
    /// (sender code as u32) << 32 | (client code as u32), of the senders without a domain
    pub pairs: HashSet<u64, Keyed>,
    pub deferred: i64,
}

impl PfEnded {
    /// A received message whose size was read: its sender's and client's codes, its size, and
    /// whether its sender has no domain.
    pub fn got(&mut self, sender: i32, client: i32, size: i64, bare: bool) {
        let at = (sender as i64 + 1).max(0) as usize;
        if at >= self.messages.len() {
            self.messages.resize(at + 1, 0);
            self.bytes.resize(at + 1, 0);
        }
        self.messages[at] += 1;
        self.bytes[at] = self.bytes[at].wrapping_add(size);
        if bare {
            self.pairs.insert(pair(sender, client));
        }
    }

    /// The senders with a message: their codes (ascending), messages and bytes.
    pub fn senders(&self) -> (Vec<i32>, Vec<i64>, Vec<i64>) {
        let at: Vec<usize> = (0..self.messages.len()).filter(|&i| self.messages[i] > 0).collect();
        (at.iter().map(|&i| i as i32 - 1).collect(), at.iter().map(|&i| self.messages[i]).collect(),
         at.iter().map(|&i| self.bytes[i]).collect())
    }

    /// The pairs held, as (sender codes, client codes), sorted.
    pub fn pairs(&self) -> (Vec<i32>, Vec<i32>) {
        let mut p: Vec<u64> = self.pairs.iter().copied().collect();
        p.sort_unstable();
        (p.iter().map(|&v| (v >> 32) as u32 as i32).collect(), p.iter().map(|&v| v as u32 as i32).collect())
    }

    pub fn nbytes(&self) -> usize {
        8 * (self.messages.capacity() + self.bytes.capacity()) + 9 * self.pairs.capacity()
    }
}

fn pair(sender: i32, client: i32) -> u64 {
    (u64::from(sender as u32) << 32) | u64::from(client as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_per_sender_and_pairs_of_the_bare_ones_only() {
        let mut e = PfEnded::default();
        e.got(3, 7, 100, false);
        e.got(3, 8, 50, false);
        e.got(-1, 2, 5, true);
        e.got(0, 2, 1, true);
        e.got(0, 2, 1, true);
        e.got(0, -1, 1, true);
        assert_eq!(e.senders(), (vec![-1, 0, 3], vec![1, 3, 2], vec![5, 3, 150]));
        assert_eq!(e.pairs(), (vec![0, 0, -1], vec![2, -1, 2]));
    }
}
