use super::*;
use crate::testutil::{strings, XorShift};

/// A batch's buffers, owned (the tests' batches are built of these).
struct Cols {
    n: usize,
    mask: Vec<u8>,
    ts: Vec<u8>,
    ts_valid: Vec<u8>,
    line: Vec<u8>,
    quit: Vec<u8>,
    codes: Vec<(Vec<Option<String>>, Vec<u8>)>, // event, direction, program, status, source, host, reply_class
    texts: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,     // program, source, host
    qid: (Vec<u8>, Vec<u8>, Vec<u8>),
    sender: (Vec<u8>, Vec<u8>, Vec<u8>),
}

fn offsets(off: &[i32]) -> Vec<u8> {
    off.iter().flat_map(|o| o.to_le_bytes()).collect()
}

fn bitmap(v: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; v.len().div_ceil(8).max(1)];
    for (i, &b) in v.iter().enumerate() {
        if b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

fn words(w: &[&str]) -> Vec<Option<String>> {
    w.iter().map(|s| if s.is_empty() { None } else { Some(s.to_string()) }).collect()
}

/// Rows as (ts s or None, event, direction, program, status, source, host, reply, qid, sender, quit, mask).
type S = &'static str;
type Row = (Option<i64>, S, S, S, S, S, S, S, S, S, bool, bool);

fn cols(rows: &[Row]) -> Cols {
    let n = rows.len();
    let code_col = |f: &dyn Fn(&Row) -> S| {
        let mut ws: Vec<String> = Vec::new();
        let mut codes = Vec::new();
        for r in rows {
            let w = f(r).to_string();
            let at = ws.iter().position(|x| *x == w).unwrap_or_else(|| {
                ws.push(w.clone());
                ws.len() - 1
            });
            codes.extend_from_slice(&(at as i32).to_le_bytes());
        }
        (words(&ws.iter().map(String::as_str).collect::<Vec<_>>()), codes)
    };
    let text = |f: &dyn Fn(&Row) -> S| {
        let vals: Vec<&str> = rows.iter().map(f).collect();
        let (off, data) = strings(&vals);
        (offsets(&off), data, bitmap(&vals.iter().map(|v| !v.is_empty()).collect::<Vec<_>>()))
    };
    Cols {
        n,
        mask: rows.iter().map(|r| u8::from(r.11)).collect(),
        ts: rows.iter().flat_map(|r| (r.0.unwrap_or(0) * 1_000_000_000 + 500).to_le_bytes()).collect(),
        ts_valid: bitmap(&rows.iter().map(|r| r.0.is_some()).collect::<Vec<_>>()),
        line: (0..n).flat_map(|i| (i as f64 + 1.0).to_le_bytes()).collect(),
        quit: bitmap(&rows.iter().map(|r| r.10).collect::<Vec<_>>()),
        codes: vec![code_col(&|r| r.1), code_col(&|r| r.2), code_col(&|r| r.3), code_col(&|r| r.4), code_col(&|r| r.5),
                    code_col(&|r| r.6), code_col(&|r| r.7)],
        texts: vec![text(&|r| r.3), text(&|r| r.5), text(&|r| r.6)],
        qid: text(&|r| r.8),
        sender: text(&|r| r.9),
    }
}

fn fold(f: &mut BulkFold, c: &Cols, order: i64) -> Result<(), String> {
    fold_in(f, c, order, 1)
}

/// [`fold`] with the times read as `unit` nanoseconds each.
fn fold_in(f: &mut BulkFold, c: &Cols, order: i64, unit: i64) -> Result<(), String> {
    let coded = |j: usize| Coded { words: c.codes[j].0.clone(), codes: Ints::new(&c.codes[j].1, 4, c.n).unwrap() };
    let text = |j: usize| Texts { col: Column::new(&c.texts[j].0, &c.texts[j].1, false).unwrap(), valid: Some((&c.texts[j].2, 0)) };
    let b = Batch {
        len: c.n,
        mask: &c.mask,
        order,
        ts: Prim { values: &c.ts, at: 0, valid: Some((&c.ts_valid, 0)) },
        ts_unit: unit,
        line: Prim { values: &c.line, at: 0, valid: None },
        line_float: true,
        quit: Some(Prim { values: &c.quit, at: 0, valid: None }),
        event: coded(0),
        direction: coded(1),
        program: text(0),
        status: Some(coded(3)),
        source: text(1),
        host: text(2),
        all_rows: true,
        reply_class: coded(6),
        queue_id: Some(Texts { col: Column::new(&c.qid.0, &c.qid.1, false).unwrap(), valid: Some((&c.qid.2, 0)) }),
        sender: Some(Texts { col: Column::new(&c.sender.0, &c.sender.1, false).unwrap(), valid: Some((&c.sender.2, 0)) }),
        cause_ref: None,
    };
    f.add(&b)
}

#[test]
fn counts_per_key_in_the_order_of_their_last_lines() {
    let rows: Vec<Row> = vec![
        (Some(10), "connect", "inbound", "postfix/smtpd", "", "a.log", "h", "", "", "", false, true),
        (Some(10), "connect", "inbound", "postfix/postscreen", "", "a.log", "h", "", "", "", false, true),
        (Some(10), "disconnect", "inbound", "postfix/smtpd", "", "a.log", "h", "", "", "", true, true),
        (Some(11), "disconnect", "", "postfix/smtpd", "", "a.log", "h", "", "", "", false, true),
        (None, "received", "inbound", "postfix/smtpd", "", "a.log", "h", "", "Q1", "s@x", false, true),
        (Some(10), "connect", "outbound", "postfix/smtp", "", "a.log", "h", "", "", "", false, true),
        (Some(12), "delivery", "local", "postfix/local", "sent", "a.log", "h", "", "Q1", "", false, true),
        (Some(12), "delivery", "local", "postfix/local", "deferred", "a.log", "h", "", "Q2", "", false, false),
    ];
    let c = cols(&rows);
    let mut f = BulkFold::new(Options::default());
    fold(&mut f, &c, 100).unwrap();
    let got = f.result().unwrap();
    assert_eq!(got.names[0], vec!["a.log".to_string()]);
    let k = |r: &(Key, Acc)| (r.0.sec, r.0.kind, r.1.n, r.1.sessions, r.1.closed, r.1.unclosed, r.1.last_order);
    let table: Vec<_> = got.rows.iter().map(k).collect();
    assert_eq!(table, vec![
        (11, 0, 1, 0, 0, 1, 103),
        (NULL_SEC, 1, 1, 0, 0, 0, 104),
        (10, 0, 4, 1, 1, 0, 105),
        (12, 2, 1, 0, 0, 0, 106),
    ]);
    assert_eq!(got.rows[2].1.ts_min, 10_000_000_500);
    assert_eq!(got.rows[1].1.ts_min, 0);
    let q = got.qids.unwrap();
    assert_eq!(q.len(), 2);
    assert_eq!(q[0].ts, NULL_SEC);
    let s = got.senders.unwrap();
    assert_eq!((s.len(), s[0].sender, s[0].order), (1, 0, 104));
}

#[test]
fn deferred_and_looked_up_keep_their_messages_only() {
    let rows: Vec<Row> = vec![
        (Some(1), "received", "inbound", "smtpd", "", "f", "h", "", "Q1", "a@x", false, true),
        (Some(2), "received", "inbound", "smtpd", "", "f", "h", "", "Q2", "b@x", false, true),
        (Some(3), "delivery", "outbound", "smtp", "deferred", "f", "h", "", "Q2", "c@x", false, false),
        (Some(3), "expired", "outbound", "smtp", "", "f", "h", "", "Q1", "", false, false),
    ];
    let c = cols(&rows);
    let mut f = BulkFold::new(Options { split: None, deferred_only: true, looked_up_only: true });
    fold(&mut f, &c, 0).unwrap();
    let got = f.result().unwrap();
    let q: Vec<u64> = got.qids.unwrap().iter().map(|e| e.qid).collect();
    assert_eq!(q, vec![crate::hash::hash_bytes(b"Q2")]);
    let s: Vec<u64> = got.senders.unwrap().iter().map(|e| e.qid).collect();
    assert_eq!(s, vec![crate::hash::hash_bytes(b"Q1")]);
}

#[test]
fn first_qids_keeps_each_sides_earliest_in_order() {
    let e = |qid, ts| Qid { qid, ts };
    let entries = vec![e(1, 5_000_000_000), e(2, NULL_SEC), e(1, 3_000_000_000), e(1, 9_000_000_000), e(2, NULL_SEC),
                       e(1, 8_000_000_000), e(1, 3_000_000_000)];
    // split at second 6: qid 1 before (3 s, the first of two), from it on (8 s), qid 2 without a time
    let mut best = HashMap::default();
    assert_eq!(first_qids(&entries, 6, &mut best), vec![entries[1], entries[2], entries[5]]);
    assert_eq!(first_qids(&entries[..1], 6, &mut best), entries[..1].to_vec());
}

#[test]
fn chunks_of_first_entries_and_bad_buffers() {
    let mut rng = XorShift(5);
    let mut f = BulkFold::new(Options { split: Some(NULL_SEC), ..Options::default() });
    for b in 0..40 {
        const QS: [S; 7] = ["Q0", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6"];
        let rows: Vec<Row> = (0..20).map(|_| (Some(b), "received", "inbound", "smtpd", "", "f", "h", "", QS[(rng.next() % 7) as usize], "", false, true)).collect();
        fold(&mut f, &cols(&rows), b * 100).unwrap();
    }
    // 40 batches: chunks of batches 1-15, 16-31 and the rest (the 16th's entries after its chunk's cut)
    let q = f.result().unwrap().qids.unwrap();
    assert!(q.len() <= 3 * 7 && q.len() > 7);
    let mut c = cols(&[(Some(1), "connect", "inbound", "x", "", "f", "h", "", "", "", false, true)]);
    c.ts.truncate(4);
    assert!(fold(&mut f, &c, 0).is_err());
}

#[test]
fn queue_ids_hash_as_hash_bytes() {
    let mut rng = XorShift(9);
    for len in 0..40 {
        for _ in 0..20 {
            let s: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            assert_eq!(hash_qid(&s), crate::hash::hash_bytes(&s));
        }
    }
}

#[test]
fn many_keys_in_one_second_and_far_seconds_stay_apart() {
    // one second of many hosts (chains full: the table beside them), seconds far apart, none
    let mut f = BulkFold::new(Options::default());
    const HOSTS: [S; 12] = ["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10", "h11"];
    let mut want = HashMap::new();
    for round in 0..3 {
        for (j, sec) in [Some(100), Some(100 + (1 << 23)), Some(50), None].into_iter().enumerate() {
            let rows: Vec<Row> = HOSTS.iter().map(|h| (sec, "connect", "inbound", "smtpd", "", "f", *h, "", "", "", false, true)).collect();
            fold(&mut f, &cols(&rows), (round * 4 + j as i64) * 100).unwrap();
            for h in HOSTS {
                *want.entry((sec, h)).or_insert(0) += 1;
            }
        }
    }
    let got = f.result().unwrap();
    assert_eq!(got.rows.len(), want.len());
    assert!(got.rows.iter().all(|r| r.1.n == 3 && r.1.sessions == 3));
}

#[test]
fn a_time_past_the_nanosecond_range_fails_the_batch_before_anything_is_folded() {
    let rows: Vec<Row> = vec![
        (Some(10), "connect", "inbound", "postfix/smtpd", "", "a.log", "h", "", "", "", false, true),
        (Some(20), "received", "inbound", "postfix/smtpd", "", "a.log", "h", "", "Q1", "s@x", false, true),
    ];
    let c = cols(&rows);
    let mut f = BulkFold::new(Options::default());
    // 10 s + 500 ns read as seconds: 10_000_000_500 s is far past 2262
    let err = fold_in(&mut f, &c, 0, 1_000_000_000).unwrap_err();
    assert!(err.contains("nanosecond range"), "{err}");
    // nothing of it was folded: the same batch in nanoseconds is then the fold's only content
    fold(&mut f, &c, 0).unwrap();
    let got = f.result().unwrap();
    assert_eq!(got.rows.iter().map(|r| r.1.n).sum::<i64>(), 2);
}

#[test]
fn a_time_in_seconds_inside_the_range_is_read_as_its_nanoseconds() {
    let rows: Vec<Row> = vec![(Some(0), "connect", "inbound", "postfix/smtpd", "", "a.log", "h", "", "", "", false, true)];
    let mut c = cols(&rows);
    c.ts = 1_700_000_000i64.to_le_bytes().to_vec();
    let mut f = BulkFold::new(Options::default());
    fold_in(&mut f, &c, 0, 1_000_000_000).unwrap();
    let got = f.result().unwrap();
    assert_eq!(got.rows[0].1.ts_min, 1_700_000_000_000_000_000);
}

#[test]
fn sums_held_narrow_give_back_what_they_were_and_wide_ones_stay_exact() {
    // times at any second (before 1970, near the range's ends, without one) come back to the nanosecond
    for (sec, ns) in [(0i64, 0i64), (-1, -1), (1_700_000_000, 1_700_000_000_999_999_999), (i64::MIN / 1_000_000_000 - 1, i64::MIN),
                      (i64::MAX / 1_000_000_000, i64::MAX), (NULL_SEC, 0)] {
        if sec != NULL_SEC {
            assert_eq!(sec_of(ns), sec, "the test's second is the time's");
        }
        let a = Acc { n: 3, sessions: 1, closed: 1, unclosed: 0, ts_min: ns, ts_max: ns, last_order: 7, last_line: 2.5 };
        let slim = Slim::of(&a, sec).expect("narrow");
        assert_eq!(slim.acc(sec), a);
    }
    // a time outside the entry's second, or a count past u32, is not held narrow
    let a = Acc { n: 1, sessions: 0, closed: 0, unclosed: 0, ts_min: 5, ts_max: 1_000_000_000, last_order: 0, last_line: 0.0 };
    assert!(Slim::of(&a, 0).is_none());
    let big = Acc { n: 1 << 33, ..Acc { ts_max: 5, ..a } };
    assert!(Slim::of(&big, 0).is_none());
    // the fold's entry past u32 lines: held wide from then on, its sums exact
    let mut f = BulkFold::new(Options::default());
    let key = Key { sec: 4, source: 1, host: 1, reply_class: 0, kind: 0 };
    f.insert(key);
    f.hold(0, 4, Acc { n: u32::MAX as i64, sessions: 0, closed: 0, unclosed: 0, ts_min: 4_000_000_001, ts_max: 4_000_000_001,
                       last_order: 1, last_line: 1.0 });
    assert!(f.wide.is_empty());
    let mut a = f.acc(0, 4);
    merge(&mut a, &Acc { n: 2, sessions: 1, closed: 0, unclosed: 1, ts_min: 4_000_000_000, ts_max: 4_999_999_999, last_order: 9,
                         last_line: 3.0 });
    f.put(0, 4, a);
    assert_eq!(f.wide.len(), 1);
    let got = f.result().unwrap().rows;
    assert_eq!(got, vec![(key, Acc { n: u32::MAX as i64 + 2, sessions: 1, closed: 0, unclosed: 1, ts_min: 4_000_000_000,
                                     ts_max: 4_999_999_999, last_order: 9, last_line: 3.0 })]);
    assert_eq!(std::mem::size_of::<Slim>(), 40);
    assert_eq!(std::mem::size_of::<Entry>(), 28);
}

/// The 13 columns of `rows` as `result_columns` gives them (written here field by field).
fn columns_of(rows: &[(Key, Acc)]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new(); 13];
    for (k, a) in rows {
        out[0].extend(k.sec.to_le_bytes());
        out[1].extend(k.source.to_le_bytes());
        out[2].extend(k.host.to_le_bytes());
        out[3].extend(k.reply_class.to_le_bytes());
        out[4].push(k.kind);
        for (j, v) in [a.n, a.sessions, a.closed, a.unclosed, a.ts_min, a.ts_max, a.last_order].into_iter().enumerate() {
            out[5 + j].extend(v.to_le_bytes());
        }
        out[12].extend(a.last_line.to_le_bytes());
    }
    out
}

#[test]
fn the_columns_made_from_the_held_entries_are_the_rows_columns() {
    // two folds fed alike: one's rows, the other's columns (entries of many keys and seconds,
    // equal last lines across keys, one entry wide, lines without a time)
    let mut rng = XorShift(0x5eed_cafe);
    let (mut f, mut g) = (BulkFold::new(Options::default()), BulkFold::new(Options::default()));
    const HOSTS: [S; 5] = ["h0", "h1", "h2", "h3", "h4"];
    for round in 0..40i64 {
        let rows: Vec<Row> = (0..30).map(|_| {
            let sec = if rng.next() % 9 == 0 { None } else { Some((rng.next() % 50) as i64 + round / 4) };
            let ev = ["connect", "disconnect", "received"][(rng.next() % 3) as usize];
            (sec, ev, "inbound", "postfix/smtpd", "", "f", HOSTS[(rng.next() % 5) as usize], "", "", "", rng.next() % 2 == 0, true)
        }).collect();
        let c = cols(&rows);
        // (batches of one order base now and then: equal last lines across keys)
        let base = if round % 3 == 0 { 7 } else { round * 100 };
        fold(&mut f, &c, base).unwrap();
        fold(&mut g, &c, base).unwrap();
    }
    for h in [&mut f, &mut g] {
        let key = Key { sec: 4, source: 1, host: 1, reply_class: 0, kind: 0 };
        let at = h.keys.len() as u32;
        h.insert(key);
        h.hold(at, 4, Acc { n: 1 << 40, sessions: 0, closed: 0, unclosed: 0, ts_min: 4_000_000_001, ts_max: 4_000_000_001,
                            last_order: 9, last_line: 1.0 });
    }
    assert_eq!(g.wide.len(), 1);
    let fr = f.result().unwrap();
    let rows = fr.rows;
    assert!(rows.len() > 100, "{}", rows.len());
    assert!(rows.windows(2).any(|w| w[0].1.last_order == w[1].1.last_order), "equal last lines");
    let (got, names, _, _) = g.result_columns().unwrap();
    assert_eq!(got, columns_of(&rows));
    assert_eq!(names, fr.names);
    // the fold is empty after either
    assert_eq!(g.result().unwrap().rows.len(), 0);
}

#[test]
fn the_words_of_senders_let_go_of_are_renumbered_away_and_the_kept_entries_still_name_theirs() {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let names: Vec<&'static str> = (0..20_000).map(|i| leak(format!("s{i}@example.org"))).collect();
    let qids: Vec<&'static str> = (0..20_000).map(|i| leak(format!("Q{i:05}"))).collect();
    let mut f = BulkFold::new(Options { split: None, deferred_only: false, looked_up_only: true });
    let mut order = 0;
    for (ns, qs) in names.chunks(1000).zip(qids.chunks(1000)) {
        let mut rows: Vec<Row> = Vec::new();
        for (&s, &q) in ns.iter().zip(qs) {
            rows.push((Some(1), "received", "inbound", "smtpd", "", "f", "h", "", q, s, false, true));
            if q.ends_with('0') {  // (every tenth message looked up before its end)
                rows.push((Some(2), "delivery", "outbound", "smtp", "sent", "f", "h", "", q, "", false, false));
            }
            rows.push((Some(3), "removed", "", "qmgr", "", "f", "h", "", q, "", false, false));
        }
        fold(&mut f, &cols(&rows), order).unwrap();
        order += rows.len() as i64;
    }
    assert!(f.sender_words.len() < 10_000, "{} words held", f.sender_words.len());
    let s = f.result().unwrap().senders.unwrap();
    assert_eq!(s.len(), 2000);
    for (k, e) in s.iter().enumerate() {
        let (code, qid) = (e.sender, e.qid);
        assert_eq!(f.sender_words.word(code as usize), names[10 * k].as_bytes());
        assert_eq!(qid, crate::hash::hash_bytes(qids[10 * k].as_bytes()));
    }
}
