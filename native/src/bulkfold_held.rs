//! The Bulk fold's per-message entries as it holds them while the day is read: a column per
//! field, each time as its second's offset from a run's base second (2 bytes) and its
//! nanoseconds into the second (4), each place in the input as its offset from the run's base
//! place (4): a sender's entry in 22 bytes, not [`Entry`]'s 28, a first time's in 14, not
//! [`Qid`]'s 16. A run of entries shares one base; an entry whose second or place does not fit
//! the last run's starts a new run (a run's seconds span ±9 hours from its base: a day in order is
//! three runs; its places, increasing, 4 billion lines). Exact: every entry comes back as it was pushed, in order.

use super::{Entry, Qid, NULL_SEC};

/// An entry's second offset for a line without a time (its key's second is `NULL_SEC`).
const UNTIMED: i16 = i16::MIN;
const NS: i64 = 1_000_000_000;

/// The base of the entries from `from` on (to the next run's): their second and place.
#[derive(Clone, Copy)]
struct Base {
    from: usize,
    sec: i64,
    order: i64,
}

/// Entries held narrow; `placed`: with each entry's place and sender (a sender's entry), else a
/// first time's (queue id and time only).
#[derive(Default)]
pub struct Held {
    placed: bool,
    bases: Vec<Base>,
    qid: Vec<u64>,
    sec: Vec<i16>,
    ns: Vec<u32>,
    order: Vec<u32>,
    sender: Vec<i32>,
}

impl Held {
    pub fn new(placed: bool) -> Self {
        Held { placed, ..Default::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.qid.is_empty()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.qid.len()
    }

    /// Drop, in place, the entries `dead` names (by queue id and index: dead where `dead` gives
    /// the queue id a bound above the entry's index); the others keep their order, their base
    /// and offsets (a run none of whose entries is left is dropped). The columns keep their
    /// capacity: what is freed is taken by the next entries, not grown into.
    pub fn drop_dead(&mut self, dead: impl Fn(u64, usize) -> bool) {
        let placed = self.placed;
        let (mut w, mut b, mut last) = (0, 0, usize::MAX);
        let old = std::mem::take(&mut self.bases);
        for i in 0..self.qid.len() {
            while b + 1 < old.len() && old[b + 1].from <= i {
                b += 1;
            }
            if dead(self.qid[i], i) {
                continue;
            }
            if last != b {
                self.bases.push(Base { from: w, ..old[b] });
                last = b;
            }
            self.qid[w] = self.qid[i];
            self.sec[w] = self.sec[i];
            self.ns[w] = self.ns[i];
            if placed {
                self.order[w] = self.order[i];
                self.sender[w] = self.sender[i];
            }
            w += 1;
        }
        self.qid.truncate(w);
        self.sec.truncate(w);
        self.ns.truncate(w);
        self.order.truncate(w);
        self.sender.truncate(w);
    }

    /// The senders' codes, in order.
    pub fn sender_codes(&self) -> &[i32] {
        &self.sender
    }

    /// Each sender's code `c` made `to[c]`.
    pub fn recode(&mut self, to: &[i32]) {
        for c in &mut self.sender {
            *c = to[*c as usize];
        }
    }

    /// A time's (second, nanoseconds into it); None without a time.
    fn split(ts: i64) -> Option<(i64, u32)> {
        (ts != NULL_SEC).then(|| (ts.div_euclid(NS), ts.rem_euclid(NS) as u32))
    }

    /// The offsets of (second, place) from `b`, if they fit.
    fn offsets(b: &Base, sec: Option<i64>, order: i64, placed: bool) -> Option<(i16, u32)> {
        let s = match sec {
            None => UNTIMED,
            Some(s) => i16::try_from(s.checked_sub(b.sec)?).ok().filter(|&d| d != UNTIMED)?,
        };
        let o = if placed { u32::try_from(order.checked_sub(b.order)?).ok()? } else { 0 };
        Some((s, o))
    }

    /// Hold an entry: its queue id's hash, its time (`NULL_SEC`: none) and, where `placed`,
    /// its place in the input and its sender's code.
    pub fn push(&mut self, qid: u64, ts: i64, order: i64, sender: i32) {
        let parts = Self::split(ts);
        let sec = parts.map(|p| p.0);
        let fit = self.bases.last().and_then(|b| Self::offsets(b, sec, order, self.placed));
        let (s, o) = match fit {
            Some(f) => f,
            None => {
                let last = self.bases.last().map_or(0, |b| b.sec);
                let b = Base { from: self.qid.len(), sec: sec.unwrap_or(last), order: if self.placed { order } else { 0 } };
                self.bases.push(b);
                Self::offsets(&b, sec, order, self.placed).expect("an entry fits its own base")
            }
        };
        self.qid.push(qid);
        self.sec.push(s);
        self.ns.push(parts.map_or(0, |p| p.1));
        if self.placed {
            self.order.push(o);
            self.sender.push(sender);
        }
    }

    /// Each entry as it was pushed, in order: (qid, ts, order, sender) (order and sender 0
    /// where not `placed`), of those whose queue id `keep` takes; the store is emptied.
    fn drain(&mut self, keep: impl Fn(u64) -> bool, mut out: impl FnMut(u64, i64, i64, i32)) {
        let held = std::mem::take(self);
        self.placed = held.placed;
        let mut b = 0;
        for i in 0..held.qid.len() {
            while b + 1 < held.bases.len() && held.bases[b + 1].from <= i {
                b += 1;
            }
            let q = held.qid[i];
            if !keep(q) {
                continue;
            }
            let base = held.bases[b];
            let ts = match held.sec[i] {
                UNTIMED => NULL_SEC,
                // (wrapping: the time it was, exact, also where its second's first nanosecond is
                // before i64's range)
                d => (base.sec + i64::from(d)).wrapping_mul(NS).wrapping_add(i64::from(held.ns[i])),
            };
            if held.placed {
                out(q, ts, base.order + i64::from(held.order[i]), held.sender[i]);
            } else {
                out(q, ts, 0, 0);
            }
        }
    }

    /// The senders' entries whose queue id `keep` takes, in order (the store emptied).
    pub fn entries(&mut self, keep: impl Fn(u64) -> bool) -> Vec<Entry> {
        let mut v = Vec::new();
        self.drain(keep, |qid, ts, order, sender| v.push(Entry { qid, ts, order, sender }));
        v
    }

    /// The first times' entries whose queue id `keep` takes, in order (the store emptied).
    pub fn qids(&mut self, keep: impl Fn(u64) -> bool) -> Vec<Qid> {
        let mut v = Vec::new();
        self.drain(keep, |qid, ts, _, _| v.push(Qid { qid, ts }));
        v
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        std::mem::size_of::<Base>() * self.bases.capacity() + 8 * self.qid.capacity() + 2 * self.sec.capacity()
            + 4 * (self.ns.capacity() + self.order.capacity() + self.sender.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_as_pushed_whatever_their_times_and_places() {
        let mut seed = crate::testutil::XorShift(0x9e37_79b9_7f4a_7c15);
        let edges = [NULL_SEC, NULL_SEC + 1, i64::MAX, i64::MAX - 1, 0, -1, 1, -NS, NS - 1, 1_764_000_000 * NS + 5];
        for round in 0..40 {
            let mut held = Held::new(round % 2 == 0);
            let mut want = Vec::new();
            let (mut ts, mut order) = (1_764_000_000 * NS, 0i64);
            for _ in 0..2000 {
                let r = seed.next();
                // mostly a day's lines in order; now and then a jump, a step back, an edge, no time
                ts = match r % 23 {
                    0 => edges[(r >> 8) as usize % edges.len()],
                    1 => ts.wrapping_sub((r >> 20) as i64 % (40_000 * NS)),
                    2 => ts.wrapping_add((r >> 20) as i64 % (40_000 * NS)),
                    3 => (r >> 1) as i64,
                    _ => ts.wrapping_add((r >> 30) as i64 % (3 * NS)),
                };
                order = match r % 31 {
                    0 => order.wrapping_sub((r >> 40) as i64),
                    1 => order.wrapping_add(1 << 33),
                    2 => i64::MIN + (r >> 50) as i64,
                    _ => order.wrapping_add((r >> 40) as i64 % 50),
                };
                let sender = (r >> 3) as i32;
                let qid = r.rotate_left(17);
                held.push(qid, ts, order, sender);
                want.push(if round % 2 == 0 { Entry { qid, ts, order, sender } } else { Entry { qid, ts, order: 0, sender: 0 } });
            }
            assert_eq!(held.qid.len(), want.len());
            let keep = |q: u64| q % 3 != 0;
            if round % 2 == 0 {
                let got = held.entries(keep);
                let exp: Vec<Entry> = want.iter().copied().filter(|e| keep(e.qid)).collect();
                assert_eq!(got, exp);
            } else {
                let got = held.qids(keep);
                let exp: Vec<Qid> = want.iter().filter(|e| keep(e.qid)).map(|e| Qid { qid: e.qid, ts: e.ts }).collect();
                assert_eq!(got, exp);
            }
            assert!(held.is_empty(), "drained");
        }
    }

    #[test]
    fn entries_dropped_in_place_leave_the_others_as_pushed_in_order() {
        let mut seed = crate::testutil::XorShift(0x2545_f491_4f6c_dd1d);
        for round in 0..30 {
            let mut held = Held::new(round % 2 == 0);
            let mut want = Vec::new();
            let (mut ts, mut order) = (1_764_000_000 * NS, 0i64);
            for step in 0..6 {
                for _ in 0..(seed.next() % 900) {
                    let r = seed.next();
                    // now and then a far time, or a place far on: entries of many runs
                    ts = if r % 17 == 0 { ts.wrapping_add((r >> 20) as i64 % (80_000 * NS)) } else { ts + (r >> 40) as i64 % NS };
                    ts = if r % 29 == 0 { NULL_SEC } else { ts };
                    order += if r % 23 == 0 { 1 << 33 } else { 1 + (r >> 50) as i64 % 9 };
                    let e = Entry { qid: r % 37, ts, order, sender: (r >> 5) as i32 % 1000 };
                    held.push(e.qid, e.ts, e.order, e.sender);
                    want.push(if round % 2 == 0 { e } else { Entry { order: 0, sender: 0, ..e } });
                    if ts == NULL_SEC {
                        ts = 1_764_000_000 * NS;
                    }
                }
                // the entries of a few queue ids below a bound dropped; all of them at the last step
                let bound = if step == 5 { want.len() } else { (seed.next() as usize) % (want.len() + 1) };
                let gone = |q: u64, i: usize| i < bound && (q % 5 == step as u64 || step == 5 && q % 2 == 0);
                held.drop_dead(gone);
                want = want.iter().enumerate().filter(|&(i, e)| !gone(e.qid, i)).map(|(_, &e)| e).collect();
                assert_eq!(held.len(), want.len());
            }
            if round % 2 == 0 {
                assert_eq!(held.entries(|_| true), want);
            } else {
                let exp: Vec<Qid> = want.iter().map(|e| Qid { qid: e.qid, ts: e.ts }).collect();
                assert_eq!(held.qids(|_| true), exp);
            }
        }
    }

    #[test]
    fn a_day_in_order_is_three_runs_and_held_narrow() {
        let mut held = Held::new(true);
        for i in 0..100_000i64 {
            held.push(i as u64, 1_764_000_000 * NS + i * 860_000_000, 5 + 9 * i, (i % 77) as i32);
        }
        assert_eq!(held.bases.len(), 3);
        assert!(held.nbytes() < 23 * 131_072 + 64, "22 bytes an entry (capacity), not 28");
    }
}
