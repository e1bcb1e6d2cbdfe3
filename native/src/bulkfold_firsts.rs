//! The Bulk fold's messages' first times let go of as the lines come (`BulkFold::firsts_of`):
//! with `deferred_only`, a deferred delivery line marks its queue id deferred, and a message's
//! end (a `removed` line: Postfix's `removed`, Exim's `Completed`) before any deferral of its
//! queue id lets go of that queue id's first-time entries before it: no later line of that
//! message can read them (a queue id seen after its message's end names another message). The
//! Python fold's `FirstTimes` (analyzer/anomalies/bulk_firsts.py) is its specification.
//!
//! The entries are held in two places: the chunk's, one a folded line (`chunk`), and the
//! chunks' first ones before it (`done`). An end records, per queue id, a bound in each: the
//! entries below it are let go of ([`BulkFold::let_go_firsts`]) at the chunk's reduction, before
//! its first entries are picked (so that picking first then dropping equals dropping then
//! picking), once the bounds are many, and at the end.

use super::ends::LET_GO_FROM;
use super::{hash_qid, Batch, BulkFold, DEFERRED, DELIVERY, REMOVED};

impl BulkFold {
    /// A batch's deferrals and ends in order (with `deferred_only`); `start`: the place in
    /// `chunk` of the batch's first entry (its entries pushed already, one per folded line
    /// naming a queue id).
    pub(super) fn firsts_of(&mut self, b: &Batch, event: &[u8], status: &[u8], start: usize) {
        if !self.opts.deferred_only {
            return;
        }
        let Some(q) = &b.queue_id else { return };
        let mut pushed = start;
        for i in 0..b.len {
            if !q.valid(i) {
                continue;
            }
            pushed += usize::from(b.mask[i] != 0);
            match event[i] {
                DELIVERY if status[i] == DEFERRED => {
                    self.deferred.insert(hash_qid(q.col.get(i)));
                }
                REMOVED if pushed > 0 || !self.done.is_empty() => {
                    let h = hash_qid(q.col.get(i));
                    if !self.deferred.contains(&h) {
                        self.firsts_ended.insert(h, (self.done.len(), pushed));
                    }
                }
                _ => {}
            }
        }
        let n = self.firsts_ended.len();
        if n >= LET_GO_FROM && 4 * n >= self.done.len() + self.chunk.len() {
            self.let_go_firsts();
        }
    }

    /// Drop the first-time entries of the messages ended undeferred (below their queue id's
    /// bounds), in place.
    pub(super) fn let_go_firsts(&mut self) {
        if self.firsts_ended.is_empty() {
            return;
        }
        let mut ended = std::mem::take(&mut self.firsts_ended);
        let mut at = 0;
        self.chunk.retain(|e| {
            let dead = ended.get(&e.qid).is_some_and(|&(_, to)| at < to);
            at += 1;
            !dead
        });
        self.done.drop_dead(|q, i| ended.get(&q).is_some_and(|&(to, _)| i < to));
        ended.clear();
        self.firsts_ended = ended;
    }
}
