//! The summary fold of `maillens parse` (no -o) for Exim's own log format: the twin of `fold`
//! over the Exim row readers (`exim`). Of a block's lines the readers are sure of it keeps only
//! what the summary needs, no event rows: their *groups* (rows with equal values in every column
//! of `analyzer.class_cache.CLASS_KEY`, one representative each, numbered in order of their
//! first line), each row's group, stamp, queue id and recipient. The other lines are left to the
//! Python path as `exim::read` leaves them (`analyzer/fast_summary_exim.py`). Threads over line
//! ranges, no GIL.

use crate::classkey::{encode, Fields, Masker};
use crate::exim::{each_row, over_threads, Columns, Row, Spec};
use crate::exim_cols::StrCol;
use crate::fold::{first_seen, Col};
use crate::hash::KeyIndex;

/// A group's representative: its first row, with the header's stamp and pid.
pub struct Rep<'a> {
    pub line: u32,
    pub ts: i64,
    pub local: bool,
    pub pid: Option<i32>,
    pub row: Row<'a>,
    /// its classification key without the relay host (`classkey.rs`; 0 without a masker)
    pub ckey: u64,
}

/// Rows numbered by the distinct keys they have, in order of first sight: the groups of a
/// fold, their keys and representatives (`R`).
pub struct Groups<R> {
    /// the keys, by group number (`index.key`)
    pub index: KeyIndex,
    pub reps: Vec<R>,
}

impl<R> Default for Groups<R> {
    fn default() -> Self {
        Groups { index: KeyIndex::default(), reps: Vec::new() }
    }
}

impl<R> Groups<R> {
    /// Room for `n` groups (their representatives are large: growing the vector from empty
    /// copied them each time it doubled).
    pub fn with_capacity(n: usize) -> Self {
        Groups { index: KeyIndex::with_room(n, 128 * n), reps: Vec::with_capacity(n) }
    }

    /// The group of `key` (a new one, represented by `rep()`, the first time it is seen).
    pub fn of(&mut self, key: &[u8], rep: impl FnOnce() -> R) -> u32 {
        let (g, new) = self.index.number(key);
        if new {
            self.reps.push(rep());
        }
        g
    }

    /// The keys, by group number.
    pub fn keys(&self) -> Vec<&[u8]> {
        self.index.keys().collect()
    }

    /// Take in the groups of a later part: what each of its group numbers becomes here.
    pub fn absorb(&mut self, later: Groups<R>) -> Vec<u32> {
        let mut reps = later.reps.into_iter();
        later.index.keys().map(|k| {
            let rep = reps.next().expect("a representative per key");
            self.of(k, || rep)
        }).collect()
    }
}

/// A block (or a part of one) folded.
#[derive(Default)]
pub struct Folded<'a> {
    /// the lines read: position, group, stamp (micros), whether the stamp is local time
    pub rows: Vec<u32>,
    pub gid: Vec<u32>,
    pub ts: Vec<i64>,
    pub local: Vec<u8>,
    pub queue_id: StrCol,
    pub recipient: StrCol,
    /// the groups (keys and representatives), by group number
    pub groups: Groups<Rep<'a>>,
}

/// The `CLASS_KEY` values of a row but the relay host, as `exim::Columns` writes them (mta is
/// always "exim" and dsn always null here).
pub fn fields<'r>(r: &'r Row) -> Fields<'r> {
    let text: Option<&[u8]> = r.reply_text.as_deref();
    Fields {
        event: Some(r.event.as_bytes()),
        status: r.status.or(r.status_text).map(str::as_bytes),
        smtp_stage: r.smtp_stage.map(str::as_bytes),
        mta: Some(b"exim"),
        dsn: None,
        enhanced_code: r.enhanced_code.and_then(|(a, b)| text.map(|t| &t[a..b])),
        reply_code: r.reply_code,
        quit: r.quit,
        reply_text: text,
        detail: r.detail,
        direction: r.direction.map(str::as_bytes),
    }
}

/// The raw key of a row (its group's): its `CLASS_KEY` values (`classkey::encode`).
pub fn key(r: &Row, out: &mut Vec<u8>) {
    let f = fields(r);
    encode(&f, r.relay.host, f.reply_text, f.detail, out);
}

/// Fold lines `lo..hi` of a string column (Arrow offsets and data); with a `masker`, the groups'
/// classification keys too.
pub fn fold<'a>(spec: &'a Spec, offsets: &[i32], data: &'a [u8], lo: usize, hi: usize, masker: Option<&Masker>) -> Folded<'a> {
    let n = hi.saturating_sub(lo);
    // a group per ~15 lines on a generated day: room for a group per 12
    let mut f = Folded { rows: Vec::with_capacity(n), gid: Vec::with_capacity(n), ts: Vec::with_capacity(n), local: Vec::with_capacity(n),
                         groups: Groups::with_capacity(n / 12), ..Folded::default() };
    for c in [&mut f.queue_id, &mut f.recipient] {
        c.offsets.reserve(4 * n);
        c.data.reserve(24 * n);
    }
    let (mut buf, mut kbuf) = (Vec::new(), Vec::new());
    each_row(spec, offsets, data, lo, hi, |i, ts, local, pid, row| {
        key(row, &mut buf);
        f.queue_id.push(row.queue_id);
        f.recipient.push(row.recipient);
        let g = f.groups.of(&buf, || {
            let ckey = masker.map_or(0, |m| m.key_of(&fields(row), &mut kbuf));
            Rep { line: i as u32, ts, local, pid, row: row.clone(), ckey }
        });
        f.rows.push(i as u32);
        f.gid.push(g);
        f.ts.push(ts);
        f.local.push(u8::from(local));
    });
    f
}

/// Join folds of consecutive line ranges: groups renumbered in order of their first line.
pub fn join(parts: Vec<Folded<'_>>) -> Folded<'_> {
    let mut it = parts.into_iter();
    let mut out = it.next().unwrap_or_default();
    for p in it {
        let map = out.groups.absorb(p.groups);
        out.rows.extend(p.rows);
        out.gid.extend(p.gid.iter().map(|&g| map[g as usize]));
        out.ts.extend(p.ts);
        out.local.extend(p.local);
        out.queue_id.append(&p.queue_id);
        out.recipient.append(&p.recipient);
    }
    out
}

/// [`fold`] over `threads` consecutive ranges at once (as `exim::read_threads` splits them).
pub fn fold_threads<'a>(spec: &'a Spec, offsets: &[i32], data: &'a [u8], threads: usize, masker: Option<&Masker>) -> Folded<'a> {
    join(over_threads(offsets.len().saturating_sub(1), threads, |lo, hi| fold(spec, offsets, data, lo, hi, masker)))
}

/// The representatives as event-table columns (as `exim::read` gives rows).
pub fn reps(f: &Folded) -> Columns {
    columns(f.groups.reps.iter())
}

/// Representatives as event-table columns.
pub fn columns<'f, 'a: 'f>(reps: impl Iterator<Item = &'f Rep<'a>>) -> Columns {
    let mut cols = Columns::new();
    for r in reps {
        cols.push(r.line as usize, r.ts, r.local, r.pid, &r.row);
    }
    cols
}

/// The groups merged by classification key, as `fold::classes` merges the Postfix fold's: the
/// classes' representatives (each its key's first group), each group's class, and the groups'
/// reply texts.
pub fn classes<'f, 'a>(f: &'f Folded<'a>) -> (Vec<&'f Rep<'a>>, Vec<u32>, Col) {
    let reps = &f.groups.reps;
    let mut texts = Col::default();
    texts.data.reserve(reps.iter().map(|r| r.row.reply_text.as_ref().map_or(0, |t| t.len())).sum());
    for r in reps {
        texts.push(r.row.reply_text.as_deref());
    }
    let (firsts, cid) = first_seen(reps.iter().map(|r| r.ckey), reps.len());
    (firsts.into_iter().map(|g| &reps[g]).collect(), cid, texts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exim::{header, message, read};

    fn day() -> Vec<String> {
        let mut v = Vec::new();
        for i in 0..20000 {
            let q = format!("1a{:04}-00{:04}-{:02}", i % 97, i % 89, i % 50 + 10);
            let s = i % 60;
            v.push(match i % 9 {
                0 => format!("2026-12-03 10:00:{s:02} {q} <= a{}@x.example H=h{}.example [10.0.0.{}] P=esmtp S={i}", i % 5, i % 3, i % 7),
                1 => format!("2026-12-03 10:00:{s:02} {q} => u{}@y.example R=dnslookup T=remote_smtp H=mx.y.example [10.1.1.{}] C=\"250 OK id={i}\"", i % 11, i % 4),
                2 => format!("2026-12-03 10:00:{s:02} {q} Completed"),
                3 => format!("2026-12-03 10:00:{s:02} {q} == u{}@z.example R=dnslookup T=remote_smtp defer (-44): SMTP error from remote mail server after RCPT TO:<u@z.example>: 451 4.7.1 Try again later", i % 3),
                4 => format!("2026-12-03 10:00:{s:02} [{i}] SMTP connection from [10.2.0.{}]:{} lost", i % 9, 1000 + i % 5),
                5 => "  continuation of nothing".to_string(),
                6 => format!("2026-12-03 10:00:{s:02} something exim does not say {i}"),
                7 => format!("2026-12-03 10:00:{s:02} +0100 {q} ** u{}@w.example: Unrouteable address", i % 2),
                _ => format!("2026-12-03 10:00:{s:02}.{:03} H=(helo{}) [10.3.0.{}] F=<s@x> rejected RCPT <r@y>: relay not permitted", i % 1000, i % 2, i % 3),
            });
        }
        v
    }

    /// The day's lines as an Arrow string column (offsets, data), and a check run on its folds.
    fn with_day(check: impl Fn(&Spec, &[i32], &[u8])) {
        let spec = crate::exim::tests::spec();
        let v = day();
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        let (o, d) = crate::testutil::strings(&refs);
        check(&spec, &o, &d);
    }

    #[test]
    fn folds_the_rows_the_reader_reads_and_threads_change_nothing() {
        with_day(|spec, o, d| {
            let one = fold_threads(spec, o, d, 1, None);
            let four = fold_threads(spec, o, d, 4, None);
            assert_eq!((&one.rows, &one.gid, &one.groups.keys(), &one.ts, &one.local), (&four.rows, &four.gid, &four.groups.keys(), &four.ts, &four.local));
            assert_eq!((&one.queue_id.data, &one.queue_id.offsets), (&four.queue_id.data, &four.queue_id.offsets));
            assert_eq!(one.recipient.valid.as_bytes(), four.recipient.valid.as_bytes());
            // the same lines as the reader, with the same stamps
            let whole = read(spec, o, d, 0, o.len() - 1);
            let rows: Vec<u8> = one.rows.iter().flat_map(|&r| i64::from(r).to_le_bytes()).collect();
            assert_eq!(rows, whole.rows);
            assert_eq!(one.local, whole.local);
            let ts: Vec<u8> = one.ts.iter().flat_map(|t| t.to_le_bytes()).collect();
            assert_eq!(ts, whole.ts.values);
            assert!(!one.rows.is_empty() && one.groups.keys().len() < one.rows.len() / 4);
            // groups numbered by first row; a group's representative has the group's key
            let firsts: Vec<u32> = one.groups.reps.iter().map(|r| r.line).collect();
            assert!(firsts.windows(2).all(|w| w[0] < w[1]));
            let mut buf = Vec::new();
            for (g, r) in one.groups.reps.iter().enumerate() {
                key(&r.row, &mut buf);
                assert_eq!(one.groups.keys()[g], buf.as_slice());
                let at = one.rows.iter().position(|&x| x == r.line).unwrap();
                assert_eq!(one.gid[at] as usize, g);
            }
            assert_eq!(reps(&one).n, one.groups.keys().len());
        });
    }

    #[test]
    fn rows_of_a_group_agree_on_every_key_column() {
        with_day(|spec, o, d| {
            let f = fold_threads(spec, o, d, 3, None);
            let mut buf = Vec::new();
            for (k, &line) in f.rows.iter().enumerate() {
                let (a, b) = (o[line as usize] as usize, o[line as usize + 1] as usize);
                let (_, _, _, msg) = header(&d[a..b]).unwrap();
                key(&message(spec, msg).unwrap(), &mut buf);
                assert_eq!(f.groups.keys()[f.gid[k] as usize], buf.as_slice());
            }
        });
    }

    #[test]
    fn null_and_empty_are_different_keys() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        key(&Row { detail: None, ..Row::default() }, &mut a);
        key(&Row { detail: Some(b""), ..Row::default() }, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn groups_absorbed_keep_first_sight_order() {
        let mut a: Groups<char> = Groups::default();
        assert_eq!((a.of(b"x", || 'x'), a.of(b"y", || 'y'), a.of(b"x", || '!')), (0, 1, 0));
        let mut b: Groups<char> = Groups::default();
        b.of(b"z", || 'z');
        b.of(b"x", || '?');
        assert_eq!(a.absorb(b), vec![2, 0]);
        assert_eq!(a.reps, vec!['x', 'y', 'z']);
    }
}
