//! pflogsumm's warning texts of Postfix lines (`analyzer/report/peers.py`'s `_pf_warning_text`,
//! the specification), built in one pass over the flush's columns for the warning lines only:
//! the text after 'warning: ', rebuilt from the fields for the warnings maillens parses into an
//! event of their own, then cut after the last 'warning: ' of its first line (as the pattern
//! `^.*warning: ` cuts it: `.` does not cross a newline).

use crate::peerrows::Lazy;
use crate::vocab::{check_valid, Column};

/// A line's kind (Python gives it from the event, status and direction): no text; a generic
/// warning; a SASL failure (not outbound); a non-SMTP command; a reverse-DNS check.
pub const NONE: u8 = 0;
pub const WARNING: u8 = 1;
pub const SASL: u8 = 2;
pub const NON_SMTP: u8 = 3;
pub const DNS: u8 = 4;

/// A string column and its validity (bitmap, first row's bit; None: no row null), the offsets
/// checked before anything is read: of every row (`Texts::new`), or of the rows the caller
/// reads only (`Texts::rows`: a batch's lines read where they lie, the others not looked at).
pub struct Texts<'a> {
    col: Col<'a>,
}

enum Col<'a> {
    /// every offset checked (`Column::new`), and the validity
    All(Column<'a>, Option<(&'a [u8], usize)>),
    /// those of some rows only: each read checked again (no row read past the data)
    Rows(Lazy<'a>),
}

impl<'a> Texts<'a> {
    /// ``off``: the column's n + 1 offsets (i32, or i64 where ``wide``), every one checked (in
    /// order, none negative, none past the data).
    pub fn new(off: &'a [u8], data: &'a [u8], wide: bool, valid: Option<(&'a [u8], usize)>) -> Result<Self, String> {
        let col = Column::new(off, data, wide)?;
        check_valid(valid, col.len())?;
        Ok(Texts { col: Col::All(col, valid) })
    }

    /// The column with the offsets of the rows ``rows`` checked only (each below the length:
    /// else an error); the others read as null.
    pub fn rows(off: &'a [u8], data: &'a [u8], wide: bool, valid: Option<(&'a [u8], usize)>,
                rows: impl IntoIterator<Item = usize>) -> Result<Self, String> {
        let col = Lazy::new(off, data, wide, valid)?;
        for i in rows {
            if i >= col.len() {
                return Err("a row past the column".into());
            }
            let (a, b) = (col.offset(i), col.offset(i + 1));
            if a < 0 || b < a || b as u64 > data.len() as u64 {
                return Err("a row's offsets out of order or past the data".into());
            }
        }
        Ok(Texts { col: Col::Rows(col) })
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.col {
            Col::All(c, _) => c.len(),
            Col::Rows(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row ``i``'s text, None where null (and for a row whose offsets were not checked and are
    /// not a part of the data: never read by the callers of `Texts::rows`).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        match &self.col {
            Col::All(c, valid) => valid.is_none_or(|(bits, at)| bits[(at + i) / 8] >> ((at + i) % 8) & 1 == 1).then(|| c.get(i)),
            Col::Rows(c) => c.get(i).ok().flatten(),
        }
    }
}

/// The warning's columns: detail, client host, client IP, queue id, SASL user name, reply text.
pub struct Fields<'a> {
    pub detail: Texts<'a>,
    pub host: Texts<'a>,
    pub ip: Texts<'a>,
    pub qid: Texts<'a>,
    pub user: Texts<'a>,
    pub reply: Texts<'a>,
}

/// The text of row ``i`` of ``kind``, or None.
pub fn text(f: &Fields, i: usize, kind: u8) -> Option<Vec<u8>> {
    let detail = f.detail.get(i);
    let tail = detail.unwrap_or(b"");
    let (host, ip) = (f.host.get(i), f.ip.get(i));
    let client = || [host.unwrap_or(b"unknown"), b"[", ip.unwrap_or(b""), b"]"].concat();
    let out = match kind {
        WARNING if detail.is_some() => {
            let qid = f.qid.get(i).map(|q| [q, b": "].concat()).unwrap_or_default();
            [&qid[..], tail].concat()
        }
        SASL if detail.is_some() => {
            let user = f.user.get(i).map(|u| [&b", sasl_username="[..], u].concat()).unwrap_or_default();
            [&client()[..], b": SASL ", tail, b" authentication failed: ", f.reply.get(i).unwrap_or(b""), &user].concat()
        }
        NON_SMTP => [&b"non-SMTP command from "[..], &client(), b": ", tail].concat(),
        DNS => match (host, ip) {
            (Some(h), Some(a)) => [&b"hostname "[..], h, b" does not resolve to address ", a, tail].concat(),
            (Some(h), None) => [&b"address not listed for hostname "[..], h, tail].concat(),
            (None, Some(a)) => [a, b": ", tail].concat(),
            (None, None) => return None,
        },
        _ => return None,
    };
    Some(cut(out))
}

/// What follows the last 'warning: ' of the first line (the whole text when there is none).
pub fn cut(text: Vec<u8>) -> Vec<u8> {
    const W: &[u8] = b"warning: ";
    let line = memchr::memchr(b'\n', &text).unwrap_or(text.len());
    match memchr::memmem::rfind(&text[..line], W) {
        Some(at) => text[at + W.len()..].to_vec(),
        None => text,
    }
}

/// The texts of ``rows`` (their ``kinds``): Arrow offsets (i64), data, validity bitmap, nulls.
pub fn texts(f: &Fields, rows: &[usize], kinds: &[u8]) -> (Vec<i64>, Vec<u8>, Vec<u8>, usize) {
    let mut off = Vec::with_capacity(rows.len() + 1);
    let (mut data, mut valid, mut nulls) = (Vec::new(), vec![0u8; rows.len().div_ceil(8)], 0);
    off.push(0);
    for (j, (&i, &k)) in rows.iter().zip(kinds).enumerate() {
        match text(f, i, k) {
            Some(t) => {
                data.extend_from_slice(&t);
                valid[j / 8] |= 1 << (j % 8);
            }
            None => nulls += 1,
        }
        off.push(data.len() as i64);
    }
    (off, data, valid, nulls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::nullable_strings as col;


    #[test]
    fn rows_checked_alone_read_as_the_whole_column_reads_them() {
        let (off, data, valid) = col(&[Some("ab"), None, Some(""), Some("cde")]);
        let all = Texts::new(&off, &data, false, Some((&valid[..], 0))).unwrap();
        let some = Texts::rows(&off, &data, false, Some((&valid[..], 0)), [0, 2, 3]).unwrap();
        assert_eq!((0..4).map(|i| all.get(i)).collect::<Vec<_>>(), (0..4).map(|i| some.get(i)).collect::<Vec<_>>());
        assert_eq!(some.len(), 4);
        // row 1's offsets broken (past the data): an error where it is checked, null where it is not
        let mut bad = off.clone();
        bad[4..8].copy_from_slice(&100i32.to_le_bytes());
        assert!(Texts::new(&bad, &data, false, None).is_err());
        assert!(Texts::rows(&bad, &data, false, None, [1]).is_err());
        assert!(Texts::rows(&bad, &data, false, None, [0]).is_err(), "row 0 ends where row 1 starts");
        let t = Texts::rows(&bad, &data, false, None, [3]).unwrap();
        assert_eq!((t.get(1), t.get(3)), (None, Some(&b"cde"[..])));
        assert!(Texts::rows(&off, &data, false, None, [4]).is_err(), "a row past the column");
        assert!(Texts::rows(&off, &data, false, Some((&valid[..0], 0)), [0]).is_err(), "a bitmap too short");
    }

    #[test]
    fn texts_of_each_kind() {
        let cols: Vec<_> = [
            [Some("x warning: y warning: disk full\nwarning: z"), Some("PLAIN"), Some("cmd"), Some("tail"), Some("t"), None, Some("d")],
            [None, Some("h.example"), Some("h"), None, Some("h"), None, None],
            [None, Some("1.2.3.4"), None, Some("1.2.3.4"), Some("5.6.7.8"), None, None],
            [Some("3F2A"), None, None, None, None, None, None],
            [None, Some("bob"), None, None, None, None, None],
            [None, Some("535 auth"), None, None, None, None, None],
        ].iter().map(|c| col(c)).collect();
        let t = |k: usize| Texts::new(&cols[k].0, &cols[k].1, false, Some((&cols[k].2[..], 0))).unwrap();
        let f = Fields { detail: t(0), host: t(1), ip: t(2), qid: t(3), user: t(4), reply: t(5) };
        let (off, data, valid, nulls) = texts(&f, &[0, 1, 2, 3, 4, 5, 6, 6], &[WARNING, SASL, NON_SMTP, DNS, DNS, DNS, WARNING, NONE]);
        let got: Vec<Option<String>> = (0..8)
            .map(|j| (valid[j / 8] >> (j % 8) & 1 == 1).then(|| String::from_utf8(data[off[j] as usize..off[j + 1] as usize].to_vec()).unwrap()))
            .collect();
        let want = [
            Some("disk full\nwarning: z"),
            Some("h.example[1.2.3.4]: SASL PLAIN authentication failed: 535 auth, sasl_username=bob"),
            Some("non-SMTP command from h[]: cmd"),
            Some("1.2.3.4: tail"),
            Some("hostname h does not resolve to address 5.6.7.8t"),
            None,
            Some("d"),
            None,
        ];
        let want: Vec<Option<String>> = want.iter().map(|w| w.map(str::to_string)).collect();
        assert_eq!(got, want);
        assert_eq!(nulls, 2);
    }
}
