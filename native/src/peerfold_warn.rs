//! pflogsumm's warning texts of Postfix lines (`analyzer/report/peers.py`'s `_pf_warning_text`,
//! the specification), built in one pass over the flush's columns for the warning lines only:
//! the text after 'warning: ', rebuilt from the fields for the warnings maillens parses into an
//! event of their own, then cut after the last 'warning: ' of its first line (as the pattern
//! `^.*warning: ` cuts it: `.` does not cross a newline).

use crate::vocab::Column;

/// A line's kind (Python gives it from the event, status and direction): no text; a generic
/// warning; a SASL failure (not outbound); a non-SMTP command; a reverse-DNS check.
pub const NONE: u8 = 0;
pub const WARNING: u8 = 1;
pub const SASL: u8 = 2;
pub const NON_SMTP: u8 = 3;
pub const DNS: u8 = 4;

/// A string column and its validity (bitmap, first row's bit; None: no row null).
pub struct Texts<'a> {
    pub col: Column<'a>,
    pub valid: Option<(&'a [u8], usize)>,
}

impl<'a> Texts<'a> {
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let ok = self.valid.is_none_or(|(bits, at)| bits[(at + i) / 8] >> ((at + i) % 8) & 1 == 1);
        ok.then(|| self.col.get(i))
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
    fn texts_of_each_kind() {
        let cols: Vec<_> = [
            [Some("x warning: y warning: disk full\nwarning: z"), Some("PLAIN"), Some("cmd"), Some("tail"), Some("t"), None, Some("d")],
            [None, Some("h.example"), Some("h"), None, Some("h"), None, None],
            [None, Some("1.2.3.4"), None, Some("1.2.3.4"), Some("5.6.7.8"), None, None],
            [Some("3F2A"), None, None, None, None, None, None],
            [None, Some("bob"), None, None, None, None, None],
            [None, Some("535 auth"), None, None, None, None, None],
        ].iter().map(|c| col(c)).collect();
        let t = |k: usize| Texts { col: Column::new(&cols[k].0, &cols[k].1, false).unwrap(), valid: Some((&cols[k].2[..], 0)) };
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
