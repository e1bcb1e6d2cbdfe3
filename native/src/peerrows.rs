//! A stream batch's Postfix lines coded for the peers' fold step where they lie
//! (`analyzer/peer_native.py`'s `NativePfFold.encode_rows`): what `NativePfFold.encode` makes of
//! the batch's columns in Python (each text's code in its column's vocabulary, read of the rows
//! whose lines `peerfold.rs` reads it of only; the queue id's hash; whether a sent line's reply
//! says 'forwarded as'), in one pass over the rows folded, no column copied out of the batch.
//! The codes are those `Vocab.encode` gives each column's rows in row order (one vocabulary per
//! column: the same codes, the same first-seen order); `tests/test_peer_rows.py` holds the two
//! equal.

use crate::hash::hash_bytes;
use crate::peerfold::{EV_DELIVERY, EV_QUEUED, EV_RECEIVED, EV_REJECT, ST_CLIENT_BEFORE_QUEUE, ST_SENT};
use crate::vocab::{check_valid, Vocab};
use memchr::memmem;

/// The texts coded, in the order of the vocabularies and columns handed in.
pub const PROGRAM: usize = 0;
pub const DETAIL: usize = 1;
pub const SENDER: usize = 2;
pub const HOST: usize = 3;
pub const IP: usize = 4;
pub const RCPT: usize = 5;
pub const CODED: usize = 6;
/// After the coded texts: the queue id and the reply text.
pub const QID: usize = 6;
pub const REPLY: usize = 7;

/// Per row folded: each coded text's code (-1: not read, or null), the queue id's hash (0
/// without one) and whether it has one, whether the line is forwarded.
#[derive(Debug, PartialEq, Default)]
pub struct Coded {
    pub codes: [Vec<i64>; CODED],
    pub h: Vec<u64>,
    pub has: Vec<u8>,
    pub forwarded: Vec<u8>,
}

/// A string column read row by row: each row's offsets checked where it is read (not the whole
/// column's first: a batch's rows folded are a part of it).
pub struct Lazy<'a> {
    off: &'a [u8],
    wide: bool,
    data: &'a [u8],
    valid: Option<(&'a [u8], usize)>,
    len: usize,
}

impl<'a> Lazy<'a> {
    /// ``off``: the column's n + 1 offsets (i32, or i64 where ``wide``); ``valid``: its validity
    /// bitmap and first row's bit, or None.
    pub fn new(off: &'a [u8], data: &'a [u8], wide: bool, valid: Option<(&'a [u8], usize)>) -> Result<Self, String> {
        let width = if wide { 8 } else { 4 };
        if !off.len().is_multiple_of(width) || off.len() < width {
            return Err("the offsets buffer does not hold n + 1 offsets".into());
        }
        let len = off.len() / width - 1;
        check_valid(valid, len)?;
        Ok(Lazy { off, wide, data, valid, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn offset(&self, i: usize) -> i64 {
        if self.wide {
            i64::from_le_bytes(self.off[8 * i..8 * i + 8].try_into().expect("8 bytes"))
        } else {
            i64::from(i32::from_le_bytes(self.off[4 * i..4 * i + 4].try_into().expect("4 bytes")))
        }
    }

    /// Row ``i``'s text (below `len`), None where null; an error where its offsets are not a
    /// part of the data.
    pub fn get(&self, i: usize) -> Result<Option<&'a [u8]>, String> {
        if self.valid.is_some_and(|(bits, at)| bits[(at + i) / 8] >> ((at + i) % 8) & 1 == 0) {
            return Ok(None);
        }
        let (a, b) = (self.offset(i), self.offset(i + 1));
        if a < 0 || b < a || b as u64 > self.data.len() as u64 {
            return Err("a row's offsets out of order or past the data".into());
        }
        Ok(Some(&self.data[a as usize..b as usize]))
    }
}

/// Whether text ``k`` is read of a line of ``event`` and ``status`` (`NativePfFold.encode`'s masks).
fn reads(k: usize, event: u8, status: u8) -> bool {
    match k {
        PROGRAM => true,
        DETAIL => event == EV_REJECT,
        SENDER => event == EV_QUEUED,
        HOST | IP => event == EV_RECEIVED || status == ST_CLIENT_BEFORE_QUEUE,
        _ => event == EV_DELIVERY,
    }
}

/// The rows ``at`` of the columns ``cols`` (program, detail, sender, client host, client IP,
/// recipient, queue id, reply text; each as long as the batch), ``event`` and ``status`` the
/// rows' ids (`peerfold.rs` EV_*, ST_*; one per row of ``at``); the texts coded in ``vocabs``.
pub fn encode(vocabs: &mut [&mut Vocab; CODED], cols: &[Lazy; 8], at: &[usize], event: &[u8], status: &[u8])
              -> Result<Coded, String> {
    let n = cols[0].len();
    if cols.iter().any(|c| c.len() != n) {
        return Err("the batch's columns differ in length".into());
    }
    if event.len() != at.len() || status.len() != at.len() || at.iter().any(|&i| i >= n) {
        return Err("a row out of range, or its event or status missing".into());
    }
    let finder = memmem::Finder::new(b"forwarded as");
    let mut out = Coded::default();
    for v in out.codes.iter_mut() {
        v.reserve(at.len());
    }
    for (j, &i) in at.iter().enumerate() {
        let (ev, st) = (event[j], status[j]);
        for (k, vocab) in vocabs.iter_mut().enumerate() {
            let code = match if reads(k, ev, st) { cols[k].get(i)? } else { None } {
                Some(s) => vocab.code(s).ok_or("a vocabulary of 2^31 - 1 strings or 4 GiB")?,
                None => -1,
            };
            out.codes[k].push(code);
        }
        let qid = cols[QID].get(i)?;
        out.h.push(qid.map_or(0, hash_bytes));
        out.has.push(qid.is_some() as u8);
        let sent = ev == EV_DELIVERY && st == ST_SENT;
        out.forwarded.push((sent && cols[REPLY].get(i)?.is_some_and(|t| finder.find(t).is_some())) as u8);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::nullable_strings as col;


    #[test]
    fn codes_only_the_rows_and_texts_read() {
        let cols: Vec<_> = [
            [Some("postfix/smtpd"), Some("postfix/qmgr"), Some("postfix/smtp"), None],
            [Some("milter-reject"), Some("x"), None, None],
            [Some("a@b"), Some("S@x"), Some("c@d"), None],
            [Some("h.example"), None, Some("h2"), Some("h3")],
            [Some("1.2.3.4"), Some("5.6.7.8"), None, None],
            [None, Some("r@x"), Some("r@x"), None],
            [Some("Q1"), Some("Q2"), None, Some("Q1")],
            [None, None, Some("250 ok: forwarded as X"), Some("forwarded as")],
        ].iter().map(|c| col(c)).collect();
        let t: Vec<Lazy> = cols.iter().map(|c| Lazy::new(&c.0, &c.1, false, Some((&c.2[..], 0))).unwrap()).collect();
        let t: [Lazy; 8] = t.try_into().unwrap_or_else(|_| panic!("eight"));
        let mut v: Vec<Vocab> = (0..CODED).map(|_| Vocab::default()).collect();
        let mut refs = v.iter_mut().collect::<Vec<_>>().try_into().unwrap_or_else(|_| panic!("six"));
        // rows 0, 2, 3: a reject, a sent delivery, a deferred one; row 1 not folded
        let got = encode(&mut refs, &t, &[0, 2, 3], &[EV_REJECT, EV_DELIVERY, EV_DELIVERY], &[0, ST_SENT, 3]).unwrap();
        assert_eq!(got.codes[PROGRAM], vec![0, 1, -1]);
        assert_eq!(got.codes[DETAIL], vec![0, -1, -1]);
        assert_eq!(got.codes[SENDER], vec![-1, -1, -1]);
        assert_eq!(got.codes[HOST], vec![-1, -1, -1]);
        assert_eq!(got.codes[RCPT], vec![-1, 0, -1]);
        assert_eq!(got.has, vec![1, 0, 1]);
        assert_eq!(got.h[0], got.h[2]);
        assert_eq!(got.h[1], 0);
        assert_eq!(got.forwarded, vec![0, 1, 0]);
        assert!(encode(&mut refs, &t, &[4], &[0], &[0]).is_err());
        assert!(encode(&mut refs, &t, &[0], &[], &[0]).is_err());
    }

    #[test]
    fn offsets_out_of_order_are_errors_where_read() {
        // three rows: the second's offsets go backwards, the third's past the data
        let off: Vec<u8> = [0i32, 3, 1, 9].iter().flat_map(|o| o.to_le_bytes()).collect();
        let col = Lazy::new(&off, b"abcd", false, None).unwrap();
        assert_eq!(col.get(0), Ok(Some(&b"abc"[..])));
        assert!(col.get(1).is_err());
        assert!(col.get(2).is_err());
        assert!(Lazy::new(&off[..3], b"", false, None).is_err());
        assert!(Lazy::new(&off, b"abcd", false, Some((&[0u8][..], 6))).is_err());
    }
}
