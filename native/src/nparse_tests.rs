//! Tests of round 24's cuts in the per-line work (r24-nparse): each fast path against the plain
//! way it replaces, on random inputs.

use crate::testutil::XorShift;

/// `rows::lay_out` against the cell-by-cell layout, on columns empty, sparse, dense (every
/// row set: the path that copies the ends as they are) and at every length around a byte.
#[test]
fn lay_out_as_cell_by_cell() {
    let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
    for n in [0usize, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200] {
        for density in [0u64, 1, 3, 7, 8] {
            // density 8: every row; 0: none
            let (mut at, mut ends, mut end) = (Vec::new(), Vec::new(), 0i32);
            for r in 0..n {
                if density == 8 || (density > 0 && rng.next() % 8 < density) {
                    end += (rng.next() % 4) as i32;
                    at.push(r as u32);
                    ends.push(end);
                }
            }
            let (mut want_off, mut want_valid, mut last, mut k) = (vec![0i32], vec![0u8; n.div_ceil(8)], 0i32, 0);
            for r in 0..n {
                if k < at.len() && at[k] as usize == r {
                    last = ends[k];
                    want_valid[r / 8] |= 1 << (r % 8);
                    k += 1;
                }
                want_off.push(last);
            }
            let (off, valid) = crate::rows::lay_out(&at, &ends, n);
            let off: Vec<i32> = off.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            assert_eq!((off, valid), (want_off, want_valid), "n {n} density {density}");
        }
    }
}

/// `exim_cols::Bits::push` against a plain bit list.
#[test]
fn bits_as_a_list() {
    let mut rng = XorShift(0x0F0F_1234_AAAA_5555);
    for n in [0usize, 1, 7, 8, 9, 33] {
        let vals: Vec<bool> = (0..n).map(|_| rng.next() % 3 == 0).collect();
        let mut b = crate::exim_cols::Bits::default();
        vals.iter().for_each(|&v| b.push(v));
        let mut want = vec![0u8; n.div_ceil(8)];
        vals.iter().enumerate().filter(|(_, &v)| v).for_each(|(i, _)| want[i / 8] |= 1 << (i % 8));
        assert_eq!(b.nulls, vals.iter().filter(|&&v| !v).count());
        assert_eq!(b.into_bytes(), want);
    }
}

/// `exim::find_iter` (it scans for the needle's rarest byte) against every position tried.
#[test]
fn find_iter_as_every_position() {
    let mut rng = XorShift(0x5151_7777_3333_9999);
    let alphabet: &[u8] = b" =HFrejctd:<>.S";
    let needles: [&[u8]; 9] = [b" rejected ", b"H=", b": ", b" lost", b"=", b" ", b"S= H", b"rejected", b"  "];
    for _ in 0..3000 {
        let len = (rng.next() % 40) as usize;
        let mut hay: Vec<u8> = (0..len).map(|_| alphabet[(rng.next() as usize) % alphabet.len()]).collect();
        if rng.next() % 2 == 0 {
            let nd = needles[(rng.next() as usize) % needles.len()];
            let at = (rng.next() as usize) % (hay.len() + 1);
            hay.splice(at..at, nd.iter().copied());
        }
        for nd in needles {
            let want: Vec<usize> = (0..hay.len()).filter(|&p| hay[p..].starts_with(nd)).collect();
            let got: Vec<usize> = crate::exim::find_iter(&hay, nd).collect();
            assert_eq!(got, want, "{:?} in {:?}", String::from_utf8_lossy(nd), String::from_utf8_lossy(&hay));
        }
    }
}

/// `batch::head`'s month: the English name's place tried first, any other table still read
/// as the Python clock reads it (the name's place in the table, or unusual).
#[test]
fn months_of_any_table() {
    let english: Vec<Vec<u8>> =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().map(|m| m.as_bytes().to_vec()).collect();
    let mut shifted = english.clone();
    shifted.rotate_left(3); // Apr first
    let mut other = english.clone();
    other[4] = b"Mai".to_vec();
    for (name, table) in [("english", &english), ("shifted", &shifted), ("other", &other)] {
        for m in ["Jan", "Apr", "May", "Mai", "Dec", "Xyz"] {
            let line = format!("{m} 10 10:00:00 mx postfix/smtpd[12]: connect from a[1.2.3.4]");
            let h = crate::batch::head(line.as_bytes(), table).unwrap();
            let place = table.iter().position(|t| t.as_slice() == m.as_bytes());
            assert_eq!(h.unusual, place.is_none(), "{name} {m}");
            assert_eq!(h.month as usize, place.unwrap_or(0) + 1, "{name} {m}");
        }
    }
}

/// `batch::head`'s pid: up to nine digits read as they are, more through the checked path
/// (beyond int32: unusual).
#[test]
fn pids_of_any_length() {
    let months: Vec<Vec<u8>> = ["Jan"].iter().map(|m| m.as_bytes().to_vec()).collect();
    for (pid, want) in [("1", Some(1)), ("000000007", Some(7)), ("999999999", Some(999_999_999)), ("2147483647", Some(i32::MAX)),
                        ("2147483648", None), ("0000000000012", Some(12)), ("99999999999999999999999", None)] {
        let line = format!("Jan 10 10:00:00 mx postfix/smtpd[{pid}]: x");
        let h = crate::batch::head(line.as_bytes(), &months).unwrap();
        assert_eq!((h.pid, h.unusual), (want, want.is_none()), "{pid}");
    }
}

/// `exim::Spec::stage`'s ASCII path (on the stack) against the String path it skips, on
/// mutated stage texts (short, long, with '_', ':', '<' and lower case).
#[test]
fn exim_stage_on_the_stack_as_through_strings() {
    let spec = crate::exim::tests::spec();
    let mut rng = XorShift(0x7777_1111_2222_3333);
    let seeds: [&[u8]; 5] = [b"RCPT", b"after DATA", b"MAIL_FROM", b"end of data: x", b"connection greeting <a@b>"];
    for seed in seeds {
        for _ in 0..3000 {
            let mut t = seed.to_vec();
            for _ in 0..(rng.next() % 6) {
                crate::testutil::edit(&mut t, &mut rng, b"_:< aDAtRcpMLx");
            }
            if rng.next() % 8 == 0 {
                t.extend(std::iter::repeat_n(b'a', 70)); // past the 60 characters
            }
            let cut = t.iter().position(|&b| b == b':' || b == b'<').unwrap_or(t.len());
            assert_eq!(spec.stage(&t), spec.stage_of_text(&t[..cut]), "{}", String::from_utf8_lossy(&t));
        }
    }
}

// Round 27 (r27-nparse): the Exim stamp's shape by words, the month's days without a table per
// line, and the id and wrapped-header runs scanned eight bytes a step, each against the
// byte-by-byte form it replaced.

/// The stamp's shape as `exim::header` tested it before r27, a byte at a time.
fn stamp_shape_by_bytes(h: &[u8; 19]) -> bool {
    let dg = |i: usize| h[i].is_ascii_digit();
    (dg(0) && dg(1) && dg(2) && dg(3) && h[4] == b'-' && dg(5) && dg(6) && h[7] == b'-' && dg(8) && dg(9) && h[10] == b' ')
        && (dg(11) && dg(12) && h[13] == b':' && dg(14) && dg(15) && h[16] == b':' && dg(17) && dg(18))
}

#[test]
fn exim_stamp_shape_as_byte_by_byte() {
    let mut rng = XorShift(0x0027_57A3_9E11_D00D);
    // the digits' neighbours (/ and :), the separators, bytes whose lane carries (>= 0x8A after
    // the xor) and a few others
    let alphabet: &[u8] = b"0123456789/:- .T\x00\x7f\x80\x8a\xb9\xba\xc9\xff";
    let (mut seen_ok, mut seen_bad) = (0, 0);
    for k in 0..200_000u32 {
        let mut h: [u8; 19] = *b"2026-11-23 00:00:01";
        let edits = match k % 4 {
            0 => 0,
            3 => 19,
            e => e as usize,
        };
        for _ in 0..edits {
            let at = (rng.next() % 19) as usize;
            h[at] = if rng.next() % 2 == 0 { b'0' + (rng.next() % 10) as u8 } else { alphabet[(rng.next() % alphabet.len() as u64) as usize] };
        }
        let want = stamp_shape_by_bytes(&h);
        assert_eq!(crate::exim::stamp_shape(&h), want, "{h:?}");
        if want {
            seen_ok += 1
        } else {
            seen_bad += 1
        }
    }
    assert!(seen_ok > 50_000 && seen_bad > 50_000, "{seen_ok} {seen_bad}");
    // every single byte in every place
    for at in 0..19 {
        for b in 0..=255u8 {
            let mut h: [u8; 19] = *b"1999-12-31 23:59:59";
            h[at] = b;
            assert_eq!(crate::exim::stamp_shape(&h), stamp_shape_by_bytes(&h), "{at} {b}");
        }
    }
}

#[test]
fn exim_month_days_as_the_table() {
    for y in 1000..2600i64 {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mdays = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        for mo in 1..=12i64 {
            assert_eq!(crate::exim::month_days(y, mo), mdays[(mo - 1) as usize], "{y}-{mo}");
        }
    }
}

/// `exim::mid` as it was before r27: each run by `take_while`.
fn mid_by_bytes(m: &[u8]) -> Option<usize> {
    let run = |from: usize| m[from..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    if run(0) != 6 || m.get(6) != Some(&b'-') {
        return None;
    }
    let b = run(7);
    if !(6..=11).contains(&b) || m.get(7 + b) != Some(&b'-') {
        return None;
    }
    let c = run(8 + b);
    if !(2..=4).contains(&c) || m.get(8 + b + c) != Some(&b' ') {
        return None;
    }
    Some(8 + b + c)
}

/// `exim::wrapped` as it was before r27: each run by `take_while`.
fn wrapped_by_bytes(m: &[u8]) -> bool {
    let is_space = |b: u8| matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | b' ');
    let a = m.iter().take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')).count();
    if a == 0 || m.get(a) != Some(&b' ') {
        return false;
    }
    let p = a + 1;
    let b = m[p..].iter().take_while(|&&b| !is_space(b) && !matches!(b, b'[' | b']' | b':')).count();
    if b == 0 || m.get(p + b) != Some(&b'[') {
        return false;
    }
    let q = p + b + 1;
    let d = m[q..].iter().take_while(|b| b.is_ascii_digit()).count();
    (1..=10).contains(&d) && m[q + d..].starts_with(b"]: ")
}

#[test]
fn exim_mid_and_wrapped_as_byte_by_byte() {
    let mut rng = XorShift(0x0027_0A1D_77AB_3C5E);
    let alphabet: &[u8] = b"aZ09-_. :[]\t\n\r\x0c\x0b\xc3\xa9/";
    let seeds: [&[u8]; 6] = [
        b"1vXyZa-0001AB-Cd <= a@b.example H=x [192.0.2.1] P=esmtp S=120",
        b"1vXyZa-000000000AB-Cd => a@b.example R=dnslookup T=remote_smtp",
        b"1vXyZa-0001AB-Cdef ** x",
        b"mx1.example.org exim[1234]: 2026-11-23 00:00:01 msg",
        b"mail_host-1 prog.name/sub[99]: text",
        b"SMTP connection from [198.51.100.79]:44945 I=[192.0.2.10]:25",
    ];
    let (mut mids, mut wraps) = (0, 0);
    for k in 0..60_000usize {
        let mut m = seeds[k % seeds.len()].to_vec();
        for _ in 0..(rng.next() % 4) {
            crate::testutil::edit(&mut m, &mut rng, alphabet);
        }
        let want = mid_by_bytes(&m);
        assert_eq!(crate::exim::mid(&m), want, "{:?}", String::from_utf8_lossy(&m));
        mids += usize::from(want.is_some());
        let want = wrapped_by_bytes(&m);
        assert_eq!(crate::exim::wrapped(&m), want, "{:?}", String::from_utf8_lossy(&m));
        wraps += usize::from(want);
    }
    assert!(mids > 5_000 && wraps > 2_000, "{mids} {wraps}");
}

/// `batch::head_at`'s stamp kept from the line before: the same header as `head` reads alone,
/// on runs of lines that share stamps, stamps edited (out of shape, out of range, another
/// month), short lines, and lines whose header fails after a stamp seen before.
#[test]
fn head_with_the_last_stamp_as_alone() {
    let months: Vec<Vec<u8>> =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().map(|m| m.as_bytes().to_vec()).collect();
    let mut rng = XorShift(0x1A57_57A3_9000_0001);
    let stamps = ["Dec  3 10:00:01", "Dec  3 10:00:02", "Feb 29 23:59:59", "Xyz 10 10:00:00", "Dec 32 10:00:00", "Jan 01 24:00:00"];
    let rests = [" mx postfix/smtpd[12]: connect from a[1.2.3.4]", " mx cron: x", " mx t[99999999999]: y", " mx t: ", " mx bad[: z", "", " "];
    let mut last = crate::batch::LastStamp::default();
    let mut seen = 0;
    for _ in 0..30_000 {
        let mut line = format!("{}{}", stamps[(rng.next() % 6) as usize], rests[(rng.next() % 7) as usize]).into_bytes();
        if rng.next() % 5 == 0 {
            crate::testutil::edit(&mut line, &mut rng, b" :0123456789Dec[]");
        }
        let alone = crate::batch::head(&line, &months);
        let kept = crate::batch::head_at(&line, &months, true, &mut last);
        #[allow(clippy::type_complexity)]
        fn view<'a>(h: Option<crate::batch::Head<'a>>) -> Option<(u8, u8, u32, &'a [u8], &'a [u8], Option<i32>, &'a [u8], bool, bool)> {
            h.map(|h| (h.month, h.day, h.secs, h.host, h.program, h.pid, h.msg, h.unusual, h.trailing_space))
        }
        seen += usize::from(alone.is_some());
        assert_eq!(view(kept), view(alone), "{}", String::from_utf8_lossy(&line));
    }
    assert!(seen > 10_000);
}
