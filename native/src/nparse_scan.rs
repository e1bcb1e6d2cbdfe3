//! Round 26's byte-run scans (r26-nparse): "up to the first byte of a set" eight bytes a step,
//! a table look-up a byte OR-ed over the eight and one branch (a run of a hostname, a tag, an
//! Exim token was a compare-and-branch a byte, several compares for a set like `[\s\[\]]`).

/// Bytes a scan stops at, by value (1: stop; [`until`] reads no other value).
pub type Stops = [u8; 256];

/// The bytes of `list` only.
pub const fn only(list: &[u8]) -> Stops {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < list.len() {
        t[list[i] as usize] = 1;
        i += 1;
    }
    t
}

/// RE2's `\s` (`[\t\n\f\r ]`) and the bytes of `extra`.
pub const fn spaces_and(extra: &[u8]) -> Stops {
    let mut t = only(extra);
    let sp = [b'\t', b'\n', 0x0C, b'\r', b' '];
    let mut i = 0;
    while i < sp.len() {
        t[sp[i] as usize] = 1;
        i += 1;
    }
    t
}

/// Every byte but ASCII letters, digits and those of `extra`: the end of a run of them.
pub const fn not_alnum_and(extra: &[u8]) -> Stops {
    let mut t = [1u8; 256];
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_alphanumeric() {
            t[b] = 0;
        }
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = 0;
        i += 1;
    }
    t
}

/// `\s`: the end of a `\S+` run.
pub static SPACES: Stops = spaces_and(b"");

/// The index of the first byte of `s` that `stop` holds; `s.len()` where none is.
#[inline]
pub fn until(s: &[u8], stop: &Stops) -> usize {
    let mut i = 0;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        // the eight look-ups as the bytes of a word: the first stop is its lowest set byte
        // (a hit in a chunk was read again byte by byte: ~3% of the Postfix fold, the hosts and
        // tags being short)
        let hit = u64::from(stop[c[0] as usize])
            | u64::from(stop[c[1] as usize]) << 8
            | u64::from(stop[c[2] as usize]) << 16
            | u64::from(stop[c[3] as usize]) << 24
            | u64::from(stop[c[4] as usize]) << 32
            | u64::from(stop[c[5] as usize]) << 40
            | u64::from(stop[c[6] as usize]) << 48
            | u64::from(stop[c[7] as usize]) << 56;
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() && stop[s[i] as usize] == 0 {
        i += 1;
    }
    i
}

/// `until` from `from`: the absolute index.
#[inline]
pub fn until_from(s: &[u8], from: usize, stop: &Stops) -> usize {
    from + until(&s[from..], stop)
}

/// [`until_from`] for a `stop` set whose bytes are all below 0x21 or among `extra`: eight bytes
/// a step as a word, with no look-up a byte (the syslog header's host and tag, two scans a
/// line, were ~7% of the Postfix fold). The bytes below 0x21 and those equal to one of `extra`
/// are flagged (the lowest flag of each test is exact: a borrow only runs up from a flagged
/// byte), and the first flagged byte is looked up: a control byte that is no stop (rare) has
/// the rest read by [`until_from`].
#[inline(always)]
pub fn until_low_from<const K: usize>(s: &[u8], from: usize, stop: &Stops, extra: [u8; K]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(c) = s.get(i..i + 8) {
        let w = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        let mut hit = w.wrapping_sub(ONES * 0x21) & !w & HIGH;
        for e in extra {
            let x = w ^ (ONES * u64::from(e));
            hit |= x.wrapping_sub(ONES) & !x & HIGH;
        }
        if hit != 0 {
            let at = i + (hit.trailing_zeros() / 8) as usize;
            return if stop[s[at] as usize] != 0 { at } else { until_from(s, at + 1, stop) };
        }
        i += 8;
    }
    until_from(s, i, stop)
}

/// Where the byte `b` first is in `s` from `from` on (`s.len()`: nowhere): [`until_from`] for a
/// one-byte stop set such as `fields::CLOSE` (a host spec's `]`), by `memchr`.
#[inline(always)]
pub fn byte_from(s: &[u8], from: usize, b: u8) -> usize {
    memchr::memchr(b, &s[from..]).map_or(s.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::XorShift;

    #[test]
    fn until_is_the_first_stop_byte() {
        let sets: [Stops; 6] = [SPACES, spaces_and(b"[]"), only(b"]"), spaces_and(b"()[]"), not_alnum_and(b""), not_alnum_and(b"_.-")];
        let mut rng = XorShift(0x0DDB_1A5E_5BAD_5EED);
        let alphabet: &[u8] = b"ab.-:[]() \t\n\x0b\x0c\r\xc3\xa90";
        for n in 0..200usize {
            for _ in 0..40 {
                let s: Vec<u8> = (0..n % 41).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect();
                for set in &sets {
                    let want = s.iter().position(|&b| set[b as usize] != 0).unwrap_or(s.len());
                    assert_eq!(until(&s, set), want, "{:?}", s);
                    for from in 0..=s.len() {
                        assert_eq!(until_from(&s, from, set), from + s[from..].iter().position(|&b| set[b as usize] != 0).unwrap_or(s.len() - from));
                    }
                }
            }
        }
        // the word scan, on the sets it is used for (bytes below 0x21 and a few others)
        let tag = spaces_and(b"[]:");
        let alphabet: &[u8] = b"ab[]:( \t\n\x0b\x0c\r\x00\x1f\x20\x21\x5a\x5c\xc3\xa9\xdb\xfa0";
        for n in 0..3000usize {
            let s: Vec<u8> = (0..n % 40).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect();
            for from in 0..=s.len() {
                assert_eq!(until_low_from(&s, from, &SPACES, []), until_from(&s, from, &SPACES), "{:?}", s);
                assert_eq!(until_low_from(&s, from, &tag, *b"[]:"), until_from(&s, from, &tag), "{:?}", s);
                assert_eq!(until_low_from(&s, from, &crate::fields::HOST_ENDS, *b"[]"), until_from(&s, from, &crate::fields::HOST_ENDS));
                assert_eq!(byte_from(&s, from, b']'), until_from(&s, from, &crate::fields::CLOSE));
            }
        }
        // the sets as their callers read them
        let sp = spaces_and(b"");
        for b in 0..=255u8 {
            assert_eq!(sp[b as usize] != 0, crate::fields::is_space(b));
        }
    }

    #[test]
    fn split_hostport_as_its_regex_on_mutated_specs() {
        // fields.py's _HOSTPORT, and what split_hostport makes of its groups
        let re = regex::bytes::Regex::new(r"^(?P<h>[^\[\]\t\n\x0C\r ]*)\[(?P<ip>[^\]]*)\](?::(?P<port>[0-9]+))?$").unwrap();
        let reference = |spec: &[u8]| -> Result<(Option<Vec<u8>>, Option<Vec<u8>>, Option<i32>), ()> {
            let Some(c) = re.captures(spec) else { return Ok((Some(spec.to_vec()), None, None)) };
            let port = match c.name("port") {
                None => None,
                Some(m) if m.as_bytes().len() <= 9 => Some(std::str::from_utf8(m.as_bytes()).unwrap().parse::<i32>().unwrap()),
                Some(_) => return Err(()),
            };
            let ip = c.name("ip").map(|m| m.as_bytes().to_vec()).filter(|v| !v.is_empty());
            let h = c.name("h").map(|m| m.as_bytes().to_vec()).filter(|v| !v.is_empty());
            Ok((if ip.is_some() { h } else { Some(spec.to_vec()) }, ip, port))
        };
        let mut rng = XorShift(0x5EED_0F_5CA7_7E57);
        let alphabet: &[u8] = b"[]: \t.-a9_\x0b\xc3\xa9";
        let seeds: [&[u8]; 5] = [b"mail-yw1-f170.google.example[203.0.113.5]:25", b"unknown[192.0.2.118]", b"[198.51.100.25]:47518", b"none", b"mx.x[2001:db8::1]:587"];
        let mut checked = 0;
        for seed in seeds {
            for _ in 0..3000 {
                let mut spec = seed.to_vec();
                for _ in 0..(rng.next() % 4) {
                    crate::testutil::edit(&mut spec, &mut rng, alphabet);
                }
                if std::str::from_utf8(&spec).is_err() {
                    continue; // the engine only sees valid UTF-8 (Arrow strings)
                }
                let got = crate::fields::split_hostport(&spec).map(|(h, ip, p)| (h.map(<[u8]>::to_vec), ip.map(<[u8]>::to_vec), p));
                assert_eq!(got, reference(&spec), "{}", String::from_utf8_lossy(&spec));
                checked += 1;
            }
        }
        assert!(checked > 8000, "{checked}");
    }
}
