//! `split_envelope` (the envelope's keys found from their '=') against the scan it replaced
//! (every ';', ',' and ' ' tried against the seven keys), on random texts of the keys' pieces and
//! on mutated reject tails.

use super::{envelope, split_envelope};
use crate::testutil::{edit, XorShift};

/// The first form: every place of a ';', ',' or ' ' tried as a key's start, in order.
fn by_places(s: &[u8]) -> Option<(&[u8], super::Envelope<'_>)> {
    let mut tried = 0;
    for p in memchr::memchr3_iter(b';', b',', b' ', s) {
        let t = &s[p..];
        let key = [&b"; from="[..], b", to=", b" to=", b", proto=", b" proto=", b", helo=<", b" helo=<"].iter().any(|k| t.starts_with(k));
        if !key {
            continue;
        }
        tried += 1;
        if tried > 16 {
            return None;
        }
        if let Some(e) = envelope(t) {
            return Some((&s[..p], e));
        }
    }
    Some((s, (None, None, None, None)))
}

#[test]
fn keys_from_their_equals_signs_split_as_every_place_tried() {
    let pieces: &[&[u8]] = &[
        b"; from=", b", to=", b" to=", b"to=", b", proto=", b" proto=", b"proto=", b", helo=<", b" helo=<", b" helo=", b"helo",
        b"; from", b" from=", b"<a@b>", b"<>", b"<\"x>\"@y>", b"\"", b"ESMTP", b"h", b">", b"<", b"=", b",", b" ", b";", b"x",
        b"550 5.1.1 ", b": ", b"o", b"pro", b"to", b"=<", b",,", b"; ",
    ];
    let mut rng = XorShift(0x5DEE_CE66_D1CE_4E5B);
    let mut split = 0;
    for _ in 0..200_000 {
        let mut t = Vec::new();
        for _ in 0..(rng.next() % 24) {
            t.extend_from_slice(pieces[(rng.next() as usize) % pieces.len()]);
        }
        let want = by_places(&t);
        assert_eq!(split_envelope(&t), want, "{:?}", String::from_utf8_lossy(&t));
        split += usize::from(want.is_some_and(|(r, _)| r.len() < t.len()));
    }
    assert!(split > 10_000, "{split} texts with an envelope");
}

#[test]
fn mutated_reject_tails_split_as_every_place_tried() {
    let seeds: [&[u8]; 4] = [
        b"554 5.7.1 <a@b.c>: Relay access denied; from=<s@x.y> to=<r@y.z> proto=ESMTP helo=<mx.example>",
        b"450 4.7.1 Client host rejected: cannot find your hostname, [1.2.3.4]; from=<> to=<r@y>, proto=SMTP, helo=<h>",
        b"550 5.1.1 <\"q;, to=\"@b>: no; from=<\"a>b\"@c> to=<d@e> proto=ESMTP",
        b"x to=<a> y; from=<b>, to=<c>, proto=P, helo=<>",
    ];
    let alphabet: &[u8] = b";, =<>\"toprhelfmxa";
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for seed in seeds {
        assert_eq!(split_envelope(seed), by_places(seed));
        for _ in 0..20_000 {
            let mut t = seed.to_vec();
            for _ in 0..(1 + rng.next() % 5) {
                edit(&mut t, &mut rng, alphabet);
            }
            assert_eq!(split_envelope(&t), by_places(&t), "{:?}", String::from_utf8_lossy(&t));
        }
    }
    // more than sixteen keys before the envelope: left to Python in both
    let many: Vec<u8> = [&b" to=x"[..]; 17].concat().into_iter().chain(b"; from=<a>".iter().copied()).collect();
    assert_eq!(split_envelope(&many), None);
    assert_eq!(by_places(&many), None);
}
