//! The peers' Postfix fold step (`analyzer/peer_native.py`'s `NativePfFold`): what
//! `analyzer/peer_folds.py`'s `PfFold.add` does to a flush of Postfix lines, over the flush's
//! columns as small codes, the per-message state held here. Python stays the specification:
//! it turns each distinct string into the codes below once (its own functions, its own
//! vocabularies), and `tests/test_peer_native.py` holds this fold's tables equal to `PfFold`'s.
//!
//! Per row: the program's class bits (`PROG_*`), the event and status as small ids (`EV_*`,
//! `ST_*`), `BIT_*` (queue id present, reject not by a milter/proxy, reply 'forwarded as'), the
//! queue id's hash, the qmgr size, the sender's and the client's codes (pflogsumm's forms), the
//! recipient's and its domain's codes, the delay. Per queue id (a [`KeyMap`] slot): flags, the
//! first size and sender, the client of the last receive line; freed at the message's qmgr
//! `removed` line, what the end reads of it kept in [`PfEnded`]. Per recipient and domain (in the
//! order first folded, as `KeyAgg` orders them): messages and bytes; sent, bytes, deferrals, the
//! delays' sum (added in `numpy.add.at`'s order: the same float) and maximum. Delivery lines
//! whose size is not read yet wait, and are tried again with the next flush's delivery lines, as
//! `PfFold._deliver_with_waiting` tries them; at the end they count size 0.

use crate::keymap::KeyMap;
use crate::peerfold_ended::PfEnded;
use crate::peerfold_exim::Keyed;
use std::collections::HashMap;
use crate::peerfold_warn::Texts;
use memchr::memmem;

pub const PROG_SEEN: u8 = 1;
pub const PROG_SMTPD: u8 = 2;
pub const PROG_CLEANUP: u8 = 4;
pub const PROG_PICKUP: u8 = 8;
pub const PROG_MASTER: u8 = 16;

pub const EV_RECEIVED: u8 = 1;
pub const EV_QUEUED: u8 = 2;
pub const EV_DELIVERY: u8 = 3;
pub const EV_REJECT: u8 = 4;
pub const EV_REJECT_WARNING: u8 = 5;
pub const EV_FILTER_ACTION: u8 = 6;
/// qmgr's `removed`: the message's last line (its slot freed: `PfEnded`)
pub const EV_REMOVED: u8 = 7;

pub const ST_CLIENT_BEFORE_QUEUE: u8 = 1;
pub const ST_SENT: u8 = 2;
pub const ST_DEFERRED: u8 = 3;
pub const ST_BOUNCED: u8 = 4;
pub const ST_WARNING: u8 = 5;
pub const ST_HOLD: u8 = 6;
pub const ST_DISCARD: u8 = 7;

pub const BIT_QID: u8 = 1;
pub const BIT_PLAIN: u8 = 2;
/// a queued line's sender has no domain (`peer_ended.bare`)
pub const BIT_BARE: u8 = 4;

/// A queue id's flags (`peer_folds._SIZED`, `_RECV`, `_DEFERRED`).
pub const SIZED: u8 = 1;
pub const RECV: u8 = 2;
pub const DEFERRED: u8 = 4;
/// its sender has no domain
pub const BARE: u8 = 8;

/// `PfFold.COUNTS`, in its order.
pub const COUNTS: usize = 9;
const RECEIVED: usize = 0;
const DELIVERED: usize = 1;
const FORWARDED: usize = 2;
const DEFERRALS: usize = 3;
const BOUNCED: usize = 4;
const REJECTED: usize = 5;
const REJECT_WARNINGS: usize = 6;
const HELD: usize = 7;
const DISCARDED: usize = 8;

/// A flush's rows, one entry per row in each.
pub struct PfRows<'a> {
    pub prog: &'a [u8],
    pub event: &'a [u8],
    pub status: &'a [u8],
    pub bits: &'a [u8],
    pub h: &'a [u64],
    pub size: &'a [i64],
    pub sender: &'a [i32],
    pub client: &'a [i32],
    pub rcpt: &'a [i32],
    pub domain: &'a [i32],
    pub delay: &'a [f64],
    /// the reply texts (read where a line is sent: 'forwarded as')
    pub reply: Texts<'a>,
}

impl PfRows<'_> {
    /// Whether row ``i``'s reply says 'forwarded as' (`pc.match_substring`: a null one does not).
    fn forwarded(&self, i: usize, finder: &memmem::Finder) -> bool {
        self.reply.get(i).is_some_and(|t| finder.find(t).is_some())
    }

    fn len(&self) -> Result<usize, String> {
        let n = self.prog.len();
        let lens = [self.event.len(), self.status.len(), self.bits.len(), self.h.len(), self.size.len(), self.sender.len(),
                    self.client.len(), self.rcpt.len(), self.domain.len(), self.delay.len()];
        if lens.iter().any(|&l| l != n) || self.reply.len() != n {
            return Err("the fold's columns differ in length".to_string());
        }
        // (a code is a slot's index in `Agg::slot`: none negative, checked before anything is folded)
        if self.rcpt.iter().chain(self.domain).any(|&c| c < 0) {
            return Err("a negative recipient or domain code".to_string());
        }
        Ok(n)
    }
}

/// Per key code: a slot in first-folded order, and the slot's values.
#[derive(Default)]
pub struct Agg {
    slot_of: Vec<i32>,
    /// each slot's key code
    pub codes: Vec<i32>,
    /// per slot: integer sums (recipients: messages, bytes; domains: sent, bytes, deferrals)
    pub ints: [Vec<i64>; 3],
    pub delay_sum: Vec<f64>,
    pub max_delay: Vec<f64>,
    /// the first two sums only (the recipients': no deferrals nor delays, 24 bytes a slot less)
    pub narrow: bool,
}

impl Agg {
    fn slot(&mut self, code: i32) -> usize {
        let c = code as usize;
        if c >= self.slot_of.len() {
            self.slot_of.resize(c + 1, -1);
        }
        if self.slot_of[c] < 0 {
            self.slot_of[c] = self.codes.len() as i32;
            self.codes.push(code);
            let used = if self.narrow { 2 } else { 3 };
            for v in self.ints.iter_mut().take(used) {
                v.push(0);
            }
            if !self.narrow {
                self.delay_sum.push(0.0);
                self.max_delay.push(f64::NEG_INFINITY);
            }
        }
        self.slot_of[c] as usize
    }

    pub fn nbytes(&self) -> usize {
        4 * (self.slot_of.capacity() + self.codes.capacity())
            + 8 * (self.ints.iter().map(Vec::capacity).sum::<usize>() + self.delay_sum.capacity() + self.max_delay.capacity())
    }
}

/// A delivery or deferral line folded when its message's size is read.
#[derive(Clone, Copy)]
struct Line {
    rcpt: i32,
    domain: i32,
    sent: bool,
    known: bool,
    delay: f64,
    h: u64,
}

/// Each queue id's first size, held as u32 (a message's size in bytes fits): 4 bytes a message,
/// not 8; one that does not fit (negative, or past 4 GiB: a log can say anything) is held in
/// `wide` by its slot, its `narrow` entry unread.
#[derive(Default)]
pub struct Sizes {
    narrow: Vec<u32>,
    wide: std::collections::HashMap<u32, i64>,
}

impl Sizes {
    fn push_zero(&mut self) {
        self.narrow.push(0);
    }

    pub fn get(&self, s: usize) -> i64 {
        if !self.wide.is_empty() {
            if let Some(&v) = self.wide.get(&(s as u32)) {
                return v;
            }
        }
        i64::from(self.narrow[s])
    }

    fn set(&mut self, s: usize, v: i64) {
        match u32::try_from(v) {
            Ok(n) => {
                self.narrow[s] = n;
                if !self.wide.is_empty() {
                    self.wide.remove(&(s as u32));
                }
            }
            Err(_) => {
                self.wide.insert(s as u32, v);
            }
        }
    }

    /// Every slot's size, in slot order, as int64 little-endian bytes.
    pub fn le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * self.narrow.len());
        for s in 0..self.narrow.len() {
            out.extend_from_slice(&self.get(s).to_le_bytes());
        }
        out
    }

    fn nbytes(&self) -> usize {
        4 * self.narrow.capacity() + 17 * self.wide.capacity()
    }
}

#[derive(Default)]
pub struct PfFold {
    qids: KeyMap,
    pub flags: Vec<u8>,
    pub size: Sizes,
    pub sender: Vec<i32>,
    pub client: Vec<i32>,
    pub recipients: Agg,
    pub domains: Agg,
    waiting: Vec<Line>,
    pub n: [i64; COUNTS],
    /// the messages ended at their `removed` line, their slots freed
    pub ended: PfEnded,
}

impl PfFold {
    pub fn new() -> Self {
        let mut f = Self::default();
        f.recipients.narrow = true;
        f
    }

    fn slot(&mut self, h: u64) -> Result<usize, String> {
        let s = self.qids.slot(h).ok_or_else(|| "too many queue ids for a key map".to_string())?;
        if s >= self.flags.len() {
            self.flags.push(0);
            self.size.push_zero();
            self.sender.push(-1);
            self.client.push(-1);
        }
        Ok(s)
    }

    /// Fold a flush, in pieces none of which holds a line of a queue id after that id's
    /// `removed` line (`PfFold.add`, `message_ends.end_cuts`): a line after it is a new message's.
    pub fn add(&mut self, r: &PfRows) -> Result<(), String> {
        let n = r.len()?;
        let end = |i: usize| r.prog[i] & PROG_SEEN != 0 && r.event[i] == EV_REMOVED && r.bits[i] & BIT_QID != 0;
        // each id's last end row: an end before `lo` is of an earlier piece
        let mut ended: HashMap<u64, usize, Keyed> = HashMap::default();
        let mut lo = 0;
        for i in 0..n {
            if r.bits[i] & BIT_QID != 0 && ended.get(&r.h[i]).is_some_and(|&e| e >= lo) {
                self.piece(r, lo, i)?;
                lo = i;
            }
            if end(i) {
                ended.insert(r.h[i], i);
            }
        }
        self.piece(r, lo, n)?;
        Ok(())
    }

    /// Rows ``lo .. hi`` (`PfFold._count`, `_sizes`, `_received`, `_deliveries`, `_end`, in that order).
    fn piece(&mut self, r: &PfRows, lo: usize, hi: usize) -> Result<(), String> {
        let finder = memmem::Finder::new(b"forwarded as");
        let mut recv_rows = Vec::new();
        let mut lines = Vec::new(); // delivered (sent, not forwarded) or deferred
        let mut deferred_rows = Vec::new();
        let mut ends = Vec::new();
        for i in lo..hi {
            let (p, ev, st, bits) = (r.prog[i], r.event[i], r.status[i], r.bits[i]);
            if p & PROG_SEEN == 0 {
                continue;
            }
            if ev == EV_REMOVED && bits & BIT_QID != 0 {
                ends.push(r.h[i]);
            }
            let (smtpd, cleanup) = (p & PROG_SMTPD != 0, p & PROG_CLEANUP != 0);
            let has = bits & BIT_QID != 0;
            let recv = (smtpd && ((ev == EV_RECEIVED && has) || st == ST_CLIENT_BEFORE_QUEUE))
                || (p & PROG_PICKUP != 0 && ev == EV_RECEIVED);
            let agent = !smtpd && !cleanup && p & PROG_MASTER == 0;
            let delivery = agent && ev == EV_DELIVERY;
            let sent = delivery && st == ST_SENT;
            let forwarded = sent && r.forwarded(i, &finder);
            let deferred = delivery && st == ST_DEFERRED;
            let c = &mut self.n;
            c[RECEIVED] += recv as i64;
            c[DELIVERED] += (sent && !forwarded) as i64;
            c[FORWARDED] += forwarded as i64;
            c[DEFERRALS] += deferred as i64;
            c[BOUNCED] += (delivery && st == ST_BOUNCED) as i64;
            let reject = ev == EV_REJECT;
            c[REJECTED] += ((smtpd && reject && bits & BIT_PLAIN != 0) || (cleanup && reject)) as i64;
            let filter = ev == EV_FILTER_ACTION;
            c[REJECT_WARNINGS] += ((smtpd && ev == EV_REJECT_WARNING) || (cleanup && filter && st == ST_WARNING)) as i64;
            let either = (smtpd || cleanup) && filter;
            c[HELD] += (either && st == ST_HOLD) as i64;
            c[DISCARDED] += (either && st == ST_DISCARD) as i64;
            if ev == EV_QUEUED && has {
                // each queue id's first size and sender (the batch's first line of it, if none yet)
                let s = self.slot(r.h[i])?;
                if self.flags[s] & SIZED == 0 {
                    self.size.set(s, r.size[i]);
                    self.sender[s] = r.sender[i];
                    self.flags[s] |= SIZED | if bits & BIT_BARE != 0 { BARE } else { 0 };
                }
            }
            if recv && has {
                recv_rows.push(i);
            }
            if deferred && has {
                deferred_rows.push(i);
            }
            if (sent && !forwarded) || deferred {
                lines.push(Line { rcpt: r.rcpt[i], domain: r.domain[i], sent: !deferred, known: has, delay: r.delay[i],
                                  h: if has { r.h[i] } else { 0 } });
            }
        }
        for i in recv_rows {
            // the client of the last receive line of each queue id
            let s = self.slot(r.h[i])?;
            self.client[s] = r.client[i];
            self.flags[s] |= RECV;
        }
        for i in deferred_rows {
            let s = self.slot(r.h[i])?;
            self.flags[s] |= DEFERRED;
        }
        if !lines.is_empty() {
            let mut all = std::mem::take(&mut self.waiting);
            all.extend(lines);
            self.deliver(&all, false);
        }
        self.end(&ends);
        Ok(())
    }

    /// `PfFold._end`: the messages ``hs`` ended whose size was read (an end read before it, as
    /// in files read newest first, is not one: their slots stay) — their delivery lines waiting
    /// folded, their sender, client and size kept in `ended` where received, their slots freed.
    fn end(&mut self, hs: &[u64]) {
        let mut gone: Vec<u64> = hs.iter().copied().filter(|&h| self.sized(h).is_some()).collect();
        if gone.is_empty() {
            return;
        }
        gone.sort_unstable();
        gone.dedup();
        if !self.waiting.is_empty() {
            let (now, wait): (Vec<Line>, Vec<Line>) =
                std::mem::take(&mut self.waiting).into_iter().partition(|l| l.known && gone.binary_search(&l.h).is_ok());
            self.waiting = wait;
            self.deliver(&now, true);
        }
        for &h in &gone {
            let s = self.qids.remove_key(h).expect("an ended message is held");
            let f = self.flags[s];
            if f & RECV != 0 {
                self.ended.got(self.sender[s], self.client[s], self.size.get(s), f & BARE != 0);
            }
            self.ended.deferred += (f & DEFERRED != 0) as i64;
            self.flags[s] = 0;
            self.size.set(s, 0);
            (self.sender[s], self.client[s]) = (-1, -1);
        }
    }

    fn sized(&self, h: u64) -> Option<usize> {
        self.qids.get(h).filter(|&s| self.flags[s] & SIZED != 0)
    }

    /// `PfFold._deliver`: the lines whose size is read (all when ``last``) folded, the others wait.
    fn deliver(&mut self, lines: &[Line], last: bool) {
        for l in lines {
            let mut size = 0;
            if l.known && l.sent {
                match self.sized(l.h) {
                    Some(s) => size = self.size.get(s),
                    None if !last => {
                        self.waiting.push(*l);
                        continue;
                    }
                    None => {}
                }
            }
            if l.sent {
                let s = self.recipients.slot(l.rcpt);
                self.recipients.ints[0][s] += 1;
                self.recipients.ints[1][s] += size;
            }
            let d = &mut self.domains;
            let s = d.slot(l.domain);
            d.ints[0][s] += l.sent as i64;
            d.ints[1][s] += if l.sent { size } else { 0 };
            d.ints[2][s] += !l.sent as i64;
            d.delay_sum[s] += if l.sent { l.delay } else { 0.0 };
            d.max_delay[s] = d.max_delay[s].max(l.delay); // NaN left out, as numpy's fmax
        }
    }

    /// The lines still waiting folded with size 0 where it was never read (`PfFold._finish`).
    pub fn finish(&mut self) {
        let waiting = std::mem::take(&mut self.waiting);
        self.deliver(&waiting, true);
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        self.qids.nbytes() + self.ended.nbytes() + self.flags.capacity() + self.size.nbytes() + 4 * (self.sender.capacity() + self.client.capacity())
            + self.recipients.nbytes() + self.domains.nbytes() + std::mem::size_of::<Line>() * self.waiting.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rows {
        prog: Vec<u8>,
        event: Vec<u8>,
        status: Vec<u8>,
        bits: Vec<u8>,
        h: Vec<u64>,
        size: Vec<i64>,
        sender: Vec<i32>,
        client: Vec<i32>,
        rcpt: Vec<i32>,
        domain: Vec<i32>,
        delay: Vec<f64>,
        off: Vec<u8>,
        text: Vec<u8>,
    }

    impl Rows {
        fn new() -> Self {
            Rows { prog: vec![], event: vec![], status: vec![], bits: vec![], h: vec![], size: vec![], sender: vec![],
                   client: vec![], rcpt: vec![], domain: vec![], delay: vec![], off: 0i32.to_le_bytes().to_vec(), text: vec![] }
        }

        #[allow(clippy::too_many_arguments)]
        fn push(&mut self, prog: u8, event: u8, status: u8, bits: u8, h: u64, size: i64, code: i32, delay: f64) -> &mut Self {
            self.prog.push(prog);
            self.event.push(event);
            self.status.push(status);
            self.bits.push(bits);
            self.h.push(h);
            self.size.push(size);
            for v in [&mut self.sender, &mut self.client, &mut self.rcpt, &mut self.domain] {
                v.push(code);
            }
            self.delay.push(delay);
            self.reply(b"250 2.0.0 Ok")
        }

        fn reply(&mut self, text: &[u8]) -> &mut Self {
            if self.off.len() / 4 > self.prog.len() {
                self.off.truncate(self.off.len() - 4);
                let end = i32::from_le_bytes(self.off[self.off.len() - 4..].try_into().unwrap()) as usize;
                self.text.truncate(end);
            }
            self.text.extend_from_slice(text);
            self.off.extend_from_slice(&(self.text.len() as i32).to_le_bytes());
            self
        }

        fn rows(&self) -> PfRows<'_> {
            PfRows { prog: &self.prog, event: &self.event, status: &self.status, bits: &self.bits, h: &self.h,
                     size: &self.size, sender: &self.sender, client: &self.client, rcpt: &self.rcpt, domain: &self.domain,
                     delay: &self.delay, reply: Texts::new(&self.off, &self.text, false, None).unwrap() }
        }
    }

    const AGENT: u8 = PROG_SEEN;
    const QMGR: u8 = PROG_SEEN;

    #[test]
    fn a_delivery_waits_for_its_size_across_flushes() {
        let mut f = PfFold::new();
        let mut a = Rows::new();
        a.push(AGENT, EV_DELIVERY, ST_SENT, BIT_QID, 7, 0, 0, 1.5); // before its size
        a.push(AGENT, EV_DELIVERY, ST_DEFERRED, BIT_QID, 7, 0, 1, 2.0);
        f.add(&a.rows()).unwrap();
        assert_eq!(f.waiting(), 1);
        assert_eq!(f.domains.codes, vec![1]);
        let mut b = Rows::new();
        b.push(QMGR, EV_QUEUED, 0, BIT_QID, 7, 900, 3, 0.0);
        b.push(QMGR, EV_QUEUED, 0, BIT_QID, 7, 5, 4, 0.0); // not the first size
        f.add(&b.rows()).unwrap();
        assert_eq!(f.waiting(), 1, "tried again with the next delivery lines only");
        let mut c = Rows::new();
        c.push(AGENT, EV_DELIVERY, ST_SENT, 0, 0, 0, 2, 0.5); // no queue id: size 0, never waits
        f.add(&c.rows()).unwrap();
        assert_eq!(f.waiting(), 0);
        assert_eq!(f.recipients.codes, vec![0, 2]);
        assert_eq!(f.recipients.ints[1], vec![900, 0]);
        assert_eq!(f.domains.codes, vec![1, 0, 2]);
        assert_eq!(f.domains.ints[2], vec![1, 0, 0]);
        assert_eq!(f.domains.delay_sum, vec![0.0, 1.5, 0.5]);
        assert_eq!(f.domains.max_delay, vec![2.0, 1.5, 0.5]);
        assert_eq!((f.size.get(0), f.sender[0], f.flags[0]), (900, 3, SIZED | DEFERRED));
        assert_eq!(f.n[DELIVERED], 2);
        assert_eq!(f.n[DEFERRALS], 1);
    }

    #[test]
    fn a_removed_message_frees_its_slot_and_a_line_after_it_is_a_new_one() {
        const SMTPD: u8 = PROG_SEEN | PROG_SMTPD;
        let mut f = PfFold::new();
        let mut a = Rows::new();
        a.push(SMTPD, EV_RECEIVED, 0, BIT_QID, 7, 0, 5, 0.0);
        a.push(QMGR, EV_QUEUED, 0, BIT_QID, 7, 900, 3, 0.0);
        a.push(AGENT, EV_DELIVERY, ST_DEFERRED, BIT_QID, 7, 0, 1, 2.0);
        a.push(QMGR, EV_REMOVED, 0, BIT_QID, 7, 0, 0, 0.0);
        // the id again in the same flush: a new message (its own size and sender), its end not read
        a.push(SMTPD, EV_RECEIVED, 0, BIT_QID, 7, 0, 6, 0.0);
        a.push(QMGR, EV_QUEUED, 0, BIT_QID | BIT_BARE, 7, 40, 4, 0.0);
        a.push(AGENT, EV_DELIVERY, ST_SENT, BIT_QID, 7, 0, 2, 1.0);
        a.push(QMGR, EV_REMOVED, 0, BIT_QID, 8, 0, 0, 0.0); // an id never sized: nothing ended
        f.add(&a.rows()).unwrap();
        assert_eq!(f.ended.senders(), (vec![3], vec![1], vec![900]));
        assert_eq!(f.ended.deferred, 1);
        assert_eq!(f.qids.live(), 1, "the new message held (an end of an id not held adds none)");
        assert_eq!(f.flags.len(), 1, "the freed slot given to the new message");
        assert_eq!((f.size.get(0), f.sender[0], f.client[0], f.flags[0]), (40, 4, 6, SIZED | RECV | BARE));
        assert_eq!(f.recipients.ints[1], vec![40], "the delivery takes the new message's size");
        let mut b = Rows::new();
        b.push(QMGR, EV_REMOVED, 0, BIT_QID, 7, 0, 0, 0.0);
        f.add(&b.rows()).unwrap();
        assert_eq!(f.ended.senders(), (vec![3, 4], vec![1, 1], vec![900, 40]));
        assert_eq!(f.ended.pairs(), (vec![4], vec![6]), "the sender without a domain with its client");
        assert_eq!(f.qids.live(), 0);
    }

    #[test]
    fn sizes_held_narrow_give_back_every_value_and_wide_ones_exactly() {
        let mut f = PfFold::new();
        let mut a = Rows::new();
        let sizes = [0i64, 1, 900, u32::MAX as i64, u32::MAX as i64 + 1, -1, i64::MIN, i64::MAX, 77];
        for (k, &v) in sizes.iter().enumerate() {
            a.push(QMGR, EV_QUEUED, 0, BIT_QID, 100 + k as u64, v, 1, 0.0);
        }
        for k in 0..sizes.len() {
            a.push(AGENT, EV_DELIVERY, ST_SENT, BIT_QID, 100 + k as u64, 0, k as i32, 0.0);
        }
        f.add(&a.rows()).unwrap();
        let got: Vec<i64> = (0..sizes.len()).map(|s| f.size.get(s)).collect();
        assert_eq!(got, sizes);
        let le: Vec<i64> = f.size.le_bytes().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(le, sizes);
        assert_eq!(f.size.wide.len(), 4, "only the values past u32 held wide");
        // each recipient's bytes are its message's size, wide or not (summed as before)
        assert_eq!(f.recipients.ints[1], sizes.to_vec());
    }

    #[test]
    fn never_sized_counts_zero_at_the_end_and_counts_follow_the_classes() {
        let mut f = PfFold::new();
        let mut a = Rows::new();
        a.push(AGENT, EV_DELIVERY, ST_SENT, BIT_QID, 9, 0, 0, f64::NAN);
        a.push(PROG_SEEN | PROG_SMTPD, EV_RECEIVED, 0, BIT_QID, 9, 0, 5, 0.0);
        a.push(PROG_SEEN | PROG_SMTPD, EV_RECEIVED, 0, BIT_QID, 9, 0, 6, 0.0); // the last client stays
        a.push(PROG_SEEN | PROG_SMTPD, 0, ST_CLIENT_BEFORE_QUEUE, 0, 0, 0, 0, 0.0);
        a.push(PROG_SEEN | PROG_SMTPD, EV_REJECT, 0, 0, 0, 0, 0, 0.0); // a milter's: not plain
        a.push(PROG_SEEN | PROG_CLEANUP, EV_REJECT, 0, 0, 0, 0, 0, 0.0);
        a.push(PROG_SEEN | PROG_CLEANUP, EV_FILTER_ACTION, ST_HOLD, 0, 0, 0, 0, 0.0);
        a.push(0, EV_DELIVERY, ST_SENT, BIT_QID, 9, 0, 0, 0.0); // not a Postfix daemon: unseen
        a.push(AGENT, EV_DELIVERY, ST_SENT, BIT_QID, 9, 0, 0, 0.0).reply(b"250 2.0.0 Ok: forwarded as 3F2A");
        a.push(AGENT, EV_DELIVERY, ST_DEFERRED, BIT_QID, 9, 0, 0, 0.0).reply(b"forwarded as X"); // not sent
        f.add(&a.rows()).unwrap();
        assert_eq!(f.waiting(), 1);
        f.finish();
        assert_eq!(f.waiting(), 0);
        assert_eq!(f.recipients.ints[1], vec![0]);
        assert_eq!(f.domains.max_delay, vec![0.0], "NaN left out");
        assert_eq!((f.client[0], f.flags[0]), (6, RECV | DEFERRED));
        assert_eq!(f.n, [3, 1, 1, 1, 0, 1, 0, 1, 0]);
        let bad = PfRows { prog: &[1], ..a.rows() };
        assert!(f.add(&bad).is_err());
        let mut b = Rows::new();
        b.push(AGENT, EV_DELIVERY, ST_SENT, 0, 0, 0, -1, 0.0);
        assert_eq!(f.add(&b.rows()), Err("a negative recipient or domain code".to_string()), "no panic");
        assert_eq!(f.recipients.codes, vec![0], "nothing folded");
    }
}
