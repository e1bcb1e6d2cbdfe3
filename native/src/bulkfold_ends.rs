//! The Bulk fold's senders as the lines come (`BulkFold::senders_of`): a folded line naming a
//! queue id and a sender is an entry; with `looked_up_only`, a line that looks its message's
//! sender up marks the queue id looked up, and a message's end (a `removed` line: Postfix's
//! `removed`, Exim's `Completed`) before any look-up of its queue id lets go of the entries of
//! that queue id before it: no later line of that message can look them up (a queue id seen
//! after its message's end names another message). The Python fold's `SenderEnds`
//! (analyzer/anomalies/bulk_ends.py) is its specification, over the whole day at once.

use super::{Batch, BulkFold, DELIVERY, EXPIRED, INBOUND, NULL_SEC, OUTBOUND, REMOVED};
use crate::hash::is_set;
use crate::vocab::Vocab;
use super::hash_qid;

/// The ends that let go of entries, counted before they are dropped in place (and a quarter of
/// the entries held at least: each drop walks them all once).
pub(super) const LET_GO_FROM: usize = 4096;

impl BulkFold {
    /// A batch's lines in order: the senders' entries pushed, the look-ups and ends read (the
    /// ones ended dropped once they are many: [`Self::let_go`]).
    pub(super) fn senders_of(&mut self, b: &Batch, event: &[u8], direction: &[u8]) -> Result<(), String> {
        let Some(q) = &b.queue_id else { return Ok(()) };
        let looking = self.opts.looked_up_only;
        if !looking && b.sender.is_none() {
            return Ok(());
        }
        for i in 0..b.len {
            if !q.valid(i) {
                continue;
            }
            let ev = event[i];
            match &b.sender {
                Some(s) if s.valid(i) => {
                    if b.mask[i] != 0 {
                        let held = if b.ts.valid(i) {
                            i64::from_le_bytes(b.ts.word(i)).checked_mul(b.ts_unit).unwrap_or(0)
                        } else {
                            NULL_SEC
                        };
                        let code = self.sender_words.code(s.col.get(i)).ok_or("the senders' vocabulary is full")?;
                        self.senders.push(hash_qid(q.col.get(i)), held, b.order + i as i64, code as i32);
                        self.any_senders = true;
                    }
                }
                Some(_) if looking && ev & (DELIVERY | EXPIRED) != 0 => {
                    let d = direction[i];
                    let caused = match b.cause_ref {
                        Some(v) => v.is_none_or(|(bits, at)| is_set(bits, at + i)) && d != INBOUND,
                        None => false,
                    };
                    if d == OUTBOUND || caused {
                        self.looked_up.insert(hash_qid(q.col.get(i)));
                    }
                }
                _ => {}
            }
            if looking && ev == REMOVED {
                let h = hash_qid(q.col.get(i));
                if !self.looked_up.contains(&h) && !self.senders.is_empty() {
                    self.ended.insert(h, self.senders.len());
                }
            }
        }
        if self.ended.len() >= LET_GO_FROM && 4 * self.ended.len() >= self.senders.len() {
            self.let_go();
            let words = self.sender_words.len();
            if words >= LET_GO_FROM && 2 * words >= 3 * self.words_kept {
                self.renumber_words();
            }
        }
        Ok(())
    }

    /// Drop the entries of the messages ended unlooked-up ([`Self::ended`]), in place.
    pub(super) fn let_go(&mut self) {
        let mut ended = std::mem::take(&mut self.ended);
        if !ended.is_empty() {
            self.senders.drop_dead(|q, i| ended.get(&q).is_some_and(|&to| i < to));
            ended.clear();
        }
        self.ended = ended;
    }

    /// The senders' words of the entries held only, numbered anew in the order of their entries
    /// (the words of the entries let go of freed; the result's categories are made in that order
    /// whatever the codes: `senders_categorical`, analyzer/anomalies/bulk_held.py).
    fn renumber_words(&mut self) {
        let old = &self.sender_words;
        let mut to = vec![-1i32; old.len()];
        let mut words = Vocab::new();
        for &c in self.senders.sender_codes() {
            let t = &mut to[c as usize];
            if *t < 0 {
                // (fewer words than held: never full)
                let Some(k) = words.code(old.word(c as usize)) else { return };
                *t = k as i32;
            }
        }
        self.senders.recode(&to);
        self.sender_words = words;
        self.words_kept = self.sender_words.len();
    }
}
