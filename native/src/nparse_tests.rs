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
